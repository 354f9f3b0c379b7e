"""BOSZ grids: the 2024 release (``*_resam.txt.gz`` + ``bosz2024_wave_r*.txt``) and the 2012/2017 FITS files.

BOSZ-2024 (Meszaros et al. 2024): one gzip text file per model, named
``bosz2024_<atm>_t<Teff>_g<logg>_m<[M/H]>_a<[alpha/M]>_c<[C/M]>_v<vturb>_r<R>_resam.txt.gz``,
two columns (Eddington flux H_lambda and continuum, erg/s/cm^2/A) on the
wavelengths (Angstrom, vacuum) of ``bosz2024_wave_r<R>.txt``. Surface flux is
4 pi H_lambda.

BOSZ-2012/2017 (Bohlin et al. 2017): one FITS table per model with columns
``Wavelength`` (Angstrom), ``SpecificIntensity`` and ``Continuum`` and header
keywords ``T_EFF``, ``LOGG``, ``MH``, ``ALPHA``, ``CM``; surface flux is
pi x ``SpecificIntensity`` (erg/s/cm^2/A). The resolving power is the ``b<R>``
part of the file name.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import Any

import astropy.units as u
import numpy as np
from astropy.io import fits

from ..errors import FileFormatError
from ._common import ModelFile, check_wave, grid_from_files, loadtxt
from .core import StellarGrid
from .registry import register_loader

__all__ = ["load_bosz2012", "load_bosz2024", "scan_bosz2012", "scan_bosz2024"]

FLAM = u.erg / u.s / u.cm**2 / u.AA
CITATION_2024 = "Meszaros et al. 2024, A&A 688, A197 (BOSZ 2024); Bohlin et al. 2017, AJ 153, 234"
CITATION_2012 = "Bohlin et al. 2017, AJ 153, 234; Meszaros et al. 2012, AJ 144, 120 (BOSZ)"

_NAME_2024 = re.compile(
    r"^bosz2024_(?P<atm>[a-z]+)_t(?P<teff>\d+)_g(?P<logg>[+-]?\d+\.\d+)_m(?P<mh>[+-]?\d+\.\d+)"
    r"_a(?P<alpha>[+-]?\d+\.\d+)_c(?P<cm>[+-]?\d+\.\d+)_v(?P<vturb>\d+(?:\.\d+)?)_r(?P<r>\d+)_resam\.txt(?:\.gz)?$"
)
_WAVE_2024 = re.compile(r"^bosz2024_wave_r(?P<r>\d+)\.txt(?:\.gz)?$")
_R_2012 = re.compile(r"b(\d+)rs\.fits$", re.I)


# ---------------------------------------------------------------------------------------------- BOSZ 2024
def identify_2024(paths: list[Path]) -> bool:
    """True when the files include BOSZ-2024 resampled spectra (by name)."""
    return any(_NAME_2024.match(p.name) for p in paths)


def scan_bosz2024(paths: list[Path], wave_file: str | Path | None = None, **_: Any) -> list[ModelFile]:
    """Parse the parameters of each BOSZ-2024 file from its name (no file is read).

    Returns
    -------
    list of ModelFile
        ``extra["wave_file"]`` holds the wavelength file of each model.
    """
    models, resolution = [], None
    for path in paths:
        m = _NAME_2024.match(path.name)
        if not m:
            continue  # wavelength file, README, ...
        if resolution is not None and m["r"] != resolution:
            raise FileFormatError(f"{path}: resolving power r{m['r']} differs from r{resolution} of the other files")
        resolution = m["r"]
        params = {
            "Teff": float(m["teff"]),
            "logg": float(m["logg"]),
            "[M/H]": float(m["mh"]),
            "[alpha/M]": float(m["alpha"]),
            "[C/M]": float(m["cm"]),
            "vturb": float(m["vturb"]),
        }
        models.append(ModelFile(path, params, extra={"atmosphere": m["atm"], "resolution": int(m["r"])}))
    if not models:
        raise FileFormatError(f"{paths[0]}: no BOSZ-2024 '*_resam.txt.gz' file among the {len(paths)} given")
    wave = _wave_file_2024(models[0].path, paths, resolution, wave_file)
    return [ModelFile(m.path, m.params, extra={**m.extra, "wave_file": wave}) for m in models]


def _wave_file_2024(first: Path, paths: list[Path], resolution: str, wave_file: str | Path | None) -> Path:
    if wave_file is not None:
        return Path(wave_file)
    for p in paths:
        m = _WAVE_2024.match(p.name)
        if m and m["r"] == resolution:
            return p
    for suffix in (".txt", ".txt.gz"):
        candidate = first.with_name(f"bosz2024_wave_r{resolution}{suffix}")
        if candidate.exists():
            return candidate
    raise FileFormatError(
        f"{first}: wavelength file bosz2024_wave_r{resolution}.txt not found next to it; pass wave_file="
    )


@functools.lru_cache(maxsize=4)
def _read_wave_2024(path: Path) -> np.ndarray:
    try:
        wave = loadtxt(path, ndmin=1)
    except (OSError, ValueError) as exc:
        raise FileFormatError(f"{path}: not a BOSZ-2024 wavelength file ({exc})") from exc
    return check_wave(wave, str(path))


def read_bosz2024(model: ModelFile, **_: Any) -> tuple[np.ndarray, np.ndarray]:
    """Wavelengths (A) and surface flux 4 pi H_lambda (erg/s/cm^2/A) of one BOSZ-2024 file."""
    wave = _read_wave_2024(Path(model.extra["wave_file"]))
    try:
        data = loadtxt(model.path)
    except (OSError, ValueError, EOFError) as exc:
        raise FileFormatError(f"{model.path}: not a BOSZ-2024 two-column text file ({exc})") from exc
    if data.shape != (wave.size, 2):
        raise FileFormatError(
            f"{model.path}: {data.shape[0]} rows x {data.shape[1]} columns, expected {wave.size} x 2 to match "
            f"{model.extra['wave_file']}"
        )
    return wave, 4.0 * np.pi * data[:, 0]


def load_bosz2024(paths: list[Path], wave_file: str | Path | None = None, **options: Any) -> StellarGrid:
    """Load BOSZ-2024 resampled spectra.

    Parameters
    ----------
    paths : list of Path
        ``bosz2024_*_resam.txt.gz`` files (and possibly their wavelength file).
    wave_file : str or Path, optional
        ``bosz2024_wave_r<R>.txt``; default: among ``paths`` or next to the spectra.

    Returns
    -------
    StellarGrid
        Surface flux (4 pi H_lambda) in erg/s/cm^2/A on vacuum wavelengths in A.
    """
    models = scan_bosz2024(paths, wave_file)
    meta = {
        "name": "bosz2024",
        "source": str(models[0].path.parent),
        "citation": CITATION_2024,
        "resolution": float(models[0].extra["resolution"]),
        "atmosphere": models[0].extra["atmosphere"],
        "wavelengths": "vacuum",
        "notes": "surface flux = 4 pi x Eddington flux column",
    }
    return grid_from_files(models, read_bosz2024, u.AA, FLAM, meta, **options)


# ---------------------------------------------------------------------------------------------- BOSZ 2012
def _fits(paths: list[Path]) -> list[Path]:
    return [p for p in paths if p.name.lower().endswith((".fits", ".fits.gz"))]


def identify_2012(paths: list[Path]) -> bool:
    """True when the FITS files are BOSZ-2012 tables (Wavelength + SpecificIntensity)."""
    files = _fits(paths)
    if not files:
        return False
    with fits.open(files[0]) as hdul:
        return len(hdul) > 1 and {"Wavelength", "SpecificIntensity"} <= set(hdul[1].columns.names)


def scan_bosz2012(paths: list[Path], **_: Any) -> list[ModelFile]:
    """Read the parameters of each BOSZ-2012 FITS file from its primary header."""
    models = []
    for path in _fits(paths):
        header = fits.getheader(path, 0)
        missing = [k for k in ("T_EFF", "LOGG", "MH") if k not in header]
        if missing:
            raise FileFormatError(f"{path}: BOSZ-2012 header lacks {missing}")
        params = {
            "Teff": float(header["T_EFF"]),
            "logg": float(header["LOGG"]),
            "[M/H]": float(header["MH"]),
            "[alpha/M]": float(header.get("ALPHA", 0.0)),
            "[C/M]": float(header.get("CM", 0.0)),
        }
        m = _R_2012.search(path.name)
        models.append(ModelFile(path, params, extra={"resolution": float(m.group(1)) if m else None}))
    if not models:
        raise FileFormatError(f"{paths[0]}: no BOSZ-2012 FITS file among the {len(paths)} given")
    return models


def read_bosz2012(model: ModelFile, **_: Any) -> tuple[np.ndarray, np.ndarray]:
    """Wavelengths (A) and surface flux pi x SpecificIntensity (erg/s/cm^2/A) of one BOSZ-2012 file."""
    with fits.open(model.path) as hdul:
        table = hdul[1].data
        if table is None or not {"Wavelength", "SpecificIntensity"} <= set(table.names):
            raise FileFormatError(f"{model.path}: not a BOSZ-2012 table (Wavelength, SpecificIntensity)")
        return np.asarray(table["Wavelength"], float), np.pi * np.asarray(table["SpecificIntensity"], float)


def load_bosz2012(paths: list[Path], **options: Any) -> StellarGrid:
    """Load BOSZ-2012/2017 FITS spectra (one file per model).

    Returns
    -------
    StellarGrid
        Surface flux (pi x SpecificIntensity) in erg/s/cm^2/A.
    """
    models = scan_bosz2012(paths)
    meta = {
        "name": "bosz2012",
        "source": str(models[0].path.parent),
        "citation": CITATION_2012,
        "resolution": models[0].extra["resolution"],
        "notes": "surface flux = pi x SpecificIntensity column",
    }
    return grid_from_files(models, read_bosz2012, u.AA, FLAM, meta, **options)


register_loader(
    "bosz2024",
    identify_2024,
    load_bosz2024,
    "BOSZ 2024 *_resam.txt.gz + bosz2024_wave_r*.txt",
    scan_bosz2024,
    read_bosz2024,
)
register_loader("bosz2012", identify_2012, load_bosz2012, "BOSZ 2012/2017 FITS tables", scan_bosz2012, read_bosz2012)
