"""QC figures of an extraction; every function takes ``ax=None`` (or axes) and returns the figure."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..plotting import figure
from .trace import nanmedian

__all__ = ["plot_lightcurve", "plot_outliers", "plot_profile", "plot_spectra", "plot_trace"]


def _image(ax: Any, image: np.ndarray, x0: float = 0.0) -> Any:
    finite = image[np.isfinite(image)]
    lo, hi = np.percentile(finite, [2, 98]) if finite.size else (0, 1)
    extent = (x0 - 0.5, x0 + image.shape[1] - 0.5, image.shape[0] - 0.5, -0.5)
    return ax.imshow(image, aspect="auto", origin="upper", vmin=lo, vmax=hi, extent=extent, interpolation="nearest")


def plot_trace(result: Any, ax: Any = None) -> Any:
    """Median background-subtracted frame with the trace, the aperture and the background windows."""
    if ax is None:
        fig, ax = figure(figsize=(7.0, 3.4))
    fig = ax.figure
    fr = result.frames
    sky = 0.0 if result.background is None else result.background.model
    image = nanmedian(np.where(fr.mask, np.nan, fr.data - sky), axis=0)
    x0 = result.columns[0]
    _image(ax, image, x0)
    cols = result.columns
    pos = result.trace.positions.mean(axis=0)
    r = result.config.aperture.radius
    ax.plot(cols, pos, color="w", lw=0.8, label="trace")
    ax.plot(cols, pos - r, color="w", lw=0.6, ls="--", label="aperture")
    ax.plot(cols, pos + r, color="w", lw=0.6, ls="--")
    if result.background is not None:
        b = result.config.background
        for s in (-1, 1):
            ax.fill_between(cols, pos + s * b.inner, pos + s * b.outer, color="#E69F00", alpha=0.2, lw=0)
    ok = np.isfinite(result.trace.bin_centroids)
    ax.plot(x0 + result.trace.bin_columns[ok], result.trace.bin_centroids[ok], ".", ms=3, color="#D55E00")
    ax.set_xlabel("dispersion column")
    ax.set_ylabel("spatial row")
    ax.set_title(f"trace: degree {len(result.trace.coefficients) - 1}, rms {result.trace.rms:.3f} px")
    ax.legend(loc="upper right")
    return fig


def plot_profile(result: Any, max_points: int = 20000, seed: int = 0) -> Any:
    """The pixel table (normalised counts vs distance), the spline profile and its residuals."""
    fig, (ax, axr) = figure(2, 1, figsize=(7.0, 5.0), sharex=True, height_ratios=(2, 1))
    t, prof = result.table, result.profile
    if t is None or prof is None:
        ax.text(0.5, 0.5, "no profile (aperture extraction)", ha="center", transform=ax.transAxes)
        return fig
    rng = np.random.default_rng(seed)
    pick = rng.permutation(len(t))[:max_points]
    model = prof(t.distance, t.column)
    z = (t.value - model) / np.sqrt(t.variance)
    ax.plot(t.distance[pick], t.value[pick], ",", color="0.5", alpha=0.5)
    rej = pick[prof.rejected[pick]]
    ax.plot(t.distance[rej], t.value[rej], "x", ms=3, color="#D55E00", label=f"rejected ({int(prof.rejected.sum())})")
    d = np.linspace(-prof.radius, prof.radius, 400)
    for c in np.unique(np.percentile(t.column, [5, 50, 95]).round()):
        ax.plot(d, prof(d, np.full_like(d, c)), lw=1.2, label=f"{prof.kind} spline, column {int(c)}")
    ax.set_ylabel("counts / aperture sum")
    # the data set the scale: a spline may swing where no pixel samples it, which says nothing about the fit
    lo, hi = np.nanpercentile(t.value[pick], [0.5, 99.9])
    ax.set_ylim(min(lo, 0.0) - 0.05 * (hi - lo), hi + 0.15 * (hi - lo))
    ax.legend(loc="upper right")
    ax.set_title(f"spatial profile: chi2/dof = {prof.chi2_dof:.2f}")
    axr.plot(t.distance[pick], z[pick], ",", color="0.4")
    axr.axhline(0, color="k", lw=0.6)
    axr.set_ylim(-6, 6)
    axr.set_xlabel("distance from trace (pixels)")
    axr.set_ylabel("residual / sigma")
    return fig


def plot_spectra(result: Any) -> Any:
    """Extracted spectra (optimal and aperture, first integration and mean) and their S/N."""
    fig, (ax, axs) = figure(2, 1, figsize=(7.0, 5.0), sharex=True)
    use_w = result.wavelength is not None and result.series is not None
    x = result.wavelength.value if use_w else result.columns
    order = np.argsort(x) if use_w else slice(None)
    xs = x[order]
    mean = lambda a: nanmedian(np.where(result.mask, np.nan, a), axis=0)[order]
    ax.plot(xs, mean(result.aperture_flux), label="aperture", color="#E69F00")
    if result.optimal is not None:
        ax.plot(xs, mean(result.flux), label="optimal", color="#0072B2")
    ax.set_ylabel(f"flux [{result.unit}]")
    ax.legend()
    ax.set_title(f"median of {result.flux.shape[0]} integration(s)")
    ap_snr = nanmedian(result.aperture_flux / result.aperture_error, axis=0)[order]
    axs.plot(xs, ap_snr, label="aperture", color="#E69F00")
    if result.optimal is not None:
        axs.plot(xs, nanmedian(result.snr, axis=0)[order], label="optimal", color="#0072B2")
    axs.set_ylabel("S/N per column")
    axs.set_xlabel(f"wavelength [{result.wavelength.unit}]" if use_w else "dispersion column")
    axs.legend()
    return fig


def plot_outliers(result: Any) -> Any:
    """Where pixels were masked (bad) and rejected (outliers), summed over integrations."""
    fig, ax = figure(figsize=(7.0, 3.4))
    fr = result.frames
    bad = fr.mask.sum(axis=0)
    ax.imshow(
        bad > 0,
        aspect="auto",
        cmap="Greys",
        vmin=0,
        vmax=2,
        extent=(result.columns[0] - 0.5, result.columns[-1] + 0.5, fr.shape[1] - 0.5, -0.5),
        interpolation="nearest",
    )
    n_out = 0
    if result.optimal is not None:
        ii, rr, cc = np.nonzero(result.optimal.outliers)
        n_out = ii.size
        ax.plot(result.columns[cc], rr, "o", ms=3, mfc="none", color="#D55E00", label=f"outliers ({n_out})")
    if result.background is not None:
        ii, rr, cc = np.nonzero(result.background.rejected)
        ax.plot(result.columns[cc], rr, "+", ms=3, color="#0072B2", label=f"sky rejected ({ii.size})")
    ax.plot(result.columns, result.trace.positions.mean(axis=0), color="#009E73", lw=0.8, label="trace")
    ax.set_xlabel("dispersion column")
    ax.set_ylabel("spatial row")
    ax.set_title(f"bad pixels (grey, {int((bad > 0).sum())}) and rejected pixels")
    ax.legend(loc="upper right")
    return fig


def plot_lightcurve(result: Any) -> Any:
    """White-light curve (sum over columns) of a time series, optimal and aperture, normalised."""
    fig, ax = figure()
    good = ~np.any(result.mask, axis=0)
    t = np.arange(result.flux.shape[0]) if result.frames.times is None else result.frames.times.value
    for flux, err, label in (
        (result.aperture_flux, result.aperture_error, "aperture"),
        (result.flux, result.error, result.meta["method"]),
    ):
        white = flux[:, good].sum(axis=1)
        e = np.sqrt((err[:, good] ** 2).sum(axis=1))
        norm = np.median(white)
        ax.errorbar(t, white / norm, e / norm, fmt="o", ms=3, label=label)
    ax.set_xlabel("integration" if result.frames.times is None else f"time [{result.frames.times.unit}]")
    ax.set_ylabel("white-light flux (normalised)")
    ax.legend()
    return fig
