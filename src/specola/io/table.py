"""Generic tables: any ECSV, FITS binary table or CSV/ASCII table with named columns.

Columns are found by common names (case-insensitive) unless given:
wavelength (``wave``, ``wavelength``, ``lambda``...) or edge pairs (``low``/``high``,
``wave_low``/``wave_high``, ``waveMin``/``waveMax``...), flux (``flux``, ``flam``,
``fnu``...), error (``error``, ``err``, ``flux_error``..., or ``ivar`` / ``var``),
asymmetric errors (``error_low``/``error_high``) and a mask (``mask``: True =
bad; ``good``/``valid``: True = good; ``dq``: non-zero = bad). Units come from the
table; a wavelength without a unit is taken from ``wave_unit=`` or guessed
(micron or Angstrom by magnitude, logged), a flux without one from ``flux_unit=``
(else dimensionless).
"""

from __future__ import annotations

import logging
import warnings
from pathlib import Path
from typing import Any

import astropy.units as u
import numpy as np
from astropy.io import fits
from astropy.table import Table

from ..errors import FileFormatError
from ..spectrum import Spectrum
from ._common import check_rows, is_fits, open_fits, parse_unit, read_text, spectrum_from_columns
from .registry import register_reader

__all__ = ["find_columns", "read_table", "spectrum_from_table"]

log = logging.getLogger(__name__)

WAVE_NAMES = ("wavelength", "wave", "lambda", "lam", "wl", "wvl", "spectral_axis", "wavelength_um", "wave_um")
EDGE_NAMES = (
    ("low", "high"),
    ("wave_low", "wave_high"),
    ("wavelength_low", "wavelength_high"),
    ("wavemin", "wavemax"),
    ("wave_min", "wave_max"),
    ("lambda_low", "lambda_high"),
    ("bin_low", "bin_high"),
)
FLUX_NAMES = ("flux", "flam", "fnu", "f_lambda", "f_nu", "flux_density", "spec", "spectrum", "yval", "counts")
ERROR_NAMES = ("error", "err", "flux_error", "flux_err", "fluxerr", "e_flux", "uncertainty", "unc", "sigma", "noise")
ASYM_NAMES = (("error_low", "error_high"), ("err_low", "err_high"), ("yerrlow", "yerrupp"))
TABLE_SUFFIXES = (".ecsv", ".csv", ".txt", ".dat", ".tsv", ".ecsv.gz", ".csv.gz", ".txt.gz", ".dat.gz")


def _lower(table: Table) -> dict[str, str]:
    return {n.lower(): n for n in table.colnames}


def find_columns(table: Table, **given: str | None) -> dict[str, str]:
    """Map roles (wave/low/high/flux/error/ivar/var/error_low/error_high/mask/good/dq) to column names.

    Parameters
    ----------
    table : Table
        The table.
    **given
        Explicit names, e.g. ``wave_col="WL"``; they must exist.

    Raises
    ------
    FileFormatError
        When a given name is absent or no wavelength/flux column can be found.
    """
    low = _lower(table)
    found: dict[str, str] = {}
    for role in ("wave", "flux", "error"):
        name = given.get(f"{role}_col")
        if name is not None:
            if name not in table.colnames and name.lower() not in low:
                raise FileFormatError(f"no column {name!r} (for {role}_col); columns are {table.colnames}")
            found[role] = name if name in table.colnames else low[name.lower()]
    if "wave" not in found:
        for a, b in EDGE_NAMES:
            if a in low and b in low:
                found["low"], found["high"] = low[a], low[b]
                break
        for n in WAVE_NAMES:
            if n in low:
                found["wave"] = low[n]
                break
    if "flux" not in found:
        hits = [low[n] for n in FLUX_NAMES if n in low]
        if hits:
            found["flux"] = hits[0]
    if "error" not in found:
        hits = [low[n] for n in ERROR_NAMES if n in low]
        if hits:
            found["error"] = hits[0]
        for key, names in (("ivar", ("ivar", "inverse_variance")), ("var", ("var", "variance"))):
            for n in names:
                if n in low and "error" not in found:
                    found[key] = low[n]
    for a, b in ASYM_NAMES:
        if a in low and b in low:
            found["error_low"], found["error_high"] = low[a], low[b]
            break
    for key in ("mask", "good", "valid", "dq"):
        if key in low:
            found[key] = low[key]
            break
    if "flux" not in found or not ({"wave"} & set(found) or {"low", "high"} <= set(found)):
        raise FileFormatError(
            f"cannot tell the wavelength and flux columns among {table.colnames}; pass wave_col= and flux_col="
        )
    return found


def _col_unit(table: Table, name: str, path: Path) -> u.UnitBase | None:
    unit = table[name].unit
    if unit is None or isinstance(unit, u.UnrecognizedUnit):
        return parse_unit(None if unit is None else str(unit), None, f"{path} column {name!r}")
    return unit


def _guess_wave_unit(values: np.ndarray, path: Path) -> u.UnitBase:
    med = float(np.nanmedian(values))
    if 0.05 < med < 50:
        unit = u.um
    elif 900 < med < 3e5:
        unit = u.AA
    else:
        raise FileFormatError(f"{path}: wavelength column has no unit and median {med:g}; pass wave_unit=")
    log.warning("%s: wavelength column has no unit; assuming %s (pass wave_unit= to override)", path, unit)
    return unit


