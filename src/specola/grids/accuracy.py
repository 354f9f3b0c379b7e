"""Interpolation accuracy of a grid: leave-one-node-out along an axis."""

from __future__ import annotations

import numpy as np

from ..errors import GridError
from .core import StellarGrid

__all__ = ["leave_one_out"]


def leave_one_out(grid: StellarGrid, axis: str = "Teff", min_flux: float = 0.01) -> np.ndarray:
    """Relative errors of predicting each interior node from its two neighbours along ``axis``.

    Each interior node is dropped and linearly interpolated from the nodes on
    either side (so the test spacing is twice the grid's); pixels fainter than
    ``min_flux`` times the model's maximum are ignored.

    Parameters
    ----------
    grid : StellarGrid
        The grid to test.
    axis : str
        Axis along which nodes are left out.
    min_flux : float
        Relative flux threshold for the pixels that count.

    Returns
    -------
    ndarray
        ``|interpolated / true - 1|`` of every counted pixel of every tested node (1-D).

    Examples
    --------
    >>> import astropy.units as u
    >>> g = StellarGrid({"Teff": np.array([1.0, 2.0, 3.0])}, np.array([0.0]), np.array([1.0]),
    ...                 np.array([[1.0], [4.0], [9.0]]), u.um, u.Jy)
    >>> leave_one_out(g).tolist()
    [0.25]
    """
    if axis not in grid.axes:
        raise GridError(f"unknown grid axis {axis!r}; the grid has {list(grid.axes)}")
    k = grid.names.index(axis)
    values = grid.axes[axis]
    if values.size < 3:
        raise GridError(f"axis {axis} needs at least 3 nodes for a leave-one-out test")
    flux = np.moveaxis(grid.flux.astype(float), k, 0)
    errors = []
    for i in range(1, values.size - 1):
        t = (values[i] - values[i - 1]) / (values[i + 1] - values[i - 1])
        guess = (1 - t) * flux[i - 1] + t * flux[i + 1]
        true = flux[i]
        ok = np.all(np.isfinite(guess), axis=-1) & np.all(np.isfinite(true), axis=-1)
        true, guess = true[ok], guess[ok]
        bright = true > min_flux * true.max(axis=-1, keepdims=True)
        errors.append(np.abs(guess[bright] / true[bright] - 1))
    return np.concatenate(errors) if errors else np.array([])
