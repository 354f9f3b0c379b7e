"""The stellar-retrieval peer's CSV spectra: ``basic`` and ``MR_csv``.

``basic``: columns ``wave`` (micron, bin centre), ``yval``, ``yerrLow``,
``yerrUpp`` (flux in 1e-10 erg/s/cm^2/micron), optional ``waveMin``/``waveMax``
bin edges. ``MR_csv``: ``spec``, ``err``, ``wave_low``, ``wave_high`` with flux
in erg/s/cm^2/micron (the peer multiplies by 1e10 on reading).
"""

from __future__ import annotations

import warnings
from pathlib import Path

import astropy.units as u
import numpy as np
from astropy.table import Table

from ..errors import FileFormatError, NegativeErrorWarning
from ..spectrum import Spectrum, edges_from_centres
from ._common import check_rows, head_bytes, read_text
from .registry import register_reader

__all__ = ["BASIC_FLUX_UNIT", "read_basic", "read_mr_csv"]

#: Flux unit of the ``basic`` format.
BASIC_FLUX_UNIT = u.Unit(1e-10 * u.erg / u.s / u.cm**2 / u.um)
_MR_FLUX_UNIT = u.Unit(u.erg / u.s / u.cm**2 / u.um)


def _header(path: Path) -> list[str]:
    text = head_bytes(path, 1024).decode("utf-8", errors="strict")
    for line in text.splitlines()[:-1] or text.splitlines():
        if line.strip() and not line.startswith("#"):
            return [c.strip() for c in line.split(",")]
    return []


def _table(path: Path, needed: set[str]) -> Table:
    text = read_text(path)
    check_rows(path, text, ",")
    table = Table.read(text, format="ascii.csv")
    missing = needed - set(table.colnames)
    if missing:
        raise FileFormatError(f"{path}: missing column(s) {', '.join(sorted(missing))}; found {table.colnames}")
    if len(table) < 2:
        raise FileFormatError(f"{path}: needs at least two rows, found {len(table)}")
    return table


def _warn_negative(path: Path, table: Table, names: tuple[str, ...]) -> None:
    """Negative errors are masked by :class:`Spectrum`; say so, naming the column and rows."""
    for name in names:
        values = np.asarray(table[name], float)
        with np.errstate(invalid="ignore"):
            bad = np.flatnonzero(values < 0)
        if bad.size:
            warnings.warn(
                f"{path}: {bad.size} negative value(s) in {name} (first at data row {bad[0] + 1}); "
                "those pixels are masked (errors must be >= 0)",
                NegativeErrorWarning,
                stacklevel=3,
            )


def read_basic(path: Path) -> list[Spectrum]:
    """Read a ``basic`` CSV spectrum (rows with NaN flux or a negative error are kept and masked)."""
    t = _table(path, {"wave", "yval", "yerrLow", "yerrUpp"})
    col = lambda n: np.asarray(t[n], float)
    if {"waveMin", "waveMax"} <= set(t.colnames):
        low, high = col("waveMin"), col("waveMax")
    else:
        low, high = edges_from_centres(col("wave"))
    _warn_negative(path, t, ("yerrLow", "yerrUpp"))
    return [
        Spectrum(
            low * u.um,
            high * u.um,
            col("yval") * BASIC_FLUX_UNIT,
            error_low=col("yerrLow") * BASIC_FLUX_UNIT,
            error_high=col("yerrUpp") * BASIC_FLUX_UNIT,
            meta={"source_file": str(path), "format": "basic"},
        )
    ]


def read_mr_csv(path: Path) -> list[Spectrum]:
    """Read an ``MR_csv`` spectrum (bin edges given; flux in erg/s/cm^2/micron)."""
    t = _table(path, {"spec", "err", "wave_low", "wave_high"})
    col = lambda n: np.asarray(t[n], float)
    _warn_negative(path, t, ("err",))
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
