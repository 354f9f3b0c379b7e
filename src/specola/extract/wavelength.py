"""Wavelengths of the extracted columns, and the series built on them.

Pixel columns are not lengths, so a :class:`~specola.spectrum.SpectrumSeries`
is only made when a wavelength solution exists: a wavelength map in the file
(JWST ``WAVELENGTH``), sampled at the trace, or a polynomial in the column
index given in the configuration. Columns are put in increasing wavelength
order; columns without a finite, monotonic wavelength are left out of the series
(they stay in the pixel table).
"""

from __future__ import annotations

import logging

import astropy.units as u
import numpy as np

from ..errors import ConfigError
from ..spectrum import edges_from_centres

__all__ = ["series_columns", "wavelength_at_trace"]

log = logging.getLogger(__name__)


def wavelength_at_trace(
    source: str,
    columns: np.ndarray,
    trace_rows: np.ndarray,
    wavelength_map: u.Quantity | None,
    coefficients: tuple[float, ...] = (),
    unit: str = "Angstrom",
) -> u.Quantity | None:
    """Wavelength of each extracted column, or None without a solution.

    Parameters
    ----------
    source : {"auto", "map", "polynomial", "none"}
        ``auto`` uses the map when there is one, else the polynomial when given.
    columns : ndarray
        Detector column indices (0-based, in the full frame).
    trace_rows : ndarray
        Trace row at each column (where the map is sampled, linearly).
    wavelength_map : Quantity or None
        ``(n_spatial, n_columns_full)`` map.
    coefficients : tuple of float
        ``wavelength = sum(c[k] * column**k)``.
    unit : str
        Unit of the polynomial.

    Returns
    -------
    Quantity or None

    Examples
    --------
    >>> wavelength_at_trace("polynomial", np.arange(3), np.zeros(3), None, (4000.0, 2.0))
    <Quantity [4000., 4002., 4004.] Angstrom>
    """
    if source == "none":
        return None
    if source == "map" or (source == "auto" and wavelength_map is not None):
        if wavelength_map is None:
            raise ConfigError("wavelength.source = 'map' but the file has no WAVELENGTH map; give a polynomial")
        wmap = wavelength_map.value
        nrow = wmap.shape[0]
        r = np.clip(trace_rows, 0, nrow - 1)
        r0 = np.floor(r).astype(int)
        r1 = np.minimum(r0 + 1, nrow - 1)
        t = r - r0
        values = (1 - t) * wmap[r0, columns] + t * wmap[r1, columns]
        return values * wavelength_map.unit
    if source in ("polynomial", "auto") and coefficients:
        try:
            wunit = u.Unit(unit)
        except ValueError:
            raise ConfigError(f"wavelength.unit: {unit!r} is not a unit") from None
        if not wunit.is_equivalent(u.m):
            raise ConfigError(f"wavelength.unit must be a length unit, got {unit!r}")
        return np.polynomial.polynomial.polyval(np.asarray(columns, float), coefficients) * wunit
    if source == "polynomial":
        raise ConfigError("wavelength.source = 'polynomial' needs wavelength.coefficients")
    return None


def series_columns(wavelength: u.Quantity) -> tuple[np.ndarray, u.Quantity, u.Quantity]:
    """Columns usable in a series, in increasing wavelength, with their edges.

    The longest run of finite, strictly monotonic wavelengths is kept.

    Parameters
    ----------
    wavelength : Quantity
        Per extracted column.

    Returns
    -------
    index : ndarray
        Positions into the extracted columns, in increasing wavelength.
    low, high : Quantity
        Pixel edges (midpoints between centres).
    """
    w = wavelength.value
    n = w.size
    best = (0, 0, 1)
    start = 0
    sign = 0
    for i in range(1, n + 1):
        step = np.sign(w[i] - w[i - 1]) if i < n and np.isfinite(w[i]) and np.isfinite(w[i - 1]) else 0
        if step == 0 or (sign and step != sign):
            if i - start > best[1] - best[0] and np.isfinite(w[start]):
                best = (start, i, sign or 1)
            start, sign = (i - 1, step) if step else (i, 0)
        else:
            sign = step
    lo, hi, direction = best
    if hi - lo < 2:
        raise ConfigError("wavelength: fewer than two columns have finite, monotonic wavelengths")
    index = np.arange(lo, hi)
    if direction < 0:
        index = index[::-1]
    if hi - lo < np.isfinite(w).sum():
        log.info("wavelength: %d of %d columns with finite wavelengths kept (monotonic run)", hi - lo, n)
    low, high = edges_from_centres(w[index])
    return index, low * wavelength.unit, high * wavelength.unit
