"""Castelli-Kurucz 2004 (``ck04models``) and Kurucz 1993 (``kurucz93``) grids in the HST/CDBS FITS layout.

One FITS file per Teff and metallicity (``ckp00_5000.fits``, ``kp00_7500.fits.gz``),
primary-header keywords ``TEFF`` and ``LOG_Z``, and a binary table with
``WAVELENGTH`` (Angstrom) and one column per log g (``g00`` ... ``g50``,
log g = NN/10) of surface flux in FLAM (erg/s/cm^2/A). A column of zeros marks
a model that does not exist; it becomes a missing node.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import astropy.units as u
import numpy as np
from astropy.io import fits

from ..errors import FileFormatError
from ._common import ModelFile, assemble, check_flux, check_wave, same_wave
from .core import StellarGrid
from .registry import register_loader

__all__ = ["load_kurucz"]

CITATIONS = {
    "ck04": "Castelli & Kurucz 2003, IAU Symp. 210, A20 (ATLAS9 ODFNEW, STScI CDBS ck04models)",
    "kurucz93": "Kurucz 1993, CD-ROM 13 (ATLAS9, STScI CDBS kurucz93)",
}
_LOGG = re.compile(r"^g(\d\d)$", re.I)
_METAL = re.compile(r"(?:ck|kp)([mp])(\d\d)", re.I)


def _fits_files(paths: list[Path]) -> list[Path]:
    return [p for p in paths if p.name.lower().endswith((".fits", ".fits.gz", ".fit"))]


def identify(paths: list[Path]) -> bool:
    """True when the FITS files are CDBS Kurucz tables (WAVELENGTH + gNN columns)."""
    files = _fits_files(paths)
    if not files:
        return False
    with fits.open(files[0]) as hdul:
        if len(hdul) < 2 or "TEFF" not in hdul[0].header:
            return False
        names = [n.lower() for n in hdul[1].columns.names]
    return names[0] == "wavelength" and any(_LOGG.match(n) for n in names[1:])


def _metallicity(path: Path, header: fits.Header) -> float:
    if "LOG_Z" in header:
        return float(header["LOG_Z"])
    m = _METAL.search(path.name) or _METAL.search(path.parent.name)
    if not m:
        raise FileFormatError(f"{path}: no LOG_Z keyword and no ck/kp[m|p]NN metallicity in the name")
    return (-1 if m.group(1).lower() == "m" else 1) * int(m.group(2)) / 10


def load_kurucz(paths: list[Path], **_: Any) -> StellarGrid:
    """Load CDBS Kurucz/Castelli-Kurucz tables (one file per Teff, one column per log g).

    Parameters
    ----------
    paths : list of Path
        The FITS files (other files in a folder, such as ``AA_README``, are ignored).

    Returns
    -------
    StellarGrid
        Axes Teff, logg and, when several metallicities are given, [M/H];
        surface flux in erg/s/cm^2/A; all-zero columns are missing nodes.
    """
    files = _fits_files(paths)
    if not files:
        raise FileFormatError(f"{paths[0]}: no FITS files among the {len(paths)} given")
    models, fluxes = [], []
    wave0, where0 = None, ""
    for path in files:
        with fits.open(path) as hdul:
            header, table = hdul[0].header, hdul[1].data
            if "TEFF" not in header or table is None or "WAVELENGTH" not in [c.upper() for c in table.names]:
                raise FileFormatError(f"{path}: not a CDBS Kurucz table (needs TEFF and a WAVELENGTH column)")
            teff, mh = float(header["TEFF"]), _metallicity(path, header)
            wave = np.asarray(table["WAVELENGTH"], float)
            if wave0 is None:
                wave0, where0 = check_wave(wave, str(path)), str(path)
            else:
                same_wave(wave0, wave, where0, str(path))
            for name in table.names:
                m = _LOGG.match(name)
                if not m:
                    continue
                flux = np.asarray(table[name], float)
                if np.all(flux == 0):
                    continue  # absent model
                fluxes.append(check_flux(flux, f"{path}[{name}]"))
                models.append(ModelFile(path, {"Teff": teff, "logg": int(m.group(1)) / 10, "[M/H]": mh}, name))
    family = "kurucz93" if files[0].name.lower().startswith("kp") else "ck04"
    meta = {
        "name": family,
        "source": str(files[0].parent.parent if len({f.parent for f in files}) > 1 else files[0].parent),
        "citation": CITATIONS[family],
        "resolution": None,
        "notes": "surface flux (FLAM); all-zero columns are absent models",
    }
    return assemble(models, wave0, fluxes, u.AA, u.erg / u.s / u.cm**2 / u.AA, meta)


register_loader("kurucz", identify, load_kurucz, "Castelli-Kurucz 2004 / Kurucz 1993 CDBS FITS tables (ck04models)")
