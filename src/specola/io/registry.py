"""The reader registry and format sniffing.

A reader is registered with a name, an ``identify(path) -> bool`` function
(which may raise: sniffing wraps it and treats any exception as "no") and a
``read(path, **kwargs) -> list[Spectrum] | SpectrumSeries`` function.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import astropy.units as u
import numpy as np

from .._gzip import gunzip, is_gzip, release_gunzipped
from ..errors import EmptySpectrumWarning, FileFormatError, SpecolaError
from ..spectrum import Spectrum, SpectrumSeries

__all__ = ["formats", "identify_format", "read", "read_all", "read_series", "register_reader"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class _Reader:
    name: str
    identify: Callable[[Path], bool]
    read: Callable[..., Any]
    description: str
    fallback: bool = False


_READERS: dict[str, _Reader] = {}


def register_reader(
    name: str,
    identify: Callable[[Path], bool],
    read: Callable[..., Any],
    description: str,
    fallback: bool = False,
) -> None:
    """Register a reader under ``name`` (later registrations of a name replace earlier ones).

    Parameters
    ----------
    name : str
        Format name users pass as ``format=``.
    identify : callable
        ``identify(path) -> bool``; True when the file is in this format.
    read : callable
        ``read(path, **kwargs)`` returning a list of :class:`Spectrum` or a :class:`SpectrumSeries`.
    description : str
        One line shown by ``specola info --formats``.
    fallback : bool
        A generic reader (e.g. any table) tried only after every specific one.
    """
    _READERS[name] = _Reader(name, identify, read, description, fallback)


def formats() -> dict[str, str]:
    """Registered format names and their descriptions."""
    return {name: r.description for name, r in _READERS.items()}


def identify_format(path: str | Path, first: bool = False) -> list[str]:
    """Names of the registered formats that claim ``path`` (never raises for a bad file).

    Specific formats come before generic (fallback) ones; ``first=True`` stops at the first match.
    """
    path = Path(path)
    hits: list[str] = []
    for reader in sorted(_READERS.values(), key=lambda r: r.fallback):
        if first and hits:
            break
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # sniffing is silent; reading reports problems
                if reader.identify(path):
                    hits.append(reader.name)
        except Exception as exc:
            log.debug("identify %s on %s failed: %s", reader.name, path, exc)
    return hits


def _dispatch(path: str | Path, format: str | None, **kwargs: Any) -> Any:
    try:
        return _read_checked(Path(path), format, **kwargs)
    finally:
        release_gunzipped()  # the decompressed copy is shared by one read's sniffers and reader, not kept


def _read_checked(path: Path, format: str | None, **kwargs: Any) -> Any:
    if not path.exists():
        raise FileFormatError(f"{path}: no such file")
    if path.is_dir():
        raise FileFormatError(f"{path}: is a folder; give a spectrum file")
    if path.stat().st_size == 0:
        raise FileFormatError(f"{path}: file is empty")
    if is_gzip(path):
        gunzip(path)  # truncation, corruption and bombs fail here, once, naming the file (sniffers reuse it)
    if format is None:
        hits = identify_format(path, first=True)
        if not hits:
            raise FileFormatError(f"{path}: format not recognised; pass format= one of {', '.join(_READERS)}")
        format = hits[0]
    if format not in _READERS:
        raise FileFormatError(f"{path}: unknown format {format!r}; choose one of {', '.join(_READERS)}")
    try:
        out = _READERS[format].read(path, **kwargs)
    except FileFormatError:
        raise
    except SpecolaError as exc:
        raise FileFormatError(f"{path}: {exc}") from None
    except Exception as exc:
        raise FileFormatError(f"{path}: {_explain(exc, format)}") from exc
    _check_result(path, out)
    return out


def _explain(exc: Exception, format: str) -> str:
    """What a reader-internal exception means for the file, in words a user can act on."""
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    if isinstance(exc, ValueError) and "could not convert string to float" in text:
        return f"a non-numeric value ({text.split(':', 1)[-1].strip()}) in a numeric column"
    if isinstance(exc, ValueError) and "failed to convert" in text:
        return f"a column holds values of the wrong type ({text})"
    if type(exc).__name__ == "VerifyError":
        return f"damaged FITS header ({text})"
    if (isinstance(exc, AttributeError) and "attribute 'columns'" in text) or type(exc).__name__ == "IORegistryError":
        return "an extension that should be a table is not one (damaged header?)"
    if isinstance(exc, KeyError):
        return f"a required part of the {format!r} layout is missing ({text})"
    if isinstance(exc, OSError) and ("HDF5" in text or "synchronously" in text):
        return f"corrupt HDF5 data ({text})"
    return f"could not be read as {format!r} ({type(exc).__name__}: {text})"


#: Wavelength edges beyond this are not physical for any spectrum specola handles.
MAX_WAVELENGTH = 1e3 * u.m


def _check_result(path: Path, out: Any) -> None:
    """Refuse non-physical wavelengths; refuse a file with no good pixel, warn for single empty spectra."""
    spectra = [out] if isinstance(out, SpectrumSeries) else list(out)
    if not spectra:
        raise FileFormatError(f"{path}: the file holds no spectrum")
    empty = []
    for i, s in enumerate(spectra):
        low = u.Quantity(s.low)
        if np.any(low.value < 0):
            raise FileFormatError(f"{path}: negative wavelengths ({low.min():.4g}); the wavelength data are bad")
        top = u.Quantity(s.high).max()
        if top > MAX_WAVELENGTH:
            raise FileFormatError(f"{path}: wavelength {top:.4g} is not physical; the wavelength data are bad")
        good = s.good if isinstance(s, Spectrum) else ~np.asarray(s.mask, bool) & np.isfinite(u.Quantity(s.flux).value)
        if not np.any(good):
            empty.append(_label(s, i))
    if len(empty) == len(spectra):
        raise FileFormatError(f"{path}: no good pixel (every pixel is flagged, masked or has non-finite flux or error)")
    if empty:
        warnings.warn(
            f"{path}: {len(empty)} of {len(spectra)} spectra have no good pixel ({', '.join(empty[:5])})",
            EmptySpectrumWarning,
            stacklevel=3,
        )


def _label(spectrum: Any, index: int) -> str:
    meta = getattr(spectrum, "meta", {}) or {}
    parts = [f"{k}={meta[k]}" for k in ("arm", "row", "segment", "order") if k in meta]
    return " ".join(parts) or f"#{index}"


def read_all(path: str | Path, format: str | None = None, **kwargs: Any) -> list[Spectrum]:
    """Read every spectrum in a file (arms, segments, orders, rows).

    Parameters
    ----------
    path : str or Path
        The file.
    format : str, optional
        Registered format name; sniffed from the content when None.
    **kwargs
        Passed to the format's reader.

    Returns
    -------
    list of Spectrum

    Raises
    ------
    FileFormatError
        Missing, empty, corrupt or unrecognised file (the message names it).
    """
    out = _dispatch(path, format, **kwargs)
    if isinstance(out, SpectrumSeries):
        return [out[i] for i in range(out.n_times)]
    return list(out)


def read(path: str | Path, format: str | None = None, **kwargs: Any) -> Spectrum:
    """Read a file holding one spectrum.

    Parameters
    ----------
    path : str or Path
        The file.
    format : str, optional
        Registered format name (see :func:`formats`); sniffed when None.
    **kwargs
        Passed to the format's reader (e.g. ``arm="B"`` for DESI).

    Returns
    -------
    Spectrum

    Raises
    ------
    FileFormatError
        Unreadable file, or a file holding several spectra (use :func:`read_all`).
    """
    spectra = read_all(path, format, **kwargs)
    if len(spectra) != 1:
        raise FileFormatError(
            f"{path}: holds {len(spectra)} spectra; use specola.io.read_all() or select one (see the reader's options)"
        )
    return spectra[0]


def read_series(path: str | Path, format: str | None = None, **kwargs: Any) -> SpectrumSeries:
    """Read a time series of spectra (n_times x n_wave on one pixel grid).

    Returns
    -------
    SpectrumSeries
    """
    out = _dispatch(path, format, **kwargs)
    if not isinstance(out, SpectrumSeries):
        raise FileFormatError(f"{path}: holds single spectra, not a time series; use specola.io.read()")
    return out
