"""Injection-recovery on a realistic synthetic time series (the 200 x 32 x n cube of a TSO).

Builder (not the extraction's code path: erf-integrated two-Gaussian profiles): curved trace with jitter,
a core width that grows along the dispersion and breathes from integration to integration, broad wings,
photon + read noise, 1/f stripes, sky gradient, cosmic rays and bad pixels.
"""

import functools

import numpy as np
import pytest

from specola.extract import aperture_extract, aperture_weights, extract, synthetic_frames
from specola.extract.config import (
    ApertureSection,
    BackgroundSection,
    DetectorSection,
    ExtractConfig,
    TraceSection,
)
from specola.extract.deconvolve import trace_spectra
from specola.extract.optimal import VarianceModel, horne_extract
from specola.extract.synthetic import pixel_profile

pytestmark = pytest.mark.slow

N_INTS, SHAPE, RADIUS = 200, (32, 320), 5.0


SIGMA, SIGMA_SLOPE = 1.1, 0.1


def cube(peak, n_cosmics=40, stripes=4.0, seed=3, **kw):
    return synthetic_frames(
        n_ints=N_INTS,
        shape=SHAPE,
        centre=15.6,
        slope=0.002,
        curvature=1e-5,
        sigma=SIGMA,
        sigma_slope=SIGMA_SLOPE,
        peak_flux=peak,
        sky_level=20.0,
        n_sky_lines=0,
        read_noise=10.0,
        jitter=0.05,
        breathing=0.02,
        stripes=stripes,
        n_cosmics=n_cosmics,
        n_bad=20,
        seed=seed,
        **kw,
    )


def config(**sections):
    base = dict(
        detector=DetectorSection(bias="constant", bias_level=1000.0, gain=2.0, read_noise=10.0),
        background=BackgroundSection(inner=8, outer=15, degree=1, destripe="columns"),
        aperture=ApertureSection(radius=RADIUS),
    )
    base.update(sections)
    return ExtractConfig(**base)


def truth_of(s):
    return s.true_aperture_flux(aperture_weights(s.trace, SHAPE[0], RADIUS))


def photon_floor(s, columns):
    """White-light noise of an optimal extraction that knew the true profile and variances."""
    w = aperture_weights(s.trace, SHAPE[0], RADIUS)
    p = s.profile / np.sum(w * s.profile, axis=1, keepdims=True)
    var = 1 / np.sum(np.where(w > 0, p**2 / s.meta["variance"], 0.0), axis=1)
    return np.median(np.sqrt(var[:, columns].sum(axis=1)) / truth_of(s)[:, columns].sum(axis=1))


def true_profile_white(s, r, columns):
    """White light of an optimal extraction with the true profiles on the extraction's own sky-subtracted frames."""
    sub = r.frames.data - r.sky
    w = aperture_weights(s.trace, SHAPE[0], RADIUS)
    known = horne_extract(
        sub,
        r.frames.variance,
        r.frames.mask,
        s.profile / np.sum(w * s.profile, axis=1, keepdims=True),
        aperture_weights(r.trace.positions, SHAPE[0], RADIUS),
        5.0,
        10,
        sky=np.broadcast_to(r.sky, sub.shape),
        variance_model=VarianceModel((s.read_noise / s.gain) ** 2, 1 / s.gain),
        start=r.flux,
    )
    return known.flux[:, columns].sum(axis=1)


