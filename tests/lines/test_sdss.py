"""SDSS starburst (z = 0.0403): real-data fits, an independent NumPy model, injection-recovery, coverage, NUTS."""

import numpy as np
import pytest
from astropy.io import fits
from scipy.special import erf

from specola.data import data_path
from specola.io import read
from specola.lines import GroupSpec, LineSpec, LinesResult, PriorSpec, build_model, compiled, fit, simulate

SDSS = data_path("spectra", "spec-1678-53433-0425.fits.gz")
HALPHA = [
    LineSpec("Halpha"),
    LineSpec("[NII]6585"),
    LineSpec("[NII]6550", tie="[NII]6585", ratio=1 / 2.94),
    LineSpec("[SII]6718"),
    LineSpec("[SII]6733"),
]
NARROW = [GroupSpec("narrow", "width", PriorSpec("uniform", low=0.0, high=800.0))]


@pytest.fixture(scope="module")
def spectrum():
    return read(SDSS)


@pytest.fixture(scope="module")
def model(spectrum):
    return build_model([spectrum], HALPHA, redshift=0.0403, groups=NARROW)


@pytest.fixture(scope="module")
def real_fit(model):
    return LinesResult(model, fit(model, "laplace", num_samples=2000))


def numpy_model(model, params, wdisp_at):
    """The line model written independently in NumPy: erf over pixel edges, R from raw wdisp."""
    plan, args = model.plan, {k: np.asarray(v) for k, v in model.args.items()}
    a, b = args["low"], args["high"]
    total = np.zeros_like(a)
    for i, label in enumerate(plan.labels):
        root = label if label in plan.flux_sites else "[NII]6585"
        ratio = 1.0 if root == label else 1 / 2.94
        flux = params[f"flux_{root}"] * ratio * plan.line_unit
        mu = plan.rest[i] * (1 + params["z_z"])
        sigma_instr = wdisp_at(mu) * 1e-4 * np.log(10) * mu  # wdisp: LSF sigma in 1e-4 dex pixels
        sigma_int = mu * params["fwhm_narrow"] / 299792.458 / (2 * np.sqrt(2 * np.log(2)))
        s = np.sqrt(2 * (sigma_int**2 + sigma_instr**2))
        total += flux * 0.5 * (erf((b - mu) / s) - erf((a - mu) / s)) / (b - a)
    t0, t1 = a / plan.region_ref[0] - 1, b / plan.region_ref[0] - 1
    total += plan.cont_unit[0] * (params["cont_r0_c0"] + params["cont_r0_c1"] * 0.5 * (t0 + t1))
    return total


def test_model_matches_independent_numpy_with_wdisp_resolution(model):
    with fits.open(SDSS) as hdul:
        coadd = hdul["COADD"].data
        wave, wdisp = 10 ** np.asarray(coadd["loglam"], float), np.asarray(coadd["wdisp"], float)
    wdisp_at = lambda w: np.interp(w, wave, wdisp)
    params = {"z_z": 0.04031, "fwhm_narrow": 150.0, "flux_Halpha": 0.5, "flux_[NII]6585": 0.25,
              "flux_[SII]6718": 0.08, "flux_[SII]6733": 0.07, "cont_r0_c0": 0.35, "cont_r0_c1": 0.2}  # fmt: skip
    got = model.predict(params)["total"]
    want = numpy_model(model, params, wdisp_at)
    # the R table is interpolated on 64 points: agreement to 1e-4 of the peak
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-4 * want.max())
    # treating wdisp as Angstrom (a known peer mistake) would be far off
    wrong = numpy_model(model, params, lambda w: wdisp_at(w) / (1e-4 * np.log(10) * w))
    assert np.max(np.abs(wrong - want)) > 0.05 * want.max()


