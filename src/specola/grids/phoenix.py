"""PHOENIX ACES (Husser et al. 2013) high-resolution spectra in the published Goettingen layout.

Each model is a FITS file named
``lte<Teff:05d>-<logg:.2f><[Fe/H]:+.1f>[.Alpha=<[alpha/M]:+.2f>].PHOENIX-ACES-AGSS-COND-2011-HiRes.fits``
(e.g. ``lte02300-5.00-0.0.PHOENIX-ACES-AGSS-COND-2011-HiRes.fits``; [Fe/H] = 0
is written ``-0.0``) whose primary HDU is a 1-D float32 array of surface flux
in erg/s/cm^2/cm (``BUNIT``), with ``PHXTEFF``, ``PHXLOGG``, ``PHXM_H`` and
``PHXALPHA`` in the header. The wavelengths (vacuum, Angstrom) are the
primary HDU of the shared ``WAVE_PHOENIX-ACES-AGSS-COND-2011.fits``, which
sits at the top of the ``PHOENIX-ACES-AGSS-COND-2011/`` tree (the models are in
``Z-0.0/``, ``Z-0.5.Alpha=+0.20/``, ...).
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
from ._common import ModelFile, check_wave, grid_from_files
from .core import StellarGrid
from .registry import register_loader

__all__ = ["WAVE_FILE", "load_phoenix", "model_file_name", "scan_phoenix"]

WAVE_FILE = "WAVE_PHOENIX-ACES-AGSS-COND-2011.fits"
FLUX_UNIT = u.erg / u.s / u.cm**2 / u.cm
CITATION = "Husser et al. 2013, A&A 553, A6 (PHOENIX ACES AGSS COND 2011)"
_NAME = re.compile(
    r"^lte(?P<teff>\d{5})-(?P<logg>\d\.\d\d)(?P<z>[+-]\d\.\d)(?:\.Alpha=(?P<alpha>[+-]\d\.\d\d))?"
    r"\.PHOENIX-ACES-AGSS-COND-2011-HiRes\.fits(?:\.gz)?$"
)


def model_file_name(teff: float, logg: float, mh: float = 0.0, alpha: float = 0.0) -> str:
    """The published file name of one PHOENIX ACES HiRes model.

    Examples
    --------
    >>> model_file_name(2300, 5.0)
    'lte02300-5.00-0.0.PHOENIX-ACES-AGSS-COND-2011-HiRes.fits'
    >>> model_file_name(5800, 4.5, -0.5, 0.2)
    'lte05800-4.50-0.5.Alpha=+0.20.PHOENIX-ACES-AGSS-COND-2011-HiRes.fits'
    """
    z = "-0.0" if mh == 0 else f"{mh:+.1f}"
    a = "" if alpha == 0 else f".Alpha={alpha:+.2f}"
    return f"lte{round(teff):05d}-{logg:.2f}{z}{a}.PHOENIX-ACES-AGSS-COND-2011-HiRes.fits"


def identify(paths: list[Path]) -> bool:
    """True when the files include PHOENIX ACES HiRes model files (by name)."""
    return any(_NAME.match(p.name) for p in paths)


def _wave_file(first: Path, paths: list[Path], wave_file: str | Path | None) -> Path:
    if wave_file is not None:
        return Path(wave_file)
    for p in paths:
        if p.name.startswith("WAVE_PHOENIX"):
            return p
    for folder in (first.parent, first.parent.parent, first.parent.parent.parent):
        if (folder / WAVE_FILE).exists():
            return folder / WAVE_FILE
    raise FileFormatError(f"{first}: {WAVE_FILE} not found next to it or in the folders above; pass wave_file=")


def scan_phoenix(paths: list[Path], wave_file: str | Path | None = None, **_: Any) -> list[ModelFile]:
    """Parse the parameters of each PHOENIX file from its name (no flux is read).

    Returns
    -------
    list of ModelFile
        ``extra["wave_file"]`` holds the wavelength file.
    """
    models = []
    for path in paths:
        m = _NAME.match(path.name)
        if not m:
            continue
        params = {
            "Teff": float(m["teff"]),
            "logg": float(m["logg"]),
            "[M/H]": float(m["z"]),
            "[alpha/M]": float(m["alpha"] or 0.0),
        }
        models.append(ModelFile(path, params))
    if not models:
        raise FileFormatError(f"{paths[0]}: no PHOENIX ACES HiRes model file among the {len(paths)} given")
    wave = _wave_file(models[0].path, paths, wave_file)
    return [ModelFile(m.path, m.params, extra={"wave_file": wave}) for m in models]


@functools.lru_cache(maxsize=2)
def _read_wave(path: Path) -> np.ndarray:
    try:
        with fits.open(path) as hdul:
            wave = np.asarray(hdul[0].data, float)
            unit = str(hdul[0].header.get("UNIT", "Angstrom")).strip().lower()
    except (OSError, TypeError, IndexError) as exc:
        raise FileFormatError(f"{path}: not a PHOENIX wavelength file ({exc})") from exc
    if unit not in ("angstrom", "angstroms", "a"):
        raise FileFormatError(f"{path}: wavelength unit {unit!r}, expected Angstrom")
    return check_wave(wave, str(path))


def read_phoenix(model: ModelFile, **_: Any) -> tuple[np.ndarray, np.ndarray]:
    """Wavelengths (A, vacuum) and surface flux (erg/s/cm^2/cm) of one PHOENIX file."""
    wave = _read_wave(Path(model.extra["wave_file"]))
    try:
        with fits.open(model.path) as hdul:
            flux = np.asarray(hdul[0].data, float)
            bunit = str(hdul[0].header.get("BUNIT", "erg/s/cm^2/cm")).replace(" ", "")
    except OSError as exc:
        raise FileFormatError(f"{model.path}: not a FITS file ({exc})") from exc
    if flux.ndim != 1 or flux.size != wave.size:
        raise FileFormatError(
            f"{model.path}: flux has shape {flux.shape}, expected ({wave.size},) to match {model.extra['wave_file']}"
        )
    if bunit != "erg/s/cm^2/cm":
        raise FileFormatError(f"{model.path}: BUNIT {bunit!r}, expected 'erg/s/cm^2/cm'")
    return wave, flux


def load_phoenix(paths: list[Path], wave_file: str | Path | None = None, **options: Any) -> StellarGrid:
    """Load PHOENIX ACES HiRes spectra.

    Parameters
    ----------
    paths : list of Path
        Model files (a folder tree of them is fine) and possibly the wavelength file.
    wave_file : str or Path, optional
        ``WAVE_PHOENIX-ACES-AGSS-COND-2011.fits``; default: among ``paths``, or
        next to the models or up to two folders above.
    **options
        ``wave_range=(min, max)`` in Angstrom keeps only that part of each
        spectrum (1.5 million pixels per model otherwise); ``progress``.

    Returns
    -------
    StellarGrid
        Surface flux in erg/s/cm^2/cm on vacuum wavelengths in Angstrom.
    """
    models = scan_phoenix(paths, wave_file)
    meta = {
        "name": "phoenix-aces-agss-cond-2011",
        "source": str(models[0].path.parent),
        "citation": CITATION,
        "resolution": None,
        "wavelengths": "vacuum",
        "notes": "HiRes: R = 500000 in 3000-25000 A; surface flux",
    }
    return grid_from_files(models, read_phoenix, u.AA, FLUX_UNIT, meta, **options)


register_loader(
    "phoenix", identify, load_phoenix, "PHOENIX ACES AGSS COND 2011 HiRes FITS + WAVE file", scan_phoenix, read_phoenix
)
