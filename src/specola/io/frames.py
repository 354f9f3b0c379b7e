"""Readers of 2-D detector frames and time-series cubes for extraction.

:func:`read_frames` returns a :class:`Frames`: data, variance and bad-pixel
mask as ``(n_ints, n_spatial, n_dispersion)`` arrays (a single 2-D frame is a
cube of one integration), whatever the file's orientation. Two families are
read:

* JWST ``calints`` / ``rateints`` products (``SCI`` with ``ERR``/``VAR_*``,
  ``DQ``, ``WAVELENGTH`` and ``INT_TIMES`` extensions; ``DISPAXIS`` gives the
  orientation);
* plain images (the first HDU holding a 2-D or 3-D array), e.g. raw long-slit
  CCD frames, which carry no variance: the extraction builds it from the gain
  and read noise after bias subtraction.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import astropy.units as u
import numpy as np
from astropy.io import fits

from ..errors import FileFormatError
from ._common import is_fits, open_fits

__all__ = ["Frames", "read_frames"]

log = logging.getLogger(__name__)

#: JWST DQ bit that marks pixels not to use (``DO_NOT_USE``).
JWST_DO_NOT_USE = 1


@dataclass(frozen=True, eq=False)
class Frames:
    """Detector frames in the extraction orientation.

    Parameters
    ----------
    data : ndarray
        ``(n_ints, n_spatial, n_dispersion)`` counts or count rates.
    variance : ndarray or None
        Same shape as ``data``; None when the file has no variance plane.
    mask : ndarray of bool
        Same shape; True marks a bad pixel.
    wavelength : Quantity or None
        ``(n_spatial, n_dispersion)`` wavelength map, when the file has one.
    times : Quantity or None
        Mid-integration times, ``(n_ints,)`` (BJD_TDB days for JWST).
    unit : Unit
        Unit of ``data`` (``adu`` for raw frames).
    meta : dict
        Header facts (instrument, target, gain, exposure time, file name...).
    """

    data: np.ndarray
    variance: np.ndarray | None
    mask: np.ndarray
    wavelength: u.Quantity | None = None
    times: u.Quantity | None = None
    unit: u.UnitBase = u.adu
    meta: dict = field(default_factory=dict)

    @property
    def shape(self) -> tuple[int, int, int]:
        """``(n_ints, n_spatial, n_dispersion)``."""
        return self.data.shape

    @property
    def n_ints(self) -> int:
        """Number of integrations."""
        return self.data.shape[0]


def _orient(a: np.ndarray | None, dispaxis: int) -> np.ndarray | None:
    """Put the dispersion axis last (FITS DISPAXIS 1 = along NAXIS1 = array axis -1)."""
    if a is None:
        return None
    return a if dispaxis == 1 else np.swapaxes(a, -1, -2)


def _cube(a: np.ndarray) -> np.ndarray:
    return a[None] if a.ndim == 2 else a


def _header_facts(header: fits.Header, keys: dict[str, tuple[str, ...]]) -> dict[str, Any]:
    out = {}
    for name, candidates in keys.items():
        for key in candidates:
            if key in header and header[key] not in (None, ""):
                out[name] = header[key]
                break
    return out


_FACTS = {
    "instrument": ("INSTRUME",),
    "detector": ("DETECTOR",),
    "filter": ("FILTER",),
    "grating": ("GRATING", "GRISM"),
    "target": ("TARGNAME", "OBJECT"),
    "exptime": ("EXPTIME", "EFFINTTM"),
    "gain": ("GAIN", "EPERDN"),
    "read_noise": ("RDNOISE", "READNOIS", "RON"),
    "date_obs": ("DATE-OBS",),
}


def read_frames(path: str | Path, dispersion_axis: int = 0, dq_bad_bits: int = JWST_DO_NOT_USE) -> Frames:
    """Read a 2-D frame or a time-series cube in the extraction orientation.

    Parameters
    ----------
    path : str or Path
        FITS file (gzip allowed).
    dispersion_axis : {0, 1, 2}
        FITS convention: 1 = dispersion along NAXIS1 (array columns), 2 = along
        NAXIS2 (array rows); 0 = from the ``DISPAXIS`` keyword, else 1.
    dq_bad_bits : int
        JWST ``DQ`` bits that mark a pixel bad (default ``DO_NOT_USE``).

    Returns
    -------
    Frames

    Raises
    ------
    FileFormatError
        If the file is missing or holds no 2-D/3-D image.
    """
    path = Path(path)
    if not path.exists():
        raise FileFormatError(f"{path}: frame file not found")
    if not is_fits(path):
        raise FileFormatError(f"{path}: not a FITS file (frames are read from FITS images or cubes)")
    # checked reading: a truncated .fits.gz fails instead of giving fewer HDUs; CHECKSUM/DATASUM verified
    with open_fits(path) as hdul:
        names = [h.name for h in hdul]
        primary = hdul[0].header
        if "SCI" in names:
            sci_hdu = hdul["SCI"]
        else:
            images = [h for h in hdul if h.data is not None and getattr(h.data, "ndim", 0) in (2, 3)]
            if not images:
                raise FileFormatError(f"{path}: no 2-D or 3-D image HDU to extract from")
            sci_hdu = images[0]
        data = np.asarray(sci_hdu.data, float)
        if data.ndim not in (2, 3):
            raise FileFormatError(f"{path}: image has {data.ndim} dimensions; need a 2-D frame or a 3-D cube")
        header = sci_hdu.header
        dispaxis = dispersion_axis or int(header.get("DISPAXIS", primary.get("DISPAXIS", 1)))
        if dispaxis not in (1, 2):
            raise FileFormatError(f"{path}: DISPAXIS must be 1 or 2, got {dispaxis}; set input.dispersion_axis")
        variance = None
        if "VAR_POISSON" in names and "VAR_RNOISE" in names:
            variance = np.asarray(hdul["VAR_POISSON"].data, float) + np.asarray(hdul["VAR_RNOISE"].data, float)
            if "VAR_FLAT" in names:
                variance = variance + np.asarray(hdul["VAR_FLAT"].data, float)
        elif "ERR" in names:
            variance = np.asarray(hdul["ERR"].data, float) ** 2
        mask = ~np.isfinite(data)
        if variance is not None:
            mask |= ~np.isfinite(variance) | (variance <= 0)
        if "DQ" in names:
            mask |= (np.asarray(hdul["DQ"].data).astype(np.int64) & int(dq_bad_bits)) != 0
        wavelength = None
        if "WAVELENGTH" in names:
            wmap = np.asarray(hdul["WAVELENGTH"].data, float)
            wunit = u.Unit(hdul["WAVELENGTH"].header.get("BUNIT", "um"))
            wavelength = _orient(wmap, dispaxis) * (wunit if wunit.is_equivalent(u.m) else u.um)
        times = None
        if "INT_TIMES" in names and len(hdul["INT_TIMES"].data):
            tab = hdul["INT_TIMES"].data
            times = np.asarray(tab["int_mid_BJD_TDB"], float) * u.day
        bunit = header.get("BUNIT", primary.get("BUNIT", "adu"))
        try:
            unit = u.Unit(bunit)
        except ValueError:
            unit = u.adu
        meta = {**_header_facts(primary, _FACTS), **_header_facts(header, _FACTS)}
        meta.update(file=path.name, dispersion_axis=dispaxis, raw=variance is None)
    data = _cube(_orient(data, dispaxis))
    mask = _cube(_orient(mask, dispaxis))
    variance = None if variance is None else _cube(_orient(variance, dispaxis))
    if times is not None and len(times) != data.shape[0]:
        log.warning("%s: INT_TIMES has %d rows for %d integrations; times dropped", path, len(times), data.shape[0])
        times = None
    return Frames(data, variance, mask, wavelength, times, unit, meta)
