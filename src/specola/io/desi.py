"""DESI ``spectra-*`` / ``coadd-*`` files: one Spectrum per arm (B, R, Z) and target.

Each arm has ``<ARM>_WAVELENGTH`` (Angstrom), ``<ARM>_FLUX`` (1e-17
erg/s/cm^2/Angstrom), ``<ARM>_IVAR``, ``<ARM>_MASK`` and ``<ARM>_RESOLUTION``
(diagonals of the resolution matrix), with one row per target (or exposure).
``IVAR == 0`` or a non-zero mask marks bad pixels. Each spectrum carries
``meta['arm']``, ``meta['targetid']``, ``meta['resolution_matrix']`` (the
diagonals) and ``meta['resolution']`` (:class:`specola.instruments.DESI`).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import astropy.units as u
import numpy as np
from astropy.io import fits

from ..errors import FileFormatError
from ..spectrum import Spectrum
from ._common import fits_extnames, is_fits, open_fits, parse_unit
from .registry import register_reader

__all__ = ["read_desi"]

_DEFAULT_UNIT = u.Unit(1e-17 * u.erg / u.s / u.cm**2 / u.AA)


def _arms(names: Sequence[str]) -> list[str]:
    return [n[: -len("_WAVELENGTH")] for n in names if n.endswith("_WAVELENGTH") and f"{n[:-11]}_FLUX" in names]


def _identify(path: Path) -> bool:
    return is_fits(path) and bool(_arms(fits_extnames(path)))


def _column(table, name: str, row: int, default=None):
    if table is None or name not in table.columns.names:
        return default
    return table[name][row]


def read_desi(
    path: Path,
    arm: str | Sequence[str] | None = None,
    targetid: int | None = None,
    row: int | None = None,
) -> list[Spectrum]:
    """Read a DESI spectra or coadd file.

    Parameters
    ----------
    path : Path
        The FITS file.
    arm : str or sequence of str, optional
        Arm(s) to read (``"B"``, ``"R"``, ``"Z"``, or ``"BRZ"`` in single-arm coadds); all by default.
    targetid : int, optional
        Read only the rows of this TARGETID.
    row : int, optional
        Read only this row (0-based) of the flux arrays.

    Returns
    -------
    list of Spectrum
        Ordered by row, then arm.
    """
    from ..instruments import DESI

    with open_fits(path) as hdul:
        names = [h.name.upper() for h in hdul]
        arms = _arms(names)
        if not arms:
            raise FileFormatError(f"{path}: no <ARM>_WAVELENGTH/<ARM>_FLUX extensions; not a DESI spectra file")
        if arm is not None:
            wanted = [arm.upper()] if isinstance(arm, str) else [a.upper() for a in arm]
            unknown = [a for a in wanted if a not in arms]
            if unknown:
                raise FileFormatError(f"{path}: no arm {', '.join(unknown)}; the file has {', '.join(arms)}")
            arms = wanted
        for a in arms:
            lacking = [f"{a}_{ext}" for ext in ("IVAR", "MASK") if f"{a}_{ext}" not in names]
            if lacking:
                raise FileFormatError(
                    f"{path}: arm {a} lacks extension(s) {', '.join(lacking)} (a DESI file has them for every arm; "
                    "the file is incomplete or damaged)"
                )
        fibermap = hdul["FIBERMAP"].data if "FIBERMAP" in names else None
        redshifts = hdul["REDSHIFTS"].data if "REDSHIFTS" in names else None
        first = f"{arms[0]}_FLUX"
        nrows = _rows(path, hdul[first].data, first, np.size(hdul[f"{arms[0]}_WAVELENGTH"].data)).shape[0]
        rows = list(range(nrows))
        if targetid is not None:
            tids = _column(fibermap, "TARGETID", slice(None))
            if tids is None:
                raise FileFormatError(f"{path}: no FIBERMAP TARGETID column to select targetid={targetid}")
            rows = [int(i) for i in np.flatnonzero(np.asarray(tids) == targetid)]
            if not rows:
                raise FileFormatError(f"{path}: targetid {targetid} not found")
        if row is not None:
            if not -nrows <= row < nrows:
                raise FileFormatError(f"{path}: row {row} out of range (file has {nrows} rows)")
            rows = [row % nrows]
        out = []
        for r in rows:
            tid = _column(fibermap, "TARGETID", r)
            meta = {"format": "desi", "instrument": "DESI", "row": r}
            if tid is not None:
                meta["targetid"] = int(tid)
                meta["target"] = str(int(tid))
            exptime = _column(fibermap, "COADD_EXPTIME", r)
            if exptime is not None:
                meta["exptime"] = float(exptime) * u.s
            if redshifts is not None and tid is not None and "Z" in redshifts.columns.names:
                hit = np.flatnonzero(np.asarray(redshifts["TARGETID"]) == tid)
                if hit.size:
                    meta["redshift"] = float(redshifts["Z"][hit[0]])
            for a in arms:
                out.append(_read_arm(path, hdul, a, r, meta, DESI))
    return out


def _read_arm(path: Path, hdul: fits.HDUList, arm: str, row: int, meta: dict, desi_cls) -> Spectrum:
    wave_hdu = hdul[f"{arm}_WAVELENGTH"]
    wave = np.asarray(wave_hdu.data, float)
    n = wave.size
    get = lambda ext: None if ext not in hdul else np.asarray(hdul[ext].data)
    flux, ivar, bits = (_rows(path, get(f"{arm}_{ext}"), f"{arm}_{ext}", n)[row] for ext in ("FLUX", "IVAR", "MASK"))
    flux, ivar = flux.astype(float), ivar.astype(float)
    wave_unit = parse_unit(wave_hdu.header.get("BUNIT"), u.AA, f"{path}[{arm}_WAVELENGTH]")
    flux_unit = parse_unit(hdul[f"{arm}_FLUX"].header.get("BUNIT"), _DEFAULT_UNIT, f"{path}[{arm}_FLUX]")
    with np.errstate(divide="ignore", invalid="ignore"):
        error = np.where(ivar > 0, 1.0 / np.sqrt(ivar), np.nan)
    m = dict(meta, arm=arm, source_file=str(path))
    res = get(f"{arm}_RESOLUTION")
    if res is not None:
        diag = res.reshape(-1, res.shape[-2], n)[row].astype(float)
        m["resolution_matrix"] = diag
        m["resolution"] = desi_cls(wave * wave_unit, diag)
    return Spectrum.from_centres(
        wave * wave_unit, flux * flux_unit, error=error * flux_unit, mask=~(ivar > 0) | (bits != 0), meta=m
    )


def _rows(path: Path, data: np.ndarray | None, name: str, n: int) -> np.ndarray:
    """``data`` as (rows, n), or a FileFormatError saying why it cannot be."""
    if data is None or data.size == 0 or data.size % n:
        size = 0 if data is None else data.size
        raise FileFormatError(f"{path}: {name} holds {size} values, not a whole number of rows of {n} wavelengths")
    return data.reshape(-1, n)


register_reader("desi", _identify, read_desi, "DESI spectra/coadd files (B/R/Z arms, IVAR, resolution matrix)")