def measured_profile_bound(s, columns, eps=1e-4):
    """Cramer-Rao factor on the white-light scatter when each integration's profile is measured from its pixels.

    Per integration, the Fisher matrix of every column's aperture flux plus a width and a shift, each with a part
    linear along the dispersion, from the builder's true profiles and variances over the aperture pixels: the
    ratio of the white light's variance with those four terms free to that with the profile known, as a scatter.
    """
    n_ints = s.profile.shape[0]
    n_cols = int(np.count_nonzero(columns))
    w = aperture_weights(s.trace, SHAPE[0], RADIUS)[..., columns]
    sig = (SIGMA + SIGMA_SLOPE * np.arange(SHAPE[1]) / 100.0)[columns]
    trace, width = s.trace[:, columns], s.meta["width"][:, None]

    def profile(dilation=0.0, shift=0.0):  # every integration's columns side by side in one builder call
        p = pixel_profile(SHAPE[0], (trace + shift).ravel(), (sig * width * (1 + dilation)).ravel())
        p = p.reshape(SHAPE[0], n_ints, n_cols).transpose(1, 0, 2)
        return p / np.sum(w * p, axis=1, keepdims=True)

    flux = s.true_aperture_flux(aperture_weights(s.trace, SHAPE[0], RADIUS))[:, None, columns]
    p = profile()
    d_width = flux * (profile(eps) - profile(-eps)) / (2 * eps)
    d_shift = flux * (profile(shift=eps) - profile(shift=-eps)) / (2 * eps)
    x = np.linspace(-1.0, 1.0, SHAPE[1])[columns]
    terms = np.stack([d_width, x * d_width, d_shift, x * d_shift], axis=1)  # (n_ints, 4, rows, cols)
    iv = np.where(w > 0, 1.0 / s.meta["variance"][..., columns], 0.0)
    a = np.sum(p * p * iv, axis=1)  # (n_ints, cols): the fluxes' information
    b = np.einsum("irc,ikrc->ick", p * iv, terms)
    c = np.einsum("ikrc,ilrc->ikl", terms * iv[:, None], terms)
    schur = c - np.einsum("ick,icl->ikl", b / a[..., None], b)
    u = np.sum(b / a[..., None], axis=1)
    known = np.sum(1.0 / a, axis=1)
    measured = known + np.einsum("ik,ik->i", u, np.linalg.solve(schur, u[..., None])[..., 0])
    return float(np.sqrt(np.mean(measured) / np.mean(known)))


@functools.cache
def extracted(peak):
    s = cube(peak)
    return s, extract(s.frames, config())


@pytest.fixture(scope="module", params=[2.0e4, 1.0e3], ids=["bright", "faint"])
def tso(request):
    return extracted(request.param)


def column_scatter(values, bad):
    """Standard deviation over integrations of each column with at least 100 good values."""
    keep = (~bad).sum(axis=0) >= 100
    v = np.where(bad, np.nan, values)[:, keep]
    return np.nanstd(v, axis=0), keep


def test_tso_flux_unbiased_and_errors_calibrated(tso):
    s, r = tso
    truth = truth_of(s)
    good = ~r.mask
    assert good.mean() > 0.97
    bias = np.median((r.flux / truth)[good]) - 1
    assert abs(bias) < 1e-3, bias
    # reported errors against the scatter about the truth, column by column (200 integrations each):
    # the typical (median) and the high (84th percentile) columns both within 5%
    scatter, keep = column_scatter(r.flux - truth, r.mask)
    error = np.nanmedian(np.where(good, r.error, np.nan), axis=0)[keep]
    assert np.median(error) / np.median(scatter) == pytest.approx(1.0, abs=0.05)
    assert np.percentile(error, 84) / np.percentile(scatter, 84) == pytest.approx(1.0, abs=0.05)
    assert np.median(error / scatter) == pytest.approx(1.0, abs=0.05)


def test_tso_cosmic_rays_caught(tso):
    s, r = tso
    inside = aperture_weights(s.trace, SHAPE[0], RADIUS) > 0
    hit = s.cosmics & inside
    assert hit.sum() > 1000
    assert (r.optimal.outliers & hit).sum() / hit.sum() >= 0.95
    assert (r.optimal.outliers & ~s.cosmics & inside).sum() / inside.sum() < 3e-3


def test_tso_trace_jitter_recovered(tso):
    s, r = tso
    true = s.meta["shifts"] - np.median(s.meta["shifts"])
    assert np.abs(r.trace.shifts - true).max() < 0.05
    assert np.abs(r.trace.positions - s.trace).max() < 0.1


def test_faint_optimal_beats_best_aperture():
    s, r = extracted(1.0e3)
    opt = np.median(column_scatter(r.flux / truth_of(s), r.mask)[0])
    # the best of several boxcar apertures on the same background-subtracted frames, each against its own truth
    sub = r.frames.data - r.sky
    best = np.inf
    for radius in (2.0, 2.5, 3.0, 4.0, 5.0):
        flux, _, bad = aperture_extract(sub, r.frames.variance, r.trace.positions, radius, mask=r.frames.mask)
        truth = s.true_aperture_flux(aperture_weights(s.trace, SHAPE[0], radius))
        best = min(best, np.median(column_scatter(flux / truth, bad)[0]))
    assert opt < best


def test_no_false_flags_and_white_light_at_photon_floor():
    """A breathing PSF (2% width changes), jitter, no cosmic rays, no stripes."""
    s = cube(2.0e4, n_cosmics=0, stripes=0.0, seed=5)
    r = extract(s.frames, config(background=BackgroundSection(inner=8, outer=15, degree=1)))
    inside = aperture_weights(s.trace, SHAPE[0], RADIUS) > 0
    assert r.optimal.outliers.sum() / inside.sum() < 3e-3
    cols = ~np.any(r.mask, axis=0)
    white = r.flux[:, cols].sum(axis=1) / truth_of(s)[:, cols].sum(axis=1)
    floor = photon_floor(s, cols)
    # the sample scatter of 200 points is itself uncertain by 5%
    assert np.std(white) / floor < 1.10, (np.std(white), floor)


