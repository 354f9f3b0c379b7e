"""Axis limits from the good data, never from a spike."""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["robust_limits", "set_robust_ylim"]


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
