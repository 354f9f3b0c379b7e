"""The stellar stage from a time-series file (HDF5 and FITS written by specola.io.write_series), via the CLI."""

import json

import astropy.units as u
import matplotlib.image as mpimg
import numpy as np
import pytest
from astropy.time import Time

from specola.cli import main
from specola.io import read, read_series, write_series
from specola.spectrum import SpectrumSeries
from specola.stellar.model import Components

T0 = 2460100.0  # JD of the first integration
TRANSIT = (T0 + 0.100, T0 + 0.160)
FLARE = (T0 + 0.215, T0 + 0.245)
WAVE_MASK = (4.1, 4.4)  # micron


def realistic_series(grid, trappist1, simulate_fn):
    """60 integrations over 7.2 h: a 2% transit, a blue flare, NaN pixels, a lost integration, a dead column.

    Returns the series, the noiseless stellar spectrum and the index of the dead column.
    """
    truth = Components(2600, 2400, 2800, 0.1, 0.0, 5.0, 5.0, 4.8e-10)
    star = simulate_fn(grid, trappist1, truth, 1e-6)  # essentially noiseless
    sigma = 5 * trappist1.apply_mask().error.to_value(star.flux_unit)  # 5x the real spectrum's errors
    n = 60
    jd = T0 + np.linspace(0.0, 0.3, n)
    wave = star.wavelength.to_value(u.um)
    depth = np.where((jd > TRANSIT[0]) & (jd < TRANSIT[1]), 0.98, 1.0)
    # flare: fast rise, exponential decay, stronger in the blue
    since = jd - (FLARE[0] + 0.003)
    flare = np.where(since > 0, 0.3 * np.exp(-np.clip(since, 0, None) / 0.008), 0.0)
    shape = (wave / wave.min()) ** -2
    rng = np.random.default_rng(11)
    err = np.tile(sigma, (n, 1))
    flux = star.flux.value[None, :] * (depth[:, None] + flare[:, None] * shape[None, :]) + rng.normal(0, err)
    flux[rng.random(flux.shape) < 0.01] = np.nan  # scattered bad pixels
    flux[17] = np.nan  # a lost integration (out of transit)
    dead = len(wave) // 3
    flux[:, dead] = np.nan  # a dead column in every integration
    series = SpectrumSeries(
        star.low,
        star.high,
        flux * star.flux_unit,
        err * star.flux_unit,
        times=Time(jd, format="jd", scale="tdb"),
        meta={"target": "synthetic TRAPPIST-1"},
    )
    return series, star, dead, sigma


@pytest.mark.parametrize("suffix", [".h5", ".fits"])
def test_preprocess_from_series_file(tmp_path, grid, trappist1, simulate_fn, suffix):
    series, star, dead, sigma = realistic_series(grid, trappist1, simulate_fn)
    path = write_series(series, tmp_path / f"series{suffix}")
    back = read_series(path)
    assert back.n_times == 60 and isinstance(back.times, Time)
    out = tmp_path / "pre"
    ranges = f"[[{TRANSIT[0]}, {TRANSIT[1]}], [{FLARE[0]}, {FLARE[1]}]]"
    if suffix == ".h5":  # specola option names
        opts = [
            "-inputs.from_timeseries=true",
            f"-inputs.timeseries_path={path}",
            f"-preprocessing.time_ranges_masked={ranges}",
            f"-preprocessing.wave_ranges_masked=[[{WAVE_MASK[0]}, {WAVE_MASK[1]}]]",
            "-inputs.save_median_spectrum=true",
            "-preprocessing.preprocess_only=true",
        ]
    else:  # the peer's (exotune) names
        opts = [
            "-start_from_timeseries=1",
            f"-path_to_stellar_spec_ts={path}",
            f"-jd_range_mask={ranges}",
            f"-wave_range_mask=[[{WAVE_MASK[0]}, {WAVE_MASK[1]}]]",
            "-save_median_spectrum=1",
            "-optimize_param=1",
        ]
    assert main(["-q", "stellar", "examples/stellar_trappist1.toml", "-o", str(out), *opts]) == 0
    names = {p.name for p in out.iterdir()}
    assert {"select_time.png", "select_wave.png", "fscale_guess.png", "median_spectrum.ecsv"} <= names
    assert "chain.npz" not in names and "bestfit.csv" not in names
    for fig in ("select_time.png", "select_wave.png", "fscale_guess.png"):
        img = mpimg.imread(out / fig)
        assert img.shape[0] > 300 and img.shape[1] > 800 and img[..., :3].std() > 0.05, fig

    median = read(out / "median_spectrum.ecsv")
    jd = series.times.jd
    in_masks = ((jd >= TRANSIT[0]) & (jd <= TRANSIT[1])) | ((jd >= FLARE[0]) & (jd <= FLARE[1]))
    assert median.meta["n_times_used"] == 60 - int(in_masks.sum())
    assert median.mask[dead]
    good = median.good
    assert good.sum() == len(star) - 1
    # out-of-transit, out-of-flare median = the star, within its errors (no transit dip, no flare excess)
    pull = (median.flux.value[good] - star.flux.value[good]) / median.error.value[good]
    assert abs(np.mean(pull)) < 0.2 and 0.7 < np.std(pull) < 1.4
    blue = good & (star.wavelength.to_value(u.um) < 1.0)
    assert abs(np.mean(pull[blue[good]])) < 0.5  # the flare would push the blue up by many sigma
    # errors of the median: 1.2533 sigma / sqrt(n) of the kept integrations (~41 per pixel)
    ratio = median.error.value[good] / (sigma[good] * 1.2533 / np.sqrt(41))
    assert 0.8 < np.median(ratio) < 1.2


def test_fit_from_series_file_masks_wavelengths(tmp_path, grid, trappist1, simulate_fn):
    series, star, _dead, _sigma = realistic_series(grid, trappist1, simulate_fn)
    path = write_series(series, tmp_path / "series.fits")
    out = tmp_path / "fit"
    ranges = f"[[{TRANSIT[0]}, {TRANSIT[1]}], [{FLARE[0]}, {FLARE[1]}]]"
    args = ["-q", "stellar", "examples/stellar_trappist1.toml", "-o", str(out), "-start_from_timeseries=1"]
    args += [f"-path_to_stellar_spec_ts={path}", f"-jd_range_mask={ranges}", "-wave_range_mask=[[4.1, 4.4]]"]
    args += ["-fitfac=0", "-fitlogg_phot=0", "-fitlogg_het=0", "-priors.gaussian={}", "-nsteps=300"]
    args += ["-walkers_per_dim=6", "-sampling.max_models=200"]
    assert main(args) == 0
    wave = star.wavelength.to_value(u.um)
    expected = int(np.sum(~((wave >= WAVE_MASK[0]) & (wave <= WAVE_MASK[1])))) - 1  # minus the dead column
    stats = json.loads((out / "bestfit_stats.json").read_text())
    assert stats["n_points"] == expected
    best = {r.split(",")[0]: r.split(",") for r in (out / "bestfit.csv").read_text().splitlines()}
    assert abs(float(best["Tphot"][2]) - 2600) < 60  # recovered from the median of the file's spectra
    names = {p.name for p in out.iterdir()}
    for expected in ("select_time.png", "chain.npz", "posterior_samples.csv", "diagnostics.json", "corner.png"):
        assert expected in names, expected
    combo = mpimg.imread(out / "combo_R300_1_2_3_sigma.png")
    assert combo.shape[1] > 1000  # spectrum + one panel per fitted component (fspot, Tphot, Tspot)
