"""Figures of a stellar retrieval; every function takes ``ax=None``/data arrays and returns the figure."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy.ndimage import median_filter

from ..plotting import corner_module, figure, robust_limits, style
from ..plotting.style import PALETTE
from .parameters import PARAMETERS

__all__ = [
    "fitted_components",
    "plot_bands",
    "plot_bestfit",
    "plot_chains",
    "plot_combo",
    "plot_corner",
    "plot_fscale_guess",
    "plot_time_selection",
    "plot_wave_selection",
]

FLUX_LABEL = "Flux"
#: Percentile pairs of the 1, 2 and 3 sigma bands.
SIGMA_PERCENTILES = ((15.87, 84.13), (2.28, 97.72), (0.135, 99.865))


def _flux_label(unit: str) -> str:
    return f"Flux [{unit}]" if unit else FLUX_LABEL


def _shade(ax: Any, ranges: Sequence[Sequence[float]], label: str) -> None:
    for k, (a, b) in enumerate(np.asarray(ranges, float).reshape(-1, 2)):
        ax.axvspan(a, b, color="0.6", alpha=0.3, lw=0, label=label if k == 0 else None)


def plot_time_selection(
    times: np.ndarray,
    light_curve: np.ndarray,
    excluded: np.ndarray,
    ranges: Sequence[Sequence[float]],
    kernel: int,
    time_label: str = "Time",
) -> Any:
    """White-light curve (normalised), its median filter, and the masked time intervals.

    Large times (e.g. Julian dates) are shown relative to their integer part, which the axis label names.
    """
    times = np.asarray(times, float)
    offset = float(np.floor(np.nanmin(times))) if np.nanmin(np.abs(times)) > 1e3 else 0.0
    t = times - offset
    label = time_label if not offset else f"{time_label} $-$ {offset:.0f}"
    finite = np.isfinite(light_curve)
    fig, ax = figure(figsize=(7, 3))
    with style():
        for sel, color, name in ((~excluded, PALETTE[0], "used"), (excluded, PALETTE[1], "masked")):
            ax.plot(t[sel & finite], light_curve[sel & finite], ".", ms=4, color=color, label=name)
        keep = finite & ~excluded
        if kernel and kernel > 1 and keep.sum() > kernel:
            smooth = median_filter(light_curve[keep], size=kernel, mode="nearest")
            ax.plot(t[keep], smooth, color="k", lw=1, label=f"median filter ({kernel} points, used times)")
        _shade(ax, np.asarray(ranges, float).reshape(-1, 2) - offset, "time_ranges_masked")
        if (~finite).any():
            ax.plot([], [], " ", label=f"{int((~finite).sum())} integration(s) without valid pixels")
        ax.set_xlabel(label)
        ax.set_ylabel("Relative white-light flux")
        ax.set_title("Time selection for the median spectrum")
        ax.legend(loc="best", fontsize=7)
    return fig


def plot_wave_selection(
    wave: np.ndarray, flux: np.ndarray, error: np.ndarray, ranges: Sequence[Sequence[float]], unit: str
) -> Any:
    """Median spectrum before wavelength masking, masked intervals shaded."""
    fig, ax = figure(figsize=(7, 3))
    with style():
        ax.errorbar(wave, flux, yerr=error, fmt=".", ms=2, lw=0.5, color="k", label="spectrum")
        _shade(ax, ranges, "wave_ranges_masked")
        ax.set_xlabel(r"Wavelength [$\mu$m]")
        ax.set_ylabel(_flux_label(unit))
        ax.set_title("Wavelength selection")
        ax.legend(loc="best")
    return fig


def plot_fscale_guess(
    wave: np.ndarray, flux: np.ndarray, model: np.ndarray, fscale: float, band: Sequence[float], unit: str
) -> Any:
    """Data against the default photosphere model scaled by the Fscale guess."""
    fig, ax = figure(figsize=(7, 3))
    with style():
        ax.plot(wave, flux, color="k", lw=1, label="data")
        ax.plot(wave, model * fscale, color=PALETTE[1], lw=1, label=f"default model x Fscale guess ({fscale:.4g})")
        ax.axvspan(*band, color=PALETTE[2], alpha=0.15, lw=0, label="band used for the guess")
        ax.set_xlabel(r"Wavelength [$\mu$m]")
        ax.set_ylabel(_flux_label(unit))
        ax.legend(loc="best")
    return fig


def plot_chains(chain: np.ndarray, names: Sequence[str], burnin: int | None = None, verdict: dict | None = None) -> Any:
    """Walker traces of every parameter (``chain`` of shape ``(nsteps, nwalkers, ndim)``).

    ``verdict`` (see :func:`specola.stellar.sampling.convergence`) is printed as a table above the traces.
    """
    nsteps, nwalkers, ndim = chain.shape
    thin = max(1, nsteps // 1000)
    steps = np.arange(0, nsteps, thin)
    # one line per parameter, walkers separated by NaN: fast to draw even for hundreds of walkers
    x = np.concatenate([np.append(steps, np.nan)] * nwalkers)
    fig, axes = figure(ndim, 1, figsize=(7, 1.2 * ndim + 0.6), sharex=True)
    axes = np.atleast_1d(axes)
    with style():
        for k, ax in enumerate(axes):
            y = np.concatenate([np.append(chain[::thin, w, k], np.nan) for w in range(nwalkers)])
            ax.plot(x, y, color="k", alpha=0.15, lw=0.4)
            ax.set_ylabel(_LABELS.get(names[k], names[k]), fontsize=8)
            if burnin:
                ax.axvline(burnin, color=PALETTE[1], lw=1)
        axes[-1].set_xlabel("Step")
        if verdict is not None:
            lines = [
                f"{'pass' if c['passed'] else 'FAIL'}  {c['check']}: {c['value']:.3g} (needs {c['threshold']})"
                for c in verdict["checks"]
            ]
            head = "converged" if verdict["converged"] else "NOT converged"
            axes[0].set_title(head + "\n" + "\n".join(lines), fontsize=7, loc="left", family="monospace")
    return fig


def _null_formatter() -> Any:
    from matplotlib.ticker import NullFormatter

    return NullFormatter()


def _spectrum_axes(ax: Any, wave_range: tuple[float, float], pad: float, log_wave: bool, unit: str) -> None:
    ax.set_xlim(wave_range[0] - pad, wave_range[1] + pad)
    if log_wave:
        ax.set_xscale("log")
        ticks = [t for t in (0.5, 0.6, 0.8, 1, 1.5, 2, 3, 4, 5, 6) if wave_range[0] - pad <= t <= wave_range[1] + pad]
        ax.set_xticks(ticks)
        ax.set_xticklabels([f"{t:g}" for t in ticks])
        ax.xaxis.set_minor_formatter(_null_formatter())
    ax.set_xlabel(r"Wavelength [$\mu$m]")
    ax.set_ylabel(_flux_label(unit))


def plot_bands(
    data: dict[str, np.ndarray],
    model_wave: np.ndarray,
    bands: dict[str, np.ndarray],
    pad: float,
    log_wave: bool = False,
    unit: str = "",
    ax: Any = None,
    label: str = "",
    steps: bool = False,
    data_label: str = "",
) -> Any:
    """Data with the median model and its 1/2/3 sigma bands (drawn over the data so they stay visible).

    Parameters
    ----------
    data : dict
        ``wave``, ``flux``, ``error`` (and ``good``) of the fitted pixels.
    model_wave : ndarray
        Wavelengths of the model arrays.
    bands : dict
        Model percentiles keyed ``"p50"``, ``"p15.87"`` ... (see :data:`SIGMA_PERCENTILES`).
    """
    if ax is None:
        _, ax = figure(figsize=(7, 3.4))
    with style():
        draw = ax.step if steps else ax.plot
        for (lo, hi), alpha, name in zip(SIGMA_PERCENTILES, (0.55, 0.35, 0.2), ("1", "2", "3"), strict=True):
            ax.fill_between(
                model_wave,
                bands[f"p{lo:g}"],
                bands[f"p{hi:g}"],
                color=PALETTE[0],
                alpha=alpha,
                lw=0,
                step="mid" if steps else None,
                label=rf"{name}$\sigma$",
                zorder=6,
            )
        draw(
            model_wave,
            bands["p50"],
            color=PALETTE[0],
            lw=1,
            label="median model" + (f" {label}" if label else ""),
            zorder=7,
            **({"where": "mid"} if steps else {}),
        )
        g = data["good"]
        ax.errorbar(
            data["wave"][g],
            data["flux"][g],
            yerr=data["error"][g],
            fmt="o",
            ms=1.5,
            lw=0.5,
            color="0.35",
            zorder=5,
            label="data" + (f" {data_label}" if data_label else ""),
        )
        _spectrum_axes(ax, (data["wave"][g].min(), data["wave"][g].max()), pad, log_wave, unit)
        shown = np.concatenate([data["flux"][g], bands["p50"]])
        ax.set_ylim(*robust_limits(shown, percentiles=(0.5, 99.5), pad=0.08))
        ax.legend(loc="upper right", ncols=2)
    return ax.figure


def plot_bestfit(
    data: dict[str, np.ndarray],
    maxlike: np.ndarray,
    maxprob: np.ndarray,
    error_scale: float,
    pad: float,
    unit: str = "",
) -> Any:
    """Best-fit models over the data with normalised residuals."""
    fig, (ax, rax) = figure(2, 1, figsize=(7, 4.6), sharex=True, height_ratios=(3, 1))
    g = data["good"]
    w = data["wave"]
    with style():
        ax.errorbar(w[g], data["flux"][g], yerr=data["error"][g], fmt="o", ms=1.5, lw=0.5, color="k", label="data")
        ax.plot(w, maxlike, color=PALETTE[1], lw=1, label="max likelihood")
        ax.plot(w, maxprob, color=PALETTE[0], lw=1, ls="--", label="max probability")
        ax.set_ylabel(_flux_label(unit))
        ax.legend(loc="upper right")
        resid = (data["flux"][g] - maxlike[g]) / (data["error"][g] * error_scale)
        rax.plot(w[g], resid, ".", ms=2, color="k")
        rax.axhline(0, color=PALETTE[1], lw=1)
        _spectrum_axes(rax, (w[g].min(), w[g].max()), pad, False, unit)
        rax.set_ylabel(r"Residual [$\sigma_{\rm infl}$]" if error_scale != 1 else r"Residual [$\sigma$]")
        ax.set_xlabel("")
    return fig


#: Component parameters of the combo figure and the fitted parameters that make each one vary.
COMPONENT_SOURCES = {
    c: tuple(p.name for p in PARAMETERS if p.component == c) for c in dict.fromkeys(p.component for p in PARAMETERS)
    if c is not None
}  # fmt: skip


def fitted_components(fitted: Sequence[str]) -> list[str]:
    """Physical component parameters that are fitted (``Tspot`` when ``deltaTspot`` is, and so on)."""
    return [name for name, sources in COMPONENT_SOURCES.items() if any(s in fitted for s in sources)]


def plot_combo(
    data: dict[str, np.ndarray],
    model_wave: np.ndarray,
    bands: dict[str, np.ndarray],
    samples: dict[str, np.ndarray],
    pad: float,
    log_wave: bool,
    unit: str = "",
    names: Sequence[str] | None = None,
    edges: dict[str, Sequence[float]] | None = None,
    flagged: Sequence[str] = (),
    binned: dict[str, np.ndarray] | None = None,
    error_scale: float = 1.0,
    resolved_label: str = "median model, higher resolution",
) -> Any:
    """Top: fitted spectrum with 1/2/3 sigma bands; middle: residuals; bottom: marginal posteriors.

    Parameters
    ----------
    names : sequence of str, optional
        Component parameters to show (default: every one in ``samples``); pass
        :func:`fitted_components` of the fitted names so that fixed parameters get no panel.
    edges : dict, optional
        Grid edges per component parameter, marked on its histogram.
    flagged : sequence of str
        Parameters whose posterior piles at a grid edge (labelled "at grid edge").
    binned : dict, optional
        Model percentiles in the data bins (``p50``, ``p15.87``, ...): with them a residual panel shows
        ``(data - median model) / (error_scale * error)`` and the model's 1/2 sigma bands in the same units.
    error_scale : float
        Fitted error inflation: the data's error bars and the residuals use the inflated errors.
    """
    if names is None:
        names = [n for n in COMPONENT_SOURCES if n in samples]
    names = [n for n in names if n in samples]
    ncols = max(len(names), 1)
    with style():
        import matplotlib.pyplot as plt

        rows = 3 if binned is not None else 2
        fig = plt.figure(figsize=(max(8.0, 1.55 * ncols), 7.6 if rows == 3 else 6.2), layout="constrained")
        gs = fig.add_gridspec(rows, ncols, height_ratios=(2, 0.8, 1)[:rows] if rows == 3 else (2, 1))
        ax = fig.add_subplot(gs[0, :])
        shown = dict(data, error=data["error"] * error_scale)
        label = "" if error_scale == 1 else f"(errors x {error_scale:.3g}, fitted inflation)"
        if binned is not None:  # the model as fitted (in the data bins), the smooth model as a guide
            plot_bands(
                shown,
                data["wave"],
                binned,
                pad,
                log_wave,
                unit,
                ax=ax,
                label="(data bins, as fitted)",
                steps=True,
                data_label=label,
            )
            ax.plot(model_wave, bands["p50"], color=PALETTE[2], lw=0.6, alpha=0.8, label=resolved_label, zorder=4)
            ax.legend(loc="upper right", ncols=2, fontsize=8)
        else:
            plot_bands(shown, model_wave, bands, pad, log_wave, unit, ax=ax, data_label=label)
        if binned is not None:
            rax = fig.add_subplot(gs[1, :], sharex=ax)
            _residuals(rax, shown, binned)
            ax.set_xlabel("")
            _spectrum_axes(rax, ax.get_xlim(), 0.0, log_wave, unit)
            rax.set_xlim(ax.get_xlim())
            rax.set_ylabel(r"Residual [$\sigma_{\rm infl}$]" if error_scale != 1 else r"Residual [$\sigma$]")
        for k, n in enumerate(names):
            sub = fig.add_subplot(gs[rows - 1, k])
            values = samples[n]
            sub.hist(values, bins=40, color=PALETTE[0], histtype="stepfilled", alpha=0.7)
            q = np.percentile(values, [15.87, 50, 84.13])
            for v, ls in zip(q, ("--", "-", "--"), strict=True):
                sub.axvline(v, color="k", lw=0.8, ls=ls)
            lo, hi = sub.get_xlim()
            for edge in (edges or {}).get(n, ()):
                if lo <= edge <= hi:
                    sub.axvline(edge, color=PALETTE[3], ls=":", lw=1.5)
            sub.set_xlabel(_LABELS.get(n, n), fontsize=9)
            title = _summary(q) + ("\nat grid edge" if n in flagged else "")
            sub.set_title(title, fontsize=7.5, color=PALETTE[3] if n in flagged else "k")
            sub.set_yticks([])
            sub.xaxis.set_major_locator(plt.MaxNLocator(3))
            sub.tick_params(axis="x", labelsize=7)
            if k == 0:
                sub.set_ylabel("Posterior", fontsize=8)
    return fig


def _residuals(ax: Any, data: dict[str, np.ndarray], binned: dict[str, np.ndarray], nbin: int = 10) -> None:
    """Residuals in sigma of the data, a running mean over ``nbin`` pixels, and the model's bands in sigma."""
    g = data["good"]
    w, sigma = data["wave"][g], data["error"][g]
    resid = (data["flux"][g] - binned["p50"][g]) / sigma
    for (lo, hi), alpha in zip(SIGMA_PERCENTILES[:2], (0.55, 0.3), strict=False):
        ax.fill_between(
            w,
            (binned[f"p{lo:g}"][g] - binned["p50"][g]) / sigma,
            (binned[f"p{hi:g}"][g] - binned["p50"][g]) / sigma,
            color=PALETTE[0],
            alpha=alpha,
            lw=0,
            step="mid",
        )
    ax.plot(w, resid, ".", ms=2, color="k")
    if resid.size >= 2 * nbin:
        kernel = np.ones(nbin) / nbin
        ax.plot(
            w[nbin // 2 : nbin // 2 + resid.size - nbin + 1],
            np.convolve(resid, kernel, "valid"),
            color=PALETTE[1],
            lw=1.2,
            label=f"mean of {nbin} pixels",
        )
        ax.legend(loc="upper right", fontsize=7)
    ax.axhline(0, color="0.4", lw=0.8)
    lim = np.nanpercentile(np.abs(resid), 99) * 1.2 if resid.size else 1.0
    ax.set_ylim(-max(lim, 3.0), max(lim, 3.0))


def _summary(q: np.ndarray) -> str:
    """``median +upper -lower`` with a sensible number of digits."""
    lo, mid, hi = q[1] - q[0], q[1], q[2] - q[1]
    err = min(lo, hi)
    digits = max(0, -int(np.floor(np.log10(err))) + 1) if err > 0 else 3
    return rf"${mid:.{digits}f}^{{+{hi:.{digits}f}}}_{{-{lo:.{digits}f}}}$"


_LABELS = {
    **{p.name: p.label for p in PARAMETERS},
    "Tspot": r"$T_{\rm spot}$ [K]",
    "Tfac": r"$T_{\rm fac}$ [K]",
    "logg_het": r"$\log g_{\rm het}$",
}


def plot_corner(
    samples: np.ndarray,
    names: Sequence[str],
    truths: Sequence[float] | None = None,
    bounds: dict[str, tuple[float, float]] | None = None,
    flagged: Sequence[str] = (),
) -> Any:
    """Corner plot of the posterior samples (corner package).

    ``bounds`` (prior bounds or grid edges per fitted parameter) are drawn as dotted lines on the
    diagonal where they fall inside the plotted range; ``flagged`` messages (posteriors piled at a grid
    edge) are printed in the upper right corner.
    """
    corner = corner_module()
    with style():
        fig = corner.corner(
            samples,
            labels=[_LABELS.get(n, n) for n in names],
            quantiles=(0.1587, 0.5, 0.8413),
            show_titles=True,
            title_fmt=".3g",
            title_kwargs={"fontsize": 8},
            label_kwargs={"fontsize": 9},
            smooth=1.0,
            plot_datapoints=False,
            color=PALETTE[0],
            truths=truths,
            truth_color=PALETTE[1],
        )
        ndim = len(names)
        axes = np.asarray(fig.axes).reshape(ndim, ndim)
        for k, name in enumerate(names):
            ax = axes[k, k]
            lo, hi = ax.get_xlim()
            for edge in (bounds or {}).get(name, ()):
                if lo - 1e-9 * abs(hi - lo) <= edge <= hi + 1e-9 * abs(hi - lo):
                    ax.axvline(edge, color=PALETTE[3], ls=":", lw=1.2)
        if flagged:
            fig.text(0.98, 0.98, "\n".join(flagged), ha="right", va="top", fontsize=8, color=PALETTE[3], wrap=True)
        if bounds:
            fig.text(0.98, 0.02, "dotted: prior bounds / grid edges", ha="right", va="bottom", fontsize=7)
    return fig
