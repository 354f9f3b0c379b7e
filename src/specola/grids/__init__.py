"""Stellar model grids: load, cache, interpolate and pre-bin synthetic spectra."""

from .core import AXIS_NAMES, StellarGrid

__all__ = ["AXIS_NAMES", "StellarGrid"]
