"""The stellar-retrieval peer's CSV spectra: ``basic`` and ``MR_csv``.

``basic``: columns ``wave`` (micron, bin centre), ``yval``, ``yerrLow``,
``yerrUpp`` (flux in 1e-10 erg/s/cm^2/micron), optional ``waveMin``/``waveMax``
bin edges. ``MR_csv``: ``spec``, ``err``, ``wave_low``, ``wave_high`` with flux
in erg/s/cm^2/micron (the peer multiplies by 1e10 on reading).
"""

from __future__ import annotations

from pathlib import Path

import astropy.units as u
import numpy as np
from astropy.table import Table

from ..errors import FileFormatError
from ..spectrum import Spectrum, edges_from_centres
from .registry import register_reader

__all__ = ["BASIC_FLUX_UNIT", "read_basic", "read_mr_csv"]

#: Flux unit of the ``basic`` format.
BASIC_FLUX_UNIT = u.Unit(1e-10 * u.erg / u.s / u.cm**2 / u.um)
_MR_FLUX_UNIT = u.Unit(u.erg / u.s / u.cm**2 / u.um)


def _header(path: Path) -> list[str]:
    with open(path, encoding="utf-8", errors="strict") as fh:
        for line in fh:
            if line.strip() and not line.startswith("#"):
                return [c.strip() for c in line.split(",")]
    return []


def _table(path: Path, needed: set[str]) -> Table:
    table = Table.read(path, format="ascii.csv")
    missing = needed - set(table.colnames)
    if missing:
        raise FileFormatError(f"{path}: missing column(s) {', '.join(sorted(missing))}; found {table.colnames}")
    if len(table) < 2:
        raise FileFormatError(f"{path}: needs at least two rows, found {len(table)}")
    return table


def read_basic(path: Path) -> list[Spectrum]:
    """Read a ``basic`` CSV spectrum (rows with NaN flux are kept and masked)."""
    t = _table(path, {"wave", "yval", "yerrLow", "yerrUpp"})
    col = lambda n: np.asarray(t[n], float)
    if {"waveMin", "waveMax"} <= set(t.colnames):
        low, high = col("waveMin"), col("waveMax")
    else:
        low, high = edges_from_centres(col("wave"))
    return [
        Spectrum(
            low * u.um,
            high * u.um,
            col("yval") * BASIC_FLUX_UNIT,
            error_low=np.abs(col("yerrLow")) * BASIC_FLUX_UNIT,
            error_high=np.abs(col("yerrUpp")) * BASIC_FLUX_UNIT,
            meta={"source_file": str(path), "format": "basic"},
        )
    ]


def read_mr_csv(path: Path) -> list[Spectrum]:
    """Read an ``MR_csv`` spectrum (bin edges given; flux in erg/s/cm^2/micron)."""
    t = _table(path, {"spec", "err", "wave_low", "wave_high"})
    col = lambda n: np.asarray(t[n], float)
    return [
        Spectrum(
            col("wave_low") * u.um,
            col("wave_high") * u.um,
            col("spec") * _MR_FLUX_UNIT,
            col("err") * _MR_FLUX_UNIT,
            meta={"source_file": str(path), "format": "MR_csv"},
        )
    ]


register_reader(
    "basic",
    lambda p: {"wave", "yval", "yerrLow", "yerrUpp"} <= set(_header(p)),
    read_basic,
    "stellar peer CSV: wave [um], yval, yerrLow, yerrUpp [1e-10 erg/s/cm2/um], optional waveMin/waveMax",
)
register_reader(
    "MR_csv",
    lambda p: {"spec", "err", "wave_low", "wave_high"} <= set(_header(p)),
    read_mr_csv,
    "stellar peer CSV: spec, err [erg/s/cm2/um], wave_low, wave_high [um]",
)