def test_deconvolution_master_trace_jitter_on_faint_data_with_cosmics():
    s, _ = extracted(1.0e3)
    # DN/s-like scale (the tracing must not depend on it); known bad pixels zeroed (trace_spectra takes no mask)
    data = np.where(s.frames.mask, 0.0, s.frames.data - s.bias) / 1000.0
    _, ypos = trace_spectra(data, 0, SHAPE[1], 4, 28)
    true = s.meta["shifts"] - s.meta["shifts"].mean()
    offsets = ypos.mean(axis=1) - ypos.mean()
    assert np.abs(offsets - true).max() < 0.05
    assert np.abs(np.median(ypos, axis=0) - np.median(s.trace, axis=0)).max() < 0.05
    r = extract(s.frames, config(trace=TraceSection(method="deconvolve")))
    assert np.abs(r.trace.shifts - (s.meta["shifts"] - np.median(s.meta["shifts"]))).max() < 0.05


def test_variance_plane_cube_uses_model_variance():
    """A pipeline variance plane computed from the noisy counts biases data-weighted extraction low at low S/N."""
    s = cube(1.0e3, n_cosmics=0, stripes=0.0, seed=5, with_variance=True)
    base = dict(detector=DetectorSection(), background=BackgroundSection(inner=8, outer=15, degree=1))
    r = extract(s.frames, config(**base))
    assert r.meta["variance_model"] == "model"
    truth = truth_of(s)
    assert abs(np.median((r.flux / truth)[~r.mask]) - 1) < 1e-3


def test_faint_white_light_at_floor_with_slow_breathing():
    """Faint data (1e3 e-/column, read-noise regime), a PSF breathing 2% on a ~10-integration timescale.

    The floor is an optimal extraction with the true profile and true variances on the same sky-subtracted
    frames (the sky must be measured from the windows by any extraction; it adds ~8% at this level). The
    per-integration width must not add noise: a width error enters the flux at half its size when read noise
    dominates, so the width terms are filtered in time.
    """
    s = cube(1.0e3, n_cosmics=0, stripes=0.0, seed=5, breathing_time=10.0)
    r = extract(s.frames, config(background=BackgroundSection(inner=8, outer=15, degree=1)))
    cols = ~np.any(r.mask, axis=0)
    truth = truth_of(s)[:, cols].sum(axis=1)
    assert abs(np.median((r.flux / truth_of(s))[~r.mask]) - 1) < 1e-3
    floor = np.std(true_profile_white(s, r, cols) / truth)
    assert np.std(r.flux[:, cols].sum(axis=1) / truth) / floor < 1.10
    # and against the floor with a perfectly known sky (the sky fit's own noise is the rest)
    assert np.std(r.flux[:, cols].sum(axis=1) / truth) / photon_floor(s, cols) < 1.20


def test_faint_white_breathing_at_the_bound_of_a_measured_profile():
    """Faint data whose PSF breathes 2% independently from one integration to the next.

    No extraction knows each integration's width: measured from the integration's own pixels, it costs the white
    light the Cramer-Rao factor of :func:`measured_profile_bound` (~1.07 here; 1.22 for a Gaussian with read
    noise only: a width error moves the optimal flux, and the flux and width estimates are correlated). The
    extraction is within 5% of that bound, against the true profile on the same sky-subtracted frames. The
    photon floor with a known sky is out of reach of any extraction that measures its sky from 2 x 7 rows: the
    true profile itself is more than 5% above it there.
    """
    s = cube(1.0e3, n_cosmics=0, stripes=0.0, seed=5)
    r = extract(s.frames, config(background=BackgroundSection(inner=8, outer=15, degree=1)))
    cols = ~np.any(r.mask, axis=0)
    truth = truth_of(s)[:, cols].sum(axis=1)
    ours, oracle = np.std(r.flux[:, cols].sum(axis=1) / truth), np.std(true_profile_white(s, r, cols) / truth)
    bound = measured_profile_bound(s, cols)
    assert 1.03 < bound < 1.12, bound
    assert ours / oracle < 1.05 * bound, (ours / oracle, bound)
    assert oracle / photon_floor(s, cols) > 1.05
