"""Flux scaling (injection-recovery) and overlap-aware stitching."""

import astropy.units as u
import numpy as np
import pytest

from specola.coadd import CoaddConfig, coadd, scale_exposures, stitch
from specola.coadd.config import ScalingSection
from specola.spectrum import Spectrum


def _exposure(rng, name, factor, lo=1000.0, hi=1100.0, step=0.1, sigma=0.01, setting=None):
    edges = np.arange(lo, hi, step)
    w = 0.5 * (edges[:-1] + edges[1:])
    truth = 1.0 + 0.2 * np.sin(w / 5.0)
    f = factor(w) if callable(factor) else factor
    meta = {"exposure": name, "exptime": 500.0}
    if setting:
        meta.update(instrument=setting.split("/")[0], grating=setting.split("/")[1])
    return Spectrum.from_edges(
        edges * u.AA,
        (truth * f + rng.normal(0, sigma, w.size)) * u.Jy,
        error=np.full(w.size, sigma) * u.Jy,
        meta=meta,
    )


@pytest.mark.parametrize("reference", ["brightest", "median", "e0"])
def test_median_scaling_recovers_injected_factors(reference):
    rng = np.random.default_rng(3)
    factors = [1.0, 0.8, 0.95, 0.7]
    spectra = [_exposure(rng, f"e{k}", f) for k, f in enumerate(factors)]
    scaled, report = scale_exposures(spectra, reference=reference)
    ref_level = {"brightest": 1.0, "e0": 1.0, "median": np.median(factors)}[reference]
    for k, f in enumerate(factors):
        assert report.factors[f"e{k}"] == pytest.approx(ref_level / f, rel=2e-3)
    levels = [np.median(s.flux.value) for s in scaled]
    assert np.ptp(levels) / np.mean(levels) < 3e-3


def test_polynomial_scaling_recovers_a_tilt():
    rng = np.random.default_rng(4)
    tilt = lambda w: 0.9 + 0.002 * (w - 1050.0)
    spectra = [_exposure(rng, "a", 1.0), _exposure(rng, "b", tilt)]
    scaled, report = scale_exposures(spectra, reference="a", method="poly", degree=1)
    w = scaled[1].wavelength.value
    slope, offset = np.polyfit(w - 1050.0, scaled[1].flux.value / scaled[0].flux.value, 1)
    # residual tilt over +-50 A and level: within a few times the noise of a 1000-pixel fit (~0.05%)
    assert abs(slope * 50) < 3e-3 and offset == pytest.approx(1.0, abs=3e-3)
    assert np.polyval(report.polynomials["b"], 0.0) == pytest.approx(np.mean(1 / tilt(w)), rel=3e-3)


def test_scaling_raises_snr_of_the_coadd():
    rng = np.random.default_rng(5)
    spectra = [_exposure(rng, f"e{k}", f, sigma=0.05) for k, f in enumerate([1.0, 0.6, 1.0])]
    plain = coadd(spectra)
    scaled = coadd(spectra, CoaddConfig(scaling=ScalingSection(enabled=True)))
    assert len(plain.rejected) == 1 and scaled.rejected == []
    # optimal gain from adding an exposure with 0.6 of the signal: sqrt((1 + 1 + 0.6^2) / 2)
    gain = np.median(scaled.spectrum.meta["snr"]) / np.median(plain.spectrum.meta["snr"])
    assert gain == pytest.approx(np.sqrt((2 + 0.36) / 2), rel=0.03)


def test_stitch_averages_overlap_and_scales():
    rng = np.random.default_rng(6)
    blue = coadd([_exposure(rng, "b", 1.0, 1000, 1060, 0.05, setting="X/B")]).spectrum
    red = coadd([_exposure(rng, "r", 1.25, 1040, 1100, 0.1, setting="X/R")]).spectrum
    s, factors = stitch([red, blue], scale_overlap=True)
    assert factors["X/R"] == pytest.approx(0.8, rel=5e-3)
    w = s.wavelength.value
    # the finer blue sampling is kept where blue covers; red pixels beyond
    assert np.median(s.width.value[w < 1040]) == pytest.approx(0.05, rel=1e-6)
    assert np.median(s.width.value[w > 1061]) == pytest.approx(0.1, rel=1e-6)
    truth = 1.0 + 0.2 * np.sin(w / 5.0)
    assert np.median(np.abs(s.flux.value - truth)[s.good]) < 0.01
    # overlap pixels combine both gratings: smaller errors than either alone
    overlap = (w > 1042) & (w < 1058)
    assert np.median(s.error.value[overlap]) < np.median(s.error.value[w < 1038])
