"""Writing spectra: FITS binary tables and ECSV in specola's own layout.

Columns ``low``, ``high`` (pixel edges), ``flux``, ``error`` and, when present,
``error_low`` / ``error_high``, plus ``mask`` (True = bad). Units travel in
``TUNITn`` (FITS) or the ECSV header. The header (FITS) or table meta (ECSV)
carries the specola version (``SPECOLA``), the sha256 of the TOML of the run
configuration when one is given (``CFGHASH``) and the spectrum's storable
``meta`` as JSON (``SPMETA``). :func:`specola.io.read` reads these files back.
"""

from __future__ import annotations

import gzip
import hashlib
import json
from pathlib import Path
from typing import Any

import astropy.units as u
import numpy as np
from astropy.io import fits
from astropy.table import Table

from .._version import __version__
from ..config import to_toml
from ..errors import FileFormatError
from ..runs import atomic_path
from ..spectrum import Spectrum
from ._common import FITS_SUFFIXES, meta_to_json

__all__ = ["config_hash", "spectrum_table", "unit_string", "write"]

ECSV_SUFFIXES = (".ecsv", ".ecsv.gz")
#: Header keys other tools understand, filled from meta when present.
_STANDARD_KEYS = {"target": "OBJECT", "instrument": "INSTRUME", "redshift": "REDSHIFT", "exptime": "EXPTIME"}


def config_hash(config: Any) -> str:
    """sha256 (hex) of ``to_toml(config)``: identifies the configuration that produced an output."""
    return hashlib.sha256(to_toml(config).encode()).hexdigest()


def unit_string(unit: u.UnitBase) -> str:
    """A unit string astropy parses back to the same unit (FITS standard when possible)."""
    for fmt in ("fits", "generic"):
        try:
            text = unit.to_string(fmt)
            if u.Unit(text, format=fmt) == unit:
                return text
        except (ValueError, u.UnitsError):
            continue
    return unit.to_string()


def _columns(spectrum: Spectrum) -> list[tuple[str, np.ndarray, u.UnitBase | None]]:
    cols = [
        ("low", spectrum.low.value, spectrum.wave_unit),
        ("high", spectrum.high.value, spectrum.wave_unit),
        ("flux", spectrum.flux.value, spectrum.flux_unit),
    ]
    for name in ("error", "error_low", "error_high"):
        q = getattr(spectrum, name)
        if q is not None:
            cols.append((name, q.value, spectrum.flux_unit))
    cols.append(("mask", np.asarray(spectrum.mask, bool), None))
    return cols


def _header_items(spectrum: Spectrum, config: Any) -> dict[str, Any]:
    items: dict[str, Any] = {"SPECOLA": __version__}
    if config is not None:
        items["CFGHASH"] = config_hash(config)
    for key, card in _STANDARD_KEYS.items():
        value = spectrum.meta.get(key)
        if isinstance(value, u.Quantity) and value.isscalar:
            value = value.to_value(u.s) if value.unit.is_equivalent(u.s) else value.value
        if isinstance(value, str) and not (value.isascii() and value.isprintable()):
            continue  # FITS cards hold printable ASCII only; the exact value is in SPMETA
        if isinstance(value, str | int | float | np.number) and not isinstance(value, bool):
            items[card] = value.item() if isinstance(value, np.number) else value
    items["SPMETA"] = meta_to_json(spectrum.meta)
    return items


def spectrum_table(spectrum: Spectrum, config: Any = None) -> Table:
    """The spectrum as an astropy Table in specola's layout (meta holds version, config hash and meta)."""
    table = Table()
    for name, values, unit in _columns(spectrum):
        table[name] = values if unit is None else u.Quantity(values, unit)
    items = _header_items(spectrum, config)
    table.meta["specola_version"] = items.pop("SPECOLA")
    if "CFGHASH" in items:
        table.meta["config_hash"] = items.pop("CFGHASH")
    table.meta["meta"] = json.loads(items.pop("SPMETA"))
    return table


def _fits_hdul(spectrum: Spectrum, config: Any) -> fits.HDUList:
    fcols = []
    for name, values, unit in _columns(spectrum):
        fmt = "L" if values.dtype == bool else "D"
        fcols.append(fits.Column(name=name, format=fmt, array=values, unit=None if unit is None else unit_string(unit)))
    table = fits.BinTableHDU.from_columns(fcols, name="SPECTRUM")
    primary = fits.PrimaryHDU()
    for key, value in _header_items(spectrum, config).items():
        for hdr in (primary.header, table.header):
            hdr[key] = value
    return fits.HDUList([primary, table])


def write(spectrum: Spectrum, path: str | Path, overwrite: bool = False, config: Any = None) -> Path:
    """Write a spectrum to FITS (``.fits``, ``.fit``, ``.fits.gz``) or ECSV (``.ecsv``), atomically.

    Parameters
    ----------
    spectrum : Spectrum
        What to write (edges, flux, errors, asymmetric errors, mask, storable meta).
    path : str or Path
        Destination; the suffix picks the format.
    overwrite : bool
        Replace an existing file (otherwise :class:`~specola.errors.OutputExistsError`).
    config : dataclass, optional
        Configuration that produced the spectrum; its sha256 is stored as ``CFGHASH``.

    Returns
    -------
    Path
        The written file.

    Raises
    ------
    FileFormatError
        For a suffix that is neither FITS nor ECSV.
    """
    path = Path(path)
    name = path.name.lower()
    if name.endswith(FITS_SUFFIXES):
        hdul = _fits_hdul(spectrum, config)
        with atomic_path(path, overwrite) as tmp:
            if name.endswith(".gz"):
                with gzip.open(tmp, "wb") as fh:
                    hdul.writeto(fh)
            else:
                hdul.writeto(tmp)
    elif name.endswith(ECSV_SUFFIXES):
        table = spectrum_table(spectrum, config)
        with atomic_path(path, overwrite) as tmp:
            if name.endswith(".gz"):
                with gzip.open(tmp, "wt") as fh:
                    table.write(fh, format="ascii.ecsv")
            else:
                table.write(tmp, format="ascii.ecsv", overwrite=True)
    else:
        raise FileFormatError(f"{path}: cannot tell the output format; use a .fits, .fits.gz or .ecsv name")
    return path
