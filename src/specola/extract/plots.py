"""QC figures of an extraction; each takes the result and returns the figure.

* :func:`plot_trace` -- the median frame with the trace, the aperture and the sky windows;
* :func:`plot_profile` -- normalised counts against distance from the trace with the fitted profile at the same
  pixels (binned), and the residuals in sigma;
* :func:`plot_residuals` -- data, profile model and residual image (sigma);
* :func:`plot_spectra` -- optimal and aperture spectra and their S/N;
* :func:`plot_outliers` -- bad and rejected pixels;
* :func:`plot_lightcurve` -- white-light curve, its scatter against the photon floor;
* :func:`plot_jitter` -- trace shifts (and profile width changes) over time.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..plotting import binned_mean, figure, residual_panel, robust_limits, unit_label
from .trace import nanmedian

__all__ = [
    "plot_jitter",
    "plot_lightcurve",
    "plot_outliers",
    "plot_profile",
    "plot_residuals",
    "plot_spectra",
    "plot_trace",
]

COLUMN = "Dispersion column"
ROW = "Spatial row"


def _image(ax: Any, image: np.ndarray, x0: float = 0.0, limits: tuple[float, float] | None = None, **kw: Any) -> Any:
    lo, hi = limits or robust_limits(image, percentiles=(2.0, 98.0), pad=0.0)
    extent = (x0 - 0.5, x0 + image.shape[1] - 0.5, image.shape[0] - 0.5, -0.5)
    return ax.imshow(
        image, aspect="auto", origin="upper", vmin=lo, vmax=hi, extent=extent, interpolation="nearest", **kw
    )


def _subtracted(result: Any) -> np.ndarray:
    return result.frames.data - result.sky


def _times(result: Any) -> tuple[np.ndarray, str]:
    t = result.frames.times
    if t is None:
        return np.arange(result.flux.shape[0]), "Integration"
    return t.value - np.floor(t.value.min()), unit_label(f"Time - {np.floor(t.value.min()):.0f}", t.unit)


def plot_trace(result: Any, ax: Any = None) -> Any:
    """Median background-subtracted frame with the trace, the aperture and the background windows."""
    if ax is None:
        fig, ax = figure(figsize=(7.0, 3.4))
    fig = ax.figure
    image = nanmedian(np.where(result.frames.mask, np.nan, _subtracted(result)), axis=0)
    x0 = result.columns[0]
    _image(ax, image, x0, cmap="viridis")
    cols = result.columns
    pos = result.trace.positions.mean(axis=0)
    r = result.config.aperture.radius
    ax.plot(cols, pos, color="w", lw=0.8, label="trace")
    ax.plot(cols, pos - r, color="w", lw=0.6, ls="--", label=f"aperture (radius {r:g} px)")
    ax.plot(cols, pos + r, color="w", lw=0.6, ls="--")
    if result.background is not None:
        b = result.config.background
        for s in (-1, 1):
            ax.fill_between(cols, pos + s * b.inner, pos + s * b.outer, color="#E69F00", alpha=0.25, lw=0)
    ok = np.isfinite(result.trace.bin_centroids)
    ax.plot(x0 + result.trace.bin_columns[ok], result.trace.bin_centroids[ok], ".", ms=3, color="#D55E00")
    ax.set_xlabel(COLUMN)
    ax.set_ylabel(ROW)
    ax.set_title(f"trace: rms {result.trace.rms:.3f} px about the fit; sky windows shaded")
    ax.legend(loc="upper right", fontsize="small")
    return fig


def plot_profile(result: Any, max_points: int = 20000, seed: int = 0) -> Any:
    """Normalised counts vs distance from the trace, the fitted profile at the same pixels, and residuals."""
    fig, (ax, axr) = figure(2, 1, figsize=(7.0, 5.0), sharex=True, height_ratios=(2, 1))
    opt = result.optimal
    if opt is None:
        ax.text(0.5, 0.5, "no profile (aperture extraction)", ha="center", transform=ax.transAxes)
        return fig
    sub = _subtracted(result)
    flux = opt.flux[:, None, :]
    use = (opt.weights != 0) & ~result.frames.mask & ~opt.outliers & np.isfinite(flux) & (flux > 0)
    ii, rr, cc = np.nonzero(use)
    dist = rr - result.trace.positions[ii, cc]
    value = sub[ii, rr, cc] / flux[ii, 0, cc]
    model = opt.profile[ii, rr, cc]
    sigma = np.sqrt(result.frames.variance[ii, rr, cc]) / flux[ii, 0, cc]
    pick = np.random.default_rng(seed).permutation(dist.size)[:max_points]
    ax.plot(dist[pick], value[pick], ".", ms=1.5, color="0.6", alpha=0.5, label="pixels (counts / optimal flux)")
    xb, yb, _ = binned_mean(dist, value, nbins=60)
    xm, ym, _ = binned_mean(dist, model, nbins=60)
    ax.plot(xb, yb, "o", ms=3, color="k", label="data, binned")
    ax.plot(xm, ym, "-", lw=1.4, color="#0072B2", label=f"{result.meta['profile']} profile at the same pixels")
    ax.set_ylim(*robust_limits(value[pick], percentiles=(0.5, 99.8), include_zero=True))
    ax.set_ylabel("Normalised counts")
    ax.legend(loc="upper right", fontsize="small")
    ax.set_title(f"spatial profile ({result.meta['profile']}), {int(opt.outliers.sum())} outlier pixels rejected")
    residual_panel(axr, dist, (value - model) / sigma, xlabel="Distance from the trace [pix]")
    return fig


def plot_residuals(result: Any) -> Any:
    """Median frame, median profile model and the median residual image in sigma."""
    fig, axes = figure(3, 1, figsize=(7.0, 6.6), sharex=True)
    opt = result.optimal
    sub = _subtracted(result)
    bad = result.frames.mask
    data = nanmedian(np.where(bad, np.nan, sub), axis=0)
    x0 = result.columns[0]
    lims = robust_limits(data, percentiles=(2.0, 99.5), pad=0.0)
    _image(axes[0], data, x0, lims, cmap="viridis")
    axes[0].set_title("data (median over integrations, background subtracted)")
    if opt is None:
        axes[1].text(0.5, 0.5, "no profile model (aperture extraction)", ha="center", transform=axes[1].transAxes)
    else:
        model = np.median(opt.model, axis=0)
        _image(axes[1], model, x0, lims, cmap="viridis")
        axes[1].set_title("profile model f P (median)")
        z = np.where(bad | opt.outliers, np.nan, (sub - opt.model) / np.sqrt(result.frames.variance))
        zmed = nanmedian(z, axis=0) * np.sqrt(max(result.flux.shape[0], 1))
        im = _image(axes[2], zmed, x0, (-5.0, 5.0), cmap="RdBu_r")
        fig.colorbar(im, ax=axes[2], label=r"residual [$\sigma$ of the median]")
        axes[2].set_title("residual (data - model), median over integrations, in units of its noise")
    for ax in axes:
        ax.set_ylabel(ROW)
    axes[-1].set_xlabel(COLUMN)
    return fig


def plot_spectra(result: Any) -> Any:
    """Extracted spectra (optimal and aperture, median over integrations) and their S/N."""
    fig, (ax, axs) = figure(2, 1, figsize=(7.0, 5.0), sharex=True)
    use_w = result.wavelength is not None and result.series is not None
    x = result.wavelength.value if use_w else result.columns
    order = np.argsort(x) if use_w else slice(None)
    xs = x[order]

    def med(a: np.ndarray, bad: np.ndarray) -> np.ndarray:
        return nanmedian(np.where(bad, np.nan, a), axis=0)[order]

    ap = med(result.aperture_flux, result.aperture_mask)
    ax.plot(xs, ap, label="aperture", color="#E69F00", lw=0.9)
    curves = [ap]
    if result.optimal is not None:
        opt = med(result.flux, result.mask)
        ax.plot(xs, opt, label="optimal", color="#0072B2", lw=0.9)
        curves.append(opt)
    ax.set_ylim(*robust_limits(np.concatenate(curves), include_zero=True))
    ax.set_ylabel(unit_label("Flux per column", result.unit))
    ax.legend()
    ax.set_title(f"median of {result.flux.shape[0]} integration(s)")
    ap_snr = med(result.aperture_flux / result.aperture_error, result.aperture_mask)
    axs.plot(xs, ap_snr, label="aperture", color="#E69F00")
    if result.optimal is not None:
        axs.plot(xs, med(result.snr, result.mask), label="optimal", color="#0072B2")
    axs.set_ylabel("S/N per column")
    axs.set_xlabel(unit_label("Wavelength", result.wavelength.unit) if use_w else COLUMN)
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
    if result.optimal is not None:
        ii, rr, cc = np.nonzero(result.optimal.outliers)
        ax.plot(result.columns[cc], rr, "o", ms=3, mfc="none", color="#D55E00", label=f"outliers ({ii.size})")
    if result.background is not None:
        ii, rr, cc = np.nonzero(result.background.rejected)
        ax.plot(result.columns[cc], rr, "+", ms=3, color="#0072B2", label=f"sky rejected ({ii.size})")
    ax.plot(result.columns, result.trace.positions.mean(axis=0), color="#009E73", lw=0.8, label="trace")
    ax.set_xlabel(COLUMN)
    ax.set_ylabel(ROW)
    ax.set_title(f"bad pixels (grey, {int((bad > 0).sum())}) and rejected pixels")
    ax.legend(loc="upper right", fontsize="small")
    return fig


def white_light(flux: np.ndarray, error: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Normalised white-light curve and its errors over the columns good in every integration."""
    good = ~np.any(mask, axis=0) & np.all(np.isfinite(flux), axis=0)
    white = flux[:, good].sum(axis=1)
    err = np.sqrt((error[:, good] ** 2).sum(axis=1))
    norm = np.median(white)
    return white / norm, err / norm


