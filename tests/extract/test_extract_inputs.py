"""Bad input and the smaller pieces of the stark-compatible API."""

import dataclasses

import numpy as np
import pytest

from specola.errors import ConfigError, SpecolaWarning, SpectrumError
from specola.extract import aperture_extract, aperture_weights, extract, synthetic_frames
from specola.extract.background import destripe
from specola.extract.config import (
    ApertureSection,
    BackgroundSection,
    DetectorSection,
    ExtractConfig,
)
from specola.extract.deconvolve import trace_spectrum
from specola.extract.reduce import background2d, col_by_col_bkg_sub, polynomial_bkg_cols, polynomial_bkg_rows
from specola.extract.singleorder import SingleOrderPSF, fit_spline_univariate

SHAPE = (60, 120)


def frames(**kw):
    args = dict(shape=SHAPE, centre=28.3, n_cosmics=0, n_bad=0, with_variance=True, seed=1)
    args.update(kw)
    return synthetic_frames(**args)


CFG = ExtractConfig(background=BackgroundSection(inner=10, outer=25))


def test_nan_inf_and_negative_variance_are_masked_with_a_counted_warning():
    s = frames()
    data, var = s.frames.data.copy(), s.frames.variance.copy()
    data[0, 28, 10], data[0, 29, 11] = np.nan, np.inf
    var[0, 27, 12] = -1.0
    f = dataclasses.replace(s.frames, data=data, variance=var)
    with pytest.warns(SpecolaWarning, match="1 pixels with a negative variance"):
        r = extract(f, CFG)
    assert r.frames.mask[0, 28, 10] and r.frames.mask[0, 29, 11] and r.frames.mask[0, 27, 12]
    assert np.all(np.isfinite(r.flux[~r.mask]))


def test_fully_masked_column_is_masked_not_fatal():
    s = frames()
    mask = s.frames.mask.copy()
    mask[:, :, 40] = True
    with pytest.warns(SpecolaWarning, match="1 of 120 column"):
        r = extract(dataclasses.replace(s.frames, mask=mask), CFG)
    assert r.mask[0, 40] and r.aperture_mask[0, 40] and r.mask.sum() < 5


def test_trace_near_the_edge_is_flagged_not_clamped():
    s = frames(centre=3.2, slope=0.0, curvature=0.0)
    cfg = ExtractConfig(background=BackgroundSection(enabled=False), aperture=ApertureSection(radius=3.0))
    with pytest.warns(SpecolaWarning, match="frame edge"):
        r = extract(s.frames, cfg)
    # the trace is where the light is (not pushed inwards), and the columns are flagged
    assert np.abs(np.median(r.trace.positions) - 3.2) < 0.1
    assert r.mask.all()


def test_impossible_geometry_and_shapes_raise_one_line_errors():
    s = frames()
    with pytest.raises(ConfigError, match="wider than the frame"):
        extract(s.frames, dataclasses.replace(CFG, aperture=ApertureSection(radius=40.0)))
    with pytest.raises(SpectrumError, match=r"frames\.data: expected"):
        extract(dataclasses.replace(s.frames, data=s.frames.data[0, 0]), CFG)
    with pytest.raises(SpectrumError, match=r"frames\.variance: shape"):
        extract(dataclasses.replace(s.frames, variance=s.frames.variance[:, :10]), CFG)


def test_uniform_aperture_is_mean_times_length():
    d = np.full((1, 20, 3), 2.0)
    mask = np.zeros(d.shape, bool)
    mask[0, 10, 1] = True
    f, _, bad = aperture_extract(d, d, np.full(3, 10.0), 3.0, True, mask=mask)
    assert np.allclose(f, 12.0) and not bad.any()
    f2, _, bad2 = aperture_extract(d[0], d[0], np.full(3, 10.0), 3.0, mask=mask[0])
    assert f2.shape == (3,) and f2[1] == pytest.approx(10.0) and bad2.tolist() == [False, True, False]


def _sky_frame():
    rng = np.random.default_rng(2)
    rows, cols = np.arange(50)[:, None], np.arange(80)[None, :]
    sky = 10 + 0.1 * rows + 0.05 * cols
    f = sky + rng.normal(0, 0.5, sky.shape)
    f[22:28] += 300.0
    f[5, 10] += 400.0  # a cosmic ray in the background
    f[40, 50] -= 400.0  # and a cold pixel: two-sided clipping
    bkg = np.ones_like(f)
    bkg[18:32] = 0
    return f, bkg, sky


