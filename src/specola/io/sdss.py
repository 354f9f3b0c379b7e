"""SDSS / BOSS ``spec-PLATE-MJD-FIBER.fits`` files: the ``COADD`` table.

Flux in 1e-17 erg/s/cm^2/Angstrom on a log10-uniform grid (``loglam``), so
pixel edges are half a log-pixel either side of each centre. ``ivar == 0``
and a non-zero ``and_mask`` mark bad pixels. ``wdisp`` (LSF sigma in
log-lambda pixels) gives ``meta['resolution']``; ``SPECOBJ`` gives the redshift.
"""

from __future__ import annotations

from pathlib import Path

import astropy.units as u
import numpy as np

from ..errors import FileFormatError
from ..spectrum import Spectrum
from ._common import fits_extnames, is_fits, open_fits
from .registry import register_reader

__all__ = ["SDSS_FLUX_UNIT", "read_sdss"]

#: Flux unit of SDSS spectra.
SDSS_FLUX_UNIT = u.Unit(1e-17 * u.erg / u.s / u.cm**2 / u.AA)


def _identify(path: Path) -> bool:
    return is_fits(path) and "COADD" in fits_extnames(path)


def _loglam_edges(loglam: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    mid = 0.5 * (loglam[1:] + loglam[:-1])
    lo = np.concatenate([[loglam[0] - (mid[0] - loglam[0])], mid])
    hi = np.concatenate([mid, [loglam[-1] + (loglam[-1] - mid[-1])]])
    return 10.0**lo, 10.0**hi


def read_sdss(path: Path, mask_and: bool = True) -> list[Spectrum]:
    """Read an SDSS spec file.

    Parameters
    ----------
    path : Path
        The ``spec-*.fits[.gz]`` file.
    mask_and : bool
        Also mask pixels with a non-zero ``and_mask`` (bad in every exposure).
    """
    from ..instruments import SDSS

    with open_fits(path) as hdul:
        if "COADD" not in hdul:
            raise FileFormatError(f"{path}: no COADD extension; not an SDSS spec file")
        data = hdul["COADD"].data
        names = set(data.columns.names)
        missing = {"flux", "loglam", "ivar"} - names
        if missing:
            raise FileFormatError(f"{path}: COADD lacks column(s) {', '.join(sorted(missing))}")
        loglam = np.asarray(data["loglam"], float)
        flux = np.asarray(data["flux"], float)
        ivar = np.asarray(data["ivar"], float)
        and_mask = np.asarray(data["and_mask"], int) if "and_mask" in names else np.zeros(flux.size, int)
        wdisp = np.asarray(data["wdisp"], float) if "wdisp" in names else None
        hdr = hdul[0].header
        specobj = hdul["SPECOBJ"].data if "SPECOBJ" in hdul else None
    if loglam.size < 2 or np.any(np.diff(loglam) <= 0):
        raise FileFormatError(f"{path}: loglam must increase and hold at least two pixels")
    low, high = _loglam_edges(loglam)
    with np.errstate(divide="ignore", invalid="ignore"):
        error = np.where(ivar > 0, 1.0 / np.sqrt(ivar), np.nan)
    mask = ~(ivar > 0)
    if mask_and:
        mask |= and_mask != 0
    meta = {
        "format": "sdss",
        "instrument": str(hdr.get("TELESCOP", "SDSS")).strip(),
        "target": str(hdr.get("NAME", "")).strip()
        or f"{hdr.get('PLATEID', '')}-{hdr.get('MJD', '')}-{hdr.get('FIBERID', '')}",
        "and_mask": and_mask,
    }
    if "EXPTIME" in hdr:
        meta["exptime"] = float(hdr["EXPTIME"]) * u.s
    if specobj is not None and "Z" in specobj.columns.names and len(specobj):
        meta["redshift"] = float(specobj["Z"][0])
        if "CLASS" in specobj.columns.names:
            meta["class"] = str(specobj["CLASS"][0]).strip()
    wave = 10.0**loglam * u.AA
    if wdisp is not None:
        meta["resolution"] = SDSS(wave, wdisp)
    spec = Spectrum(
        low * u.AA,
        high * u.AA,
        flux * SDSS_FLUX_UNIT,
        error * SDSS_FLUX_UNIT,
        mask,
        meta=dict(meta, source_file=str(path)),
    )
    return [spec]


register_reader("sdss", _identify, read_sdss, "SDSS/BOSS spec-*.fits (COADD; 1e-17 erg/s/cm2/A, loglam, ivar)")
