"""Tracing: windowed centroids in column bins and a robust low-order polynomial.

Centroids use the same fractional-edge window as the aperture, re-centred until
they converge, so a symmetric profile gives an unbiased centre. The polynomial
is fitted in a column coordinate scaled to [-1, 1] with iterative sigma
clipping of the binned centroids (weighted by their estimated errors).
"""

from __future__ import annotations

import itertools
import logging
import warnings
from dataclasses import dataclass

import numpy as np

from ..errors import SpectrumError
from .aperture import aperture_weights
from .config import TraceSection

__all__ = ["Trace", "centroids", "fit_shifts", "trace_frames"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, eq=False)
class Trace:
    """A fitted spectral trace.

    Attributes
    ----------
    positions : ndarray
        ``(n_ints, n_dispersion)`` trace row per integration and column.
    coefficients : ndarray
        Polynomial coefficients (increasing powers of the scaled column).
    domain : (float, float)
        Columns mapped to [-1, 1].
    bin_columns, bin_centroids, bin_errors : ndarray
        The binned centroids the polynomial was fitted to (NaN where unusable).
    clipped : ndarray of bool
        Bins rejected by the robust fit.
    shifts : ndarray
        ``(n_ints,)`` per-integration offsets added to the polynomial (zero unless fitted).
    rms : float
        Robust scatter of the kept centroids about the fit (pixels).
    """

    positions: np.ndarray
    coefficients: np.ndarray
    domain: tuple[float, float]
    bin_columns: np.ndarray
    bin_centroids: np.ndarray
    bin_errors: np.ndarray
    clipped: np.ndarray
    shifts: np.ndarray
    rms: float

    def __call__(self, columns: np.ndarray) -> np.ndarray:
        """The polynomial trace (no per-integration shift) at ``columns``."""
        x = _scale(np.asarray(columns, float), self.domain)
        return np.polynomial.polynomial.polyval(x, self.coefficients)


