"""Spectrophotometric standards (HST CALSPEC) and atmospheric extinction curves.

CALSPEC FITS tables (Bohlin, Gordon & Tremblay 2014, PASP 126, 711) hold
``WAVELENGTH`` [A], ``FLUX``, ``STATERROR``, ``SYSERROR`` [erg/s/cm^2/A] and
``DATAQUAL`` (0 = bad). :func:`read_calspec` reads them through
:func:`specola.io.read` with the statistical error per pixel; the systematic
error (correlated over wide ranges, ~1%) is kept in ``meta['syserror']``.

An extinction curve is a two-column table (wavelength [A], extinction
[mag/airmass]); the default is the La Silla (ESO) curve bundled with specola.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import astropy.units as u
import numpy as np
from astropy.io import fits

from ..data import data_path
from ..errors import FileFormatError, SpectrumError
from ..io import read
from ..spectrum import Spectrum

__all__ = ["Extinction", "load_extinction", "read_calspec", "standard_path"]

FLAM = u.erg / u.s / u.cm**2 / u.AA


def standard_path(name: str) -> Path:
    """Path of a bundled CALSPEC file by its stem, e.g. ``"alpha_lyr_stis_011"`` or ``"bd_17d4708_stisnic_007"``.

    Raises
    ------
    FileFormatError
        When no bundled file has that name (the message lists them).
    """
    folder = data_path("fluxcal", "calspec")
    hits = sorted(folder.glob(f"{name}*.fits*"))
    if not hits:
        known = sorted(p.name.split(".")[0] for p in folder.glob("*.fits*"))
        raise FileFormatError(f"no bundled CALSPEC standard {name!r}; bundled: {', '.join(known)}")
    return hits[0]


def read_calspec(path: str | Path) -> Spectrum:
    """Read a CALSPEC spectrum as f_lambda with its statistical errors.

    Parameters
    ----------
    path : str or Path
        A CALSPEC FITS file (gzip allowed).

    Returns
    -------
    Spectrum
        Pixels with ``DATAQUAL == 0`` or zero flux are masked; ``meta['syserror']`` holds SYSERROR.

    Examples
    --------
    >>> vega = read_calspec(standard_path("alpha_lyr_stis_011"))
    >>> vega.flux_unit
    Unit("erg / (Angstrom s cm2)")
    """
    path = Path(path)
    spec = read(path, format="table", error_col="STATERROR", flux_unit=FLAM, wave_unit=u.AA)
    if spec.flux_unit != FLAM:
        spec = spec.replace(flux=spec.flux.value * FLAM, error=None if spec.error is None else spec.error.value * FLAM)
    with fits.open(path) as hdul:
        table = hdul[1].data
        names = [n.upper() for n in table.names]
        wave = np.asarray(table["WAVELENGTH"], float)
        order = np.argsort(wave)
        sys = np.asarray(table["SYSERROR"], float)[order] if "SYSERROR" in names else None
        dq = np.asarray(table["DATAQUAL"])[order] if "DATAQUAL" in names else None
        target = hdul[0].header.get("TARGETID", path.name.split(".")[0])
    if len(order) != len(spec):
        raise FileFormatError(f"{path}: unexpected rows (duplicated or invalid wavelengths)")
    bad = spec.flux.value <= 0
    if dq is not None:
        bad |= dq == 0
    meta = dict(spec.meta, target=str(target), source=str(path))
    if sys is not None:
        meta["syserror"] = sys
    return spec.replace(mask=spec.mask | bad, meta=meta)


@dataclass(frozen=True, eq=False)
class Extinction:
    """An atmospheric extinction curve ``k(lambda)`` in magnitudes per airmass.

    Parameters
    ----------
    wavelength : ndarray
        Increasing wavelengths in Angstrom.
    mag_per_airmass : ndarray
        Extinction at those wavelengths.
    source : str
        Where the table came from.
    """

    wavelength: np.ndarray
    mag_per_airmass: np.ndarray
    source: str = ""

    def __call__(self, wavelength: u.Quantity | np.ndarray) -> np.ndarray:
        """``k`` at wavelengths (Quantity, or Angstrom); raises outside the table's range."""
        w = u.Quantity(wavelength, u.AA).to_value(u.AA, u.spectral())
        lo, hi = self.wavelength[0], self.wavelength[-1]
        if np.any(w < lo) or np.any(w > hi):
            raise SpectrumError(
                f"extinction curve {self.source or ''} covers {lo:.0f}-{hi:.0f} A but the spectrum reaches "
                f"{w.min():.0f}-{w.max():.0f} A; trim the spectrum or give a wider extinction file"
            )
        return np.interp(w, self.wavelength, self.mag_per_airmass)

    def transmission(self, wavelength: u.Quantity | np.ndarray, airmass: float) -> np.ndarray:
        """Fraction of light transmitted, ``10**(-0.4 k(lambda) X)``."""
        return 10.0 ** (-0.4 * self(wavelength) * airmass)


def load_extinction(path: str | Path | None = None) -> Extinction:
    """Read an extinction table (wavelength [A], mag/airmass; ``#`` comments); None = bundled La Silla curve.

    Raises
    ------
    FileFormatError
        Missing file, or not two increasing numeric columns.
    """
    path = data_path("fluxcal", "lasilla_extinction.dat") if path in (None, "") else Path(path)
    try:
        table = np.loadtxt(path, comments="#", ndmin=2)
    except (OSError, ValueError) as exc:
        raise FileFormatError(f"{path}: cannot read an extinction table ({exc})") from None
    if table.shape[1] < 2 or table.shape[0] < 2 or np.any(np.diff(table[:, 0]) <= 0):
        raise FileFormatError(f"{path}: need two columns (wavelength [A], mag/airmass) with increasing wavelength")
    return Extinction(table[:, 0], table[:, 1], str(path))