def plot_lightcurve(result: Any) -> Any:
    """White-light curves (optimal and aperture): scatter against the photon floor from the reported errors."""
    fig, ax = figure()
    t, tlabel = _times(result)
    rows = [(result.aperture_flux, result.aperture_error, result.aperture_mask, "aperture", "#E69F00")]
    if result.optimal is not None:
        rows.append((result.flux, result.error, result.mask, "optimal", "#0072B2"))
    for flux, err, mask, label, color in rows:
        w, e = white_light(flux, err, mask)
        scatter = 1e6 * np.std(w - np.median(w))
        floor = 1e6 * np.median(e)
        label = f"{label}: {scatter:.0f} ppm (floor {floor:.0f})"
        ax.errorbar(t, w, e, fmt="o", ms=3, color=color, label=label)
    ax.set_xlabel(tlabel)
    ax.set_ylabel("White-light flux (normalised)")
    ax.set_title("white light: scatter vs the photon floor from the errors")
    ax.legend(fontsize="small")
    return fig


def plot_jitter(result: Any) -> Any:
    """Per-integration trace shifts (and the profile's width changes) over time."""
    fig, (ax, axw) = figure(2, 1, figsize=(7.0, 4.6), sharex=True)
    t, tlabel = _times(result)
    ax.plot(t, result.trace.shifts, "o-", ms=3, lw=0.6, color="#0072B2", label="trace shift (template fit)")
    prof = result.profile
    if getattr(prof, "coefficients", np.empty((0, 0))).size:
        ax.plot(t, prof.shifts - np.median(prof.shifts), ".", ms=3, color="#D55E00", label="profile shift term")
        axw.plot(t, 100 * prof.widths, "o-", ms=3, lw=0.6, color="#009E73")
    else:
        axw.text(0.5, 0.5, "no per-integration profile terms", ha="center", transform=axw.transAxes)
    ax.set_ylabel("Shift [pix]")
    ax.set_title(f"trace jitter: rms {np.std(result.trace.shifts):.4f} px")
    ax.legend(fontsize="small")
    axw.set_ylabel("Width change [%]")
    axw.set_xlabel(tlabel)
    return fig
