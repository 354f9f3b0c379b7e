"""Figures of a line fit: data, model and components with residuals per spectrum; corner of key parameters."""

from __future__ import annotations

from typing import Any

import astropy.units as u
import numpy as np

from ..errors import SpecolaError
from ..plotting import (
    corner_module,
    figure,
    flux_label,
    format_value,
    mark_bounds,
    residual_panel,
    robust_limits,
    style,
    unit_label,
    wavelength_label,
)

__all__ = ["plot_corner", "plot_error_scales", "plot_fit"]

#: Colours of the line components (not the data's grey, the model's C0 nor the continuum's C2).
_COMPONENT_COLOURS = ("C3", "C4", "C1", "C6", "C5", "C8", "C9")


def plot_fit(result: Any, index: int = 0) -> Any:
    """One panel per continuum window with labelled components, and residuals in sigma below.

    Each panel shows the data (with the errors that were fitted, inflated where ``errors.rescale`` is on), the
    median model (16-84% band), the continuum and each line component (labelled); below, (data - model) /
    sigma with a binned mean trace (:func:`specola.plotting.residual_panel`).

    Parameters
    ----------
    result : LinesResult
        The fit.
    index : int
        Which spectrum.

    Returns
    -------
    matplotlib Figure
    """
    t = result.model_spectra()[index]
    plan = result.model.plan
    x = 0.5 * (t["low"] + t["high"]).value
    z1 = 1 + plan.z0
    wins = [(w0 * z1, w1 * z1) for w0, w1 in plan.regions]
    wins = [w for w in wins if np.any((x >= w[0]) & (x <= w[1]))]
    nw = max(len(wins), 1)
    unit = t["flux"].unit
    with style():
        fig, axes = figure(2, nw, sharex="col", height_ratios=(3, 1), figsize=(3.6 * nw + 1.0, 4.8), squeeze=False)
        for c, (w0, w1) in enumerate(wins):
            top, bottom = axes[0, c], axes[1, c]
            sel = (x >= w0) & (x <= w1)
            xs = x[sel]
            f, e = t["flux"].value[sel], t["error"].value[sel]
            top.errorbar(xs, f, e, fmt=".", ms=2, lw=0.5, color="0.3", label="data", zorder=1)
            top.step(xs, t["model"].value[sel], where="mid", color="C0", lw=1.2, label="model", zorder=3)
            top.fill_between(xs, t["model_p16"].value[sel], t["model_p84"].value[sel], step="mid", color="C0",
                             alpha=0.3, lw=0)  # fmt: skip
            cont = t["continuum"].value[sel]
            top.step(xs, cont, where="mid", color="C2", lw=0.8, ls="--", label="continuum")
            inside = [(j, label) for j, label in enumerate(plan.labels) if w0 <= plan.rest[j] * z1 <= w1]
            for n, (j, label) in enumerate(inside):  # colours by position in the panel: neighbours never alike
                centre = plan.rest[j] * z1
                colour = _COMPONENT_COLOURS[n % len(_COMPONENT_COLOURS)]
                top.step(xs, cont + t[label].value[sel], where="mid", lw=0.9, color=colour, label=label, zorder=4)
                top.axvline(centre, color=colour, lw=0.5, ls=":")
            lo, hi = robust_limits(f, pad=0.1)  # a spike cannot set the scale; the fitted lines stay in view
            peak = float(np.max(t["model_p84"].value[sel]))
            top.set_ylim(lo, max(hi, peak + 0.08 * (peak - lo)))
            top.legend(loc="best", fontsize="x-small")
            resid = ((t["flux"] - t["model"]) / t["error"]).value[sel]
            residual_panel(bottom, xs, resid, nbins=max(2, min(30, xs.size // 4)),
                           xlabel=wavelength_label(t["low"].unit, "observed"))  # fmt: skip
            if c == 0:
                top.set_ylabel(flux_label(unit))
            else:
                bottom.set_ylabel("")
        ncfg = len(plan.labels) + len(plan.dropped)
        dropped = f", {len(plan.dropped)} dropped (masked)" if plan.dropped else ""
        fig.suptitle(f"{plan.spectra[index]}: {len(plan.labels)} of {ncfg} lines fitted{dropped}, "
                     f"{len(wins)} window(s), {result.posterior.method}")  # fmt: skip
    return fig


def plot_error_scales(model: Any) -> Any:
    """Diagnostic of the error rescaling, one panel per spectrum (rows) and window (columns).

    Each panel shows the data with their original errors, the continuum fitted away from the lines (masked
    pixels shaded) and its chi2_nu with the factor applied.

    Parameters
    ----------
    model : LinesModel
        Built with ``errors.rescale = true``.

    Returns
    -------
    matplotlib Figure
    """
    from .model import C_KMS

    plan = model.plan
    recs = plan.error_scales
    names = list(dict.fromkeys(r["spectrum"] for r in recs))
    nwin = len(plan.regions)
    z1 = 1 + plan.z0
    with style():
        fig, axes = figure(len(names), nwin, figsize=(3.6 * nwin + 1.0, 3.2 * len(names) + 0.4), squeeze=False)
        for rec in recs:
            row, col = names.index(rec["spectrum"]), plan.regions.index(tuple(rec["window"]))
            ax = axes[row, col]
            s = model.spectra[plan.spectra.index(rec["spectrum"])]
            x = 0.5 * (s.low + s.high).value
            w0, w1 = (w * z1 for w in rec["window"])
            sel = (x >= w0) & (x <= w1)
            err = s.error.value[sel] / rec["factor"]
            ax.errorbar(x[sel], s.flux.value[sel], err, fmt=".", ms=2, lw=0.5, color="0.3", label="data (input errors)")
            spans = [(lam * (1 - rec["mask_kms"] / C_KMS), lam * (1 + rec["mask_kms"] / C_KMS))
                     for lam in plan.rest * z1 if w0 <= lam <= w1]  # fmt: skip
            for k, (lo, hi) in enumerate(_merged(spans)):
                ax.axvspan(max(lo, w0), min(hi, w1), color="C0", alpha=0.15, lw=0,
                           label=f"masked (\u00b1{rec['mask_kms']:.0f} km/s)" if k == 0 else None)  # fmt: skip
            if rec["coef"] is not None:
                t = x[sel] / (0.5 * (w0 + w1)) - 1
                ax.plot(x[sel], np.polyval(rec["coef"], t), color="C3", lw=1.5, label="continuum fit")
                text = rf"$\chi^2_\nu$ = {rec['chi2_nu']:.2f} on {rec['pixels']} pixels: errors x {rec['factor']:.2f}"
            else:
                text = f"{rec['pixels']} continuum pixels (< errors.min_pixels): not rescaled"
            ax.set_title(f"{rec['spectrum']}, {rec['window'][0]:.0f}-{rec['window'][1]:.0f} A rest\n{text}",
                         fontsize="small")  # fmt: skip
            ax.set_xlim(w0, w1)
            ax.set_xlabel(wavelength_label(s.low.unit, "observed"))
            ax.legend(loc="best", fontsize="x-small")
            if col == 0:
                ax.set_ylabel(flux_label(s.flux.unit).replace(" [", "\n["))
        fig.suptitle("error rescaling: continuum fitted away from the lines")
    return fig


def _merged(spans: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """Overlapping intervals merged (so overlapping masks are shaded once)."""
    out: list[list[float]] = []
    for lo, hi in sorted(spans):
        if out and lo <= out[-1][1]:
            out[-1][1] = max(out[-1][1], hi)
        else:
            out.append([lo, hi])
    return [(lo, hi) for lo, hi in out]


def plot_corner(result: Any, names: list[str] | None = None, max_params: int = 6) -> Any:
    """Corner plot of key parameters (default: redshifts, widths and the first line fluxes).

    Parameters
    ----------
    result : LinesResult
        The fit.
    names : list of str, optional
        Parameter (site) names to show.
    max_params : int
        Largest number of parameters chosen automatically.

    Returns
    -------
    matplotlib Figure
    """
    corner = corner_module()
    post = result.posterior
    plan = result.model.plan
    if names is None:  # redshifts, widths, then fluxes, each in the order the configuration declares them
        order = [n for n in plan.sample_order if n in post.samples]
        names = [n for prefix in ("z_", "fwhm_", "flux_") for n in order if n.startswith(prefix)][:max_params]
    unknown = [n for n in names if n not in post.samples]
    if unknown:
        raise SpecolaError(f"corner plot: no parameter(s) {', '.join(unknown)}; free: {', '.join(plan.sample_order)}")
    if post.flat(names[0]).size < 2:
        fig, ax = figure()
        ax.text(0.5, 0.5, "MAP fit: no posterior draws", ha="center", transform=ax.transAxes)
        return fig
    medians = {n: float(np.median(post.flat(n))) for n in post.samples}
    scales, labels, bounds = [], [], []
    for name in names:
        scale, label = _physical(name, plan)
        prior = plan.sites.get(name)
        lo, hi = prior.bounds(medians) if prior is not None else (np.nan, np.nan)
        scales.append(scale)
        labels.append(label)
        bounds.append((lo * scale, hi * scale))
    data = np.column_stack([post.flat(n) * s for n, s in zip(names, scales, strict=True)])
    with style():
        fig = corner.corner(data, labels=labels, quantiles=(0.16, 0.5, 0.84), show_titles=False)
        diagonal = np.asarray(fig.axes).reshape(len(names), len(names)).diagonal()
        for ax, column, (lo, hi) in zip(diagonal, data.T, bounds, strict=True):
            p16, p50, p84 = np.percentile(column, [16, 50, 84])
            ax.set_title(format_value(p50, (p50 - p16, p84 - p50)), fontsize=8)
            mark_bounds(ax, lo, hi, column, kind="prior bound")
    return fig


def _physical(name: str, plan: Any) -> tuple[float, str]:
    """Factor from a sampled parameter to physical units, and its axis label with the unit."""
    kind, _, what = name.partition("_")
    if kind == "flux":
        return plan.line_unit, unit_label(f"F({what})", plan.flux_unit * u.AA).replace(" [", "\n[")
    if kind == "fwhm":
        return 1.0, unit_label(f"FWHM {what}", u.km / u.s).replace(" [", "\n[")
    if kind == "z":
        return 1.0, f"z ({what})"
    return 1.0, name
