"""Figures of co-adds: inputs vs co-add, S/N gain, comparison with a reference co-add.

Axis labels use the shared :func:`specola.plotting.wavelength_label` (astropy's LaTeX units, one
notation everywhere) and y-limits come from :func:`specola.plotting.set_robust_ylim` of the
good data (:func:`specola.plotting.spectrum_limits` for spectra: lines in view, single-pixel spikes
out), so a spike never sets the range.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import astropy.units as u
import numpy as np

from ..plotting import PALETTE, figure, plot_spectrum, set_robust_ylim, spectrum_limits, style, wavelength_label
from ..spectrum import Spectrum

__all__ = ["figures", "plot_coadd", "plot_comparison", "plot_inputs", "plot_snr_gain"]


def _flux_ylim(ax: Any, spectra: Sequence[Spectrum]) -> None:
    """y-limits showing every feature a few pixels wide (lines included) but no spike or noisy order edge.

    Pixels with S/N below 3 (the noisy ends of echelle orders and detector segments) are left out
    when most pixels have better.
    """
    arrays = []
    for s in spectra:
        use = s.good
        snr = s.meta.get("snr")
        if np.shape(snr) != (len(s),):  # absent, or not sliced along with a selected part
            snr = None
        if snr is None and s.error is not None:
            with np.errstate(divide="ignore", invalid="ignore"):
                snr = s.flux.value / s.error.value
        if snr is not None and np.mean(np.asarray(snr)[use] > 3) > 0.5:
            use = use & (np.asarray(snr) > 3)
        arrays.append(np.where(use, s.flux.value, np.nan))
    ax.set_ylim(*spectrum_limits(arrays))


def plot_coadd(result: Any, ax: Any = None) -> Any:
    """The co-add with its 1-sigma band (each setting when stitched)."""
    if ax is None:
        _, ax = figure()
    with style():
        for name, spec in result.settings.items():
            plot_spectrum(spec, ax=ax, label=name)
        if len(result.settings) > 1:
            plot_spectrum(result.spectrum, ax=ax, label="stitched", color="k", errors=False)
        _flux_ylim(ax, [result.spectrum])
        ax.set_title(f"specola co-add: {result.spectrum.meta.get('target', '')}")
    return ax.figure


def plot_inputs(inputs: Sequence[Spectrum], coadd: Spectrum, ax: Any = None, label: str = "co-add") -> Any:
    """Every input segment (thin) with the co-add (thick) on top."""
    if ax is None:
        _, ax = figure()
    with style():
        for s in inputs:
            good = s.good
            ax.plot(s.wavelength.value[good], s.flux.value[good], lw=0.4, alpha=0.5)
        plot_spectrum(coadd, ax=ax, label=label, color="k", errors=False)
        _flux_ylim(ax, [coadd])
    return ax.figure


def plot_snr_gain(before: Spectrum, after: Spectrum, ax: Any = None) -> Any:
    """Ratio of the S/N of two co-adds on the same grid (e.g. scaled / unscaled)."""
    if ax is None:
        _, ax = figure()
    with style():
        b, a = np.asarray(before.meta["snr"]), np.asarray(after.meta["snr"])
        ok = (b > 0) & (a > 0) & before.good & after.good
        ratio = a[ok] / b[ok]
        ax.plot(after.wavelength.value[ok], ratio, ",", color="k")
        ax.axhline(1.0, color="0.5", lw=0.8)
        set_robust_ylim(ax, ratio)
        ax.set_xlabel(wavelength_label(after.wave_unit))
        ax.set_ylabel("S/N ratio (after / before)")
        ax.set_title(f"median S/N gain {np.median(ratio):.3f}")
    return ax.figure


def plot_comparison(spectra: dict[str, Spectrum], reference: Spectrum, wmin: float, wmax: float) -> Any:
    """Co-adds against a reference co-add, with the difference in units of the combined error."""
    fig, (top, bottom) = figure(2, 1, sharex=True)
    with style():
        diffs, parts = [], []
        for k, (name, spec) in enumerate(spectra.items()):
            colour = PALETTE[(k + 1) % len(PALETTE)]
            part = spec.select(wmin * spec.wave_unit, wmax * spec.wave_unit)
            plot_spectrum(part, ax=top, label=name, errors=False, color=colour, zorder=3 - k)
            ref = reference.rebin((part.low, part.high))
            ok = part.good & ref.good
            diff = (part.flux - ref.flux).value / np.hypot(part.error.value, ref.error.value)
            bottom.plot(part.wavelength.value[ok], diff[ok], lw=0.6, label=name, color=colour, alpha=0.8, zorder=3 - k)
            diffs.append(diff[ok])
            parts.append(part)
        ref_part = reference.select(wmin * reference.wave_unit, wmax * reference.wave_unit)
        plot_spectrum(ref_part, ax=top, label="reference", errors=False, color="k", lw=0.5)
        _flux_ylim(top, parts)
        set_robust_ylim(bottom, *diffs)
        top.set_xlabel("")
        bottom.axhline(0, color="0.5", lw=0.8)
        bottom.set_ylabel(r"(co-add $-$ ref) / $\sigma$")
        bottom.set_xlabel(wavelength_label(reference.wave_unit))
        bottom.legend()
    return fig


def figures(result: Any) -> dict[str, Any]:
    """The figures ``specola coadd --figures`` writes: ``{file name: figure}``.

    A :class:`~specola.coadd.CoaddResult` gives its co-add; a
    :class:`~specola.coadd.HaspResult` one figure per product.
    """
    if hasattr(result, "settings"):
        name = "specola_" + str(result.spectrum.meta.get("target") or "coadd").lower().replace(" ", "_")
        return {f"{name}.png": plot_coadd(result)}
    from ..io.hst import FLAM

    out = {}
    for name, (prod, _) in result.products.items():
        w = np.asarray(prod.output_wavelength, float)
        step = np.diff(w)
        edges = np.concatenate([[w[0] - step[0] / 2], w[:-1] + step / 2, [w[-1] + step[-1] / 2]]) * u.AA
        spec = Spectrum.from_edges(
            edges,
            np.asarray(prod.output_flux, float) * FLAM,
            error=np.abs(np.asarray(prod.output_errors, float)) * FLAM,
            mask=np.asarray(prod.output_exptime) <= 0,
        )
        fig, ax = figure()
        plot_spectrum(spec, ax=ax, label=name.removesuffix(".fits"))
        _flux_ylim(ax, [spec])
        out[name.replace(".fits", ".png")] = fig
    return out
