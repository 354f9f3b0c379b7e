"""Quality-control figures of a flux calibration; functions take ``ax=None`` and return the figure."""

from __future__ import annotations

from typing import Any

import astropy.units as u
import numpy as np

from ..plotting import (
    binned_mean,
    figure,
    flux_label,
    residual_panel,
    robust_limits,
    style,
    unit_label,
    wavelength_label,
)
from ..plotting.style import PALETTE
from .sensitivity import SENSITIVITY_UNIT, Sensitivity

__all__ = ["plot_photometry", "plot_sensitivity", "plot_template_fit", "plot_vectors"]


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
        top.set_ylabel(unit_label("Sensitivity", SENSITIVITY_UNIT))
        top.set_ylim(*robust_limits(s, mask=~used, include_zero=True))
        top.legend(loc="best")
        title = f"sensitivity from {sens.meta.get('standard', 'standard')}"
        if sens.systematic is not None:
            title += f" (band: incl. template shape, median ±{100 * np.nanmedian(err):.1f}%)"
        top.set_title(title, fontsize=8)
        if sens.meta.get("tension"):
            top.text(0.01, 0.03, "WARNING: " + sens.meta["tension"], transform=top.transAxes, color="red",
                     fontsize=6, wrap=True)  # fmt: skip
        resid = 100 * (s / fit - 1)
        bottom.plot(w[used], resid[used], ".", ms=1.5, color="0.6", label="per pixel")
        bx, by, be = binned_mean(w[used], resid[used], 40)
        bottom.errorbar(bx, by, be, fmt="o-", ms=2.5, lw=1.0, color=PALETTE[1], label="binned mean")
        bottom.legend(loc="upper right", fontsize=6, ncols=2)
        bottom.fill_between(w, -100 * err, 100 * err, color=PALETTE[0], alpha=0.3, lw=0)
        if truth is not None:
            bottom.plot(w, 100 * (truth / fit - 1), "--", color=PALETTE[7], lw=0.8)
        bottom.axhline(0, color="0.3", lw=0.6)
        lim = np.nanpercentile(np.abs(resid[used]), 95) if used.any() else 1.0
        lim = max(lim, 100 * float(np.nanmax(err)) if np.isfinite(err).any() else 0.0, 0.5)
        bottom.set_ylim(-1.3 * lim, 1.3 * lim)
        bottom.set_ylabel("data / fit − 1 [%]")
        bottom.set_xlabel(wavelength_label(u.AA))
    return top.figure


def plot_template_fit(fit: Any, observed: Any, axes: Any = None) -> Any:
    """Star against template x response, binned residuals, and the template-shape uncertainty.

    The third panel shows the fractional uncertainty of the scaled template (from the parameter
    covariance): it enters the calibration's error, so a poorly constrained template does not look
    clean. A disagreement between colours and spectrum is printed in red.

    Parameters
    ----------
    fit : TemplateFit
    observed : Spectrum
        The star the template was fitted to.
    axes : three Axes, optional

    Returns
    -------
    matplotlib Figure
    """
    if axes is None:
        _, axes = figure(3, 1, sharex=True, height_ratios=(3, 1.2, 1), figsize=(7.0, 6.2))
    top, middle, bottom = axes
    s = observed.to_wave_unit(u.AA)
    w = s.wavelength.value
    good = ~fit.model.mask & s.good
    data = np.where(good, s.flux.value, np.nan)
    model = fit.model.flux.value
    with style():
        top.plot(w, data, color=PALETTE[7], lw=0.6, label="star")
        top.plot(w, model, color=PALETTE[1], lw=0.8, label="template × response")
        label = ", ".join(fit.value_text(k) for k in fit.params)
        top.set_title(f"{label}\n{fit.value_text('rv')}, {fit.value_text('ebv')}", fontsize=8)
        if fit.tension:
            top.text(0.01, 0.03, "WARNING: " + fit.tension, transform=top.transAxes, color="red", fontsize=6,
                     wrap=True, va="bottom")  # fmt: skip
        lo, hi = robust_limits(data, include_zero=True)
        top.set_ylim(lo, hi)
        top.set_ylabel(flux_label(s.flux_unit))
        top.legend(loc="upper right")
        residual_panel(middle, w, (data - model) / s.error.value, mask=~good, nbins=40)
        if fit.template_log_error is not None:
            bottom.fill_between(w, -100 * fit.template_log_error, 100 * fit.template_log_error, color=PALETTE[1],
                                alpha=0.4, lw=0)  # fmt: skip
        bottom.axhline(0, color="0.3", lw=0.6)
        bottom.set_ylabel("template\nshape σ [%]")
        bottom.set_xlabel(wavelength_label(u.AA))
    return top.figure


