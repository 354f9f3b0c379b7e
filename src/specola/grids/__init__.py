"""Stellar model grids: load, cache, interpolate and pre-bin synthetic spectra.

:func:`load_grid` reads any registered family (see :func:`grid_formats`);
:func:`build_grid` convolves a grid to a fixed resolving power on a log-lambda
wavelength grid; :meth:`StellarGrid.bin_to` pre-bins a grid onto observed pixels.
"""

from .cache import load_cache, save_grid  # noqa: I001  (the cache registers first: it is sniffed first)
from . import bosz, btsettl, kurucz, peer_hdf5, phoenix, sphinx  # noqa: F401  (each registers its loader)
from .accuracy import leave_one_out
from .build import build_grid
from .core import AXIS_NAMES, StellarGrid
from .registry import grid_formats, identify_grid, load_grid, register_loader

__all__ = [
    "AXIS_NAMES",
    "StellarGrid",
    "build_grid",
    "grid_formats",
    "identify_grid",
    "leave_one_out",
    "load_cache",
    "load_grid",
    "register_loader",
    "save_grid",
]
