"""DAWN JWST Archive (msaexp) ``*.spec.fits`` spectra: the ``SPEC1D`` table.

Columns ``wave`` (micron, pixel centre), ``flux`` and ``err`` (microJansky).
The flux stays f_nu (convert with :meth:`Spectrum.to_flux_unit`); rows with
non-finite flux or error, or a non-positive error, are masked.
"""

from __future__ import annotations

from pathlib import Path

import astropy.units as u
import numpy as np

from ..errors import FileFormatError
from ..spectrum import Spectrum
from ._common import fits_extnames, is_fits, open_fits, parse_unit, spectrum_from_columns
from .registry import register_reader

__all__ = ["read_dja"]


def _identify(path: Path) -> bool:
    return is_fits(path) and "SPEC1D" in fits_extnames(path)


def read_dja(path: Path) -> list[Spectrum]:
    """Read a DJA/msaexp ``spec.fits`` file (one spectrum, f_nu in microJansky)."""
    from ..instruments import DISPERSERS, NIRSpec

    with open_fits(path) as hdul:
        if "SPEC1D" not in hdul:
            raise FileFormatError(f"{path}: no SPEC1D extension; not a DJA/msaexp spectrum")
        hdu = hdul["SPEC1D"]
        hdr = hdu.header
        data = hdu.data
        names = {n.lower(): n for n in data.columns.names}
        missing = {"wave", "flux", "err"} - set(names)
        if missing:
            raise FileFormatError(f"{path}: SPEC1D lacks column(s) {', '.join(sorted(missing))}")
        cols = data.columns
        unit = lambda n, d: parse_unit(cols[names[n]].unit, d, f"{path} column {names[n]!r}")
        wave = np.asarray(data[names["wave"]], float) * unit("wave", u.um)
        funit = unit("flux", parse_unit(hdr.get("BUNIT"), u.uJy, f"{path} BUNIT"))
        flux = np.asarray(data[names["flux"]], float) * funit
        err = np.asarray(data[names["err"]], float) * unit("err", funit)
    with np.errstate(invalid="ignore"):
        bad = ~np.isfinite(flux.value) | ~np.isfinite(err.value) | ~(err.value > 0)
    grating = str(hdr.get("GRATING", "")).strip()
    meta = {
        "format": "dja",
        "instrument": "/".join(s for s in (hdr.get("TELESCOP"), hdr.get("INSTRUME")) if s) or "JWST/NIRSpec",
        "grating": grating,
        "filter": str(hdr.get("FILTER", "")).strip(),
        "target": str(hdr.get("SRCNAME", hdr.get("TARGNAME", ""))).strip(),
    }
    if "EXPTIME" in hdr:
        meta["exptime"] = float(hdr["EXPTIME"]) * u.s
    for key in ("REDSHIFT", "Z"):
        if key in hdr:
            meta["redshift"] = float(hdr[key])
            break
    if grating.lower() in DISPERSERS:
        meta["resolution"] = NIRSpec(grating.lower())
    return [spectrum_from_columns(path, wave, flux, np.where(bad, np.nan, err.value) * err.unit, bad, meta=meta)]


register_reader("dja", _identify, read_dja, "DAWN JWST Archive / msaexp spec.fits (SPEC1D; f_nu in uJy)")
