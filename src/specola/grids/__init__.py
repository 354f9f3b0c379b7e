"""Stellar model grids: load, cache, interpolate and pre-bin synthetic spectra.

:func:`load_grid` reads any registered family (see :func:`grid_formats`);
:func:`build_grid` convolves a grid to a fixed resolving power on a log-lambda
wavelength grid; :meth:`StellarGrid.bin_to` pre-bins a grid onto observed pixels.
"""

from .cache import load_cache, save_grid  # registers the "specola" loader first

from . import btsettl, bosz, kurucz, peer_hdf5, phoenix, sphinx  # noqa: F401, I001  (each registers its loader)
from .core import AXIS_NAMES, StellarGrid
from .registry import grid_formats, identify_grid, load_grid, register_loader

__all__ = [
    "AXIS_NAMES",
    "StellarGrid",
    "grid_formats",
    "identify_grid",
    "load_cache",
    "load_grid",
    "register_loader",
    "save_grid",
]