def _flags(table: Table, name: str) -> np.ndarray:
    """A boolean column, also from text (``True``/``False``, ``1``/``0``) as CSV files store it."""
    col = np.asarray(table[name])
    if col.dtype.kind in "US":
        text = np.char.lower(np.char.strip(col.astype(str)))
        return np.isin(text, ("true", "t", "1", "yes", "y"))
    return col.astype(bool)


def _values(table: Table, name: str) -> np.ndarray:
    col = table[name]
    data = np.asarray(col.filled(np.nan) if hasattr(col, "filled") else col, float)
    return data


def spectrum_from_table(
    table: Table,
    path: Path,
    wave_col: str | None = None,
    flux_col: str | None = None,
    error_col: str | None = None,
    wave_unit: u.UnitBase | str | None = None,
    flux_unit: u.UnitBase | str | None = None,
    meta: dict | None = None,
) -> Spectrum:
    """Build a Spectrum from a table whose columns are found by :func:`find_columns`."""
    try:
        cols = find_columns(table, wave_col=wave_col, flux_col=flux_col, error_col=error_col)
    except FileFormatError as exc:
        raise FileFormatError(f"{path}: {exc}") from None
    wave_name = cols.get("wave", cols.get("low"))
    wunit = u.Unit(wave_unit) if wave_unit is not None else _col_unit(table, wave_name, path)
    if wunit is None:
        wunit = _guess_wave_unit(_values(table, wave_name), path)
    funit = u.Unit(flux_unit) if flux_unit is not None else _col_unit(table, cols["flux"], path)
    funit = funit or u.dimensionless_unscaled
    q = lambda role, unit: None if role not in cols else _values(table, cols[role]) * unit
    error = q("error", funit)
    if error is None and "ivar" in cols:
        with np.errstate(divide="ignore", invalid="ignore"):
            ivar = _values(table, cols["ivar"])
            error = np.where(ivar > 0, 1 / np.sqrt(ivar), np.nan) * funit
    elif error is None and "var" in cols:
        with np.errstate(invalid="ignore"):
            error = np.sqrt(_values(table, cols["var"])) * funit
    mask = None
    if "mask" in cols:
        mask = _flags(table, cols["mask"])
    elif "good" in cols or "valid" in cols:
        mask = ~_flags(table, cols.get("good", cols.get("valid")))
    elif "dq" in cols:
        mask = np.asarray(table[cols["dq"]]) != 0
    wave = q("wave", wunit) if "wave" in cols else 0.5 * (q("low", wunit) + q("high", wunit))
    extra: dict[str, Any] = {}
    if "error_low" in cols:
        extra = {"error_low": np.abs(q("error_low", funit)), "error_high": np.abs(q("error_high", funit))}
    return spectrum_from_columns(
        path,
        wave,
        q("flux", funit),
        error,
        mask,
        q("low", wunit),
        q("high", wunit),
        meta=dict(meta or {}, format="table"),
        **extra,
    )


def _read_any(path: Path, hdu: int | str | None = None) -> Table:
    """Read the table of an ECSV/CSV/ASCII file or the first (or given) table HDU of a FITS file."""
    with warnings.catch_warnings():
        # unit strings are re-parsed by _col_unit; astropy's complaints about them are not the user's concern
        warnings.simplefilter("ignore", u.UnitsWarning)
        if is_fits(path):
            with open_fits(path) as hdul:
                if hdu is not None:
                    return Table.read(hdul[hdu])
                for h in hdul:
                    if isinstance(h, fits.BinTableHDU | fits.TableHDU):
                        try:
                            find_columns(Table.read(h))
                        except FileFormatError:
                            continue
                        return Table.read(h)
            raise FileFormatError(f"{path}: no FITS table with wavelength and flux columns; pass hdu=")
        name = path.name.lower()
        text = read_text(path)
        if name.endswith((".ecsv", ".ecsv.gz")):
            check_rows(path, text, " ")
            return Table.read(text, format="ascii.ecsv")
        if name.endswith((".csv", ".csv.gz")):
            check_rows(path, text, ",")
            return Table.read(text, format="ascii.csv")
        check_rows(path, text, None)
        return Table.read(text, format="ascii")


def _identify(path: Path) -> bool:
    if not (is_fits(path) or path.name.lower().endswith(TABLE_SUFFIXES)):
        return False
    find_columns(_read_any(path))
    return True


def read_table(
    path: Path,
    wave_col: str | None = None,
    flux_col: str | None = None,
    error_col: str | None = None,
    wave_unit: u.UnitBase | str | None = None,
    flux_unit: u.UnitBase | str | None = None,
    hdu: int | str | None = None,
) -> list[Spectrum]:
    """Read a spectrum from a generic table file.

    Parameters
    ----------
    path : Path
        ECSV, CSV/ASCII (optionally gzipped) or FITS file.
    wave_col, flux_col, error_col : str, optional
        Column names, overriding the guesses.
    wave_unit, flux_unit : Unit or str, optional
        Units for columns without one (or overriding the table's).
    hdu : int or str, optional
        FITS extension holding the table (default: the first with usable columns).
    """
    table = _read_any(path, hdu)
    return [spectrum_from_table(table, path, wave_col, flux_col, error_col, wave_unit, flux_unit)]


register_reader(
    "table",
    _identify,
    read_table,
    "any ECSV / FITS table / CSV with named wavelength and flux columns (options wave_col=, flux_col=, error_col=)",
    fallback=True,
)
