"""Writers of small grid files in published layouts (PHOENIX, stctm/exotune HDF5) and physical helpers."""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
from astropy.io import fits

from specola.grids.phoenix import WAVE_FILE, model_file_name

H_PLANCK, C_LIGHT, K_BOLTZ = 6.62607015e-27, 2.99792458e10, 1.380649e-16  # cgs
SIGMA_SB = 5.670374419e-5  # erg s^-1 cm^-2 K^-4


def planck_surface_flux(wave_cm: np.ndarray, teff: float) -> np.ndarray:
    """Surface flux pi B_lambda(T) in erg/s/cm^2/cm."""
    x = H_PLANCK * C_LIGHT / (wave_cm * K_BOLTZ * teff)
    return np.pi * 2 * H_PLANCK * C_LIGHT**2 / wave_cm**5 / np.expm1(x)


def phoenix_wavelengths(step: int = 50) -> np.ndarray:
    """The published PHOENIX HiRes sampling (A, vacuum), decimated by ``step`` to keep test files small.

    0.1 A steps in 500-3000 A, R = 500000 in 3000-25000 A, R = 100000 in 25000-55000 A (Husser et al. 2013).
    """
    blue = np.arange(500.0, 3000.0, 0.1)
    mid = 3000.0 * np.exp(np.arange(0, np.log(25000 / 3000), 1 / 500000))
    red = 25000.0 * np.exp(np.arange(0, np.log(55000 / 25000), 1 / 100000))[1:]
    return np.concatenate([blue, mid, red])[::step]


def write_phoenix(folder: Path, nodes: list[tuple[float, float, float, float]], wave: np.ndarray) -> list[Path]:
    """Write PHOENIX-layout files (primary HDU flux in erg/s/cm^2/cm, PHX* keywords) and the WAVE file above them."""
    folder.mkdir(parents=True, exist_ok=True)
    hdu = fits.PrimaryHDU(wave)
    hdu.header["UNIT"] = "Angstrom"
    hdu.writeto(folder / WAVE_FILE, overwrite=True)
    paths = []
    for teff, logg, mh, alpha in nodes:
        sub = (
            folder / ("Z-0.0" if mh == 0 else f"Z{mh:+.1f}")
            if alpha == 0
            else folder / f"Z{mh:+.1f}.Alpha={alpha:+.2f}"
        )
        sub.mkdir(exist_ok=True)
        flux = planck_surface_flux(wave * 1e-8, teff) * (1 + 0.01 * logg)
        primary = fits.PrimaryHDU(flux.astype(np.float32))
        for key, value in (("PHXTEFF", teff), ("PHXLOGG", logg), ("PHXM_H", mh), ("PHXALPHA", alpha)):
            primary.header[key] = value
        primary.header["BUNIT"] = "erg/s/cm^2/cm"
        abundances = fits.BinTableHDU.from_columns(
            [fits.Column("Z", "J", array=np.arange(1, 4)), fits.Column("Abundance", "E", array=np.ones(3))],
            name="ABUNDANCES",
        )
        path = sub / model_file_name(teff, logg, mh, alpha)
        fits.HDUList([primary, abundances]).writeto(path, overwrite=True)
        paths.append(path)
    return paths


def write_peer(path: Path, cube: np.ndarray) -> Path:
    """Write an stctm/exotune grid file: one dataset ``model_grid`` and nothing else."""
    with h5py.File(path, "w") as f:
        f.create_dataset("model_grid", data=cube)
    return path
