"""Quality-control figures of a flux calibration; functions take ``ax=None`` and return the figure."""

from __future__ import annotations

from typing import Any

import astropy.units as u
import numpy as np

from ..plotting import figure, style
from ..plotting.style import PALETTE
from .sensitivity import Sensitivity

__all__ = ["plot_photometry", "plot_sensitivity", "plot_template_fit"]


def plot_sensitivity(sens: Sensitivity, axes: Any = None, truth: np.ndarray | None = None) -> Any:
    """Sensitivity data points (used, masked, clipped), the spline with its 1-sigma band, and residuals.

    Parameters
    ----------
    sens : Sensitivity
    axes : pair of Axes, optional
        Top (curve) and bottom (residuals) axes; a new figure when None.
    truth : ndarray, optional
        The true sensitivity at ``sens.points['wavelength']`` (simulations), drawn dashed.

    Returns
    -------
    matplotlib Figure
    """
    if axes is None:
        _, axes = figure(2, 1, sharex=True, height_ratios=(3, 1), figsize=(7.0, 5.0))
    top, bottom = axes
    p = sens.points
    w, s, used, masked = p["wavelength"], p["sensitivity"], p["used"], p["masked"]
    lo, hi = sens.spline.x_range
    inside = (w >= lo) & (w <= hi)
    fit = np.full(w.size, np.nan)
    err = np.full(w.size, np.nan)
    fit[inside] = sens(w[inside] * u.AA).value
    err[inside] = sens.log_error(w[inside] * u.AA)
    clipped = ~used & ~masked & np.isfinite(s)
    with style():
        top.plot(w[used], s[used], ".", ms=2, color=PALETTE[5], label="data (used)")
        top.plot(w[masked], s[masked], ".", ms=2, color="0.7", label="masked (lines, tellurics)")
        if clipped.any():
            top.plot(w[clipped], s[clipped], "x", ms=3, color=PALETTE[1], label="clipped")
        top.plot(w, fit, color=PALETTE[0], label="spline fit")
        top.fill_between(w, fit * np.exp(-err), fit * np.exp(err), color=PALETTE[0], alpha=0.3, lw=0)
        if truth is not None:
            top.plot(w, truth, "--", color=PALETTE[7], lw=0.8, label="truth")
        top.set_ylabel("S [(ct/s/Å) / (erg/s/cm²/Å)]")
        top.set_ylim(0, np.nanpercentile(np.where(used, s, np.nan), 99.5) * 1.3)
        top.legend(loc="best")
        top.set_title(f"sensitivity from {sens.meta.get('standard', 'standard')}")
        resid = 100 * (s / fit - 1)
        bottom.plot(w[used], resid[used], ".", ms=2, color=PALETTE[5])
        bottom.fill_between(w, -100 * err, 100 * err, color=PALETTE[0], alpha=0.3, lw=0)
        if truth is not None:
            bottom.plot(w, 100 * (truth / fit - 1), "--", color=PALETTE[7], lw=0.8)
        bottom.axhline(0, color="0.3", lw=0.6)
        lim = np.nanpercentile(np.abs(resid[used]), 99) if used.any() else 1.0
        bottom.set_ylim(-1.3 * lim, 1.3 * lim)
        bottom.set_ylabel("data/fit − 1 [%]")
        bottom.set_xlabel("Wavelength [Å]")
    return top.figure


def plot_template_fit(fit: Any, observed: Any, axes: Any = None) -> Any:
    """Observed star against the fitted template times response, with normalised residuals.

    Parameters
    ----------
    fit : TemplateFit
    observed : Spectrum
        The star the template was fitted to.
    axes : pair of Axes, optional

    Returns
    -------
    matplotlib Figure
    """
    if axes is None:
        _, axes = figure(2, 1, sharex=True, height_ratios=(3, 1), figsize=(7.0, 5.0))
    top, bottom = axes
    s = observed.to_wave_unit(u.AA)
    w = s.wavelength.value
    good = ~fit.model.mask & s.good
    data = np.where(good, s.flux.value, np.nan)
    model = fit.model.flux.value
    with style():
        top.plot(w, data, color=PALETTE[7], lw=0.6, label="star")
        top.plot(w, model, color=PALETTE[1], lw=0.8, label="template × response")
        label = ", ".join(f"{k} {v:.4g}±{fit.errors[k]:.2g}" for k, v in fit.params.items())
        top.set_title(f"{label}; RV {fit.rv:.1f}±{fit.rv_error:.1f} km/s", fontsize=8)
        top.set_ylabel(f"Flux [{s.flux_unit.to_string()}]")
        top.legend()
        bottom.plot(w, (data - model) / s.error.value, ".", ms=1.5, color=PALETTE[0])
        bottom.axhline(0, color="0.3", lw=0.6)
        bottom.set_ylim(-5, 5)
        bottom.set_ylabel("(data − model)/σ")
        bottom.set_xlabel("Wavelength [Å]")
    return top.figure


def plot_photometry(scale: Any, photometry: Any, ax: Any = None) -> Any:
    """Synthetic (scaled template) against observed magnitudes, band by band.

    Parameters
    ----------
    scale : ScaleResult
    photometry : Photometry
    ax : Axes, optional

    Returns
    -------
    matplotlib Figure
    """
    from .bandpass import load_bandpass

    if ax is None:
        _, ax = figure(figsize=(5.0, 3.2))
    bands = list(photometry.bands)
    pivots = [load_bandpass(b).pivot_wavelength.value for b in bands]
    with style():
        ax.errorbar(pivots, photometry.magnitudes, photometry.errors, fmt="o", color=PALETTE[7], label="observed")
        ax.plot(pivots, [scale.synthetic[b] for b in bands], "s", mfc="none", color=PALETTE[1], label="synthetic")
        for x, b in zip(pivots, bands, strict=True):
            ax.annotate(f"{b}\n{1000 * scale.residuals[b]:+.0f} mmag", (x, scale.synthetic[b]), fontsize=6,
                        textcoords="offset points", xytext=(4, 6))  # fmt: skip
        ax.invert_yaxis()
        ax.set_xlabel("Pivot wavelength [Å]")
        ax.set_ylabel(f"{photometry.system} magnitude")
        ax.legend()
    return ax.figure
