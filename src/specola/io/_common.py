"""Helpers shared by the readers: FITS sniffing, building spectra from columns, meta encoding."""

from __future__ import annotations

import contextlib
import gzip
import json
import logging
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import astropy.units as u
import numpy as np
from astropy.io import fits

from ..errors import FileFormatError
from ..spectrum import Spectrum, edges_from_centres

log = logging.getLogger(__name__)

FITS_SUFFIXES = (".fits", ".fit", ".fts", ".fits.gz", ".fit.gz", ".fts.gz")


def head_bytes(path: Path, n: int = 2880) -> bytes:
    """First ``n`` bytes of a file, transparently gunzipped."""
    with open(path, "rb") as fh:
        start = fh.read(2)
    opener = gzip.open if start == b"\x1f\x8b" else open
    with opener(path, "rb") as fh:
        return fh.read(n)


def is_fits(path: Path) -> bool:
    """True when the file starts like a FITS file (gzip allowed)."""
    return head_bytes(path, 30).startswith(b"SIMPLE  =")


@contextlib.contextmanager
def open_fits(path: Path) -> Iterator[fits.HDUList]:
    """Open a FITS file fully (every HDU read), turning truncation or corruption into FileFormatError."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            hdul = fits.open(path, memmap=False)
            hdul.readall()
        except (OSError, ValueError, EOFError, IndexError) as exc:
            raise FileFormatError(f"{path}: corrupt or truncated FITS file ({exc})") from None
    damaged = [str(w.message) for w in caught if "truncated" in str(w.message) or "corrupt" in str(w.message)]
    if damaged:
        hdul.close()
        raise FileFormatError(f"{path}: corrupt or truncated FITS file ({damaged[0].splitlines()[0]})")
    for w in caught:
        warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    with hdul:
        yield hdul


def fits_extnames(path: Path) -> list[str]:
    """Upper-case EXTNAMEs of a FITS file (headers only)."""
    with fits.open(path, memmap=False) as hdul:
        return [h.name.upper() for h in hdul]


def parse_unit(text: Any, default: u.UnitBase | None = None) -> u.UnitBase | None:
    """Parse a unit string as written in FITS/ECSV files; unknown or empty -> ``default``."""
    if isinstance(text, u.UnitBase):
        return text
    if text is None or str(text).strip() == "":
        return default
    s = str(text).strip()
    aliases = {
        "microjansky": "uJy",
        "angstroms": "Angstrom",
        "microns": "um",
        "micron": "um",
        "flam": "erg / (s cm2 Angstrom)",  # synphot/CDBS name of f_lambda (CALSPEC)
    }
    s = aliases.get(s.lower(), s)
    for fmt in ("fits", "generic", "vounit"):
        try:
            return u.Unit(s, format=fmt)
        except ValueError:
            continue
    log.warning("unit %r not understood; using %s", text, default)
    return default


def spectrum_from_columns(
    path: Path,
    wave: u.Quantity,
    flux: u.Quantity,
    error: u.Quantity | None = None,
    mask: np.ndarray | None = None,
    low: u.Quantity | None = None,
    high: u.Quantity | None = None,
    meta: dict | None = None,
    **extra: Any,
) -> Spectrum:
    """Build a Spectrum from column arrays, dropping rows with no usable wavelength and sorting.

    Edges come from ``low``/``high`` when given, else from the centres. Rows with
    non-finite or non-positive wavelengths are dropped (they cannot carry edges);
    decreasing wavelength order is reversed.
    """
    wave = u.Quantity(wave)
    keep = np.isfinite(wave.value) & (wave.value > 0)
    if low is not None:
        keep &= np.isfinite(u.Quantity(low).value) & np.isfinite(u.Quantity(high).value)
    order = np.argsort(wave.value[keep], kind="stable")
    idx = np.flatnonzero(keep)[order]
    if idx.size < 2:
        raise FileFormatError(f"{path}: fewer than two pixels with a valid wavelength")
    pick = lambda q: None if q is None else q[idx]
    if low is None:
        w = wave[idx]
        if np.any(np.diff(w.value) <= 0):
            raise FileFormatError(f"{path}: repeated wavelengths; cannot derive pixel edges")
        lo, hi = edges_from_centres(w.value)
        low_q, high_q = lo * w.unit, hi * w.unit
    else:
        low_q, high_q = pick(u.Quantity(low)), pick(u.Quantity(high)).to(u.Quantity(low).unit)
    m = None if mask is None else np.asarray(mask, bool)[idx]
    extra = {k: pick(v) for k, v in extra.items()}
    return Spectrum(low_q, high_q, pick(flux), pick(error), m, meta=dict(meta or {}, source_file=str(path)), **extra)


# ---------------------------------------------------------------------------- meta <-> JSON


def _encode(value: Any) -> Any:
    from astropy.time import Time

    if isinstance(value, bool | int | float | str) or value is None:
        return value
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, u.Quantity):
        v = value.value
        return {"__quantity__": v.tolist() if np.ndim(v) else float(v), "unit": value.unit.to_string()}
    if isinstance(value, Time):
        return {"__time__": value.isot.tolist() if value.ndim else str(value.isot), "scale": value.scale}
    if isinstance(value, u.UnitBase):
        return {"__unit__": value.to_string()}
    if isinstance(value, np.ndarray) and value.size <= 64 and value.dtype.kind in "biuf":
        return value.tolist()
    if isinstance(value, list | tuple):
        return [_encode(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _encode(v) for k, v in value.items()}
    raise TypeError(type(value).__name__)


def _decode(value: Any) -> Any:
    from astropy.time import Time

    if isinstance(value, list):
        return [_decode(v) for v in value]
    if not isinstance(value, dict):
        return value
    if "__quantity__" in value:
        return u.Quantity(value["__quantity__"], value["unit"])
    if "__time__" in value:
        return Time(value["__time__"], format="isot", scale=value["scale"])
    if "__unit__" in value:
        return u.Unit(value["__unit__"])
    return {k: _decode(v) for k, v in value.items()}


def meta_to_json(meta: dict) -> str:
    """JSON text of the storable part of ``meta`` (scalars, strings, Quantities, Times, small arrays).

    Entries that cannot be stored (resolution objects, large arrays) are left
    out and logged at INFO level.
    """
    out = {}
    for key, value in meta.items():
        try:
            out[str(key)] = _encode(value)
        except TypeError as exc:
            log.info("meta[%r] (%s) is not written to the file", key, exc)
    return json.dumps(out, allow_nan=True)


def meta_from_json(text: str) -> dict:
    """Inverse of :func:`meta_to_json`."""
    return _decode(json.loads(text)) if text else {}
