"""Helpers shared by the readers: FITS sniffing, building spectra from columns, meta encoding."""

from __future__ import annotations

import contextlib
import csv
import io
import json
import logging
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import astropy.units as u
import numpy as np
from astropy.io import fits

from .._gzip import gunzip, head_bytes, is_gzip
from ..errors import ChecksumWarning, FileFormatError, UnknownUnitWarning
from ..spectrum import Spectrum, edges_from_centres

log = logging.getLogger(__name__)

FITS_SUFFIXES = (".fits", ".fit", ".fts", ".fits.gz", ".fit.gz", ".fts.gz")


def read_text(path: Path) -> str:
    """Text of a (possibly gzipped) file, decompressed with :func:`gunzip`'s checks."""
    data = gunzip(path) if is_gzip(path) else Path(path).read_bytes()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise FileFormatError(f"{path}: not a UTF-8 text file ({exc})") from None


def fits_source(path: Path) -> Path | io.BytesIO:
    """What to hand ``fits.open``: the path, or the checked decompression of a gzipped file."""
    return io.BytesIO(gunzip(path)) if is_gzip(path) else path


def is_fits(path: Path) -> bool:
    """True when the file starts like a FITS file (gzip allowed)."""
    return head_bytes(path, 30).startswith(b"SIMPLE  =")


@contextlib.contextmanager
def open_fits(path: Path) -> Iterator[fits.HDUList]:
    """Open a FITS file fully (every HDU read), turning truncation or corruption into FileFormatError.

    A gzipped file is decompressed to its trailer first, so a truncated ``.fits.gz`` fails instead of
    giving fewer HDUs. CHECKSUM/DATASUM keywords are verified where present (:class:`ChecksumWarning`).
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            hdul = fits.open(fits_source(path), memmap=False, checksum=True)
            hdul.readall()
        except FileFormatError:
            raise
        except (OSError, ValueError, EOFError, IndexError, TypeError, KeyError) as exc:
            raise FileFormatError(f"{path}: corrupt or truncated FITS file ({exc})") from None
        try:
            for i, hdu in enumerate(hdul):
                _check_hdu(path, i, hdu)
        except FileFormatError:
            hdul.close()
            raise
    messages = [str(w.message) for w in caught]
    damaged = [m for m in messages if "truncated" in m or "corrupt" in m]
    if damaged:
        hdul.close()
        raise FileFormatError(f"{path}: corrupt or truncated FITS file ({damaged[0].splitlines()[0]})")
    for w, text in zip(caught, messages, strict=True):
        if "Checksum verification failed" in text or "Datasum verification failed" in text:
            warnings.warn(f"{path}: {text.splitlines()[0]}; the data may be damaged", ChecksumWarning, stacklevel=3)
        else:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    with hdul:
        yield hdul


def _check_hdu(path: Path, index: int, hdu: Any) -> None:
    """Parse one HDU's data and table columns now, so a damaged header is reported as such (naming the HDU)."""
    where = f"HDU {index}" + (f" ({hdu.name})" if hdu.name else "")
    if not isinstance(hdu, fits.PrimaryHDU | fits.ImageHDU | fits.BinTableHDU | fits.TableHDU | fits.CompImageHDU):
        raise FileFormatError(f"{path}: {where} is not a valid FITS extension (damaged XTENSION or header)")
    try:
        _ = hdu.data
        if isinstance(hdu, fits.BinTableHDU | fits.TableHDU) and hdu.data is not None and len(hdu.data):
            empty = [c.name for c in hdu.columns if np.size(hdu.data[c.name]) == 0]
            if empty:
                raise FileFormatError(f"{path}: {where}: column(s) {', '.join(empty)} hold no values (damaged TFORM?)")
    except FileFormatError:
        raise
    except Exception as exc:  # astropy raises many kinds for damaged cards (VerifyError, ValueError, TypeError...)
        raise FileFormatError(
            f"{path}: {where} has a damaged header or data ({type(exc).__name__}: {str(exc).splitlines()[0]})"
        ) from None


def fits_extnames(path: Path) -> list[str]:
    """Upper-case EXTNAMEs of a FITS file (headers only)."""
    with fits.open(fits_source(path), memmap=False) as hdul:
        return [h.name.upper() for h in hdul]


def check_rows(path: Path, text: str, delimiter: str | None) -> None:
    """Raise :class:`FileFormatError` unless every data row of a text table is complete.

    ``delimiter`` is the CSV separator, or None for whitespace-separated text (where
    only the numeric rows are compared). A file ending mid-line counts as truncated.
    """
    if text and not text.endswith("\n"):
        raise FileFormatError(
            f"{path}: ends mid-line, so it looks truncated (if it is complete, end it with a newline)"
        )
    lines = [(i + 1, line) for i, line in enumerate(text.splitlines()) if line.strip() and not line.startswith("#")]
    if delimiter is None:
        rows = [(n, line.split()) for n, line in lines if _number(line.split()[0])]
    else:
        rows = [
            (n, r) for (n, _), r in zip(lines, csv.reader([ln for _, ln in lines], delimiter=delimiter), strict=True)
        ]
    if not rows:
        return
    width = len(rows[0][1])
    short = [n for n, r in rows if len(r) != width]
    if short:
        raise FileFormatError(
            f"{path}: line {short[0]} has a different number of fields than the header ({width})"
            + (f" ({len(short)} such lines)" if len(short) > 1 else "")
            + "; the file is truncated or malformed"
        )


def _number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def parse_unit(text: Any, default: u.UnitBase | None = None, where: Any = None) -> u.UnitBase | None:
    """Parse a unit string as written in FITS/ECSV files; empty -> ``default``.

    An unknown unit gives ``default`` and an :class:`UnknownUnitWarning` naming it and ``where``.
    """
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
        "flam": "erg / (s cm2 Angstrom)",  # synphot/CDBS names (CALSPEC, STScI tables)
        "fnu": "erg / (s cm2 Hz)",
        "photlam": "ph / (s cm2 Angstrom)",
        "photnu": "ph / (s cm2 Hz)",
    }
    s = aliases.get(s.lower(), s)
    for fmt in ("fits", "generic", "vounit"):
        try:
            return u.Unit(s, format=fmt)
        except ValueError:
            continue
    warnings.warn(
        f"{where or 'file'}: unit {s!r} not understood; using {default if default is not None else 'no unit'} "
        "(pass the unit explicitly, e.g. flux_unit=)",
        UnknownUnitWarning,
        stacklevel=2,
    )
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
    non-finite or zero wavelengths (padding) are dropped; a negative one is an error;
    decreasing wavelength order is reversed.
    """
    wave = u.Quantity(wave)
    with np.errstate(invalid="ignore"):
        if np.any(wave.value < 0):
            raise FileFormatError(f"{path}: {int(np.sum(wave.value < 0))} negative wavelength(s); the file is damaged")
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
