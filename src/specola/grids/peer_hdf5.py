"""Fixed-resolution grid files of the stctm/exotune stellar-retrieval tool.

The file holds one dataset ``model_grid`` of shape ``(n_Teff, n_logg, n_wave)``
in W m^-2 um^-1 and nothing else: the Teff and log g axes and the wavelengths
are not stored. The wavelengths follow a constant-R recurrence from
``wave_min``: ``w[0] = wave_min``, ``w[k+1] = w[k] * (1 + 1/R)`` while
``w[k] < wave_max`` (micron). Grids made for pymsg keep ``w[1:-1]`` as pixel
centres with the midpoints of ``w`` as edges; other grids keep all of ``w``.
Users give the axes exactly as in the tool's configuration.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import astropy.units as u
import h5py
import numpy as np

from ..errors import GridError
from ._common import check_flux
from .cache import FORMAT as CACHE_FORMAT
from .core import StellarGrid
from .registry import register_loader

__all__ = ["constant_r_wavelengths", "load_peer_hdf5"]

log = logging.getLogger(__name__)

FLUX_UNIT = u.W / u.m**2 / u.um


def constant_r_wavelengths(wave_min: float, wave_max: float, resolution: float) -> np.ndarray:
    """Nodes ``w[k+1] = w[k] + w[k] / R`` from ``wave_min`` until one reaches ``wave_max``.

    Examples
    --------
    >>> constant_r_wavelengths(1.0, 1.025, 100.0).round(6).tolist()
    [1.0, 1.01, 1.0201, 1.030301]
    """
    if not (0 < wave_min < wave_max) or resolution <= 0:
        raise GridError(f"need 0 < wave_min < wave_max and R > 0, got {wave_min}, {wave_max}, {resolution}")
    values = [float(wave_min)]
    while values[-1] < wave_max:
        values.append(values[-1] + values[-1] / resolution)
    return np.array(values)


def identify(paths: list[Path]) -> bool:
    """True for one HDF5 file with a 3-D ``model_grid`` dataset (and no specola cache marker)."""
    if len(paths) != 1:
        return False
    with h5py.File(paths[0], "r") as f:
        return f.attrs.get("format") != CACHE_FORMAT and "model_grid" in f and f["model_grid"].ndim == 3


def _axis(name: str, values: Sequence[float] | None, span: Sequence[float] | None, step: float | None) -> np.ndarray:
    if values is not None:
        return np.asarray(values, float)
    if span is None or step is None:
        raise GridError(f"give {name}= (the axis values) or {name}_range= and {name}_step= as in the tool's config")
    return np.arange(float(span[0]), float(span[1]), float(step))  # the tool's own convention (end excluded)


def load_peer_hdf5(
    paths: list[Path],
    teff: Sequence[float] | None = None,
    logg: Sequence[float] | None = None,
    teff_range: Sequence[float] | None = None,
    teff_step: float | None = None,
    logg_range: Sequence[float] | None = None,
    logg_step: float | None = None,
    wave_range: Sequence[float] = (0.2, 5.4),
    resolution: float = 10000.0,
    pymsg: bool | None = None,
    **_: Any,
) -> StellarGrid:
    """Load an stctm/exotune ``model_grid`` file with user-given axes.

    Parameters
    ----------
    paths : list of Path
        The one HDF5 file.
    teff, logg : sequence of float, optional
        Axis values; or give ``teff_range``/``teff_step`` and ``logg_range``/``logg_step``
        (``numpy.arange`` over the range, end excluded, as the tool does).
    wave_range : (float, float)
        ``wv_min_um``, ``wv_max_um`` the grid was made with (micron).
    resolution : float
        ``resPower_target`` the grid was made with.
    pymsg : bool, optional
        Whether the grid was made for pymsg (pixel centres ``w[1:-1]``); inferred
        from the number of wavelengths when None.

    Returns
    -------
    StellarGrid
        Surface flux in W m^-2 um^-1 on wavelengths in micron; all-zero models are missing nodes.

    Raises
    ------
    GridError
        Axes or wavelengths that do not match the dataset's shape (the message says what would).
    """
    path = paths[0]
    with h5py.File(path, "r") as f:
        cube = np.asarray(f["model_grid"][()], np.float32)
    teff_axis = _axis("teff", teff, teff_range, teff_step)
    logg_axis = _axis("logg", logg, logg_range, logg_step)
    if cube.shape[:2] != (teff_axis.size, logg_axis.size):
        raise GridError(
            f"{path}: model_grid has shape {cube.shape} but the axes give ({teff_axis.size}, {logg_axis.size}); "
            "check teff/logg ranges and steps against the file"
        )
    nodes = constant_r_wavelengths(float(wave_range[0]), float(wave_range[1]), float(resolution))
    if pymsg is None:
        pymsg = cube.shape[2] == nodes.size - 2
    if pymsg:
        centres, edges = nodes[1:-1], 0.5 * (nodes[1:] + nodes[:-1])
        low, high = edges[:-1], edges[1:]
    else:
        centres = nodes
        mid = 0.5 * (nodes[1:] + nodes[:-1])
        low = np.concatenate([[nodes[0] - (mid[0] - nodes[0])], mid])
        high = np.concatenate([mid, [nodes[-1] + (nodes[-1] - mid[-1])]])
    if centres.size != cube.shape[2]:
        raise GridError(
            f"{path}: {cube.shape[2]} wavelengths in model_grid, but wave_range={tuple(wave_range)} and "
            f"resolution={resolution:g} give {nodes.size - 2} (pymsg) or {nodes.size}; use the values the grid "
            "was made with"
        )
    cube = cube.copy()
    for i, t in enumerate(teff_axis):
        for j, g in enumerate(logg_axis):
            row = cube[i, j]
            if not np.any(row):
                row[:] = np.nan  # an absent model, reported as missing
                continue
            check_flux(row, f"{path}[Teff={t:g}, logg={g:g}]")
    missing = int(np.sum(np.isnan(cube[..., 0])))
    if missing:
        log.info("%s: %d all-zero model(s) treated as missing nodes", path, missing)
    meta = {
        "name": path.stem,
        "source": path.name,
        "citation": "grid made with the stctm/exotune tool (Piaulet-Ghorayeb et al.); cite the models it used",
        "resolution": float(resolution),
        "pymsg_wavelengths": bool(pymsg),
    }
    return StellarGrid({"Teff": teff_axis, "logg": logg_axis}, low, high, cube, u.um, FLUX_UNIT, meta)


register_loader("peer_hdf5", identify, load_peer_hdf5, "stctm/exotune model_grid HDF5 (axes given by the user)")
