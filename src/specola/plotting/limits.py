"""Axis limits from the good data, never from a spike."""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["robust_limits", "set_robust_ylim", "spectrum_limits"]


def robust_limits(
    values: Any,
    mask: Any = None,
    percentiles: tuple[float, float] = (1.0, 99.0),
    pad: float = 0.15,
    include_zero: bool = False,
) -> tuple[float, float]:
    """Limits spanning the central percentiles of the finite, unmasked values, padded.

    A few sky-line residuals or cosmic rays sit beyond the 99th percentile and so cannot move the limits.

    Parameters
    ----------
    values : array-like
        Values to show (several arrays may be stacked; Quantities give their values).
    mask : array-like of bool, optional
        True for bad values (specola's convention), left out.
    percentiles : (low, high)
        Percentiles of the good values that must be visible.
    pad : float
        Fraction of the span added on each side.
    include_zero : bool
        Stretch the limits to include 0 (flux axes of emission spectra).

    Returns
    -------
    (low, high) : tuple of float
        ``(0, 1)`` when no value is usable.

    Examples
    --------
    >>> y = np.ones(1000); y[500] = 1e6
    >>> lo, hi = robust_limits(y + np.linspace(0, 0.1, 1000))
    >>> hi < 2
    True
    """
    v = np.asarray(getattr(values, "value", values), dtype=float).ravel()
    good = np.isfinite(v)
    if mask is not None:
        good &= ~np.broadcast_to(np.asarray(mask, dtype=bool), np.shape(getattr(values, "value", values))).ravel()
    if not good.any():
        return 0.0, 1.0
    lo, hi = np.percentile(v[good], percentiles)
    if include_zero:
        lo, hi = min(lo, 0.0), max(hi, 0.0)
    span = hi - lo
    if span <= 0:
        span = abs(hi) if hi else 1.0
    return float(lo - pad * span), float(hi + pad * span)


def set_robust_ylim(ax: Any, *values: Any, mask: Any = None, **kwargs: Any) -> tuple[float, float]:
    """Set ``ax``'s y-limits from :func:`robust_limits` of the given arrays and return them."""
    arrays = [np.asarray(getattr(v, "value", v), dtype=float).ravel() for v in values]
    masks = None
    if mask is not None:
        masks = np.concatenate([np.broadcast_to(np.asarray(mask, bool), a.shape).ravel() for a in arrays])
    limits = robust_limits(np.concatenate(arrays), masks, **kwargs)
    ax.set_ylim(*limits)
    return limits


def spectrum_limits(values: Any, width: int = 3, pad: float = 0.08) -> tuple[float, float]:
    """Limits that show every feature wider than ``width`` pixels, and no narrower spike.

    Each array is running-median filtered over ``width`` pixels (NaNs ignored), which removes cosmic rays and
    single-pixel sky residuals but keeps emission and absorption lines a few pixels wide; the limits span the
    filtered values. Use it for spectra; :func:`robust_limits` for scatter such as residuals.

    Parameters
    ----------
    values : array-like or sequence of arrays
        Flux of one or more spectra (masked pixels as NaN).
    width : int
        Running-median width in pixels (odd).
    pad : float
        Fraction of the span added on each side.

    Returns
    -------
    (low, high) : tuple of float

    Examples
    --------
    >>> y = np.ones(200); y[50] = 1e3                        # a cosmic ray
    >>> y[120:128] = 5.0                                     # an emission line 8 pixels wide
    >>> lo, hi = spectrum_limits(y)
    >>> 5 < hi < 6
    True
    """
    arrays = values if isinstance(values, list | tuple) else [values]
    filtered = []
    half = width // 2
    for a in arrays:
        v = np.asarray(getattr(a, "value", a), dtype=float).ravel()
        if v.size < width:
            filtered.append(v)
            continue
        padded = np.pad(v, half, mode="edge")
        windows = np.lib.stride_tricks.sliding_window_view(padded, 2 * half + 1)
        with np.errstate(all="ignore"):
            finite = np.isfinite(windows).any(axis=1)
            med = np.full(v.size, np.nan)
            med[finite] = np.nanmedian(windows[finite], axis=1)
        filtered.append(med)
    return robust_limits(np.concatenate(filtered), percentiles=(0.0, 100.0), pad=pad)
