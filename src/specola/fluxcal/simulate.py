"""Simulated observations of stars with known truth (for injection-recovery tests, docs and the demo).

A star's f_lambda is convolved to the instrument's resolving power, turned into
a count-rate density by ``A T(lambda) lambda / (h c)`` (collecting area ``A``,
throughput ``T``), dimmed by the atmosphere (optional extinction and telluric
dips), integrated into pixels over an exposure time, and given Poisson plus
read noise.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import astropy.units as u
import numpy as np
from astropy.constants import c, h
from astropy.io import fits

from ..data import data_path
from ..spectrum import Spectrum
from .photometry import FLAM
from .standards import Extinction

__all__ = [
    "SKY_LINES",
    "cos_throughput",
    "observe",
    "optical_throughput",
    "perturbed",
    "photon_sensitivity",
    "rippled_throughput",
    "with_sky_residuals",
]

#: Bright night-sky emission lines (A, air): [O I] 5577, Na D, [O I] 6300/6364 and OH lines.
SKY_LINES = (5577.3, 5889.9, 5895.9, 6300.3, 6363.8, 6863.9, 7276.4, 7340.9, 7821.5, 8344.6, 8399.2, 8430.2,
             8827.1, 8885.8, 8919.6, 8988.4, 9001.4)  # fmt: skip

#: Default collecting area: a 2-m aperture.
AREA = np.pi * (100.0 * u.cm) ** 2


def photon_sensitivity(wavelength: np.ndarray, throughput: np.ndarray, area: u.Quantity = AREA) -> np.ndarray:
    """True sensitivity ``A T lambda / (h c)`` in (ct/s/A) / (erg/s/cm^2/A) at wavelengths in A."""
    return (area * np.asarray(throughput) * np.asarray(wavelength) * u.AA / (h * c)).to_value(u.cm**2 / u.erg)


def optical_throughput(wavelength: np.ndarray) -> np.ndarray:
    """A smooth ground-based throughput: blue cut-off near 3700 A, broad peak at 6000 A (0.35)."""
    w = np.asarray(wavelength, float)
    return 0.35 * np.exp(-(((w - 6000.0) / 3000.0) ** 2)) / (1.0 + np.exp(-(w - 3700.0) / 250.0))


def rippled_throughput(wavelength: np.ndarray) -> np.ndarray:
    """A harder throughput: steep blue cut-off at 3900 A (80 A wide), a 2% ripple of period 600 A, red fall-off."""
    w = np.asarray(wavelength, float)
    ripple = 1.0 + 0.02 * np.sin(2 * np.pi * w / 600.0)
    return 0.3 * np.exp(-(((w - 6200.0) / 3500.0) ** 2)) * ripple / (1.0 + np.exp(-(w - 3900.0) / 80.0))


def with_sky_residuals(counts: Spectrum, rng: np.random.Generator, amplitude: float = 5.0) -> Spectrum:
    """Counts with sky-subtraction residuals at :data:`SKY_LINES`: +-``amplitude`` sigma, 2 pixels wide."""
    w = counts.wavelength.to_value(u.AA)
    extra = np.zeros(w.size)
    for line in SKY_LINES:
        j = int(np.searchsorted(w, line))
        if 0 < j < w.size - 1:
            extra[j - 1 : j + 1] += amplitude * rng.choice([-1.0, 1.0]) * counts.error.value[j - 1 : j + 1]
    return counts.replace(flux=(counts.flux.value + extra) * counts.flux_unit)


def cos_throughput() -> Callable[[np.ndarray], np.ndarray]:
    """HST/COS G130M/1309 PSA total throughput (bundled synphot table) as a function of wavelength (A)."""
    with fits.open(data_path("fluxcal", "cos_fuv_g130m_c1309_psa.fits.gz")) as hdul:
        wave = np.asarray(hdul[1].data["WAVELENGTH"], float)
        thr = np.asarray(hdul[1].data["THROUGHPUT"], float)
    return lambda w: np.interp(np.asarray(w, float), wave, thr, left=0.0, right=0.0)


def observe(
    star: Spectrum,
    edges: np.ndarray,
    throughput: Callable[[np.ndarray], np.ndarray],
    exptime: float,
    rng: np.random.Generator,
    airmass: float = 0.0,
    extinction: Extinction | None = None,
    resolution: Any = None,
    read_noise: float = 5.0,
    telluric_depth: float = 0.0,
    area: u.Quantity = AREA,
) -> Spectrum:
    """Counts per pixel of a star observed through a throughput, with Poisson and read noise.

    Parameters
    ----------
    star : Spectrum
        f_lambda of the star (erg/s/cm^2/A), covering ``edges`` with 2% to spare.
    edges : ndarray
        Pixel edges of the detector in Angstrom.
    throughput : callable
        ``T(lambda [A])``, dimensionless.
    exptime : float
        Exposure time in seconds (stored in ``meta['exptime']``).
    rng : numpy.random.Generator
        Random numbers for the noise.
    airmass : float
        Airmass (0: above the atmosphere).
    extinction : Extinction, optional
        Needed when ``airmass > 0``.
    resolution : float or callable, optional
        Resolving power the star is convolved to.
    read_noise : float
        Read noise per pixel (counts).
    telluric_depth : float
        Depth of three narrow telluric dips inside the O2 B, A and H2O 7250 bands (0 = none).
    area : Quantity
        Collecting area.

    Returns
    -------
    Spectrum
        Counts with 1-sigma errors.
    """
    edges = np.asarray(edges, float)
    fine = star.select(edges[0] * 0.98 * u.AA, edges[-1] * 1.02 * u.AA)
    if resolution is not None:
        fine = fine.convolve_to_resolution(resolution)
    w = fine.wavelength.to_value(u.AA)
    rate = fine.flux.to_value(FLAM) * photon_sensitivity(w, throughput(w), area)
    if airmass > 0:
        rate = rate * extinction.transmission(w * u.AA, airmass)
    if telluric_depth > 0:
        for centre, width in ((6905.0, 12.0), (7645.0, 12.0), (7250.0, 20.0)):
            rate = rate * (1 - telluric_depth * np.exp(-0.5 * ((w - centre) / width) ** 2))
    dense = Spectrum(fine.low, fine.high, rate * u.ct / u.s / u.AA, mask=fine.mask).rebin(edges * u.AA)
    counts = np.nan_to_num(dense.flux.value) * np.diff(edges) * exptime
    var = np.clip(counts, 0.0, None) + read_noise**2
    noisy = counts + rng.normal(0.0, np.sqrt(var))
    return Spectrum.from_edges(
        edges * u.AA, noisy * u.ct, error=np.sqrt(var) * u.ct, mask=dense.mask, meta={"exptime": exptime}
    )


def perturbed(reference: Spectrum, rng: np.random.Generator) -> Spectrum:
    """A 'true' star consistent with a catalogue spectrum: its flux moved by its own statistical errors."""
    err = np.where(reference.mask, 0.0, reference.error.value)
    return reference.replace(flux=(reference.flux.value + rng.normal(0.0, err)) * reference.flux_unit)
