import astropy.units as u
import numpy as np
import pytest

from specola.errors import ConfigError
from specola.extract import (
    aperture_extract,
    aperture_weights,
    centroids,
    fit_background,
    series_columns,
    wavelength_at_trace,
)
from specola.extract.calibrate import raw_variance, subtract_bias
from specola.extract.config import BackgroundSection


@pytest.mark.parametrize("centre", [10.0, 10.37, 10.5, 11.93])
@pytest.mark.parametrize("radius", [0.7, 2.5, 3.2])
def test_aperture_weights_are_exact_overlaps(centre, radius):
    w = aperture_weights(np.array([centre]), 25, radius)[:, 0]
    assert w.sum() == pytest.approx(2 * radius)
    # numerical overlap on a fine grid
    x = np.linspace(-0.5, 24.5, 250001)
    inside = np.abs(x - centre) <= radius
    expected = np.array([np.mean(inside[(x >= r - 0.5) & (x < r + 0.5)]) for r in range(25)])
    assert np.allclose(w, expected, atol=1e-4)


def test_aperture_extract_flags_bad_pixels_and_edges():
    d = np.ones((1, 20, 4))
    mask = np.zeros(d.shape, bool)
    mask[0, 10, 1] = True
    f, v, bad = aperture_extract(d, 2 * d, np.array([10.0, 10.0, 10.0, 1.0]), 2.0, mask=mask)
    assert f[0, 0] == pytest.approx(4.0) and v[0, 0] == pytest.approx(2 * (3 + 2 * 0.25))
    assert bad.tolist() == [[False, True, False, True]]


def test_bias_methods():
    rng = np.random.default_rng(1)
    d = 900 + rng.normal(0, 1, (2, 30, 50))
    d[:, :, :40] += 100.0
    row_bias = np.linspace(0, 5, 30)[None, :, None]
    out, bias = subtract_bias(d + row_bias, "overscan_rows", region=(0, 30, 40, 50))
    assert np.abs(out[:, :, 40:].mean()) < 0.2 and np.allclose(bias[0, :, 0] - 900, row_bias[0, :, 0], atol=1.0)
    out, _ = subtract_bias(d, "region", region=(0, 30, 40, 50))
    assert out[:, :, :40].mean() == pytest.approx(100.0, abs=0.1)
    with pytest.raises(ConfigError, match="outside"):
        subtract_bias(d, "region", region=(0, 31, 40, 50))
    assert np.allclose(raw_variance(np.array([-10.0, 10.0]), 2.0, 4.0), [9.0, 9.0])


def test_background_clips_outliers_and_recovers_a_gradient():
    rng = np.random.default_rng(3)
    n_spatial, n_cols = 60, 40
    rows = np.arange(n_spatial)[:, None]
    sky = 100 + 0.5 * (rows - 30) + np.zeros((1, n_cols))
    data = (sky + rng.normal(0, 3, (n_spatial, n_cols)))[None]
    data[0, 8, :] += 500  # a hot row inside the windows
    trace = np.full((1, n_cols), 30.0)
    cfg = BackgroundSection(inner=8, outer=25, degree=1)
    fit = fit_background(data, np.full(data.shape, 9.0), np.zeros(data.shape, bool), trace, cfg)
    assert fit.rejected[0, 8].all()
    err = np.sqrt(np.einsum("rk,ickl,rl->irc", fit.design, fit.covariance, fit.design))
    pull = (fit.model - sky[None]) / err
    assert np.abs(pull).max() < 5 and 0.5 < pull.std() < 1.5


def test_background_without_pixels_is_masked_not_fatal():
    d = np.ones((1, 20, 3))
    cfg = BackgroundSection(inner=9.5, outer=9.8, degree=2)
    fit = fit_background(d, d, np.zeros(d.shape, bool), np.full((1, 3), 10.0), cfg)
    assert fit.failed.all()


