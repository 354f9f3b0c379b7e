"""BT-Settl / BT-Cond grids in the pandas (PyTables) HDF5 table layout of ucdmcmc / SPLAT.

Each file holds a pandas "fixed" frame under key ``models`` with columns ``model``,
``teff``, ``logg``, ``z`` ([M/H]), ``enrich`` ([alpha/M]) and ``flux`` (one array per
row), on the wavelengths of a companion ``wave_<INSTRUMENT>.csv`` (one column
``wave`` in micron). Flux is surface flux in erg/s/cm^2/um. The frame is read with
h5py and a data-only decoder of its object columns (:mod:`._pandas_hdf`): nothing
in the file is unpickled or run.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import astropy.units as u
import h5py
import numpy as np

from ..errors import FileFormatError, GridError
from ._common import ModelFile, assemble, check_flux, check_wave
from ._pandas_hdf import read_fixed_frame
from .core import StellarGrid
from .registry import register_loader

__all__ = ["load_btsettl"]

CITATION = "Allard, Homeier & Freytag 2012, RSPTA 370, 2765 (BT-Settl / BT-Cond); ucdmcmc / SPLAT (Burgasser)"
_NAME = re.compile(r"models_(?P<model>[^_]+)_(?P<instrument>.+)\.h5$", re.I)


def _is_table(path: Path) -> bool:
    with h5py.File(path, "r") as f:
        if "models" not in f or f["models"].attrs.get("pandas_type") not in (b"frame", "frame", b"frame_table"):
            return False
        items = b" ".join(np.asarray(f["models"][k][()]).tobytes() for k in f["models"] if k.endswith("_items"))
        return b"teff" in items and b"flux" in items


def identify(paths: list[Path]) -> bool:
    """True for one ucdmcmc/SPLAT pandas HDF5 model table (plus, optionally, its wave csv)."""
    tables = [p for p in paths if p.suffix.lower() in (".h5", ".hdf5")]
    others = [p for p in paths if p not in tables]
    return len(tables) == 1 and all(p.suffix.lower() == ".csv" for p in others) and _is_table(tables[0])


def _wave_file(table: Path, paths: list[Path], wave_file: str | Path | None) -> Path:
    if wave_file is not None:
        return Path(wave_file)
    given = [p for p in paths if p.suffix.lower() == ".csv"]
    if given:
        return given[0]
    m = _NAME.search(table.name)
    candidate = table.with_name(f"wave_{m.group('instrument')}.csv") if m else None
    if candidate is None or not candidate.exists():
        raise FileFormatError(
            f"{table}: no wavelength file found (expected {candidate.name if candidate else 'wave_<INSTRUMENT>.csv'} "
            "next to it); pass wave_file="
        )
    return candidate


def _read_wave(path: Path) -> np.ndarray:
    try:
        lines = [line.strip() for line in path.read_text().splitlines() if line.strip()]
    except (OSError, UnicodeDecodeError) as exc:
        raise FileFormatError(f"{path}: cannot read wavelength file ({exc})") from exc
    if lines and not _isfloat(lines[0]):
        lines = lines[1:]  # header such as "wave"
    try:
        values = np.array([float(line.split(",")[0]) for line in lines])
    except ValueError as exc:
        raise FileFormatError(f"{path}: not a one-column wavelength file ({exc})") from exc
    return check_wave(values, str(path))


def _isfloat(text: str) -> bool:
    try:
        float(text.split(",")[0])
    except ValueError:
        return False
    return True


def load_btsettl(paths: list[Path], wave_file: str | Path | None = None, **_: Any) -> StellarGrid:
    """Load a BT-Settl / BT-Cond model table.

    Parameters
    ----------
    paths : list of Path
        The ``models_*.h5`` file (and optionally its ``wave_*.csv``).
    wave_file : str or Path, optional
        Wavelength file (micron); default ``wave_<INSTRUMENT>.csv`` next to the table.

    Returns
    -------
    StellarGrid
        Axes Teff, logg and, where they vary, [M/H] and [alpha/M]; surface flux
        in erg/s/cm^2/um on the file's wavelengths.
    """
    table = next(p for p in paths if p.suffix.lower() in (".h5", ".hdf5"))
    wave_path = _wave_file(table, paths, wave_file)
    wave = _read_wave(wave_path)
    frame = read_fixed_frame(table, "models")
    need = {"teff", "logg", "flux"}
    if not need <= set(frame):
        raise FileFormatError(f"{table}: table lacks columns {sorted(need - set(frame))}")
    nrows = len(frame["teff"])
    if nrows == 0:
        raise GridError(f"{table}: the table holds no models")
    axes = {"Teff": "teff", "logg": "logg", "[M/H]": "z", "[alpha/M]": "enrich"}
    try:
        values = {a: np.asarray(frame[c], float) if c in frame else np.zeros(nrows) for a, c in axes.items()}
    except (TypeError, ValueError) as exc:
        raise FileFormatError(f"{table}: a parameter column is not numeric ({exc})") from None
    models, fluxes = [], []
    for i in range(nrows):
        params = {a: float(v[i]) for a, v in values.items()}
        where = f"{table}[row {i}: Teff={params['Teff']:g}, logg={params['logg']:g}]"
        flux = frame["flux"][i]
        if not isinstance(flux, np.ndarray) or flux.dtype.kind not in "fiu":
            raise FileFormatError(f"{where}: flux is {type(flux).__name__}, not a numeric array")
        if flux.shape != wave.shape:
            raise GridError(f"{where}: {flux.size} flux values for {wave.size} wavelengths in {wave_path}")
        fluxes.append(check_flux(flux, where))
        models.append(ModelFile(table, params, column=f"row {i}"))
    name = str(frame["model"][0]) if "model" in frame else table.stem
    m = _NAME.search(table.name)
    meta = {
        "name": f"{name}_{m.group('instrument')}" if m else name,
        "source": table.name,
        "citation": CITATION,
        "resolution": None,
        "notes": "surface flux integrated onto the instrument-like sampling by ucdmcmc; no LSF convolution",
        "wave_file": wave_path.name,
    }
    return assemble(models, wave, fluxes, u.um, u.erg / u.s / u.cm**2 / u.um, meta)


register_loader("btsettl", identify, load_btsettl, "BT-Settl/BT-Cond pandas HDF5 tables (ucdmcmc/SPLAT) + wave csv")