def plot_photometry(fit: Any, photometry: Any, ax: Any = None) -> Any:
    """Synthetic (scaled, reddened template) against observed magnitudes, band by band.

    Parameters
    ----------
    fit : TemplateFit
        A fit with photometry (``fit.photometry``).
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
    synthetic, residuals = fit.photometry["synthetic"], fit.photometry["residuals"]
    with style():
        ax.errorbar(pivots, photometry.magnitudes, photometry.errors, fmt="o", color=PALETTE[7], label="observed")
        ax.plot(pivots, [synthetic[b] for b in bands], "s", mfc="none", color=PALETTE[1], label="synthetic")
        for x, b, e in zip(pivots, bands, photometry.errors, strict=True):
            pull = residuals[b] / e
            colour = "red" if abs(pull) > 3 else "black"
            ax.annotate(f"{b}\n{1000 * residuals[b]:+.0f} mmag ({pull:+.1f}σ)", (x, synthetic[b]), fontsize=6,
                        textcoords="offset points", xytext=(4, 6), color=colour)  # fmt: skip
        ax.invert_yaxis()
        ax.set_xlabel(unit_label("Pivot wavelength", u.AA))
        ax.set_ylabel(f"{photometry.system} magnitude [mag]")
        ax.set_title(f"photometry: chi2 = {fit.photometry['chi2']:.1f} for {len(bands)} bands", fontsize=8)
        ax.legend()
    return ax.figure


def plot_vectors(combined: Any, axes: Any = None) -> Any:
    """Per-star calibration vectors over the combined one, and their binned residuals in percent.

    Parameters
    ----------
    combined : CombinedCalibration
    axes : pair of Axes, optional

    Returns
    -------
    matplotlib Figure
    """
    if axes is None:
        _, axes = figure(2, 1, sharex=True, height_ratios=(2, 1.3), figsize=(7.0, 5.0))
    top, bottom = axes
    v = combined.vector
    w = v.wavelength
    good = ~v.mask
    with style():
        for k, (vec, res) in enumerate(zip(combined.vectors, combined.residuals, strict=True)):
            name = vec.meta.get("star_name", f"star {k}")
            colour = PALETTE[(k + 2) % len(PALETTE)]
            top.plot(w, np.where(vec.mask, np.nan, vec.factor), lw=0.7, color=colour, label=name)
            bx, by, be = binned_mean(w, 100 * res, 40)
            bottom.errorbar(bx, by, be, fmt="o-", ms=2.5, lw=1.0, color=colour)
        top.plot(w, np.where(good, v.factor, np.nan), color="k", lw=1.2, label=f"combined ({v.meta.get('method')})")
        sig = np.sqrt(v.variance)
        top.fill_between(w, v.factor - sig, v.factor + sig, where=good, color="0.5", alpha=0.4, lw=0)
        top.set_ylim(*robust_limits(np.where(good, v.factor, np.nan), include_zero=True))
        top.set_ylabel(unit_label("Calibration", u.erg / u.s / u.cm**2 / u.AA / u.ct))
        s = combined.summary
        top.set_title(f"{s['n_stars_used']} of {s['n_stars']} stars, rms scatter {100 * s['rms_scatter']:.2f}%",
                      fontsize=8)  # fmt: skip
        top.legend(fontsize=6, loc="best")
        frac = np.where(good, 100 * sig / v.factor, np.nan)
        bottom.fill_between(w, -frac, frac, color="0.5", alpha=0.4, lw=0, label="combined ±1σ")
        bottom.axhline(0, color="0.3", lw=0.6)
        bottom.set_ylabel("star / combined − 1 [%]\n(binned)")
        bottom.set_xlabel(wavelength_label(u.AA))
        bottom.legend(fontsize=6, loc="upper right")
    return top.figure