def test_real_sdss_halpha_region(real_fit, spectrum):
    t = real_fit.table()
    row = {r["line"]: r for r in t}
    z = row["Halpha"]["z_p50"].value
    assert abs(z - spectrum.meta["redshift"]) < 1e-4  # SDSS pipeline redshift, within 30 km/s
    n2ha = (row["[NII]6585"]["flux_p50"] / row["Halpha"]["flux_p50"]).value
    assert 0.3 < n2ha < 0.7  # star-forming / composite
    s2 = (row["[SII]6718"]["flux_p50"] / row["[SII]6733"]["flux_p50"]).value
    assert 0.9 < s2 < 1.45  # within the physical low-density limit
    assert 50 < row["Halpha"]["fwhm_p50"].value < 400  # km/s, deconvolved
    assert row["Halpha"]["ew_p50"].value > 50  # starburst: large rest-frame EW
    assert str(t["flux_p50"].unit) == "1e-17 erg / (s cm2)"
    assert t["fwhm_p50"].unit == "km / s"


def test_real_sdss_hbeta_oiii_redshift_agrees(real_fit, spectrum):
    lines = [LineSpec("Hbeta"), LineSpec("[OIII]5008"), LineSpec("[OIII]4960", tie="[OIII]5008", ratio=1 / 2.98)]
    m = build_model([spectrum], lines, redshift=0.0403, groups=NARROW)
    res = LinesResult(m, fit(m, "laplace", num_samples=1000))
    t = {r["line"]: r for r in res.table()}
    z_blue, z_red = t["Hbeta"]["z_p50"].value, real_fit.table()["z_p50"][0].value
    assert abs(z_blue - z_red) < 5e-5  # 15 km/s
    halpha = real_fit.table()["flux_p50"][0]
    decrement = (halpha / t["Hbeta"]["flux_p50"]).value
    assert 2.5 < decrement < 8  # Case B 2.86, plus dust
    assert t["[OIII]4960"]["flux_p50"].value == pytest.approx(t["[OIII]5008"]["flux_p50"].value / 2.98)


def _recovered(post, truth, nsigma):
    out = {}
    for name, value in truth.items():
        d = post.flat(name)
        out[name] = abs(np.median(d) - value) / np.std(d)
    return {k: v for k, v in out.items() if v > nsigma}


def test_injection_recovery_on_sdss_grid(model, real_fit):
    truth = dict(real_fit.posterior.map)
    truth["fwhm_narrow"] = 180.0
    truth["flux_[SII]6733"] *= 0.5
    sim = simulate(model, truth, np.random.default_rng(1))
    post = fit(sim, "laplace", num_samples=2000)
    assert not _recovered(post, truth, 3.0)
    fns = compiled(model)
    assert fns.value_and_grad.signatures == 1  # one compilation for the real data and every simulation


@pytest.mark.slow
def test_laplace_coverage_on_sdss_grid(model, real_fit):
    truth = dict(real_fit.posterior.map)
    rng = np.random.default_rng(7)
    names = ["z_z", "fwhm_narrow", "flux_Halpha", "flux_[NII]6585", "flux_[SII]6733"]
    inside68, inside95 = [], []
    for _ in range(20):
        post = fit(simulate(model, truth, rng), "laplace", num_samples=1000)
        for n in names:
            d = post.flat(n)
            lo68, hi68, lo95, hi95 = np.percentile(d, [16, 84, 2.5, 97.5])
            inside68.append(lo68 <= truth[n] <= hi68)
            inside95.append(lo95 <= truth[n] <= hi95)
    f68, f95 = np.mean(inside68), np.mean(inside95)
    # 100 (correlated) trials: binomial sd ~5 %
    assert 0.53 <= f68 <= 0.83, f68
    assert f95 >= 0.87, f95
    assert compiled(model).value_and_grad.signatures == 1


@pytest.mark.slow
def test_nuts_agrees_with_laplace(model, real_fit):
    post = fit(model, "nuts", num_warmup=100, num_samples=300, num_chains=1, seed=3)
    assert post.samples["z_z"].shape == (1, 300)
    assert post.diagnostics["divergences"] == 0
    for name in ["z_z", "fwhm_narrow", "flux_Halpha", "flux_[NII]6585"]:
        lap, nuts = real_fit.posterior.flat(name), post.flat(name)
        assert abs(np.median(nuts) - np.median(lap)) < 0.35 * np.std(lap), name
        assert 0.7 < np.std(nuts) / np.std(lap) < 1.4, name
