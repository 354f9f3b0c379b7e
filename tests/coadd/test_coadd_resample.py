"""specola's method: Monte Carlo flux conservation and errors, x1dsum agreement, rejection, eff. exposure time."""

from pathlib import Path

import astropy.units as u
import numpy as np
import pytest
from astropy.io import fits

from specola.coadd import CoaddConfig, choose_grid, coadd, combine_segments
from specola.coadd.config import CoaddSection, RejectSection
from specola.data import data_path
from specola.io import read, read_all
from specola.spectrum import Spectrum

DATA = Path(__file__).parents[1] / "data" / "coadd"
OFF = RejectSection(max_flux_deviation=0, sigma_clip=0)
COS = data_path("coadd", "cos_g140l")


def _truth(w):
    return 1.0 + 0.3 * np.sin(w / 3.0) + 0.8 * np.exp(-0.5 * ((w - 1050) / 1.5) ** 2)


def _exposures(rng, n_exp=4, sigma=0.05):
    """Exposures on shifted, slightly different grids, with known per-pixel noise."""
    out = []
    for k in range(n_exp):
        edges = np.arange(1000.0 + 0.37 * k, 1100.0, 0.1 + 0.003 * k)
        lo, hi = edges[:-1], edges[1:]
        # exact bin average of the truth (numerical integral on a fine sub-grid)
        sub = np.linspace(0, 1, 21)
        mean = np.array([_truth(a + (b - a) * sub).mean() for a, b in zip(lo, hi, strict=True)])
        err = np.full(lo.size, sigma)
        flux = mean + rng.normal(0, sigma, lo.size)
        out.append(
            Spectrum(lo * u.AA, hi * u.AA, flux * u.Jy, err * u.Jy, meta={"exposure": f"e{k}", "exptime": 100.0 + k})
        )
    return out


@pytest.mark.slow
@pytest.mark.parametrize("weighting", ["exptime", "inverse_variance"])
def test_monte_carlo_flux_conservation_and_errors(weighting):
    rng = np.random.default_rng(42)
    edges = np.arange(1005.0, 1095.0, 0.17)
    lo, hi = edges[:-1], edges[1:]
    sub = np.linspace(0, 1, 21)
    truth = np.array([_truth(a + (b - a) * sub).mean() for a, b in zip(lo, hi, strict=True)])
    pulls, integrals, integral_errs = [], [], []
    for _ in range(60):
        c = combine_segments(_exposures(rng), edges, CoaddSection(weighting=weighting), OFF)
        err = np.sqrt(c.var)
        pulls.append((c.flux - truth) / err)
        width = hi - lo
        integrals.append(np.sum(c.flux * width) - np.sum(truth * width))
        integral_errs.append(np.sqrt(np.sum(c.var * width**2)))
    pulls = np.array(pulls)
    # unbiased (flux conserved) and the propagated errors describe the scatter of each pixel
    assert abs(np.mean(pulls)) < 0.02
    assert np.mean(np.std(pulls, axis=0)) == pytest.approx(1.0, abs=0.05)
    # the integral is conserved; its error ignores pixel covariance, so the scatter may not exceed it much
    assert abs(np.mean(integrals)) < 3 * np.std(integrals) / np.sqrt(len(integrals))
    assert np.std(integrals) < 2.0 * np.mean(integral_errs)


def test_cos_resample_agrees_with_calcos_x1dsum():
    spectra = []
    for p in sorted(COS.glob("*_x1d.fits.gz")):
        spectra += read_all(p)
    result = coadd(spectra)
    assert result.rejected == []
    s = result.spectrum
    ref = read(data_path("coadd", "cos_g140l", "ldfd01010_x1dsum.fits.gz")).rebin((s.low, s.high))
    # outside geocoronal Ly-alpha and OI (airglow varies between exposures), 1150-2000 A
    w = s.wavelength.value
    ok = s.good & ref.good & (w > 1150) & (w < 2000) & ~((w > 1195) & (w < 1240)) & ~((w > 1295) & (w < 1312))
    diff = (s.flux - ref.flux).value[ok] / s.error.value[ok]
    assert abs(np.median(diff)) < 0.05
    assert np.mean(np.abs(diff) < 1) > 0.95  # same photons: agreement well within errors
    assert np.sum(s.flux.value[ok] * s.width.value[ok]) == pytest.approx(
        np.sum(ref.flux.value[ok] * s.width.value[ok]), rel=0.01
    )
    assert s.meta["n_exposures"][ok].max() == 4
    assert np.max(s.meta["eff_exptime"]) == pytest.approx(sum(x.meta["exptime"] for x in spectra))


def _multi_exposure_file(path, factors):
    """One COS file holding several exposures (SCI extensions), each scaled by a factor."""
    sources = sorted(COS.glob("*_x1d.fits.gz"))[: len(factors)]
    primary = fits.getheader(sources[0], 0)
    hdus = [fits.PrimaryHDU(header=primary)]
    for k, (src, f) in enumerate(zip(sources, factors, strict=True)):
        with fits.open(src) as h:
            sci = h[1].copy()
        sci.data["FLUX"] *= f
        sci.data["ERROR"] *= f
        sci.header["EXTVER"] = k + 1
        hdus.append(sci)
    fits.HDUList(hdus).writeto(path)
    return path


def test_faint_exposure_inside_multi_exposure_file_is_rejected_alone(tmp_path):
    path = _multi_exposure_file(tmp_path / "lmulti01q_x1d.fits", [1.0, 1.0, 0.6, 1.0])
    spectra = read_all(path)
    assert len({s.meta["exposure"] for s in spectra}) == 4
    result = coadd(spectra)
    assert [(d.exposure, d.segment) for d in result.decisions] == [("lmulti01q_x1d.fits[3]", "all")]
    reason = result.rejected[0].reason
    assert "0.6" in reason and "median of the 3 other exposures" in reason
    assert result.rejected[0].factor == pytest.approx(0.6, abs=0.03)
    # the three other exposures of the same file are kept
    assert result.spectrum.meta["n_exposures"].max() == 3


def test_echelle_grid_not_undersampled_and_exptime_not_double_counted():
    spectra = read_all(DATA / "stis" / "o3zx02070_x1d.fits.gz")
    edges, kind = choose_grid(spectra)
    assert kind == "log"
    step = np.median(np.diff(np.log(edges)))
    native = min(np.median((s.width / s.wavelength).value) for s in spectra)
    assert step <= native * 1.0001
    config = CoaddConfig(reject=OFF)
    result = coadd(spectra, config)
    exptime = spectra[0].meta["exptime"]
    eff = result.spectrum.meta["eff_exptime"]
    assert eff.max() == pytest.approx(exptime)  # overlapping orders of one exposure count once
    assert np.median(eff[result.spectrum.good]) == pytest.approx(exptime)
