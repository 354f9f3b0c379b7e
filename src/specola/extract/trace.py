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

__all__ = ["Trace", "centroids", "trace_frames"]

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
    >>> float(np.round(centroids(p, np.ones_like(p), np.array([11.0]), 5.0)[0][0], 3))
    12.3
    """
    n_spatial = profiles.shape[0]
    r = np.arange(n_spatial, dtype=float)[:, None]
    c = np.asarray(guess, float).copy()
    err = np.full(c.shape, np.nan)
    for _ in range(niter):
        w = aperture_weights(np.nan_to_num(c, nan=-1e9), n_spatial, halfwidth)
        wp = w * np.nan_to_num(profiles)
        total = wp.sum(axis=0)
        ok = total > 0
        new = np.where(ok, (wp * r).sum(axis=0) / np.where(ok, total, 1.0), np.nan)
        err = np.where(ok, np.sqrt((w**2 * (r - new) ** 2 * np.nan_to_num(variance)).sum(axis=0)) / total, np.nan)
        new = np.clip(new, halfwidth, n_spatial - 1 - halfwidth)
        done = np.nanmax(np.abs(new - c), initial=0.0) < 1e-4
        c = new
        if done:
            break
    return c, err


def trace_frames(
    data: np.ndarray,
    variance: np.ndarray,
    mask: np.ndarray,
    guess: float | None = None,
    halfwidth: float = 5.0,
    bin_columns: int = 8,
    degree: int = 2,
    sigma: float = 4.0,
    niter: int = 5,
    fit_shifts: bool = False,
    min_snr: float = 5.0,
) -> Trace:
    """Trace a spectrum on background-subtracted frames.

    Parameters
    ----------
    data, variance : ndarray
        ``(n_ints, n_spatial, n_dispersion)``.
    mask : ndarray of bool
        True for bad pixels.
    guess : float, optional
        Starting row; default: the peak of the median spatial profile.
    halfwidth : float
        Centroid window half-width (pixels).
    bin_columns : int
        Columns median-combined per centroid.
    degree : int
        Polynomial degree.
    sigma : float
        Clipping threshold for outlying centroids (in robust standard deviations).
    niter : int
        Clipping iterations.
    fit_shifts : bool
        Fit a constant spatial offset per integration.
    min_snr : float
        Bins whose windowed S/N is below this are not used.

    Returns
    -------
    Trace
    """
    n_ints, n_spatial, n_disp = data.shape
    clean = np.where(mask, np.nan, data)
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
    shifts = np.zeros(n_ints)
    if fit_shifts and n_ints > 1:
        good_cols = np.zeros(n_disp, bool)
        for a, b, k in zip(edges[:-1], edges[1:], keep, strict=True):
            good_cols[a:b] = k
        for i in range(n_ints):
            prof_i = np.nan_to_num(clean[i][:, good_cols])
            ci, ei = centroids(prof_i, variance[i][:, good_cols], poly[good_cols], halfwidth)
            ok = np.isfinite(ci) & np.isfinite(ei) & (ei > 0)
            shifts[i] = np.sum((ci - poly[good_cols])[ok] / ei[ok] ** 2) / np.sum(1 / ei[ok] ** 2)
        shifts -= np.median(shifts)
    log.info("trace: %d of %d bins kept, rms %.3f px", int(keep.sum()), nb, rms)
    c_out = np.where(usable, c, np.nan)
    return Trace(poly[None, :] + shifts[:, None], coef, domain, cols, c_out, err, clipped, shifts, rms)
