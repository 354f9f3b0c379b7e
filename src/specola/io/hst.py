"""HST COS and STIS one-dimensional spectra (``_x1d``, ``_sx1``, ``_x1dsum``) and HASP products.

``hst_x1d`` returns one :class:`~specola.spectrum.Spectrum` per table row of
every ``SCI`` extension: a COS segment (FUVA, FUVB, NUVA...) or a STIS echelle
order, of one exposure. Pixels are masked where ``DQ & SDQFLAGS != 0`` (the
pipeline's "serious" flags) or where the wavelength is not usable. ``meta``
carries what co-addition needs: ``instrument``, ``grating``, ``cenwave``,
``aperture``, ``detector``, ``target``, ``rootname``, ``expname``,
``exposure`` (a stable exposure label), ``segment``, ``order``, ``exptime``
(s), ``sdqflags``, ``dq``, ``gross`` and ``net`` (counts/s), ``gcounts``
(counts, COS) and ``variance_counts``/``variance_bkg``/``variance_flat`` where
the file has them (``has_variance`` says which case applies), ``propid``,
``visit``, ``lifetime_position`` and the primary header values.

``hasp_product`` reads the co-added products of HASP / specola's HASP mode
(``*_cspec.fits``, ``*_aspec.fits``): one spectrum with ``snr`` and
``eff_exptime`` in ``meta``; bins with zero effective exposure are masked.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import astropy.units as u
import numpy as np
from astropy.io import fits

from ..errors import FileFormatError
from ..spectrum import Spectrum, edges_from_centres
from ._common import fits_source, open_fits
from .registry import register_reader

__all__ = ["FLAM", "read_hasp_product", "read_hst_x1d"]

#: Flux density unit of HST x1d files.
FLAM = u.Unit("erg / (s cm2 Angstrom)")

_PRIMARY_KEYS = (
    "TELESCOP",
    "INSTRUME",
    "DETECTOR",
    "OPT_ELEM",
    "CENWAVE",
    "APERTURE",
    "PROPAPER",
    "TARGNAME",
    "PROPOSID",
    "ROOTNAME",
    "LIFE_ADJ",
    "FPPOS",
    "RA_TARG",
    "DEC_TARG",
    "MTFLAG",
)
_VARIANCE = ("VARIANCE_COUNTS", "VARIANCE_BKG", "VARIANCE_FLAT")


def _is_hst_x1d(path: Path) -> bool:
    with fits.open(fits_source(path), memmap=False) as hdul:
        head = hdul[0].header
        if head.get("TELESCOP") != "HST" or head.get("INSTRUME") not in ("COS", "STIS") or "OPT_ELEM" not in head:
            return False
        return any(h.name == "SCI" and "WAVELENGTH" in getattr(h, "columns", ()).names for h in hdul[1:])


def _is_hasp_product(path: Path) -> bool:
    with fits.open(fits_source(path), memmap=False) as hdul:
        if len(hdul) < 2 or hdul[1].name != "SCI" or not hasattr(hdul[1], "columns"):
            return False
        names = set(hdul[1].columns.names)
        return {"WAVELENGTH", "FLUX", "ERROR", "SNR", "EFF_EXPTIME"} <= names and "NET" not in names


def _lifetime_position(primary: fits.Header) -> int:
    value = primary.get("LIFE_ADJ")
    return value if isinstance(value, int) and 1 <= value <= 10 else 0


def _row_spectrum(
    row: Any, columns: set[str], primary: fits.Header, header: fits.Header, sdqflags: int, meta: dict
) -> Spectrum | None:
    wave = np.asarray(row["WAVELENGTH"], float)
    usable = np.isfinite(wave) & (wave > 0)
    if usable.sum() < 2:
        return None
    index = np.flatnonzero(usable)
    order = index[np.argsort(wave[index], kind="stable")]
    w = wave[order]
    keep = np.concatenate([[True], np.diff(w) > 0])
    order, w = order[keep], w[keep]
    low, high = edges_from_centres(w)
    col = lambda name: np.asarray(row[name], float)[order] if name in columns else None
    dq = np.asarray(row["DQ"], int)[order] if "DQ" in columns else np.zeros(order.size, int)
    flux = col("FLUX")
    error = col("ERROR")
    mask = (dq & sdqflags) != 0
    exptime = float(meta["exptime"])
    extra = {
        "dq": dq,
        "gross": col("GROSS"),
        "net": col("NET"),
        "background": col("BACKGROUND"),
        "gcounts": col("GCOUNTS"),
        "net_error": col("NET_ERROR"),
        "has_variance": all(v in columns for v in _VARIANCE),
        "pixel_index": order,
    }
    for name in _VARIANCE:
        if name in columns:
            extra[name.lower()] = col(name)
    if extra["gcounts"] is None and extra["gross"] is not None:
        extra["gcounts"] = np.abs(extra["gross"] * exptime)
    return Spectrum(
        low * u.AA,
        high * u.AA,
        flux * FLAM,
        None if error is None else np.abs(error) * FLAM,
        mask,
        meta={**meta, **extra},
    )


def read_hst_x1d(path: Path, sdqflags: int | None = None) -> list[Spectrum]:
    """Read every segment/order of every exposure in a COS or STIS x1d/sx1/x1dsum file.

    Parameters
    ----------
    path : Path
        The FITS file (gzip allowed).
    sdqflags : int, optional
        Data-quality bits that mask a pixel (default: each extension's ``SDQFLAGS``).

    Returns
    -------
    list of Spectrum
        Flux in erg/s/cm^2/Angstrom, wavelengths in Angstrom.
    """
    path = Path(path)
    out: list[Spectrum] = []
    with open_fits(path) as hdul:
        primary = hdul[0].header
        base = {k.lower(): primary.get(k) for k in _PRIMARY_KEYS}
        missing = [k for k in ("INSTRUME", "OPT_ELEM") if primary.get(k) is None]
        if missing:
            raise FileFormatError(f"{path}: primary header lacks {', '.join(missing)}; not an HST x1d file")
        sci = [h for h in hdul[1:] if h.name == "SCI"]
        if not sci:
            raise FileFormatError(f"{path}: no SCI extension")
        for hdu in sci:
            header = hdu.header
            columns = set(hdu.columns.names)
            if not {"WAVELENGTH", "FLUX"} <= columns:
                raise FileFormatError(f"{path}[SCI,{header.get('EXTVER', 1)}]: needs WAVELENGTH and FLUX columns")
            exptime = header.get("EXPTIME", primary.get("EXPTIME"))
            if exptime is None:
                raise FileFormatError(f"{path}[SCI,{header.get('EXTVER', 1)}]: no EXPTIME keyword")
            flags = int(header.get("SDQFLAGS", 0)) if sdqflags is None else int(sdqflags)
            expname = str(header.get("EXPNAME", primary.get("ROOTNAME", path.name.split("_")[0]))).strip()
            meta = {
                **base,
                "instrument": base["instrume"],
                "grating": base["opt_elem"],
                "target": str(base["targname"] or "").strip(),
                "exptime": float(exptime),
                "expname": expname,
                "exposure": f"{path.name}[{header.get('EXTVER', 1)}]",
                "extver": int(header.get("EXTVER", 1)),
                "sdqflags": flags,
                "source_file": str(path),
                "format": "hst_x1d",
                "visit": path.name[4:6],
                "lifetime_position": _lifetime_position(primary),
                "expstart": header.get("EXPSTART"),
            }
            for i, row in enumerate(hdu.data):
                m = dict(meta, row=i)
                m["segment"] = str(row["SEGMENT"]).strip() if "SEGMENT" in columns else expname
                m["order"] = int(row["SPORDER"]) if "SPORDER" in columns else 1
                spectrum = _row_spectrum(row, columns, primary, header, flags, m)
                if spectrum is not None:
                    out.append(spectrum)
    if not out:
        raise FileFormatError(f"{path}: no rows with usable wavelengths")
    return out


def read_hasp_product(path: Path) -> list[Spectrum]:
    """Read a HASP co-added product (``*_cspec.fits`` or ``*_aspec.fits``).

    Returns
    -------
    list of Spectrum
        One spectrum; ``meta`` holds ``snr``, ``eff_exptime`` (s), the primary
        header values and the provenance table rows (``provenance``).
    """
    path = Path(path)
    with open_fits(path) as hdul:
        row = hdul["SCI"].data[0]
        wave = np.asarray(row["WAVELENGTH"], float)
        exptime = np.asarray(row["EFF_EXPTIME"], float)
        meta = {k.lower(): v for k, v in hdul[0].header.items() if k not in ("COMMENT", "HISTORY", "")}
        meta.update(
            snr=np.asarray(row["SNR"], float),
            eff_exptime=exptime,
            source_file=str(path),
            format="hasp_product",
            target=str(hdul[0].header.get("TARGNAME", "")),
        )
        if "PROVENANCE" in hdul:
            prov = hdul["PROVENANCE"].data
            meta["provenance"] = [dict(zip(prov.names, map(_plain, r), strict=True)) for r in prov]
    low, high = edges_from_centres(wave)
    return [
        Spectrum(
            low * u.AA,
            high * u.AA,
            np.asarray(row["FLUX"], float) * FLAM,
            np.asarray(row["ERROR"], float) * FLAM,
            exptime <= 0,
            meta=meta,
        )
    ]


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


register_reader(
    "hst_x1d",
    _is_hst_x1d,
    read_hst_x1d,
    "HST COS/STIS x1d, sx1, x1dsum: one spectrum per segment/order per exposure, DQ and counts in meta",
)
register_reader(
    "hasp_product",
    _is_hasp_product,
    read_hasp_product,
    "HASP / specola HASP-mode co-added product (*_cspec.fits, *_aspec.fits)",
)
