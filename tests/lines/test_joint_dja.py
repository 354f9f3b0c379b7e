"""Joint fits with calibration tokens, and the DJA PRISM spectrum of an LRD (z = 3.55)."""

import numpy as np
import pytest

from specola.data import data_path
from specola.instruments import Constant
from specola.io import read
from specola.lines import (
    CalibrationSpec,
    ContinuumSection,
    GroupSpec,
    LineSpec,
    LinesResult,
    PriorSpec,
    SpectrumSpec,
    build_model,
    fit,
    simulate,
)

PRISM = data_path("spectra", "rubies-uds31-v4_prism-clear_4233_154183.spec.fits.gz")
SDSS = data_path("spectra", "spec-1678-53433-0425.fits.gz")
WIDE_Z = GroupSpec("z", "redshift", PriorSpec("uniform", low=-0.03, high=0.03))
NARROW = GroupSpec("narrow", "width", PriorSpec("uniform", low=0.0, high=1000.0))


def _off_by(post, truth):
    return {n: abs(np.median(post.flat(n)) - v) / np.std(post.flat(n)) for n, v in truth.items()}


def test_joint_fit_recovers_flux_scale_and_pixel_offset():
    sdss = read(SDSS)
    # a second "disperser": same target on a coarser grid (every 2 pixels merged) at R = 1200
    half = sdss.select(6700 * sdss.wave_unit, 7100 * sdss.wave_unit)
    n = len(half) // 2 * 2
    low, high = half.low[:n:2], half.high[1:n:2]
    coarse = half[:n:2].replace(low=low, high=high, error=half.error[:n:2] * 0.8,
                                meta={"resolution": Constant(1200.0), "name": "coarse"})  # fmt: skip
    lines = [LineSpec("Halpha"), LineSpec("[NII]6585"), LineSpec("[NII]6550", tie="[NII]6585", ratio=1 / 2.94)]
    bindings = [SpectrumSpec(name="sdss", rscale="R"), SpectrumSpec(name="coarse", rscale="R",
                flux_scale="fs", pix_offset="po")]  # fmt: skip
    calib = [CalibrationSpec("po", "pix_offset", PriorSpec("uniform", low=-1.0, high=1.0))]
    model = build_model([sdss.replace(meta={**sdss.meta, "name": "sdss"}), coarse], lines, 0.0403,
                        groups=[NARROW], calibration=calib, bindings=bindings)  # fmt: skip
    assert model.plan.spectra == ["sdss", "coarse"]
    truth = {"z_z": 0.04032, "fwhm_narrow": 170.0, "flux_Halpha": 0.5, "flux_[NII]6585": 0.26, "cont_r0_c0": 0.35,
             "cont_r0_c1": 0.1, "rscale_R": 1.05, "flux_scale_fs": 0.85, "pix_offset_po": 0.35}  # fmt: skip
    sim = simulate(model, truth, np.random.default_rng(3))
    post = fit(sim, "laplace", num_samples=2000)
    off = _off_by(post, truth)
    assert max(off.values()) < 3.0, off
    for name, tol in [("flux_scale_fs", 0.02), ("pix_offset_po", 0.1)]:
        assert np.std(post.flat(name)) < tol  # informative, not just the prior
    # ignoring the offset and scale biases the fit
    plain = build_model([sdss, coarse.replace(meta={**coarse.meta})], lines, 0.0403, groups=[NARROW])
    worse = fit(plain.with_flux(np.asarray(sim.args["flux"])), "map")
    chi2 = lambda m, p: float(np.sum(((np.asarray(m.args["flux"]) - m.predict(p)["total"]) / m.args["error"]) ** 2))
    assert chi2(plain.with_flux(np.asarray(sim.args["flux"])), worse.map) > chi2(sim, post.map) + 100


@pytest.fixture(scope="module")
def lrd():
    """Narrow + broad Balmer lines and [OIII] in the PRISM spectrum, point-source R, free RScale and PixOffset."""
    from specola.lines.run import resolution_from_text

    s = read(PRISM)
    s = s.replace(meta={**s.meta, "name": "prism", "resolution": resolution_from_text("nirspec:prism:point", s)})
    lines = [LineSpec("Halpha"), LineSpec("Hbeta"), LineSpec("[OIII]5008"),
             LineSpec("[OIII]4960", tie="[OIII]5008", ratio=1 / 2.98),
             LineSpec("Halpha", label="Halpha_broad", width="broad", positive=True),
             LineSpec("Hbeta", label="Hbeta_broad", width="broad", positive=True)]  # fmt: skip
    model = build_model([s], lines, 3.55, groups=[WIDE_Z, NARROW], continuum=ContinuumSection(width_kms=15000),
                        bindings=[SpectrumSpec(name="prism", rscale="R", pix_offset="po")])  # fmt: skip
    return LinesResult(model, fit(model, "laplace", num_samples=2000))


def test_real_prism_lrd_narrow_and_broad(lrd):
    model = lrd.model
    t = {r["line"]: r for r in lrd.table()}
    assert abs(t["Halpha"]["z_p50"].value - 3.55) < 0.01
    draws = lrd.draws()
    i, j = model.plan.labels.index("Halpha"), model.plan.labels.index("Halpha_broad")
    total = draws["flux"][:, i] + draws["flux"][:, j]
    assert np.median(total) / np.std(total) > 20  # Halpha detected at high S/N
    assert np.median(draws["ew"][:, i] + draws["ew"][:, j]) > 100  # large rest-frame EW
    assert 2000 < t["Halpha_broad"]["fwhm_p50"].value < 6000  # km/s: a broad component, resolved at R ~ 200
    assert lrd.diagnostics()["reduced_chi2"] < 2


def test_injection_recovery_on_prism_grid(lrd):
    model = lrd.model
    assert model.args["flux"].size > 30
    truth = dict(lrd.posterior.map)
    truth["flux_Hbeta"] = 0.1
    post = fit(simulate(model, truth, np.random.default_rng(11)), "laplace", num_samples=2000)
    # the narrow width (~700 km/s) is below the PRISM resolution (~1500-3000 km/s): only bounded, not measured
    off = _off_by(post, {k: v for k, v in truth.items() if k != "fwhm_narrow"})
    assert max(off.values()) < 3.0, off
    lo, hi = np.percentile(post.flat("fwhm_narrow"), [0.5, 99.5])
    assert lo <= truth["fwhm_narrow"] <= hi
