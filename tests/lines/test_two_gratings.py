"""PRISM + G395M joint fit on a realistic simulation with known calibration offsets (no real G395M is bundled).

The simulation is written independently of the fitter: each pixel is the mean of 40 point samples of the
spectrum (continuum + Gaussian lines, widths from the instrument curves), not the fitter's erf differences.
"""

import astropy.units as u
import numpy as np
import pytest

from specola.data import data_path
from specola.instruments import NIRSpec
from specola.io import read
from specola.lines import (
    CalibrationSpec,
    ContinuumSection,
    GroupSpec,
    LineSpec,
    PriorSpec,
    SpectrumSpec,
    build_model,
    fit,
)
from specola.spectrum import Spectrum

PRISM = data_path("spectra", "rubies-uds31-v4_prism-clear_4233_154183.spec.fits.gz")
C = 299792.458
REST = {"Halpha": 6564.61, "Hbeta": 4862.68}
TRUTH = {"z_z": 3.5527, "fwhm_narrow": 250.0, "fwhm_broad": 2600.0, "rscale_R": 1.1, "flux_scale_fs": 0.9,
         "pix_offset_po": 0.25}  # fmt: skip
FLUX = {"Halpha": 800.0, "Halpha_broad": 2400.0, "Hbeta": 250.0, "Hbeta_broad": 700.0}  # 1e-20 erg/s/cm2
CONT = (3.0, 1.0e-4)  # 1e-20 erg/s/cm2/A at 25000 A, slope per A
UNIT = u.Unit("1e-20 erg / (s cm2 Angstrom)")


def _truth_spectrum(wave_aa, spectrum_index):
    """The true f_lambda at (true) observed wavelengths, seen through spectrum ``spectrum_index``'s LSF."""
    res = (NIRSpec("prism", source="point"), NIRSpec("g395m", source="point"))[spectrum_index]
    out = CONT[0] + CONT[1] * (wave_aa - 25000.0)
    for label, flux in FLUX.items():
        mu = REST[label.split("_")[0]] * (1 + TRUTH["z_z"])
        fwhm = TRUTH["fwhm_broad" if "broad" in label else "fwhm_narrow"]
        r = float(res(mu * u.AA)) * TRUTH["rscale_R"]
        sigma = np.hypot(mu * fwhm / C, mu / r) / 2.3548200450309493
        out = out + flux * np.exp(-0.5 * ((wave_aa - mu) / sigma) ** 2) / (np.sqrt(2 * np.pi) * sigma)
    return out


def _simulate(low, high, spec, error, rng):
    """Pixel means by 40-point sampling; PRISM displaced redward by PixOffset, G395M scaled by FluxScale."""
    frac = (np.arange(40) + 0.5) / 40
    mean = np.empty(low.size)
    for k in (0, 1):
        sel = spec == k
        shift = TRUTH["pix_offset_po"] * (high - low)[sel] if k == 0 else 0.0
        x = (low[sel] - shift)[:, None] + (high - low)[sel][:, None] * frac
        mean[sel] = _truth_spectrum(x, k).mean(axis=1) * (TRUTH["flux_scale_fs"] if k == 1 else 1.0)
    return mean + error * rng.standard_normal(low.size)


def _g395m_grid():
    """A G395M-like grid: 2.87-3.2 um, two pixels per resolution element, errors like a 1 h exposure."""
    edges = [2.87e4]
    while edges[-1] < 3.2e4:
        edges.append(edges[-1] * (1 + 1 / (2.2 * float(NIRSpec("g395m")(edges[-1] * u.AA)))))
    edges = np.asarray(edges)
    n = edges.size - 1
    return Spectrum(edges[:-1] * u.AA, edges[1:] * u.AA, np.zeros(n) * UNIT, np.full(n, 0.6) * UNIT,
                    meta={"name": "g395m", "resolution": NIRSpec("g395m", source="point")})  # fmt: skip


@pytest.fixture(scope="module")
def joint():
    prism = read(PRISM)
    prism = prism.replace(meta={**prism.meta, "name": "prism", "resolution": NIRSpec("prism", source="point")})
    prism = prism.to_wave_unit(u.AA).to_flux_unit(UNIT)
    spectra = []
    for k, s in enumerate((prism, _g395m_grid())):  # only the pixels and errors of the real PRISM spectrum are used
        err = np.nan_to_num(s.error.value, nan=1.0)
        flux = _simulate(s.low.value, s.high.value, np.full(len(s), k), err, np.random.default_rng(k))
        spectra.append(s.replace(flux=flux * UNIT))
    lines = [LineSpec("Halpha"), LineSpec("Hbeta"),
             LineSpec("Halpha", label="Halpha_broad", width="broad"),
             LineSpec("Hbeta", label="Hbeta_broad", width="broad")]  # fmt: skip
    groups = [GroupSpec("z", "redshift", PriorSpec("uniform", low=-0.01, high=0.01)),
              GroupSpec("narrow", "width", PriorSpec("uniform", low=0.0, high=800.0)),
              GroupSpec("broad", "width", PriorSpec("uniform", low="fwhm_narrow + 150", high=6000.0))]  # fmt: skip
    calib = [
        CalibrationSpec("po", "pix_offset", PriorSpec("truncnormal", loc=0.2, scale=0.3, low=-1.0, high=1.0)),
        CalibrationSpec("fs", "flux_scale", PriorSpec("truncnormal", loc=1.0, scale=0.2, low=0.5, high=1.5)),
    ]
    bindings = [SpectrumSpec(name="prism", rscale="R", pix_offset="po"),
                SpectrumSpec(name="g395m", rscale="R", flux_scale="fs")]  # fmt: skip
    model = build_model(spectra, lines, 3.55, groups=groups, calibration=calib, bindings=bindings,
                        continuum=ContinuumSection(width_kms=12000.0))  # fmt: skip
    return model


def _sim(model, rng):
    a = {k: np.asarray(v) for k, v in model.args.items()}
    return model.with_flux(_simulate(a["low"], a["high"], a["spec"], a["error"], rng))


def test_two_gratings_recover_calibration_offsets(joint):
    assert joint.plan.spectra == ["prism", "g395m"]
    post = fit(_sim(joint, np.random.default_rng(1)), "laplace", num_samples=2000)
    for name in ("pix_offset_po", "flux_scale_fs", "rscale_R", "z_z", "fwhm_broad"):
        d = post.flat(name)
        assert abs(np.median(d) - TRUTH[name]) < 3.5 * np.std(d), (name, np.median(d), np.std(d))
    assert np.std(post.flat("flux_scale_fs")) < 0.03 and np.std(post.flat("pix_offset_po")) < 0.1


@pytest.mark.slow
def test_two_gratings_coverage(joint):
    rng = np.random.default_rng(11)
    names = ["pix_offset_po", "flux_scale_fs", "rscale_R", "z_z", "fwhm_broad"]
    inside68, inside95 = [], []
    for _ in range(20):
        post = fit(_sim(joint, rng), "laplace", num_samples=1000)
        for n in names:
            lo68, hi68, lo95, hi95 = np.percentile(post.flat(n), [16, 84, 2.5, 97.5])
            inside68.append(lo68 <= TRUTH[n] <= hi68)
            inside95.append(lo95 <= TRUTH[n] <= hi95)
    f68, f95 = np.mean(inside68), np.mean(inside95)
    # 100 (correlated) trials: binomial sd ~5 %
    assert 0.5 <= f68 <= 0.85, f68
    assert f95 >= 0.85, f95
