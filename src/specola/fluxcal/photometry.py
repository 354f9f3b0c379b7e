"""Synthetic photometry of binned spectra in the AB and Vega systems.

A spectrum's pixels hold flux densities that are constant across each pixel,
so the band integral is an exact weighted sum: pixel ``j`` gets the weight
``W_j = integral_{low_j}^{high_j} T(l) l**p dl`` (``p = 1`` photon-counting,
``p = 0`` energy-counting), integrated exactly on the piecewise-linear
transmission curve. For photon-counting detectors

    m_AB = -2.5 log10( integral f_nu T dnu/nu / integral 3631 Jy T dnu/nu )
         = -2.5 log10( sum_j f_lambda,j W_j / integral f_lambda,AB(l) T l dl ),

and for energy-counting ones ``dnu/nu`` becomes ``dnu`` (``p = 0``). Vega
magnitudes compare with the CALSPEC spectrum of Vega (``alpha_lyr_stis_011``)
through the same band: ``m_Vega = -2.5 log10(F / F_Vega) + vega_magnitude``.

:class:`Photometer` builds the weights once for one pixel grid and a set of
bands, then measures any number of spectra with one matrix product.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass

import astropy.units as u
import numpy as np

from ..errors import SpectrumError
from ..spectrum import Spectrum
from .bandpass import Bandpass, load_bandpass

__all__ = ["FLAM", "Photometer", "ab_minus_vega", "synthetic_magnitude", "vega_spectrum"]

#: f_lambda unit of CALSPEC and of every fluxcal output.
FLAM = u.erg / u.s / u.cm**2 / u.AA

#: Default largest fraction of a band's weight that may fall outside the spectrum or on masked pixels.
MAX_UNCOVERED = 0.002


def _as_bandpass(band: Bandpass | str) -> Bandpass:
    return band if isinstance(band, Bandpass) else load_bandpass(band)


@dataclass(frozen=True, eq=False)
class Photometer:
    """Synthetic photometry on one pixel grid through several bands (weights built once).

    Parameters
    ----------
    low, high : ndarray
        Pixel edges in Angstrom (sorted, non-overlapping; gaps are uncovered).
    bands : sequence of Bandpass
        The filters.
    max_uncovered : float
        Largest fraction of a band's weight that may be missing (outside the
        pixels or on masked pixels); beyond it :meth:`magnitudes` raises.

    Examples
    --------
    >>> edges = np.linspace(3000.0, 11000.0, 801)
    >>> phot = Photometer.from_edges(edges, ["gaiadr2-G"])
    >>> flat = (3631 * u.Jy).to_value(FLAM, u.spectral_density(0.5 * (edges[1:] + edges[:-1]) * u.AA))
    >>> abs(float(phot.magnitudes(flat)[0])) < 1e-3
    True
    """

    low: np.ndarray
    high: np.ndarray
    bands: Sequence[Bandpass]
    max_uncovered: float = MAX_UNCOVERED

    def __post_init__(self) -> None:
        low, high = np.asarray(self.low, float), np.asarray(self.high, float)
        if low.ndim != 1 or low.shape != high.shape or np.any(high <= low) or np.any(low[1:] < high[:-1]):
            raise SpectrumError("pixel edges must be 1-D, sorted, non-overlapping with high > low")
        bands = tuple(_as_bandpass(b) for b in self.bands)
        weights = np.empty((len(bands), low.size))
        total = np.empty(len(bands))
        zero = np.empty(len(bands))
        for i, b in enumerate(bands):
            weights[i] = b.cumulative(high) - b.cumulative(low)
            total[i] = float(b.cumulative(np.array([b.wavelength[-1]]))[0])
            zero[i] = b.ab_zeropoint()
        for name, value in (("low", low), ("high", high), ("bands", bands)):
            object.__setattr__(self, name, value)
        object.__setattr__(self, "weights", weights)
        object.__setattr__(self, "total", total)
        object.__setattr__(self, "zeropoint", zero)

    @classmethod
    def from_edges(cls, edges: np.ndarray, bands: Sequence[Bandpass | str], **kwargs: float) -> Photometer:
        """Photometer for contiguous pixels given by ``n + 1`` edges in Angstrom."""
        edges = np.asarray(edges, float)
        return cls(edges[:-1], edges[1:], bands, **kwargs)

    @classmethod
    def for_spectrum(cls, spectrum: Spectrum, bands: Sequence[Bandpass | str], **kwargs: float) -> Photometer:
        """Photometer on a spectrum's pixels."""
        return cls(spectrum.low.to_value(u.AA), spectrum.high.to_value(u.AA), bands, **kwargs)

    @property
    def names(self) -> list[str]:
        """Band names, in order."""
        return [b.name for b in self.bands]

    def band_fluxes(
        self, flux: np.ndarray, mask: np.ndarray | None = None, error: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray | None]:
        """Band-integrated f_lambda ``sum_j f_j W_j`` (scaled up for small masked parts).

        Parameters
        ----------
        flux : ndarray
            f_lambda in erg/s/cm^2/A, shape ``(..., n_pix)``.
        mask : ndarray of bool, optional
            True = bad, broadcastable to ``flux``.
        error : ndarray, optional
            1-sigma errors of ``flux`` (independent pixels).

        Returns
        -------
        (ndarray, ndarray or None)
            Shape ``(..., n_bands)``: the integrals and their 1-sigma errors.

        Raises
        ------
        SpectrumError
            A band is not covered to within ``max_uncovered`` (the message names it).
        """
        flux = np.asarray(flux, float)
        bad = ~np.isfinite(flux) if mask is None else (np.asarray(mask, bool) | ~np.isfinite(flux))
        if bad.any():
            covered = (~bad).astype(float) @ self.weights.T / self.total
            flux = np.where(bad, 0.0, flux)
        else:  # fast path: one matrix product
            covered = np.broadcast_to(self.weights.sum(axis=1) / self.total, (*flux.shape[:-1], len(self.bands)))
        missing = 1.0 - covered
        if np.any(missing > self.max_uncovered):
            k = int(np.argmax(np.max(missing.reshape(-1, len(self.bands)), axis=0)))
            band = self.bands[k]
            lo, hi = band.wave_range
            worst = float(np.max(missing[..., k]))
            raise SpectrumError(
                f"the spectrum covers only {100 * (1 - worst):.2f}% of the weight of band {band.name!r} "
                f"({lo:.0f}-{hi:.0f} A; spectrum {self.low[0]:.0f}-{self.high[-1]:.0f} A, masked pixels count as "
                f"missing); extend the spectrum or allow more with max_uncovered (now {self.max_uncovered:g})"
            )
        integral = flux @ self.weights.T / covered
        err = None
        if error is not None:
            var = np.where(bad, 0.0, np.asarray(error, float) ** 2)
            err = np.sqrt(var @ (self.weights**2).T) / covered
        return integral, err

    def magnitudes(
        self,
        flux: np.ndarray,
        system: str = "AB",
        mask: np.ndarray | None = None,
        error: np.ndarray | None = None,
    ) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
        """Synthetic magnitudes of one or many spectra.

        Parameters
        ----------
        flux : ndarray
            f_lambda in erg/s/cm^2/A on this photometer's pixels, shape ``(..., n_pix)``.
        system : {"AB", "Vega"}
            Magnitude system.
        mask, error : ndarray, optional
            See :meth:`band_fluxes`; with ``error`` the magnitude errors are returned too.

        Returns
        -------
        ndarray or (ndarray, ndarray)
            Shape ``(..., n_bands)``.
        """
        integral, err = self.band_fluxes(flux, mask, error)
        with np.errstate(divide="ignore", invalid="ignore"):
            mag = -2.5 * np.log10(integral / self.zeropoint)
        if system.upper() == "VEGA":
            mag = mag - ab_minus_vega(self.bands)
        elif system.upper() != "AB":
            raise SpectrumError(f"system must be 'AB' or 'Vega', got {system!r}")
        if err is None:
            return mag
        with np.errstate(divide="ignore", invalid="ignore"):
            return mag, 2.5 / np.log(10) * err / integral


