"""Figures of co-adds: inputs vs co-add, S/N gain, comparison with a reference co-add."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..plotting import figure, plot_spectrum
from ..plotting.style import style
from ..spectrum import Spectrum

__all__ = ["plot_coadd", "plot_comparison", "plot_inputs", "plot_snr_gain"]


def plot_coadd(result: Any, ax: Any = None) -> Any:
    """The co-add with its 1-sigma band (each setting when stitched)."""
    if ax is None:
        _, ax = figure()
    with style():
        for name, spec in result.settings.items():
            plot_spectrum(spec, ax=ax, label=name)
        if len(result.settings) > 1:
            plot_spectrum(result.spectrum, ax=ax, label="stitched", color="k", errors=False)
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
    return ax.figure


def plot_snr_gain(before: Spectrum, after: Spectrum, ax: Any = None) -> Any:
    """Ratio of the S/N of two co-adds on the same grid (e.g. scaled / unscaled)."""
    if ax is None:
        _, ax = figure()
    with style():
        b, a = np.asarray(before.meta["snr"]), np.asarray(after.meta["snr"])
        ok = (b > 0) & (a > 0) & before.good & after.good
        ax.plot(after.wavelength.value[ok], a[ok] / b[ok], ",", color="k")
        ax.axhline(1.0, color="0.5", lw=0.8)
        ax.set_xlabel(f"Wavelength [{after.wave_unit}]")
        ax.set_ylabel("S/N ratio (after / before)")
        ax.set_title(f"median S/N gain {np.median(a[ok] / b[ok]):.3f}")
    return ax.figure


def plot_comparison(spectra: dict[str, Spectrum], reference: Spectrum, wmin: float, wmax: float) -> Any:
    """Co-adds against a reference co-add, with the difference in units of the combined error."""
    from ..plotting.style import PALETTE

    fig, (top, bottom) = figure(2, 1, sharex=True)
    with style():
        for k, (name, spec) in enumerate(spectra.items()):
            colour = PALETTE[(k + 1) % len(PALETTE)]
            part = spec.select(wmin * spec.wave_unit, wmax * spec.wave_unit)
            plot_spectrum(part, ax=top, label=name, errors=False, color=colour)
            ref = reference.rebin((part.low, part.high))
            ok = part.good & ref.good
            diff = (part.flux - ref.flux).value / np.hypot(part.error.value, ref.error.value)
            bottom.plot(part.wavelength.value[ok], diff[ok], lw=0.6, label=name, color=colour, alpha=0.8)
        ref_part = reference.select(wmin * reference.wave_unit, wmax * reference.wave_unit)
        plot_spectrum(ref_part, ax=top, label="reference", errors=False, color="k", lw=0.5)
        bottom.axhline(0, color="0.5", lw=0.8)
        bottom.set_ylabel("(co-add - ref) / sigma")
        bottom.set_xlabel(f"Wavelength [{reference.wave_unit}]")
        bottom.legend()
    return fig