def test_centroid_unbiased_for_asymmetric_start():
    r = np.arange(40.0)[:, None]
    truth = np.array([12.3, 17.71, 20.5, 25.05])
    p = np.exp(-0.5 * (r - truth) ** 2 / 1.4**2)
    c, _ = centroids(p, np.ones_like(p), truth + np.array([1.5, -1.2, 0.8, -2.0]), 4.0)
    assert np.abs(c - truth).max() < 0.01


def test_wavelengths_from_map_and_polynomial():
    wmap = np.tile(np.linspace(10, 5, 8), (6, 1)) * u.um
    wmap[:, 0] = np.nan * u.um
    w = wavelength_at_trace("auto", np.arange(8), np.full(8, 2.5), wmap)
    idx, low, high = series_columns(w)
    assert idx.tolist() == [7, 6, 5, 4, 3, 2, 1] and np.all(np.diff(low.value) > 0) and np.all(high > low)
    assert wavelength_at_trace("none", np.arange(3), np.zeros(3), wmap) is None
    assert wavelength_at_trace("auto", np.arange(3), np.zeros(3), None) is None
    with pytest.raises(ConfigError, match="coefficients"):
        wavelength_at_trace("polynomial", np.arange(3), np.zeros(3), None)
    with pytest.raises(ConfigError, match="length unit"):
        wavelength_at_trace("polynomial", np.arange(3), np.zeros(3), None, (1.0, 2.0), "Jy")


def _stark_formula(psf, data, variance, good, trace, radius):
    """stark's per-column loop written out (whole pixels where the aperture's fractional weight is > 0)."""
    spec = np.full(data.shape[1], np.nan)
    for c in range(data.shape[1]):
        rows = np.arange(data.shape[0])
        inside = (rows + 0.5 > trace[c] - radius) & (rows - 0.5 < trace[c] + radius) & (psf[:, c] > 0) & good[:, c]
        p, d, v = psf[inside, c], data[inside, c], variance[inside, c]
        if inside.any():
            spec[c] = np.sum(p * d / v) / np.sum(p**2 / v)
    return spec


def test_stark_optimal_extract_matches_its_formula_and_recovers_the_flux():
    from specola.extract import optimal_extract

    rng = np.random.default_rng(3)
    rows, cols = 30, 40
    trace = 14.3 + 0.05 * np.arange(cols)
    r = np.arange(rows)[:, None]
    psf = np.exp(-0.5 * ((r - trace) / 1.4) ** 2)
    psf /= psf.sum(axis=0)
    truth = 2000.0 * (1 + 0.2 * np.sin(np.arange(cols) / 5))
    variance = 25.0 + truth * psf
    data = truth * psf + rng.normal(0.0, np.sqrt(variance))
    good = rng.random((rows, cols)) > 0.02
    spec, var, synth = optimal_extract(psf, data, variance, good, trace, 6.0)
    assert np.allclose(spec, _stark_formula(psf, data, variance, good, trace, 6.0), rtol=1e-12)
    pulls = (spec - truth) / np.sqrt(var)
    assert abs(np.mean(pulls)) < 0.5 and 0.7 < np.std(pulls) < 1.3
    assert np.allclose(synth[:, 5], np.where(np.abs(np.arange(rows) - trace[5]) < 6.5, spec[5] * psf[:, 5], 0.0))
    # the PSF's normalisation does not change the variance of the estimator (stark's formula does)
    spec2, var2, _ = optimal_extract(3 * psf, data, variance, good, trace, 6.0)
    assert np.allclose(spec2 * 3, spec) and np.allclose(var2 * 9, var)


def test_stark_optimal_extract_names_wrong_shapes():
    from specola.errors import SpectrumError
    from specola.extract import optimal_extract

    frame = np.ones((10, 8))
    with pytest.raises(SpectrumError, match="variance must be a 2-D"):
        optimal_extract(frame, frame, np.ones((10, 7)), frame > 0, np.full(8, 5.0), 2)
    with pytest.raises(SpectrumError, match="ord_pos must hold one row per column"):
        optimal_extract(frame, frame, frame, frame > 0, np.full(7, 5.0), 2)
