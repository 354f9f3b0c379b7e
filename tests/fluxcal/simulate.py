"""Simulated standard-star observations for fluxcal tests (truth known)."""

import astropy.units as u
import numpy as np
from astropy.constants import c, h

from specola.fluxcal.photometry import FLAM
from specola.spectrum import Spectrum

AREA = np.pi * (100.0 * u.cm) ** 2


def photon_sensitivity(wavelength_aa, throughput):
    """True S = A T lambda / (h c) in ct/s/A per erg/s/cm2/A."""
    return (AREA * throughput * wavelength_aa * u.AA / (h * c)).to_value(u.cm**2 / u.erg)


def optical_throughput(w):
    """A smooth optical throughput: blue cut-off, broad peak near 6000 A."""
    return 0.35 * np.exp(-(((w - 6000.0) / 3000.0) ** 2)) / (1.0 + np.exp(-(w - 3700.0) / 250.0))


def observe(star, edges, throughput, exptime, rng, airmass=0.0, extinction=None, resolution=None,
            read_noise=5.0, telluric_depth=0.0):
    """Counts per pixel of ``star`` (FLAM) through a throughput function, with Poisson + read noise."""
    fine = star.select(edges[0] * 0.98 * u.AA, edges[-1] * 1.02 * u.AA)
    if resolution is not None:
        fine = fine.convolve_to_resolution(resolution)
    w = fine.wavelength.to_value(u.AA)
    rate = fine.flux.to_value(FLAM) * photon_sensitivity(w, throughput(w))
    if airmass > 0:
        rate = rate * extinction.transmission(w * u.AA, airmass)
    if telluric_depth > 0:
        for centre, width in ((6905.0, 12.0), (7645.0, 12.0), (7250.0, 20.0)):
            rate = rate * (1 - telluric_depth * np.exp(-0.5 * ((w - centre) / width) ** 2))
    dense = Spectrum(fine.low, fine.high, rate * u.ct / u.s / u.AA).rebin(edges * u.AA)
    counts = dense.flux.value * np.diff(edges) * exptime
    var = counts + read_noise**2
    noisy = counts + rng.normal(0.0, np.sqrt(var))
    return Spectrum.from_edges(edges * u.AA, noisy * u.ct, error=np.sqrt(var) * u.ct, meta={"exptime": exptime})


def perturbed(reference, rng):
    """The 'true' star: the catalogue spectrum moved by its own statistical errors."""
    err = np.where(reference.mask, 0.0, reference.error.value)
    return reference.replace(flux=(reference.flux.value + rng.normal(0.0, err)) * reference.flux_unit)
