"""Bundled real/simulated frames: MIRI LRS TSO cube and a raw SPRAT long-slit frame."""

import logging

import astropy.units as u
import numpy as np
import pytest

from specola.data import data_path
from specola.errors import ConfigError, FileFormatError
from specola.extract import ExtractConfig, run
from specola.extract.config import (
    ApertureSection,
    BackgroundSection,
    DetectorSection,
    InputSection,
    PsfSection,
    TraceSection,
)
from specola.extract.demo import miri_config
from specola.io import read_frames, read_series
from specola.runs import RunFolder

log = logging.getLogger(__name__)
SPRAT = data_path("frames", "sprat_v_s_20180810_27_1_0_0_Hilt102_raw.fits.gz")


@pytest.fixture(scope="module")
def miri():
    return run(miri_config())


def test_miri_reader_orients_cube():
    f = read_frames(data_path("frames", "miri_lrs_slitless_sim_4ints_calints.fits"))
    assert f.shape == (4, 72, 416) and f.variance is not None and f.wavelength.unit == u.um
    assert f.mask.mean() == pytest.approx(0.044, abs=0.005)


def test_miri_white_light_and_spectra(miri):
    s = miri.series
    assert s.flux.shape[0] == 4 and s.flux.unit == u.Unit("DN/s")
    assert np.all(np.diff(s.low.value) > 0) and 4.5 < s.low[0].value < 6 and 11.5 < s.high[-1].value < 13
    good = ~np.any(miri.mask, axis=0)
    white = miri.flux[:, good].sum(axis=1)
    white_err = np.sqrt((miri.error[:, good] ** 2).sum(axis=1))
    # a 4-integration simulated segment: flat to within its noise
    chi2 = np.sum((white - white.mean()) ** 2 / white_err**2)
    assert chi2 < 20 and np.std(white) / np.mean(white) < 2e-3
    # optimal and aperture agree where the source is bright, and optimal has the higher S/N
    bright = np.median(miri.aperture_flux / miri.aperture_error, axis=0) > 10
    ratio = np.median(miri.flux[:, bright] / miri.aperture_flux[:, bright])
    assert ratio == pytest.approx(1.0, abs=0.02)
    assert np.median(miri.snr[:, bright]) > 1.1 * np.median((miri.aperture_flux / miri.aperture_error)[:, bright])
    assert abs(np.median(miri.trace.positions) - 37.4) < 0.5


def test_miri_products_round_trip(miri, tmp_path):
    folder = RunFolder(tmp_path / "run")
    written = {p.name for p in miri.write(folder)}
    assert {"extract_miri_series.fits", "extract_miri_trace.png", "extract_miri_lightcurve.png"} <= written
    back = read_series(folder.file("extract_miri_series.fits"))
    assert np.allclose(back.flux.value, miri.series.flux.value, equal_nan=True)


@pytest.mark.slow
def test_sprat_trace_matches_provenance():
    cfg = ExtractConfig(
        input=InputSection(file=str(SPRAT), columns=(120, 1024)),
        detector=DetectorSection(bias="region", bias_region=(0, 254, 0, 20), read_noise=7.0),
        background=BackgroundSection(inner=12, outer=35),
        aperture=ApertureSection(radius=5),
        psf=PsfSection(kind="bivariate", knot_columns=8),
    )
    r = run(cfg)
    t = r.trace(np.array([0, 903]))  # detector columns 120 and 1023
    assert t[0] == pytest.approx(132.3, abs=0.5) and t[1] == pytest.approx(130.5, abs=0.5)
    assert (t[1] - t[0]) / 903 * 1000 == pytest.approx(-2.3, abs=0.4)
    assert 905 < r.meta["bias_median"] < 925 and r.meta["gain"] == 2.45
    assert r.series is None  # no wavelength solution: pixel table only
    assert np.median(r.snr) > 150
    assert np.median(r.flux / r.aperture_flux) == pytest.approx(1.0, abs=0.01)


def test_raw_frame_without_gain_is_refused(tmp_path):
    from astropy.io import fits

    path = tmp_path / "raw.fits"
    fits.PrimaryHDU(np.zeros((40, 50), np.uint16)).writeto(path)
    with pytest.raises(ConfigError, match=r"detector\.gain"):
        run(ExtractConfig(input=InputSection(file=str(path))))
    with pytest.raises(FileFormatError, match="not found"):
        run(ExtractConfig(input=InputSection(file=str(tmp_path / "nope.fits"))))
    with pytest.raises(ConfigError, match=r"input\.file"):
        run(ExtractConfig())


KAST = data_path("frames", "kast_blue_b27_J1217p3905_raw.fits.gz")


def kast_config(**sections):
    base = dict(
        input=InputSection(file=str(KAST), dispersion_axis=1, columns=(1100, 1900)),
        # the overscan of this amplifier (columns 2080-2112) lies outside the extracted columns
        detector=DetectorSection(gain=1.2, read_noise=3.7, bias="overscan_rows", bias_region=(0, 350, 2082, 2110)),
        trace=TraceSection(guess=175.0, degree=1, bin_columns=40, min_snr=3.0),
        background=BackgroundSection(inner=10, outer=40, degree=1),
        aperture=ApertureSection(radius=5),
    )
    base.update(sections)
    return ExtractConfig(**base)


def test_kast_bias_from_overscan_outside_the_columns_and_sensible_spectrum(caplog):
    caplog.set_level(logging.INFO)
    r = run(kast_config())
    assert 955 < r.meta["bias_median"] < 970  # the overscan of amplifier 2, not the sky
    assert abs(np.median(r.trace.positions) - 175.0) < 1.5
    snr = np.median(np.where(r.mask, np.nan, r.snr), axis=0)
    log.info("Kast J1217p3905: S/N per column median %.1f, 10-90%% %.1f-%.1f", *np.nanpercentile(snr, [50, 10, 90]))
    assert 5 < np.nanmedian(snr) < 100 and np.mean(r.mask) < 0.05
    # the faint source sits ~55 ADU above the sky at the peak row: about 55 * 2.5 * 1.2 e- per column
    assert 50 < np.nanmedian(r.flux) < 400


def test_real_frames_log_snr_per_column(miri, caplog):
    caplog.set_level(logging.INFO)
    snr = np.nanmedian(np.where(miri.mask, np.nan, miri.snr), axis=0)
    log.info("MIRI LRS: S/N per column median %.1f, max %.1f", np.nanmedian(snr), np.nanmax(snr))
    assert np.nanmax(snr) > 50 and np.all(np.isfinite(miri.flux[~miri.mask]))
    assert miri.meta["profile"] == "empirical" and miri.meta["variance_model"] == "model"
