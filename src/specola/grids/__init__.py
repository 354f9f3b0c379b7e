"""Stellar model grids: load, cache, interpolate and pre-bin synthetic spectra."""

from .cache import load_cache, save_grid
from .core import AXIS_NAMES, StellarGrid

__all__ = ["AXIS_NAMES", "StellarGrid", "load_cache", "save_grid"]
