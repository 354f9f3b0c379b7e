"""Spectrophotometric standards (HST CALSPEC) and atmospheric extinction curves.

CALSPEC FITS tables (Bohlin, Gordon & Tremblay 2014, PASP 126, 711) hold
``WAVELENGTH`` [A], ``FLUX``, ``STATERROR``, ``SYSERROR`` [erg/s/cm^2/A] and
``DATAQUAL`` (0 = lower quality, e.g. the ground-affected O2 6280 A region). :func:`read_calspec` reads them through
:func:`specola.io.read` with the statistical error per pixel; the systematic
error (correlated over wide ranges, ~1%) is kept in ``meta['syserror']``.

An extinction curve is a two-column table (wavelength [A], extinction
[mag/airmass]); the default is the La Silla (ESO) curve bundled with specola.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

import astropy.units as u
import numpy as np
from astropy.io import fits

from ..data import data_path
from ..errors import FileFormatError, SpectrumError
from ..spectrum import Spectrum

__all__ = ["Extinction", "load_extinction", "read_calspec", "standard_path"]

FLAM = u.erg / u.s / u.cm**2 / u.AA


def standard_path(name: str) -> Path:
    """Path of a bundled CALSPEC file by its stem, e.g. ``"alpha_lyr_stis_011"`` or ``"bd_17d4708_stisnic_007"``.

    A unique prefix is accepted (``"alpha_lyr"``); an ambiguous one is an error.

    Raises
    ------
    FileFormatError
        When no bundled file has that name, or several do (the message lists them).
    """
    folder = data_path("fluxcal", "calspec")
    known = sorted(p.name.split(".")[0] for p in folder.glob("*.fits*"))
    if name in known:
        return next(folder.glob(f"{name}.fits*"))
    hits = [k for k in known if k.startswith(name)] if name else []
    if len(hits) != 1:
        what = f"matches {', '.join(hits)}; give one of them" if hits else f"bundled: {', '.join(known)}"
        raise FileFormatError(f"CALSPEC standard {name!r} is {'ambiguous' if hits else 'unknown'}: {what}")
    return next(folder.glob(f"{hits[0]}.fits*"))


def read_calspec(path: str | Path) -> Spectrum:
    """Read a CALSPEC spectrum as f_lambda with its statistical errors.

    Parameters
    ----------
    path : str or Path
        A CALSPEC FITS file (gzip allowed).

    Returns
    -------
    Spectrum
        Pixels with non-finite or non-positive flux are masked; a NaN STATERROR becomes 0 (unknown
        statistical error, the pixel is kept). ``meta['syserror']`` holds SYSERROR and
        ``meta['dataqual']`` DATAQUAL: pixels with ``DATAQUAL == 0`` stay unmasked (synthetic
        photometry uses them, as synphot does) and :func:`~specola.fluxcal.sensitivity.fit_sensitivity`
        leaves them out of the fit.

    Examples
    --------
    >>> vega = read_calspec(standard_path("alpha_lyr_stis_011"))
    >>> vega.flux_unit
    Unit("erg / (Angstrom s cm2)")
    """
    path = Path(path)
    try:
        with fits.open(path) as hdul, warnings.catch_warnings():
            warnings.simplefilter("ignore", fits.verify.VerifyWarning)  # CALSPEC's float TNULLn keywords
            table = hdul[1].data
            names = [n.upper() for n in table.names]
            column = {n.upper(): n for n in table.names}
            wave = np.asarray(table[column["WAVELENGTH"]], float)
            flux = np.asarray(table[column["FLUX"]], float)
            error = np.asarray(table[column["STATERROR"]], float) if "STATERROR" in names else np.zeros(wave.size)
            sys = np.asarray(table[column["SYSERROR"]], float) if "SYSERROR" in names else None
            dq = np.asarray(table[column["DATAQUAL"]]) if "DATAQUAL" in names else None
            target = hdul[0].header.get("TARGETID", path.name.split(".")[0])
    except (OSError, KeyError, IndexError, TypeError) as exc:
        raise FileFormatError(f"{path}: not a CALSPEC table with WAVELENGTH and FLUX columns ({exc})") from None
    order = np.argsort(wave)
    if np.any(np.diff(wave[order]) <= 0) or not np.all(np.isfinite(wave)):
        raise FileFormatError(f"{path}: duplicated or invalid wavelengths")
    flux, error = flux[order], np.nan_to_num(error[order], nan=0.0)
    meta = {"target": str(target), "source": str(path)}
    if sys is not None:
        meta["syserror"] = sys[order]
    if dq is not None:
        meta["dataqual"] = dq[order]
    bad = ~np.isfinite(flux) | (flux <= 0)
    return Spectrum.from_centres(wave[order] * u.AA, np.where(bad, 0.0, flux) * FLAM, error=error * FLAM,
                                 mask=bad, meta=meta)  # fmt: skip


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
