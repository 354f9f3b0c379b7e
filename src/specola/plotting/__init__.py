"""One plotting style for every stage; functions take ``ax=None`` and return the figure."""

from .spectra import plot_spectrum
from .style import figure, style

__all__ = ["figure", "plot_spectrum", "style"]
