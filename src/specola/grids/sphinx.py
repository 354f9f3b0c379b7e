"""SPHINX M-dwarf spectra (Iyer et al. 2023): two-column text files, one per model.

Files are named ``Teff_<T>_logg_<g>_logZ_<[M/H]>_CtoO_<C/O>_spectra.txt`` and
hold wavelength (micron) and surface flux (W m^-2 m^-1).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import astropy.units as u
import numpy as np

from ..errors import FileFormatError
from ._common import ModelFile, grid_from_files, loadtxt
from .core import StellarGrid
from .registry import register_loader

__all__ = ["load_sphinx", "scan_sphinx"]

CITATION = "Iyer et al. 2023, ApJ 944, 41 (SPHINX)"
_NAME = re.compile(
    r"^Teff_(?P<teff>\d+(?:\.\d+)?)_logg_(?P<logg>\d+(?:\.\d+)?)_logZ_(?P<z>[+-]?\d+(?:\.\d+)?)"
    r"_CtoO_(?P<co>\d+(?:\.\d+)?)_spectra\.txt$"
)


def identify(paths: list[Path]) -> bool:
    """True when the files include SPHINX spectra (by name)."""
    return any(_NAME.match(p.name) for p in paths)


def scan_sphinx(paths: list[Path], **_: Any) -> list[ModelFile]:
    """Parse each SPHINX file's parameters from its name."""
    models = []
    for path in paths:
        m = _NAME.match(path.name)
        if m:
            params = {"Teff": float(m["teff"]), "logg": float(m["logg"]), "[M/H]": float(m["z"]), "C/O": float(m["co"])}
            models.append(ModelFile(path, params))
    if not models:
        raise FileFormatError(f"{paths[0]}: no SPHINX '*_spectra.txt' file among the {len(paths)} given")
    return models


def read_sphinx(model: ModelFile, **_: Any) -> tuple[np.ndarray, np.ndarray]:
    """Wavelengths (micron) and surface flux (W m^-2 m^-1) of one SPHINX file."""
    try:
        data = loadtxt(model.path)
    except (OSError, ValueError) as exc:
        raise FileFormatError(f"{model.path}: not a two-column SPHINX text file ({exc})") from exc
    if data.shape[1] != 2:
        raise FileFormatError(f"{model.path}: {data.shape[1]} columns, expected 2 (wavelength, flux)")
    return data[:, 0], data[:, 1]


def load_sphinx(paths: list[Path], **options: Any) -> StellarGrid:
    """Load SPHINX spectra.

    Returns
    -------
    StellarGrid
        Surface flux in W m^-2 m^-1 on wavelengths in micron.
    """
    models = scan_sphinx(paths)
    meta = {"name": "sphinx", "source": str(models[0].path.parent), "citation": CITATION, "resolution": None}
    return grid_from_files(models, read_sphinx, u.um, u.W / u.m**2 / u.m, meta, **options)


register_loader("sphinx", identify, load_sphinx, "SPHINX M-dwarf two-column text spectra", scan_sphinx, read_sphinx)
