"""Raw table access and keyword pre-filtering for the HASP-compatible mode.

HASP exactness needs the x1d tables as stored (float32 columns, every pixel,
the headers), read with :mod:`specola.coadd._fits` (numpy only: the mode starts
without astropy); the generic reader in :mod:`specola.io.hst` turns the same files
into :class:`~specola.spectrum.Spectrum` objects for specola's own method.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import FileFormatError
from ._fits import FitsTable, Header, read_fits

log = logging.getLogger(__name__)

#: Keyword filters applied by default (HASP's list, in its order).
PREFILTERS = (
    "EXPFLAG",
    "ZEROEXPTIME",
    "PLANNEDVSACTUAL",
    "MOVINGTARGET",
    "NOTFINELOCK",
    "POSTARG1",
    "POSTARG2",
    "DITHERPERPENDICULARTOSLIT",
    "MOSAICPURPOSE",
    "PRISM",
    "COSBOA",
    "EXCLUDEWAVE",
)
#: Target names never co-added.
EXCLUDED_TARGETS = ("ANY", "WAVE")
#: Segments dropped per instrument/grating setting.
BAD_SEGMENTS = {"COS/G230L": "NUVC"}
_REQUIRED = ("INSTRUME", "OPT_ELEM", "DETECTOR", "TARGNAME", "PROPOSID", "ROOTNAME")


@dataclass
class HstFile:
    """One x1d/sx1 file read once: primary header and its SCI extensions (header, table)."""

    path: Path
    primary: Header
    sci: list[tuple[Header, _Table]] = field(default_factory=list)

    @property
    def name(self) -> str:
        """File name without a trailing ``.gz``."""
        return self.path.name[:-3] if self.path.name.endswith(".gz") else self.path.name

    def get(self, key: str, ext: int = 0) -> Any:
        """Header value (``ext=0`` primary, ``1`` first SCI header); raises KeyError when absent."""
        header = self.primary if ext == 0 else self.sci[0][0]
        return header[key]


_KEEP = ("WAVELENGTH", "FLUX", "ERROR", "GROSS", "NET", "DQ", "SEGMENT", "SPORDER")
_KEEP += ("VARIANCE_COUNTS", "VARIANCE_BKG", "VARIANCE_FLAT")


class _Table:
    """The columns co-addition needs, copied out of a FITS table (dtype kept, native byte order)."""

    def __init__(self, table: FitsTable) -> None:
        stored = {n.upper() for n in table.names}
        self.arrays = {c: table.column(c) for c in _KEEP if c in stored}
        self.columns = type("Columns", (), {"names": list(self.arrays)})()
        self.nrows = len(table)

    def __len__(self) -> int:
        return self.nrows

    def __getitem__(self, name: str) -> np.ndarray:
        return self.arrays[name]


def read_hst_file(path: Path) -> HstFile:
    """Read the primary header and every SCI table of an x1d/sx1 file into memory.

    Raises
    ------
    FileFormatError
        Not a FITS file, truncated, or a SCI table that cannot be read.
    """
    hdus = read_fits(path)
    out = HstFile(Path(path), hdus[0][0])
    for header, table in hdus[1:]:
        if table is not None and header.get("EXTNAME") == "SCI":
            out.sci.append((header, _Table(table)))
    return out


def find_inputs(indir: Path) -> list[Path]:
    """The ``*_x1d.fits`` and ``*_sx1.fits`` files (also ``.fits.gz``) of a folder, sorted by path."""
    patterns = ("*_x1d.fits", "*_sx1.fits", "*_x1d.fits.gz", "*_sx1.fits.gz")
    found = [p for pattern in patterns for p in indir.glob(pattern)]
    return sorted(found, key=lambda p: str(p)[:-3] if str(p).endswith(".gz") else str(p))


def load_inputs(paths: list[Path]) -> tuple[list[HstFile], dict[str, str]]:
    """Read files, setting aside those that cannot be used, with the reason.

    Returns
    -------
    files : list of HstFile
    skipped : dict
        File path -> reason.
    """
    files, skipped = [], {}
    for path in paths:
        try:
            f = read_hst_file(path)
        except FileFormatError as exc:
            skipped[str(path)] = f"not a readable FITS file ({str(exc).removeprefix(f'{path}: ')})"
            continue
        except OSError as exc:
            skipped[str(path)] = f"cannot be read ({exc.strerror or exc})"
            continue
        missing = [k for k in _REQUIRED if k not in f.primary]
        if missing:
            skipped[str(path)] = f"primary header lacks required keyword(s) {', '.join(missing)}"
            continue
        if f.primary["INSTRUME"] not in ("COS", "STIS"):
            skipped[str(path)] = f"INSTRUME = {f.primary['INSTRUME']!r}; only COS and STIS are supported"
            continue
        if not f.sci:
            skipped[str(path)] = "no SCI table extension"
            continue
        bad = [
            f"SCI,{h.get('EXTVER', i + 1)} lacks {k}"
            for i, (h, d) in enumerate(f.sci)
            for k in ("EXPTIME", "SDQFLAGS")
            if k not in h
        ]
        cols = {c.upper() for c in f.sci[0][1].columns.names}
        need = {"WAVELENGTH", "FLUX", "ERROR", "GROSS", "NET", "DQ"} - cols
        if bad or need:
            skipped[str(path)] = "; ".join(bad + ([f"missing column(s) {', '.join(sorted(need))}"] if need else []))
            continue
        files.append(f)
    return files, skipped


def _try(f: HstFile, key: str, ext: int = 0) -> Any:
    try:
        return f.get(key, ext)
    except (KeyError, IndexError):
        return None


def _reason(f: HstFile, name: str) -> str | None:
    """Why keyword filter ``name`` removes file ``f`` (None: it stays)."""
    if name == "EXPFLAG":
        value = _try(f, "EXPFLAG", 1)
        return None if value == "NORMAL" else f"EXPFLAG = {value if value is not None else 'Not found'}"
    if name == "ZEROEXPTIME":
        value = _try(f, "EXPTIME", 1)
        ok = isinstance(value, int | float) and value > 0.0
        return None if ok else f"EXPTIME = {value if value is not None else 'Not found'}"
    if name == "PLANNEDVSACTUAL":
        actual, planned = _try(f, "EXPTIME", 1), _try(f, "PLANTIME", 1)
        if actual is None or planned is None or actual >= 0.8 * planned:
            return None
        return f"EXPTIME ({actual}) < 0.8*PLANTIME ({planned})"
    if name == "NOTFINELOCK":
        value = _try(f, "FGSLOCK", 1)
        return None if value is None or value == "FINE" else f"FGSLOCK = {value}"
    if name == "POSTARG1":
        value = _try(f, "POSTARG1")
        return None if value is None or value == 0.0 else f"POSTARG1 = {value}"
    if name == "POSTARG2":
        value = _try(f, "POSTARG2")
        if value is None or value == 0.0:
            return None
        if f.primary.get("INSTRUME") == "STIS" and _try(f, "P1_PURPS") == "DITHER":
            return None
        return f"POSTARG2 = {value} and P1_PURPS != DITHER"
    if name == "DITHERPERPENDICULARTOSLIT":
        if _try(f, "PATTERN1") == "STIS-PERP-TO-SLIT" and _try(f, "P1_FRAME") == "POS-TARG":
            return "PATTERN1 = STIS-PERP-TO-SLIT and P1_FRAME = POS-TARG"
        return None
    if name == "MOSAICPURPOSE":
        return "P1_PURPS = MOSAIC" if _try(f, "P1_PURPS") == "MOSAIC" else None
    if name == "PRISM":
        value = str(_try(f, "OPT_ELEM"))
        return f"OPT_ELEM = {value}" if "PRISM" in value else None
    if name == "COSBOA":
        if f.primary.get("INSTRUME") == "COS" and _try(f, "APERTURE") == "BOA":
            return "COS APERTURE = BOA"
        return None
    if name == "EXCLUDEWAVE":
        return "TARGNAME = WAVE" if _try(f, "TARGNAME") == "WAVE" else None
    return None


def prefilter(files: list[HstFile], filters: tuple[str, ...]) -> tuple[list[HstFile], dict[str, str]]:
    """Apply keyword filters in HASP's order; returns kept files and ``{path: reason}`` for removed ones.

    ``MOVINGTARGET`` acts later, on program products only (see :func:`not_moving`).
    """
    kept, removed = list(files), {}
    for name in PREFILTERS:
        if name not in filters:
            continue
        still = []
        for f in kept:
            why = _reason(f, name)
            if why is None:
                still.append(f)
            else:
                removed[str(f.path)] = f"removed by keyword filter {name}: {why}"
                log.info("File %s removed from products because %s", f.path, why)
        kept = still
    return kept, removed


def not_moving(files: list[HstFile]) -> list[HstFile]:
    """Drop files of moving targets (``MTFLAG = 'T'``) from a program product."""
    keep = [f for f in files if f.primary.get("MTFLAG") != "T"]
    for f in files:
        if f not in keep:
            log.info("File %s removed from program products: %s is a moving target", f.path, f.primary["TARGNAME"])
    return keep


def lifetime_position(primary: Header) -> int:
    """COS lifetime position ``LIFE_ADJ`` (1-10), else 0."""
    value = primary.get("LIFE_ADJ")
    return value if isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 10 else 0
