"""specola's matplotlib style: readable, publication-ready defaults applied locally."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

__all__ = ["PALETTE", "corner_module", "figure", "style"]

#: Colour-blind-safe palette (Okabe & Ito 2008).
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442", "#000000")

_RC = {
    "figure.dpi": 110,
    "savefig.dpi": 150,
    "font.size": 10,
    "axes.labelsize": 10,
    "axes.titlesize": 10,
    "legend.fontsize": 8,
    "legend.frameon": False,
    "xtick.direction": "in",
    "ytick.direction": "in",
    "xtick.top": True,
    "ytick.right": True,
    "xtick.minor.visible": True,
    "ytick.minor.visible": True,
    "lines.linewidth": 1.0,
    "image.cmap": "viridis",
}


@contextlib.contextmanager
def style() -> Iterator[None]:
    """Context manager applying specola's rcParams without changing global state."""
    # matplotlib loads here, on the first figure, so importing a stage (or the CLI) stays light
    import matplotlib.pyplot as plt

    with plt.rc_context({**_RC, "axes.prop_cycle": plt.cycler(color=PALETTE)}):
        yield


def figure(nrows: int = 1, ncols: int = 1, **kwargs: Any) -> tuple[Any, Any]:
    """Create a figure and axes in specola's style (``plt.subplots`` arguments).

    Returns
    -------
    (Figure, Axes or array of Axes)
    """
    kwargs.setdefault("figsize", (7.0, 3.2 * nrows))
    kwargs.setdefault("layout", "constrained")
    import matplotlib.pyplot as plt

    with style():
        return plt.subplots(nrows, ncols, **kwargs)


def corner_module() -> Any:
    """The ``corner`` package, imported without ArviZ's announcement of its refactor.

    corner imports ArviZ where it is installed, and ArviZ 0.23 warns (``FutureWarning``, once a day) on import:
    a user of a corner plot has nothing to change.
    """
    import warnings

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r"\s*ArviZ is undergoing", category=FutureWarning)
        import corner
    return corner