def nanmedian(a: np.ndarray, axis: int | tuple[int, ...], **kwargs) -> np.ndarray:
    """``np.nanmedian`` that returns NaN for all-NaN slices without a warning (fully masked columns are expected)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "All-NaN slice encountered", RuntimeWarning)
        return np.nanmedian(a, axis=axis, **kwargs)


def _scale(x: np.ndarray, domain: tuple[float, float]) -> np.ndarray:
    lo, hi = domain
    return (2 * x - (lo + hi)) / max(hi - lo, 1.0)


def centroids(
    profiles: np.ndarray, variance: np.ndarray, guess: np.ndarray, halfwidth: float, niter: int = 20
) -> tuple[np.ndarray, np.ndarray]:
    """Iteratively re-centred windowed centroids of spatial profiles.

    Parameters
    ----------
    profiles, variance : ndarray
        ``(n_spatial, n)`` background-subtracted profiles (one per column or bin) and variances.
    guess : ndarray
        ``(n,)`` starting rows.
    halfwidth : float
        Window half-width in pixels (fractional edges).
    niter : int
        Maximum re-centring iterations.

    Returns
    -------
    centre, error : ndarray
        ``(n,)``; NaN where the window holds no positive flux.

    Examples
    --------
    >>> r = np.arange(30.0)[:, None]
    >>> p = np.exp(-0.5 * (r - 12.3) ** 2 / 1.5**2)
    >>> float(np.round(centroids(p, np.ones_like(p), np.array([11.0]), 5.0)[0][0], 2))
    12.3
    """
    n_spatial = profiles.shape[0]
    r = np.arange(n_spatial, dtype=float)[:, None]
    c = np.asarray(guess, float).copy()
    err = np.full(c.shape, np.nan)
    for _ in range(niter):
        # near an edge the window shrinks symmetrically (a truncated window would pull the centre inwards)
        cc = np.nan_to_num(c, nan=-1e9)
        hw = np.minimum(halfwidth, np.minimum(cc + 0.5, n_spatial - 0.5 - cc))
        w = aperture_weights(cc, n_spatial, np.maximum(hw, 0.0))
        wp = w * np.nan_to_num(profiles)
        total = wp.sum(axis=0)
        ok = total > 0
        new = np.where(ok, (wp * r).sum(axis=0) / np.where(ok, total, 1.0), np.nan)
        err = np.where(ok, np.sqrt((w**2 * (r - new) ** 2 * np.nan_to_num(variance)).sum(axis=0)) / total, np.nan)
        # no centre where less than a pixel either side is left (never clamped)
        new = np.where((new < 0.5) | (new > n_spatial - 1.5), np.nan, new)
        done = np.nanmax(np.abs(new - c), initial=0.0) < 1e-4
        c = new
        if done:
            break
    return c, err


def trace_frames(
    data: np.ndarray,
    variance: np.ndarray,
    mask: np.ndarray,
    config: TraceSection | None = None,
    guess: float | None = None,
    shifts: bool | None = None,
) -> Trace:
    """Trace a spectrum on background-subtracted frames.

    Parameters
    ----------
    data, variance : ndarray
        ``(n_ints, n_spatial, n_dispersion)``.
    mask : ndarray of bool
        True for bad pixels.
    config : TraceSection, optional
        Centroid window (``halfwidth``), column binning, polynomial degree, clipping, S/N threshold.
    guess : float, optional
        Starting row (overrides ``config.guess``); default: the peak of the median spatial profile.
    shifts : bool, optional
        Fit a spatial offset per integration (default ``config.shifts``; cubes only), see :func:`fit_shifts`.

    Returns
    -------
    Trace
    """
    cfg = config or TraceSection()
    halfwidth, bin_columns, degree, sigma, min_snr = cfg.halfwidth, cfg.bin_columns, cfg.degree, cfg.sigma, cfg.min_snr
    niter = 5
    if guess is None and cfg.guess >= 0:
        guess = float(cfg.guess)
    n_ints, n_spatial, n_disp = data.shape
    clean = np.where(mask, np.nan, data)
    if cfg.method == "deconvolve":
        return _deconvolved(clean, cfg, guess)
    good = (~mask).sum(axis=0)
    stack = np.median(data, axis=0) if n_ints > 1 else data[0]
    var_stack = np.median(variance, axis=0) / n_ints
    if mask.any():
        # median over the good integrations only; pixels bad in every integration become NaN
        with np.errstate(invalid="ignore"):
            filled = np.sort(np.where(mask, np.inf, data), axis=0)
        lo, hi = np.maximum((good - 1) // 2, 0), np.maximum(good // 2, 0)
        pick = lambda k: np.take_along_axis(filled, k[None], axis=0)[0]
        stack = np.where(good > 0, 0.5 * (pick(lo) + pick(hi)), np.nan)
        var_stack = np.where(good > 0, var_stack * n_ints / np.maximum(good, 1), np.nan)
    nb = max(n_disp // bin_columns, 1)
    edges = np.linspace(0, n_disp, nb + 1).astype(int)
    prof = np.stack([nanmedian(stack[:, a:b], axis=1) for a, b in itertools.pairwise(edges)], 1)
    pvar = np.stack([nanmedian(var_stack[:, a:b], axis=1) / (b - a) for a, b in itertools.pairwise(edges)], 1)
    prof, pvar = np.nan_to_num(prof), np.nan_to_num(pvar, nan=1e30, posinf=1e30)
    cols = 0.5 * (edges[:-1] + edges[1:] - 1)
    if guess is None:
        guess = float(np.argmax(np.median(prof, axis=1)))
    c, err = centroids(prof, pvar, np.full(nb, float(guess)), halfwidth)
    w = aperture_weights(np.nan_to_num(c), n_spatial, halfwidth)
    snr = (w * prof).sum(0) / np.sqrt((w**2 * pvar).sum(0))
    usable = np.isfinite(c) & np.isfinite(err) & (err > 0) & (snr >= min_snr)
    if usable.sum() < degree + 2:
        raise SpectrumError(
            f"trace: only {int(usable.sum())} column bins have S/N >= {min_snr}; set trace.guess near the "
            "spectrum, lower trace.min_snr or trace.degree, or restrict input.columns to where the spectrum is"
        )
    domain = (0.0, float(n_disp - 1))
    x = _scale(cols, domain)
    clipped = np.zeros(nb, bool)
    for _ in range(niter + 1):
        keep = usable & ~clipped
        coef = np.polynomial.polynomial.polyfit(x[keep], c[keep], degree, w=1 / err[keep])
        resid = c - np.polynomial.polynomial.polyval(x, coef)
        norm = resid / err
        scale = 1.4826 * np.median(np.abs(norm[keep] - np.median(norm[keep])))
        new = usable & (np.abs(norm) > sigma * max(scale, 1.0))
        if np.array_equal(new, clipped):
            break
        clipped = new
    keep = usable & ~clipped
    rms = float(1.4826 * np.median(np.abs(resid[keep])))
    poly = np.polynomial.polynomial.polyval(_scale(np.arange(n_disp, dtype=float), domain), coef)
    offsets = np.zeros(n_ints)
    if (cfg.shifts if shifts is None else shifts) and n_ints > 2:
        offsets = fit_shifts(clean, variance, poly, halfwidth)
    log.info("trace: %d of %d bins kept, rms %.3f px", int(keep.sum()), nb, rms)
    c_out = np.where(usable, c, np.nan)
    return Trace(poly[None, :] + offsets[:, None], coef, domain, cols, c_out, err, clipped, offsets, rms)


def _deconvolved(clean: np.ndarray, cfg: TraceSection, guess: float | None) -> Trace:
    """Trace by Richardson-Lucy deconvolution + centring: a master shape and one offset per integration."""
    from .deconvolve import trace_spectra

    _, n_spatial, n_disp = clean.shape
    g = float(np.argmax(nanmedian(clean, axis=(0, 2)))) if guess is None else guess
    y0 = int(max(g - 3 * cfg.halfwidth, 0))
    y1 = int(min(g + 3 * cfg.halfwidth + 1, n_spatial))
    xs, ypos = trace_spectra(np.nan_to_num(clean), 0, n_disp, y0, y1, clip=cfg.sigma, nknots=cfg.knots)
    master = np.median(ypos, axis=0)
    offsets = np.median(ypos - master, axis=1)
    domain = (0.0, float(n_disp - 1))
    coef = np.polynomial.polynomial.polyfit(_scale(xs.astype(float), domain), master, cfg.degree)
    rms = float(1.4826 * np.median(np.abs(master - np.polynomial.polynomial.polyval(_scale(xs, domain), coef))))
    nan = np.full(n_disp, np.nan)
    return Trace(ypos, coef, domain, xs.astype(float), master, nan, np.zeros(n_disp, bool), offsets, rms)


def fit_shifts(
    data: np.ndarray, variance: np.ndarray, trace: np.ndarray, halfwidth: float, clip: float = 5.0, niter: int = 5
) -> np.ndarray:
    """Spatial offset of every integration against the median frame (robust, scale-free template fit).

    Each integration is fitted as ``a_i S(r - s_i)``, with ``S`` the median of all integrations shifted by
    cubic interpolation (Gauss-Newton in ``a_i, s_i``), over the pixels within ``halfwidth + 1`` of
    the trace; pixels more than ``clip`` sigma off the model (cosmic rays) are left out.

    Parameters
    ----------
    data : ndarray
        ``(n_ints, n_spatial, n_dispersion)`` background-subtracted frames, NaN for bad pixels.
    variance : ndarray
        Same shape.
    trace : ndarray
        ``(n_dispersion,)`` trace rows.
    halfwidth : float
        Half-width of the fitted window.
    clip, niter : float, int
        Outlier threshold (sigma) and Gauss-Newton iterations.

    Returns
    -------
    ndarray
        ``(n_ints,)`` offsets in pixels, median zero.
    """
    r0 = int(max(np.floor(np.nanmin(trace) - halfwidth - 2), 0))
    r1 = int(min(np.ceil(np.nanmax(trace) + halfwidth + 3), data.shape[1]))
    data, variance, trace = data[:, r0:r1], variance[:, r0:r1], trace - r0
    n_ints, n_spatial, _ = data.shape
    window = aperture_weights(trace, n_spatial, halfwidth + 1.0) > 0
    good = window[None] & np.isfinite(data) & np.isfinite(variance) & (variance > 0)
    d = np.where(good, data, 0.0)
    w = np.where(good, 1.0 / np.where(good, variance, 1.0), 0.0)
    from scipy.ndimage import shift as shift_image
    from scipy.ndimage import spline_filter

    tmpl = np.nan_to_num(nanmedian(np.where(good, data, np.nan), axis=0))
    amp = np.sum(w * d * tmpl, axis=(1, 2)) / np.maximum(np.sum(w * tmpl**2, axis=(1, 2)), 1e-300)
    s = np.zeros(n_ints)
    coef = spline_filter(tmpl, order=3, mode="mirror")  # once: every shift below reuses the coefficients
    for step in range(niter):
        # the template moved by each integration's offset (cubic interpolation along the slit)
        t = np.stack([shift_image(coef, (si, 0.0), order=3, mode="mirror", prefilter=False) for si in s])
        dt = -np.gradient(t, axis=1)
        a = amp[:, None, None]
        r = d - a * t
        if step >= 1:
            w = np.where(r**2 * w > clip**2, 0.0, w)
        j1, j2 = t, a * dt
        h11, h12, h22 = (np.sum(w * x * y, axis=(1, 2)) for x, y in ((j1, j1), (j1, j2), (j2, j2)))
        b1, b2 = np.sum(w * j1 * r, axis=(1, 2)), np.sum(w * j2 * r, axis=(1, 2))
        det = h11 * h22 - h12**2
        ok = det > 0
        amp = amp + np.where(ok, (h22 * b1 - h12 * b2) / np.where(ok, det, 1.0), 0.0)
        s = s + np.clip(np.where(ok, (h11 * b2 - h12 * b1) / np.where(ok, det, 1.0), 0.0), -0.5, 0.5)
    return s - np.median(s)
