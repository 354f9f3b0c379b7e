"""Injection-recovery on synthetic frames and cubes with known truth."""

import numpy as np
import pytest

from specola.extract import ExtractConfig, aperture_weights, extract, synthetic_frames
from specola.extract.config import (
    ApertureSection,
    BackgroundSection,
    DetectorSection,
    OptimalSection,
    PsfSection,
    TraceSection,
)

SHAPE = (70, 160)
CENTRE = 34.3


def raw_config(**sections):
    """Config for raw synthetic frames (bias 1000 ADU, gain 2 e-/ADU, read noise 5 e-)."""
    base = dict(
        detector=DetectorSection(bias="constant", bias_level=1000.0, gain=2.0, read_noise=5.0),
        background=BackgroundSection(inner=12, outer=28),
    )
    base.update(sections)
    return ExtractConfig(**base)


def _pulls(n_real, kind="bivariate"):
    cfg = raw_config(psf=PsfSection(kind=kind, knot_columns=4))
    pulls = {"aperture": [], "optimal": []}
    for seed in range(n_real):
        s = synthetic_frames(shape=SHAPE, centre=CENTRE, sigma_slope=0.15, seed=seed)
        r = extract(s.frames, cfg)
        truth = s.true_aperture_flux(aperture_weights(s.trace, SHAPE[0], cfg.aperture.radius))
        for name, f, e, m in (
            ("aperture", r.aperture_flux, r.aperture_error, r.aperture_mask),
            ("optimal", r.flux, r.error, r.mask),
        ):
            assert m.mean() < 0.05
            pulls[name].append(((f - truth) / e)[~m])
    return {k: np.concatenate(v) for k, v in pulls.items()}


@pytest.mark.slow
def test_fluxes_recover_truth_within_errors():
    pulls = _pulls(25)
    for name, z in pulls.items():
        n = z.size
        assert abs(z.mean()) < 4 / np.sqrt(n) + 0.03, (name, z.mean())
        assert abs(z.std() - 1) < 0.06, (name, z.std())
        assert np.mean(np.abs(z) > 4) < 2e-3, name


def test_trace_recovered_to_a_twentieth_pixel():
    s = synthetic_frames(shape=SHAPE, centre=CENTRE, seed=11)
    r = extract(s.frames, raw_config())
    assert np.abs(r.trace.positions - s.trace).max() < 0.05


@pytest.mark.parametrize("seed", [5, 6])
def test_cosmics_flagged_not_good_pixels(seed):
    s = synthetic_frames(shape=SHAPE, centre=CENTRE, n_cosmics=120, seed=seed)
    cfg = raw_config()
    r = extract(s.frames, cfg)
    inside = aperture_weights(s.trace, SHAPE[0], cfg.aperture.radius) > 0
    hit = s.cosmics & inside
    assert hit.sum() > 15
    out = r.optimal.outliers
    assert (out & hit).sum() / hit.sum() > 0.9
    assert (out & ~s.cosmics).sum() <= 1
    # the columns they hit are still recovered within errors
    truth = s.true_aperture_flux(aperture_weights(s.trace, SHAPE[0], cfg.aperture.radius))
    cols = np.any(hit, axis=1)
    z = ((r.flux - truth) / r.error)[cols]
    assert np.abs(z).max() < 4.5


@pytest.mark.slow
def test_optimal_beats_aperture_by_the_expected_factor():
    """Faint source, read-noise dominated, no sky: per column var(aperture) / var(optimal) = sum(w^2 V) sum(P^2/V)."""
    radius = 6.0
    cfg = raw_config(
        background=BackgroundSection(enabled=False),
        optimal=OptimalSection(variance="data"),
        psf=PsfSection(kind="univariate", min_snr=5.0),
        trace=TraceSection(guess=CENTRE, min_snr=3.0, bin_columns=16),
        aperture=ApertureSection(radius=radius),
    )
    res_ap, res_opt = [], []
    for seed in range(40):
        s = synthetic_frames(
            shape=SHAPE, centre=CENTRE, peak_flux=2000.0, sky_level=0.0, read_noise=20.0, with_variance=True, seed=seed
        )
        r = extract(s.frames, cfg)
        w = aperture_weights(s.trace, SHAPE[0], radius)
        truth = s.true_aperture_flux(w)
        res_ap.append(np.where(r.aperture_mask, np.nan, r.aperture_flux - truth)[0])
        res_opt.append(np.where(r.mask, np.nan, r.flux - truth)[0])
    p = s.profile / np.sum(w * s.profile, axis=1, keepdims=True)
    v = s.frames.variance
    expected = np.sum(w**2 * v, axis=1) * np.sum(np.where(w > 0, p**2 / v, 0.0), axis=1)
    measured = np.nanvar(res_ap, axis=0) / np.nanvar(res_opt, axis=0)
    assert np.median(expected) > 1.4
    # each per-column variance ratio from 40 draws scatters by ~30%; the median over 160 columns by ~3%
    assert np.median(measured / expected[0]) == pytest.approx(1.0, abs=0.08)
    assert np.median(measured) > 1.3


def test_cube_shares_one_profile_and_recovers_shifts_and_transit():
    cfg = raw_config(trace=TraceSection(shifts=True), psf=PsfSection(kind="bivariate", knot_columns=4))
    s = synthetic_frames(n_ints=12, shape=SHAPE, centre=CENTRE, jitter=0.3, depth=0.01, n_cosmics=5, seed=2)
    r = extract(s.frames, cfg)
    true_shift = s.trace[:, 0] - np.median(s.trace[:, 0])
    assert np.abs((r.trace.shifts - np.median(r.trace.shifts)) - true_shift).max() < 0.05
    assert r.table.integration.max() == 11  # one pixel table over every integration
    good = ~np.any(r.mask, axis=0)
    white = r.flux[:, good].sum(axis=1)
    err = np.sqrt((r.error[:, good] ** 2).sum(axis=1))
    in_transit = np.zeros(12, bool)
    in_transit[4:8] = True
    base = white[~in_transit].mean()
    depth = 1 - white[in_transit].mean() / base
    depth_err = np.sqrt(np.mean(err[in_transit] ** 2) / 4 + np.mean(err[~in_transit] ** 2) / 8) / base
    assert abs(depth - 0.01) < 4 * depth_err
