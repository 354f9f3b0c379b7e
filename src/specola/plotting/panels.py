"""Panels shared by every stage: residuals in units of sigma with a binned trace, and posterior bounds."""

from __future__ import annotations

from typing import Any

import numpy as np

from .style import PALETTE

__all__ = ["binned_mean", "mark_bounds", "piled_at_edge", "residual_panel"]

_LABEL_BOX = {"boxstyle": "round,pad=0.2", "facecolor": "white", "edgecolor": "none", "alpha": 0.8}  # text over data


def binned_mean(x: Any, y: Any, nbins: int = 30) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean of ``y`` in ``nbins`` bins of equal count along ``x``, with the error of each mean.

    Returns
    -------
    centres, means, errors : ndarray
        Empty arrays when fewer than two finite points exist.
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    good = np.isfinite(x) & np.isfinite(y)
    x, y = x[good], y[good]
    if x.size < 2:
        return np.array([]), np.array([]), np.array([])
    order = np.argsort(x)
    chunks = np.array_split(order, min(nbins, x.size // 2))
    centres = np.array([x[c].mean() for c in chunks])
    means = np.array([y[c].mean() for c in chunks])
    errors = np.array([y[c].std(ddof=1) / np.sqrt(c.size) if c.size > 1 else np.nan for c in chunks])
    return centres, means, errors


def residual_panel(
    ax: Any,
    x: Any,
    residual_sigma: Any,
    mask: Any = None,
    nbins: int = 30,
    xlabel: str | None = None,
) -> Any:
    """Residuals (data - model) / sigma per pixel, the +-1 sigma band, and their binned mean.

    The binned mean (bins of equal pixel count, with its error) shows a systematic far below the per-pixel noise:
    a 1% trend in a spectrum at S/N 20 is 0.2 sigma per pixel, invisible in the scatter, clear in the trace.

    Parameters
    ----------
    ax : matplotlib Axes
        Where to draw.
    x : array-like
        Wavelength (or any abscissa) of each pixel.
    residual_sigma : array-like
        Residual of each pixel in units of its (inflated, where fitted) error.
    mask : array-like of bool, optional
        True for pixels left out (bad or not fitted).
    nbins : int
        Bins of the mean trace.
    xlabel : str, optional
        Label of the x-axis.

    Returns
    -------
    matplotlib Axes
    """
    x = np.asarray(getattr(x, "value", x), dtype=float)
    r = np.asarray(residual_sigma, dtype=float).copy()
    if mask is not None:
        r[np.asarray(mask, dtype=bool)] = np.nan
    ax.axhspan(-1, 1, color="0.85", lw=0, zorder=0)
    ax.axhline(0, color="0.3", lw=0.8, zorder=1)
    ax.plot(x, r, ".", ms=2, color="0.45", zorder=2, label="per pixel")
    centres, means, errors = binned_mean(x, r, nbins)
    if centres.size:
        ax.errorbar(centres, means, errors, fmt="o-", ms=3, lw=1.2, color=PALETTE[1], zorder=3, label="binned mean")
    finite = r[np.isfinite(r)]
    reach = max(3.0, float(np.percentile(np.abs(finite), 99)) * 1.15) if finite.size else 3.0
    ax.set_ylim(-reach, reach)
    ax.set_ylabel(r"Residual [$\sigma$]")
    if xlabel:
        ax.set_xlabel(xlabel)
    if finite.size:
        chi2 = float(np.mean(finite**2))
        ax.text(
            0.02, 0.95, rf"$\chi^2_\nu$ = {chi2:.2f}", transform=ax.transAxes, va="top", fontsize=8, bbox=_LABEL_BOX
        )
    ax.legend(loc="upper right", ncols=2, fontsize=7)
    return ax


def piled_at_edge(samples: Any, low: float, high: float, step: float | None = None) -> str | None:
    """Which bound (``"low"``/``"high"``) a posterior is piled against, or None.

    A posterior is piled against a bound when its density right at the bound is at least half its peak density:
    the bound, not the data, then sets that side of the interval. Densities are counted in bins of ``step`` (a grid
    step) or, by default, a tenth of the central 68% width, so the test does not depend on how wide the prior is.

    Examples
    --------
    >>> rng = np.random.default_rng(1)
    >>> piled_at_edge(4.0 + np.abs(rng.normal(0, 0.05, 4000)), 4.0, 5.5, step=0.05)
    'low'
    >>> piled_at_edge(rng.normal(4.7, 0.1, 4000), 4.0, 5.5, step=0.1) is None
    True
    >>> piled_at_edge(np.abs(rng.normal(0, 1, 4000)), 0.0, 1e30)  # a flux prior [0, huge): still piled at 0
    'low'
    """
    s = np.asarray(samples, dtype=float)
    s = s[np.isfinite(s)]
    if s.size < 10:
        return None
    p16, p84 = np.percentile(s, [16, 84])
    width = step if step is not None else 0.1 * (p84 - p16)
    if not width > 0:
        return None
    counts, _ = np.histogram(s, bins=max(1, int(np.ceil((s.max() - s.min()) / width))))
    peak = counts.max()
    for side, bound in (("low", low), ("high", high)):
        if not np.isfinite(bound):
            continue
        near = np.count_nonzero(np.abs(s - bound) <= width)
        if near >= 0.5 * peak:
            return side
    return None


def mark_bounds(
    ax: Any,
    low: float,
    high: float,
    samples: Any = None,
    step: float | None = None,
    kind: str = "grid edge",
    orientation: str = "vertical",
) -> str | None:
    """Mark a parameter's prior or grid bounds on a posterior axis; label a posterior piled against one.

    Parameters
    ----------
    ax : matplotlib Axes
        A 1-D posterior (histogram) axis.
    low, high : float
        The bounds.
    samples : array-like, optional
        Posterior samples, to test for piling (:func:`piled_at_edge`).
    step : float, optional
        Grid step.
    kind : str
        What the bounds are, for the label ("grid edge", "prior bound").
    orientation : str
        ``"vertical"`` lines (x is the parameter) or ``"horizontal"``.

    Returns
    -------
    str or None
        The bound the posterior is piled against.
    """
    line = ax.axvline if orientation == "vertical" else ax.axhline
    for bound in (low, high):
        if np.isfinite(bound):
            line(bound, color=PALETTE[1], ls="--", lw=1.0, zorder=5)
    piled = None if samples is None else piled_at_edge(samples, low, high, step)
    if piled is not None:
        ax.text(
            0.03 if piled == "low" else 0.97,
            0.9,
            f"piled at {kind}\n({low if piled == 'low' else high:g})",
            transform=ax.transAxes,
            ha="left" if piled == "low" else "right",
            va="top",
            fontsize=7,
            color=PALETTE[1],
            bbox=_LABEL_BOX,
            zorder=6,
        )
    return piled
