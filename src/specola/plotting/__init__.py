"""One plotting style for every stage; functions take ``ax=None`` and return the figure.

Shared pieces: :func:`figure` / :func:`style` (rcParams, palette), :func:`wavelength_label` / :func:`flux_label` /
:func:`unit_label` (units in astropy's LaTeX notation everywhere), :func:`robust_limits` (limits from the good data,
never from a spike), :func:`format_value` (no ``-1e-15 +- nan``: "at grid edge"), :func:`residual_panel` (residuals in
sigma with a binned trace), :func:`mark_bounds` (prior and grid edges on posteriors). matplotlib loads on first draw.
"""

from .labels import flux_label, format_value, unit_label, wavelength_label
from .limits import robust_limits, set_robust_ylim, spectrum_limits
from .panels import binned_mean, mark_bounds, piled_at_edge, residual_panel
from .spectra import plot_spectrum
from .style import PALETTE, corner_module, figure, style

__all__ = [
    "PALETTE",
    "binned_mean",
    "corner_module",
    "figure",
    "flux_label",
    "format_value",
    "mark_bounds",
    "piled_at_edge",
    "plot_spectrum",
    "residual_panel",
    "robust_limits",
    "set_robust_ylim",
    "spectrum_limits",
    "style",
    "unit_label",
    "wavelength_label",
]
