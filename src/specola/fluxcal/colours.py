"""Synthetic photometry of grid models (reddened) against a star's observed magnitudes.

Band integrals are linear in the flux, so the synthetic magnitudes of an
interpolated model are those of the interpolated spectrum, computed here on the
grid's own pixels (the full wavelength range, so bands beyond the observed
spectrum count) with the weights of :class:`~specola.fluxcal.photometry.Photometer`
built once. The flux scale (distance and radius) is profiled out analytically:
``dm`` is the weighted mean of ``m_obs - m_syn`` and

    chi2_phot = sum_b ((m_obs,b - m_syn,b - dm) / sigma_b)**2,

which depends only on the colours, i.e. on the model's shape, E(B-V) and R_V.
"""

from __future__ import annotations

from typing import Any

import astropy.units as u
import numpy as np

from ..errors import SpectrumError
from ..grids import StellarGrid
from .bandpass import load_bandpasses
from .photometry import FLAM, Photometer, ab_minus_vega
from .reddening import ccm89

__all__ = ["SyntheticColours"]


class SyntheticColours:
    """Magnitudes of reddened grid models in a star's bands, and their chi-square against it.

    Parameters
    ----------
    grid : StellarGrid
        Model grid covering every band (surface f_lambda or f_nu).
    photometry : Photometry
        The star's magnitudes (``bands``, ``magnitudes``, ``errors``, ``system``).
    r_v : float
        Total-to-selective extinction ratio of the CCM89 law.

    Raises
    ------
    SpectrumError
        The grid does not cover a band (the message names it).
    """

    def __init__(self, grid: StellarGrid, photometry: Any, r_v: float):
        bands = load_bandpasses(tuple(photometry.bands))
        lo = min(b.wave_range[0] for b in bands) * u.AA
        hi = max(b.wave_range[1] for b in bands) * u.AA
        sub = grid.select(
            wave_range=(lo.to_value(grid.wave_unit, u.spectral()), hi.to_value(grid.wave_unit, u.spectral()))
        )
        low = (sub.low * sub.wave_unit).to_value(u.AA, u.spectral())
        high = (sub.high * sub.wave_unit).to_value(u.AA, u.spectral())
        order = np.argsort(low)
        if not np.all(order == np.arange(low.size)):
            raise SpectrumError("grid wavelengths must increase for synthetic photometry")
        centre = 0.5 * (low + high)
        self.grid = sub
        self.factor = (1.0 * sub.flux_unit).to(FLAM, u.spectral_density(centre * u.AA)).value
        self.photometer = Photometer(low, high, bands)
        self.k = ccm89(centre, r_v)
        self.bands = tuple(photometry.bands)
        self.observed = np.asarray(photometry.magnitudes, float)
        self.weight = 1.0 / np.asarray(photometry.errors, float) ** 2
        self.system = photometry.system
        self.offset = ab_minus_vega(bands) if photometry.system.upper() == "VEGA" else np.zeros(len(bands))

    def magnitudes(self, params: tuple, ebv: float) -> np.ndarray:
        """Unscaled synthetic magnitudes (the star's system) of the model at ``params`` reddened by ``ebv``."""
        flux = self.grid.at(*params) * self.factor * 10.0 ** (-0.4 * ebv * self.k)
        if not np.all(np.isfinite(flux)):
            return np.full(len(self.bands), np.nan)
        integral, _ = self.photometer.band_fluxes(flux)
        with np.errstate(divide="ignore", invalid="ignore"):
            return -2.5 * np.log10(integral / self.photometer.zeropoint) - self.offset

    def chi2(self, params: tuple, ebv: float) -> tuple[float, float, np.ndarray]:
        """``(chi2_phot, dm, m_syn)`` with the flux scale profiled (``m_obs ~ m_syn + dm``)."""
        syn = self.magnitudes(params, ebv)
        if not np.all(np.isfinite(syn)):
            return np.inf, np.nan, syn
        d = self.observed - syn
        dm = float(np.sum(self.weight * d) / np.sum(self.weight))
        return float(np.sum(self.weight * (d - dm) ** 2)), dm, syn

    @property
    def scale_mag_error(self) -> float:
        """1-sigma error of the profiled magnitude offset ``dm`` from the photometric errors."""
        return float(np.sqrt(1.0 / np.sum(self.weight)))
