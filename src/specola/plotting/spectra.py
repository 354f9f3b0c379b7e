"""Plot a :class:`~specola.spectrum.Spectrum` with its errors and masked pixels."""

from __future__ import annotations

from typing import Any

import numpy as np

from .labels import flux_label, wavelength_label
from .limits import spectrum_limits
from .style import figure, style

__all__ = ["plot_spectrum"]


def plot_spectrum(
    spectrum: Any,
    ax: Any = None,
    label: str | None = None,
    errors: bool = True,
    robust_ylim: bool = True,
    **kwargs: Any,
) -> Any:
    """Draw a spectrum as steps on its pixel edges, with a 1-sigma band; masked pixels are blank.

    Parameters
    ----------
    spectrum : Spectrum
        The spectrum to draw.
    ax : matplotlib Axes, optional
        Axes to draw on; a new figure is made when None.
    label : str, optional
        Legend label (default: ``meta['target']`` if present).
    errors : bool
        Shade the 1-sigma band when errors exist.
    robust_ylim : bool
        Set the y-limits from the running median of the good pixels (:func:`spectrum_limits`).
    **kwargs
        Passed to ``Axes.stairs``.

    Returns
    -------
    matplotlib Figure
    """
    if ax is None:
        _, ax = figure()
    with style():
        good = spectrum.good
        flux = np.where(good, spectrum.flux.value, np.nan)
        lo, hi = spectrum.low.value, spectrum.high.value
        contiguous = np.allclose(lo[1:], hi[:-1])
        label = label if label is not None else spectrum.meta.get("target")
        if contiguous:
            edges = np.append(lo, hi[-1])
            line = ax.stairs(flux, edges, label=label, baseline=None, **kwargs)
            colour = line.get_edgecolor()
            if errors and spectrum.error is not None:
                err = np.where(good, spectrum.error.value, np.nan)
                ax.stairs(flux + err, edges, baseline=flux - err, fill=True, alpha=0.25, color=colour, lw=0)
        else:
            x = spectrum.wavelength.value
            (line,) = ax.plot(x, flux, label=label, **kwargs)
            if errors and spectrum.error is not None:
                err = np.where(good, spectrum.error.value, np.nan)
                ax.fill_between(x, flux - err, flux + err, alpha=0.25, color=line.get_color(), lw=0)
        ax.set_xlabel(wavelength_label(spectrum.wave_unit))
        ax.set_ylabel(flux_label(spectrum.flux_unit))
        if robust_ylim:
            ax.set_ylim(*spectrum_limits(flux))  # a cosmic ray never sets the scale; lines stay in view
        if label:
            ax.legend()
    return ax.figure
