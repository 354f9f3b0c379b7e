"""specola's own grid file: one HDF5 file with axes, wavelengths, units and provenance.

Layout: datasets ``flux`` (float32, ``(*axes, n_wave)``, NaN = missing node),
``low`` and ``high`` (wavelength edges), ``axis_0 ... axis_k`` (parameter
values); attributes ``format = "specola-grid"``, ``format_version``,
``axis_names`` (JSON list), ``wave_unit``, ``flux_unit``, ``meta`` (JSON).
"""

from __future__ import annotations

import json
from pathlib import Path

import h5py
import numpy as np

from .._version import __version__
from ..errors import FileFormatError
from ..runs import atomic_path
from .core import StellarGrid
from .registry import register_loader

__all__ = ["FORMAT", "is_cache", "load_cache", "save_grid"]

FORMAT = "specola-grid"
_VERSION = 1


def save_grid(grid: StellarGrid, path: str | Path, overwrite: bool = False) -> Path:
    """Write a grid to specola's HDF5 cache format (atomically).

    Parameters
    ----------
    grid : StellarGrid
        The grid to save.
    path : str or Path
        Destination ``.h5`` file.
    overwrite : bool
        Replace an existing file.

    Returns
    -------
    Path
    """
    path = Path(path)
    with atomic_path(path, overwrite=overwrite) as tmp, h5py.File(tmp, "w") as f:
        f.attrs["format"] = FORMAT
        f.attrs["format_version"] = _VERSION
        f.attrs["specola_version"] = __version__
        f.attrs["axis_names"] = json.dumps(list(grid.axes))
        f.attrs["wave_unit"] = grid.wave_unit.to_string()
        f.attrs["flux_unit"] = grid.flux_unit.to_string()
        f.attrs["meta"] = json.dumps(grid.meta, default=str)
        for i, values in enumerate(grid.axes.values()):
            f.create_dataset(f"axis_{i}", data=values)
        f.create_dataset("low", data=grid.low)
        f.create_dataset("high", data=grid.high)
        f.create_dataset("flux", data=grid.flux.astype(np.float32), compression="gzip", shuffle=True)
    return path


def is_cache(path: str | Path) -> bool:
    """True if ``path`` is a specola grid file (never raises)."""
    try:
        with h5py.File(path, "r") as f:
            return f.attrs.get("format") == FORMAT
    except (OSError, ValueError):
        return False


def load_cache(path: str | Path) -> StellarGrid:
    """Read a grid written by :func:`save_grid`.

    Raises
    ------
    FileFormatError
        If the file is missing, not HDF5, or not in specola's layout.
    """
    path = Path(path)
    if not is_cache(path):
        raise FileFormatError(f"{path}: not a specola grid file (expected HDF5 with format='{FORMAT}')")
    with h5py.File(path, "r") as f:
        names = json.loads(f.attrs["axis_names"])
        axes = {name: f[f"axis_{i}"][()] for i, name in enumerate(names)}
        return StellarGrid(
            axes,
            f["low"][()],
            f["high"][()],
            f["flux"][()],
            f.attrs["wave_unit"],
            f.attrs["flux_unit"],
            json.loads(f.attrs["meta"]),
        )


def _identify(paths: list[Path]) -> bool:
    return len(paths) == 1 and is_cache(paths[0])


def _load(paths: list[Path], **_: object) -> StellarGrid:
    return load_cache(paths[0])


register_loader("specola", _identify, _load, "specola grid cache (HDF5 with axes, wavelengths, units, provenance)")
