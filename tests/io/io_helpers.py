"""Helpers for the I/O tests: bundled real files and JWST x1d files written in the pipeline layout."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from astropy.io import fits

from specola.data import data_path

TRAPPIST = data_path("spectra", "trappist1_nirspec_prism_outoftransit.csv")
DJA = data_path("spectra", "rubies-uds31-v4_prism-clear_4233_154183.spec.fits.gz")
SDSS = data_path("spectra", "spec-1678-53433-0425.fits.gz")
DESI = data_path("spectra", "desi-spectra-af558177.fits.gz")

# Columns of an EXTRACT1D table as written by the JWST pipeline (jwst datamodels x1d schema), with units.
X1D_COLUMNS = (
    ("WAVELENGTH", "D", "um"),
    ("FLUX", "D", "Jy"),
    ("FLUX_ERROR", "D", "Jy"),
    ("FLUX_VAR_POISSON", "D", "Jy^2"),
    ("FLUX_VAR_RNOISE", "D", "Jy^2"),
    ("FLUX_VAR_FLAT", "D", "Jy^2"),
    ("SURF_BRIGHT", "D", "MJy/sr"),
    ("SB_ERROR", "D", "MJy/sr"),
    ("SB_VAR_POISSON", "D", "MJy^2/sr^2"),
    ("SB_VAR_RNOISE", "D", "MJy^2/sr^2"),
    ("SB_VAR_FLAT", "D", "MJy^2/sr^2"),
    ("DQ", "J", None),
    ("BACKGROUND", "D", "MJy/sr"),
    ("BKGD_ERROR", "D", "MJy/sr"),
    ("BKGD_VAR_POISSON", "D", "MJy^2/sr^2"),
    ("BKGD_VAR_RNOISE", "D", "MJy^2/sr^2"),
    ("BKGD_VAR_FLAT", "D", "MJy^2/sr^2"),
    ("NPIXELS", "D", None),
)


def x1d_arrays(n: int, seed: int, decreasing: bool = False) -> dict[str, np.ndarray]:
    """Truth arrays for one synthetic EXTRACT1D table: NaN wavelengths at both ends, some DQ flags."""
    rng = np.random.default_rng(seed)
    wave = np.linspace(0.6, 5.3, n)
    flux = 1e-6 * (1 + 0.3 * np.sin(wave)) + 1e-7 * rng.standard_normal(n)
    err = np.full(n, 1e-7)
    dq = np.zeros(n, np.uint32)
    dq[[5, 17, 40]] = 1  # DO_NOT_USE
    dq[[8, 30]] = 4  # another bit, not DO_NOT_USE
    wave[:2] = np.nan
    wave[-1] = np.nan
    out = {"WAVELENGTH": wave, "FLUX": flux, "FLUX_ERROR": err, "DQ": dq}
    if decreasing:
        out = {k: v[::-1].copy() for k, v in out.items()}
    return out


def write_x1d(path: Path, tables: list[dict[str, np.ndarray]], vector: bool = False) -> Path:
    """Write an x1d file: PRIMARY (JWST keywords), EXTRACT1D extensions, and an ASDF extension."""
    primary = fits.PrimaryHDU()
    h = primary.header
    h["TELESCOP"], h["INSTRUME"], h["DETECTOR"] = "JWST", "NIRSPEC", "NRS1"
    h["TARGNAME"], h["EXP_TYPE"] = "WASP-39", "NRS_MSASPEC"
    h["GRATING"], h["FILTER"] = "PRISM", "CLEAR"
    h["EXPTIME"], h["EFFEXPTM"] = 1000.0, 950.0
    hdus = [primary]
    if vector:  # x1dints-style: one row per spectrum, vector cells
        n = tables[0]["WAVELENGTH"].size
        cols = []
        for name, fmt, unit in X1D_COLUMNS:
            data = np.array([t.get(name, np.zeros(n)) for t in tables])
            cols.append(fits.Column(name=name, format=f"{n}{fmt}", unit=unit, array=data.astype(data.dtype)))
        hdus.append(fits.BinTableHDU.from_columns(cols, name="EXTRACT1D"))
    else:
        for i, t in enumerate(tables, start=1):
            n = t["WAVELENGTH"].size
            cols = [
                fits.Column(name=name, format=fmt, unit=unit, array=t.get(name, np.zeros(n, float)))
                for name, fmt, unit in X1D_COLUMNS
            ]
            hdu = fits.BinTableHDU.from_columns(cols, name="EXTRACT1D", ver=i)
            hdu.header["SLTNAME"], hdu.header["SOURCEID"], hdu.header["SRCNAME"] = f"S{i}", 100 + i, f"src{i}"
            hdu.header["SRCTYPE"] = "POINT"
            hdus.append(hdu)
    asdf = fits.Column("ASDF_METADATA", "16B", array=np.zeros((1, 16)))
    hdus.append(fits.BinTableHDU.from_columns([asdf], name="ASDF"))
    fits.HDUList(hdus).writeto(path)
    return path