@pytest.mark.parametrize("fn", [polynomial_bkg_cols, polynomial_bkg_rows])
def test_polynomial_backgrounds_clip_both_ways(fn):
    f, bkg, sky = _sky_frame()
    corrected, model = fn(f, bkg, 1)
    assert np.abs(model - sky)[bkg > 0].max() < 0.5
    assert np.allclose(corrected, f - model)


def test_median_and_photutils_backgrounds():
    f, bkg, sky = _sky_frame()
    _, level = col_by_col_bkg_sub(f, bkg)
    assert level.shape == (80,) and np.abs(level - np.median(sky[bkg[:, 0] > 0], axis=0)).max() < 1.0
    _, model = background2d(f, bkg, box_size=(10, 10))
    assert np.median(np.abs(model - sky)) < 0.3


def test_backgrounds_in_the_pipeline_carry_their_variance():
    s = synthetic_frames(shape=SHAPE, centre=28.3, n_sky_lines=0, n_bad=0, seed=4)
    det = DetectorSection(bias="constant", bias_level=1000.0, gain=2.0, read_noise=5.0)
    truth = s.true_aperture_flux(aperture_weights(s.trace, SHAPE[0], 4.0))
    # ("rows" needs sky pixels in every row: a trace along the rows has none in its own; see the reduce tests)
    for method in ("columns", "median", "photutils"):
        cfg = ExtractConfig(detector=det, background=BackgroundSection(method=method, inner=10, outer=25))
        r = extract(s.frames, cfg)
        z = ((r.flux - truth) / r.error)[~r.mask]
        assert abs(np.median(r.flux / truth) - 1) < 0.01, method
        assert 0.7 < np.std(z) < 1.3, method


def test_destripe_removes_column_offsets():
    s = synthetic_frames(n_ints=3, shape=SHAPE, centre=28.3, stripes=30.0, n_cosmics=0, n_bad=0, seed=6)
    data = s.frames.data - s.bias
    clean, stripes = destripe(data, s.frames.mask, s.trace, 10.0, "columns")
    # (the column medians take the sky level with them)
    before = np.std(data[:, :5].mean(axis=1) - s.sky[None, :5].mean(axis=1))
    assert np.std(clean[:, :5].mean(axis=1)) < 0.3 * before
    assert stripes.shape == data.shape and np.allclose(stripes[:, 0], stripes[:, -1])


def test_trace_spectrum_is_scale_free():
    s = frames(peak_flux=3000.0)
    frame = s.frames.data[0] - s.sky
    _, y1, kern, _ = trace_spectrum(frame, 0, SHAPE[1], 15, 45)
    _, y2, _, _ = trace_spectrum(frame * 1e-4, 0, SHAPE[1], 15, 45)
    assert kern.shape == (21, 1)
    assert np.allclose(y1, y2, equal_nan=True) and np.nanmedian(np.abs(y1 - s.trace[0])) < 0.1
    with pytest.raises(SpectrumError, match="leaves the frame"):
        trace_spectrum(frame, 0, 500, 15, 45)


def test_single_order_psf_frames_recover_the_profile():
    s = synthetic_frames(
        n_ints=4, shape=SHAPE, centre=28.3, slope=0.03, n_cosmics=0, n_bad=0, seed=9, with_variance=True
    )
    sub = s.frames.data - s.sky[None]
    psf = SingleOrderPSF(frame=sub, variance=s.frames.variance, ord_pos=s.trace, ap_rad=4.0)
    w = aperture_weights(s.trace, SHAPE[0], 4.0)
    truth = s.profile / np.sum(w * s.profile, axis=1, keepdims=True)
    for method in (psf.univariate_psf_frame, psf.bivariate_psf_frame, psf.univariate_multi_psf_frame):
        frame, model, kept = method(clip=5, niters=3)
        assert frame.shape == sub.shape and kept.mean() > 0.97 and model.kind in ("univariate", "bivariate", "windowed")
        core = w * truth > 0.05
        assert np.median(np.abs(frame - truth)[core] / truth[core]) < 0.03, model.kind
    table = psf.norm_flux_coo()
    back = psf.table2frame(table.value)
    assert np.isfinite(back).sum() == len(table)
    model, kept = fit_spline_univariate(table, oversample=1)
    assert kept.shape == (len(table),) and model.kind == "univariate"
    with pytest.raises(SpectrumError, match="unknown keyword"):
        psf.univariate_psf_frame(knots=3)
