"""Synthetic long-slit frames and time-series cubes with known truth (for tests and benchmarks).

The source has a tilted, gently curved trace and a two-Gaussian profile (a core
whose width changes along the dispersion plus broad wings, like a Moffat
profile), integrated exactly over each pixel with ``erf`` (not the extraction's
own code path). In a time series the trace jitters and the core "breathes"
(its width changes from integration to integration). The sky has a smooth
gradient and emission lines; 1/f-like stripes (an offset per integration and
dispersion column, constant along the slit) can be added; counts get Poisson
noise in electrons, Gaussian read noise and a bias level (in ADU), then cosmic
rays and dead/hot pixels.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.special import erf

from ..io.frames import Frames

__all__ = ["SyntheticFrames", "pixel_profile", "synthetic_frames"]


def _gauss_pixels(rows: np.ndarray, centre: np.ndarray, sigma: np.ndarray) -> np.ndarray:
    """Fraction of a unit Gaussian falling in each pixel ``[r - 0.5, r + 0.5]``."""
    s = np.sqrt(2.0) * sigma
    return 0.5 * (erf((rows + 0.5 - centre) / s) - erf((rows - 0.5 - centre) / s))


def pixel_profile(
    n_spatial: int, centre: np.ndarray, sigma: np.ndarray, wing_fraction: float = 0.1, wing_scale: float = 2.0
) -> np.ndarray:
    """Pixel-integrated two-Gaussian profile, ``(n_spatial, n_columns)``, summing to 1 over all rows.

    Examples
    --------
    >>> p = pixel_profile(60, np.array([30.0]), np.array([1.5]))
    >>> round(float(p.sum()), 6)
    1.0
    """
    rows = np.arange(n_spatial, dtype=float)[:, None]
    core = _gauss_pixels(rows, centre[None, :], sigma[None, :])
    wing = _gauss_pixels(rows, centre[None, :], wing_scale * sigma[None, :])
    return (1 - wing_fraction) * core + wing_fraction * wing


@dataclass(frozen=True, eq=False)
class SyntheticFrames:
    """A simulated frame or cube and its truth.

    Attributes
    ----------
    frames : Frames
        Raw ADU frames (variance None) or, with ``with_variance``, bias-free frames with a variance plane.
    trace : ndarray
        ``(n_ints, n_columns)`` true trace rows.
    profile : ndarray
        ``(n_ints, n_spatial, n_columns)`` true pixel-integrated profile (sums to 1 over all rows).
    flux : ndarray
        ``(n_ints, n_columns)`` true total source counts in ADU.
    sky : ndarray
        ``(n_spatial, n_columns)`` true sky in ADU.
    cosmics, bad : ndarray of bool
        Pixels hit by cosmic rays; dead/hot pixels (also set in ``frames.mask``).
    gain, read_noise, bias : float
        e⁻/ADU, e⁻, ADU.
    meta : dict
        ``width`` and ``shifts`` per integration (breathing, jitter) and ``variance``, the true pixel variance (ADU²).
    """

    frames: Frames
    trace: np.ndarray
    profile: np.ndarray
    flux: np.ndarray
    sky: np.ndarray
    cosmics: np.ndarray
    bad: np.ndarray
    gain: float
    read_noise: float
    bias: float
    meta: dict = field(default_factory=dict)

    def true_aperture_flux(self, weights: np.ndarray) -> np.ndarray:
        """Expected counts in an aperture with pixel ``weights`` ``(n_ints, n_spatial, n_columns)``."""
        return self.flux * np.sum(weights * self.profile, axis=1)


def synthetic_frames(
    n_ints: int = 1,
    shape: tuple[int, int] = (60, 300),
    centre: float = 28.3,
    slope: float = 0.012,
    curvature: float = 2e-5,
    sigma: float = 1.6,
    sigma_slope: float = 0.002,
    peak_flux: float = 2.0e4,
    sky_level: float = 200.0,
    n_sky_lines: int = 6,
    gain: float = 2.0,
    read_noise: float = 5.0,
    bias: float = 1000.0,
    n_cosmics: int = 20,
    n_bad: int = 10,
    jitter: float = 0.0,
    breathing: float = 0.0,
    breathing_time: float = 0.0,
    stripes: float = 0.0,
    wing_fraction: float = 0.1,
    depth: float = 0.0,
    with_variance: bool = False,
    seed: int | None = 0,
) -> SyntheticFrames:
    """Simulate raw long-slit frames (dispersion along columns) with known truth.

    Parameters
    ----------
    n_ints : int
        Integrations (a cube when > 1).
    shape : (int, int)
        ``(n_spatial, n_columns)``.
    centre, slope, curvature : float
        Trace row at column 0, its slope (px per column) and curvature.
    sigma, sigma_slope : float
        Core Gaussian width at column 0 and its change per 100 columns.
    peak_flux : float
        Total source electrons per column at the blaze peak.
    sky_level : float
        Sky continuum in electrons per pixel.
    n_sky_lines : int
        Sky emission lines (spanning the whole slit).
    gain, read_noise, bias : float
        e⁻/ADU, e⁻ rms, ADU.
    n_cosmics, n_bad : int
        Cosmic-ray hits per integration, dead/hot pixels (fixed, flagged in the mask).
    jitter : float
        RMS spatial shift between integrations (pixels).
    breathing : float
        RMS fractional change of the core width between integrations.
    breathing_time : float
        Correlation time of the breathing in integrations (Gaussian-smoothed, like a thermal drift; 0 = white,
        independent from one integration to the next).
    stripes : float
        RMS of the 1/f stripes in electrons (one offset per integration and dispersion column).
    wing_fraction : float
        Share of the light in the broad wings (twice the core width).
    depth : float
        Fractional transit depth applied to the middle third of the integrations.
    with_variance : bool
        Return bias-subtracted frames with a true-model variance plane instead of raw frames.
    seed : int, optional
        Random seed.

    Returns
    -------
    SyntheticFrames
    """
    rng = np.random.default_rng(seed)
    n_spatial, n_cols = shape
    x = np.arange(n_cols, dtype=float)
    shifts = rng.normal(0.0, jitter, n_ints) if jitter > 0 else np.zeros(n_ints)
    base = centre + slope * x + curvature * (x - n_cols / 2) ** 2
    trace = base[None, :] + shifts[:, None]
    sig = sigma + sigma_slope * x / 100.0
    width = 1 + (_breathing(rng, n_ints, breathing, breathing_time) if breathing > 0 else np.zeros(n_ints))
    profile = np.stack([pixel_profile(n_spatial, trace[i], sig * width[i], wing_fraction) for i in range(n_ints)])
    blaze = peak_flux * (0.25 + 0.75 * np.exp(-0.5 * ((x - 0.55 * n_cols) / (0.35 * n_cols)) ** 2))
    blaze = blaze * (1 - 0.3 * np.exp(-0.5 * ((x - 0.3 * n_cols) / 4.0) ** 2))  # an absorption line
    scale = np.ones(n_ints)
    if depth:
        scale[n_ints // 3 : 2 * n_ints // 3] -= depth
    flux_e = blaze[None, :] * scale[:, None]
    rows = np.arange(n_spatial, dtype=float)[:, None]
    sky = sky_level * (1 + 0.2 * (rows - n_spatial / 2) / n_spatial) * np.ones((1, n_cols))
    for pos in rng.uniform(10, n_cols - 10, n_sky_lines):
        sky = sky + 5 * sky_level * np.exp(-0.5 * ((x[None, :] - pos) / 1.2) ** 2)
    expected = flux_e[:, None, :] * profile + sky[None]
    counts = rng.poisson(expected).astype(float) + rng.normal(0.0, read_noise, expected.shape)
    if stripes > 0:
        counts = counts + rng.normal(0.0, stripes, (n_ints, 1, n_cols))
    adu = counts / gain + bias
    cosmics = np.zeros(adu.shape, bool)
    for i in range(n_ints):
        for _ in range(n_cosmics):
            r, c = rng.integers(0, n_spatial), rng.integers(0, n_cols)
            length = rng.integers(1, 3)
            cosmics[i, r : r + length, c] = True
    adu = adu + np.where(cosmics, rng.uniform(200, 3000, adu.shape), 0.0)
    bad = np.zeros((n_spatial, n_cols), bool)
    bad[rng.integers(0, n_spatial, n_bad), rng.integers(0, n_cols, n_bad)] = True
    adu = np.where(bad[None], np.where(rng.random(adu.shape) < 0.5, 0.0, 6.0e4), adu)
    mask = np.broadcast_to(bad, adu.shape).copy()
    meta = {"instrument": "synthetic", "gain": gain, "read_noise": read_noise}
    if with_variance:
        # a pipeline's variance plane: Poisson term from the noisy counts (as the JWST ramp fit does), read noise
        variance = (np.maximum(counts, 0.0) + read_noise**2) / gain**2
        frames = Frames(adu - bias, variance, mask, unit=_adu(), meta=meta)
    else:
        frames = Frames(adu, None, mask, unit=_adu(), meta=meta)
    return SyntheticFrames(
        frames,
        trace,
        profile,
        flux_e / gain,
        sky / gain,
        cosmics & ~bad[None],
        bad,
        gain,
        read_noise,
        bias,
        {"width": width, "shifts": shifts, "variance": (expected + read_noise**2 + stripes**2) / gain**2},
    )


def _breathing(rng: np.random.Generator, n_ints: int, rms: float, timescale: float) -> np.ndarray:
    """Fractional width changes per integration: white, or smoothed over ``timescale`` integrations."""
    eps = rng.normal(0.0, rms, n_ints)
    if timescale > 0:
        from scipy.ndimage import gaussian_filter1d

        eps = gaussian_filter1d(eps, timescale, mode="wrap")
        eps *= rms / max(np.std(eps), 1e-300)
    return eps


def _adu():
    import astropy.units as u

    return u.adu
