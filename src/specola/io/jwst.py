"""JWST pipeline ``x1d`` / ``x1dints`` products (``EXTRACT1D`` extensions).

Each ``EXTRACT1D`` binary table holds ``WAVELENGTH`` (micron), ``FLUX`` and
``FLUX_ERROR`` (Jy), ``DQ`` (data-quality bits) and more (``SURF_BRIGHT``,
``BACKGROUND``, ``NPIXELS``...). Several extensions (slits, sources, orders,
integrations) give several spectra. Tables whose cells are vectors (one row
per spectrum) are read row by row. Pixels with ``DQ & dq_bits`` set (default
bit 0, DO_NOT_USE) or with no valid flux are masked; rows without a
wavelength are dropped.
"""

from __future__ import annotations

from pathlib import Path

import astropy.units as u
import numpy as np

from ..errors import FileFormatError
from ..spectrum import Spectrum
from ._common import fits_extnames, is_fits, open_fits, parse_unit, spectrum_from_columns
from .registry import register_reader

__all__ = ["read_jwst_x1d"]

_EXT = "EXTRACT1D"


def _identify(path: Path) -> bool:
    return is_fits(path) and _EXT in fits_extnames(path)


def read_jwst_x1d(path: Path, flux_col: str = "FLUX", error_col: str | None = None, dq_bits: int = 1) -> list[Spectrum]:
    """Read every spectrum of a JWST x1d file.

    Parameters
    ----------
    path : Path
        The ``*_x1d.fits`` / ``*_x1dints.fits`` file.
    flux_col : str
        Flux column: ``"FLUX"`` (point source, Jy) or ``"SURF_BRIGHT"`` (MJy/sr).
    error_col : str, optional
        Error column; default ``FLUX_ERROR`` or ``SB_ERROR`` to match ``flux_col``.
    dq_bits : int
        Data-quality bits that mark a pixel bad (default 1 = DO_NOT_USE; 0 ignores DQ).
    """
    from ..instruments import DISPERSERS, NIRSpec

    flux_col = flux_col.upper()
    error_col = (error_col or {"FLUX": "FLUX_ERROR", "SURF_BRIGHT": "SB_ERROR"}.get(flux_col, "")).upper()
    out = []
    with open_fits(path) as hdul:
        primary = hdul[0].header
        base = {"format": "jwst_x1d"}
        instrument = "/".join(str(primary[k]).strip() for k in ("TELESCOP", "INSTRUME") if k in primary)
        if instrument:
            base["instrument"] = instrument
        if "TARGNAME" in primary:
            base["target"] = str(primary["TARGNAME"]).strip()
        for key, name in (("EFFEXPTM", "exptime"), ("EXPTIME", "exptime")):
            if key in primary and name not in base:
                base[name] = float(primary[key]) * u.s
        for key in ("GRATING", "FILTER", "EXP_TYPE", "DETECTOR"):
            if key in primary:
                base[key.lower()] = str(primary[key]).strip()
        grating = base.get("grating", "").lower()
        if "NIRSPEC" in instrument.upper() and grating in DISPERSERS:
            base["resolution"] = NIRSpec(grating)
        tables = [h for h in hdul if h.name.upper() == _EXT]
        if not tables:
            raise FileFormatError(f"{path}: no {_EXT} extension; not a JWST x1d product")
        for hdu in tables:
            out.extend(_read_table(path, hdu, base, flux_col, error_col, dq_bits))
    return out


def _read_table(path: Path, hdu, base: dict, flux_col: str, error_col: str, dq_bits: int) -> list[Spectrum]:
    data, cols = hdu.data, hdu.columns
    names = {n.upper(): n for n in cols.names}
    missing = {"WAVELENGTH", flux_col} - set(names)
    if missing:
        raise FileFormatError(f"{path}: {_EXT} (EXTVER {hdu.ver}) lacks column(s) {', '.join(sorted(missing))}")
    unit = lambda c, d: parse_unit(cols[names[c]].unit, d, f"{path} column {names[c]!r}")
    wave_unit = unit("WAVELENGTH", u.um)
    flux_unit = unit(flux_col, u.Jy if flux_col == "FLUX" else u.MJy / u.sr)
    meta = dict(base, extver=int(hdu.ver))
    for key in ("SLTNAME", "SOURCEID", "SRCNAME", "SPORDER", "SRCTYPE"):
        if key in hdu.header:
            val = hdu.header[key]
            meta[key.lower()] = val.strip() if isinstance(val, str) else val
    if meta.get("srcname"):
        meta["target"] = meta["srcname"]
    wave_all = np.asarray(data[names["WAVELENGTH"]], float)
    vector = wave_all.ndim == 2  # x1dints-style: one spectrum per row
    rows = range(wave_all.shape[0]) if vector else [None]
    spectra = []
    for r in rows:

        def col(c: str, r: int | None = r) -> np.ndarray:
            return np.asarray(data[names[c]] if r is None else data[names[c]][r], float)

        flux = col(flux_col)
        err = col(error_col) if error_col in names else None
        bad = ~np.isfinite(flux)
        if "DQ" in names and dq_bits:
            dq = np.asarray(data[names["DQ"]] if r is None else data[names["DQ"]][r]).astype(np.int64)
            bad |= (dq & int(dq_bits)) != 0
        m = dict(meta) if r is None else dict(meta, integration=r + 1)
        spectra.append(
            spectrum_from_columns(
                path,
                col("WAVELENGTH") * wave_unit,
                flux * flux_unit,
                None if err is None else err * unit(error_col, flux_unit),
                bad,
                meta=m,
            )
        )
    return spectra


register_reader("jwst_x1d", _identify, read_jwst_x1d, "JWST pipeline x1d/x1dints (EXTRACT1D: WAVELENGTH, FLUX [Jy])")
