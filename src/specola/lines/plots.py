"""Figures of a line fit: data, model and components with residuals per spectrum; corner of key parameters."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..plotting import figure, style

__all__ = ["plot_corner", "plot_fit"]


def plot_fit(result: Any, index: int = 0, axes: Any = None) -> Any:
    """Data, median model (16-84% band), continuum and line components, and normalised residuals.

    Parameters
    ----------
    result : LinesResult
        The fit.
    index : int
        Which spectrum.
    axes : pair of Axes, optional
        Upper (spectrum) and lower (residual) axes; a new figure when None.

    Returns
    -------
    matplotlib Figure
    """
    t = result.model_spectra()[index]
    plan = result.model.plan
    regions = plan.regions
    with style():
        if axes is None:
            _, axes = figure(2, 1, sharex=True, height_ratios=(3, 1), figsize=(7.0, 4.8))
        top, bottom = axes
        x = 0.5 * (t["low"] + t["high"]).value
        gap = np.r_[False, t["low"].value[1:] > t["high"].value[:-1] * (1 + 1e-9)]

        def brk(y):
            y = np.asarray(y, float)
            out_x, out_y = [], []
            for xi, yi, gi in zip(x, y, gap, strict=True):
                if gi:
                    out_x.append(np.nan), out_y.append(np.nan)
                out_x.append(xi), out_y.append(yi)
            return np.asarray(out_x), np.asarray(out_y)

        top.errorbar(x, t["flux"].value, t["error"].value, fmt=".", ms=2, lw=0.5, color="0.3", label="data")
        top.plot(*brk(t["model"].value), color="C0", lw=1.2, label="model")
        bx, b16 = brk(t["model_p16"].value)
        _, b84 = brk(t["model_p84"].value)
        top.fill_between(bx, b16, b84, color="C0", alpha=0.3, lw=0)
        top.plot(*brk(t["continuum"].value), color="C2", lw=0.8, ls="--", label="continuum")
        for j, label in enumerate(plan.labels):
            top.plot(*brk((t["continuum"] + t[label]).value), lw=0.7, color=f"C{3 + j % 5}", alpha=0.8)
        top.set_ylabel(f"Flux [{t['flux'].unit.to_string('latex_inline')}]")
        top.set_title(f"{plan.spectra[index]}: {len(plan.labels)} lines, {len(regions)} window(s)")
        top.legend(loc="upper right")
        resid = ((t["flux"] - t["model"]) / t["error"]).value
        bottom.plot(*brk(resid), drawstyle="steps-mid", color="0.3", lw=0.7)
        bottom.axhline(0, color="C0", lw=0.8)
        bottom.set_ylabel(r"$\chi$")
        bottom.set_xlabel(r"Observed wavelength [$\AA$]")
    return top.figure


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