def _flam(spectrum: Spectrum) -> Spectrum:
    if spectrum.flux_unit == FLAM:
        return spectrum.to_wave_unit(u.AA)
    try:
        return spectrum.to_flux_unit(FLAM).to_wave_unit(u.AA)
    except Exception as exc:
        raise SpectrumError(
            f"synthetic photometry needs a flux density (f_lambda or f_nu), got {spectrum.flux_unit}: {exc}"
        ) from None


def synthetic_magnitude(
    spectrum: Spectrum,
    band: Bandpass | str,
    system: str = "AB",
    max_uncovered: float = MAX_UNCOVERED,
    with_error: bool = False,
) -> float | tuple[float, float]:
    """Synthetic magnitude of a spectrum through one band.

    Parameters
    ----------
    spectrum : Spectrum
        Flux density in any f_lambda or f_nu unit; masked pixels are left out.
    band : Bandpass or str
        A bandpass or a speclite filter name.
    system : {"AB", "Vega"}
        Magnitude system.
    max_uncovered : float
        Largest missing fraction of the band's weight before an error is raised.
    with_error : bool
        Also return the 1-sigma magnitude error from the spectrum's errors.

    Returns
    -------
    float or (float, float)

    Raises
    ------
    SpectrumError
        When the spectrum does not cover the band.

    Examples
    --------
    >>> round(synthetic_magnitude(vega_spectrum(), "twomass-J", "Vega"), 6)
    0.0
    """
    s = _flam(spectrum)
    phot = Photometer.for_spectrum(s, [_as_bandpass(band)], max_uncovered=max_uncovered)
    err = None if (s.error is None or not with_error) else s.error.value
    out = phot.magnitudes(s.flux.value, system, mask=s.mask, error=err)
    if with_error:
        if err is None:
            raise SpectrumError("with_error=True needs a spectrum with errors")
        return float(out[0][0]), float(out[1][0])
    return float(out[0])


@functools.cache
def vega_spectrum() -> Spectrum:
    """The CALSPEC spectrum of Vega (``alpha_lyr_stis_011``, bundled), f_lambda in erg/s/cm^2/A."""
    from .standards import read_calspec, standard_path

    return read_calspec(standard_path("alpha_lyr_stis_011"))


@functools.cache
def _vega_ab(band: Bandpass) -> float:
    vega = vega_spectrum()
    phot = Photometer.for_spectrum(vega, [band])
    return float(phot.magnitudes(vega.flux.value, "AB", mask=vega.mask)[0])


def ab_minus_vega(bands: Bandpass | str | Sequence[Bandpass | str]) -> np.ndarray | float:
    """``m_AB - m_Vega`` of any source in each band, from the CALSPEC Vega spectrum.

    Parameters
    ----------
    bands : Bandpass, str or sequence of them

    Returns
    -------
    float or ndarray
        ``m_AB(Vega) - vega_magnitude`` per band.

    Examples
    --------
    >>> round(float(ab_minus_vega("gaiadr2-RP")), 2)
    0.35
    """
    if isinstance(bands, Bandpass | str):
        b = _as_bandpass(bands)
        return _vega_ab(b) - b.vega_magnitude
    return np.array([_vega_ab(b) - b.vega_magnitude for b in map(_as_bandpass, bands)])
