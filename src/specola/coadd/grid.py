"""Common output grids chosen from the inputs: linear, log-lambda or constant velocity.

The step is the finest typical native step of the inputs (the median pixel size
of the most finely sampled input), times ``pixel_scale``, so no input is
undersampled; ``"auto"`` picks log-lambda when the inputs' pixels have a
constant ``d lambda / lambda`` (echelle orders) and linear otherwise.
"""

from __future__ import annotations

from collections.abc import Sequence

import astropy.constants as const
import numpy as np

from ..errors import SpectrumError
from ..spectrum import Spectrum

__all__ = ["choose_grid", "grid_kind"]

_C_KMS = const.c.to_value("km/s")


def grid_kind(spectra: Sequence[Spectrum]) -> str:
    """``"log"`` when pixel widths over all inputs scale with wavelength more closely than they stay constant.

    Echelle orders each have nearly constant widths, but across orders the width
    grows with wavelength: pooled over the orders, ``d lambda / lambda`` is the
    steadier quantity and a log-lambda grid samples every order at its own resolution.
    """
    width = np.concatenate([s.width.value[s.good] for s in spectra])
    rel = np.concatenate([(s.width / s.wavelength).value[s.good] for s in spectra])
    spread = lambda a: np.std(a) / np.mean(a)
    return "log" if spread(rel) < 0.5 * spread(width) else "linear"


def choose_grid(
    spectra: Sequence[Spectrum],
    kind: str = "auto",
    step: float | None = None,
    pixel_scale: float = 1.0,
    wmin: float | None = None,
    wmax: float | None = None,
) -> tuple[np.ndarray, str]:
    """Output bin edges (in the first spectrum's wavelength unit) covering every input.

    Parameters
    ----------
    spectra : sequence of Spectrum
        Inputs (their unmasked pixels define the range).
    kind : {"auto", "linear", "log", "velocity"}
        Grid type; ``"velocity"`` is log-lambda with ``step`` in km/s.
    step : float, optional
        Pixel size: wavelength unit (linear), ``d ln lambda`` (log) or km/s (velocity).
        Default: the finest median native step, times ``pixel_scale``.
    pixel_scale : float
        Multiplies the automatic step (1 keeps the native sampling).
    wmin, wmax : float, optional
        Range limits (default: the inputs' good range).

    Returns
    -------
    edges : ndarray
    kind : str
        The kind used (``"auto"`` resolved).

    Examples
    --------
    >>> import astropy.units as u
    >>> s = Spectrum.from_edges(np.linspace(1000, 1010, 11) * u.AA, np.ones(10) * u.Jy)
    >>> edges, kind = choose_grid([s])
    >>> kind, len(edges)
    ('linear', 11)
    """
    if not spectra:
        raise SpectrumError("no spectra to build a grid from")
    unit = spectra[0].wave_unit
    good = [s.to_wave_unit(unit) for s in spectra if s.good.any()]
    if not good:
        raise SpectrumError("every pixel of every input is masked: nothing to co-add")
    if kind == "auto":
        kind = grid_kind(good)
    lo = min(s.low.value[s.good].min() for s in good) if wmin is None else wmin
    hi = max(s.high.value[s.good].max() for s in good) if wmax is None else wmax
    if not hi > lo:
        raise SpectrumError(f"empty wavelength range [{lo}, {hi}]")
    if kind == "linear":
        d = step if step is not None else pixel_scale * min(np.median(s.width.value[s.good]) for s in good)
        n = int(np.ceil((hi - lo) / d - 1e-9))
        return lo + d * np.arange(n + 1), kind
    if kind not in ("log", "velocity"):
        raise SpectrumError(f"grid kind {kind!r} unknown; choose auto, linear, log or velocity")
    if step is None:
        d = pixel_scale * min(np.median((s.width / s.wavelength).value[s.good]) for s in good)
    else:
        d = step / _C_KMS if kind == "velocity" else step
    n = int(np.ceil(np.log(hi / lo) / d - 1e-9))
    return lo * np.exp(d * np.arange(n + 1)), kind
