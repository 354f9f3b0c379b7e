"""Figures of a line fit: data, model and components with residuals per spectrum; corner of key parameters."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..plotting import figure, style

__all__ = ["plot_corner", "plot_fit"]


def _robust_limits(values: np.ndarray, extra: np.ndarray) -> tuple[float, float]:
    """y-limits from the 1-99th percentiles of the data, widened to show the model (never set by a spike)."""
    v = np.asarray(values, float)
    v = v[np.isfinite(v)]
    lo, hi = np.percentile(v, [1, 99]) if v.size else (0.0, 1.0)
    lo, hi = min(lo, np.nanmin(extra)), max(hi, np.nanmax(extra))
    pad = 0.08 * (hi - lo or 1.0)
    return float(lo - pad), float(hi + pad)


def _binned(x: np.ndarray, y: np.ndarray, n: int = 5) -> tuple[np.ndarray, np.ndarray]:
    """Means of ``n`` consecutive values (a trace that shows a systematic hidden in per-pixel noise)."""
    m = len(x) // n * n
    if m == 0:
        return x, y
    return x[:m].reshape(-1, n).mean(1), y[:m].reshape(-1, n).mean(1)


def plot_fit(result: Any, index: int = 0) -> Any:
    """One panel per continuum window: data, median model (16-84% band), continuum and labelled line
    components, with residuals in units of sigma (and a 5-pixel binned trace) below.

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
            for j, label in enumerate(plan.labels):
                centre = plan.rest[j] * z1
                if not w0 <= centre <= w1:
                    continue
                top.step(xs, cont + t[label].value[sel], where="mid", lw=0.8, color=f"C{3 + j % 6}", label=label)
                top.axvline(centre, color=f"C{3 + j % 6}", lw=0.5, ls=":")
            top.set_ylim(*_robust_limits(f, t["model"].value[sel]))
            top.legend(loc="upper right", fontsize="x-small")
            resid = ((t["flux"] - t["model"]) / t["error"]).value[sel]
            bottom.plot(xs, resid, ".", ms=2, color="0.3")
            bottom.plot(*_binned(xs, resid), color="C1", lw=1.0, label="5-pixel mean")
            for level in (-3, 0, 3):
                bottom.axhline(level, color="C0", lw=0.6, ls="-" if level == 0 else ":")
            rlim = max(4.0, float(np.percentile(np.abs(resid), 99)) * 1.1) if resid.size else 4.0
            bottom.set_ylim(-rlim, rlim)
            rms = float(np.sqrt(np.mean(resid**2))) if resid.size else float("nan")
            bottom.text(0.02, 0.95, f"rms {rms:.2f}", transform=bottom.transAxes, va="top", fontsize="x-small")
            bottom.set_xlabel(f"Observed wavelength [{t['low'].unit.to_string('latex_inline')}]")
            if c == 0:
                top.set_ylabel(f"Flux [{unit.to_string('latex_inline')}]")
                bottom.set_ylabel(r"(data - model) / $\sigma$")
        ncfg = len(plan.labels) + len(plan.dropped)
        dropped = f", {len(plan.dropped)} dropped (masked)" if plan.dropped else ""
        fig.suptitle(f"{plan.spectra[index]}: {len(plan.labels)} of {ncfg} lines fitted{dropped}, "
                     f"{len(wins)} window(s), {result.posterior.method}")  # fmt: skip
    return fig


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
    import corner

    post = result.posterior
    if names is None:
        keys = [n for n in post.samples if n.startswith(("z_", "fwhm_"))]
        keys += [n for n in post.samples if n.startswith("flux_")]
        names = keys[:max_params]
    data = np.column_stack([post.flat(n) for n in names])
    if data.shape[0] < 2:
        fig, ax = figure()
        ax.text(0.5, 0.5, "MAP fit: no posterior draws", ha="center", transform=ax.transAxes)
        return fig
    with style():
        fig = corner.corner(data, labels=names, quantiles=(0.16, 0.5, 0.84), show_titles=True, title_fmt=".4g")
    return fig
