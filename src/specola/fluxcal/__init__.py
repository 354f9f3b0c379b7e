"""Flux calibration: counts -> physical flux.

* :mod:`~specola.fluxcal.photometry`: synthetic photometry (AB and Vega, photon- or energy-counting);
* :mod:`~specola.fluxcal.sensitivity`: sensitivity functions from standard stars, with extinction;
* :mod:`~specola.fluxcal.template`: template fits of a star (Teff, log g, [M/H], RV) scaled to photometry;
* :func:`run`: the ``specola fluxcal`` stage.
"""

from .bandpass import Bandpass, load_bandpass, load_bandpasses
from .photometry import FLAM, Photometer, ab_minus_vega, synthetic_magnitude, vega_spectrum
from .sensitivity import Sensitivity, fit_sensitivity, line_mask, rate_density
from .standards import Extinction, load_extinction, read_calspec, standard_path

__all__ = [
    "FLAM",
    "Bandpass",
    "Extinction",
    "Photometer",
    "Sensitivity",
    "ab_minus_vega",
    "fit_sensitivity",
    "line_mask",
    "load_bandpass",
    "load_bandpasses",
    "load_extinction",
    "rate_density",
    "read_calspec",
    "standard_path",
    "synthetic_magnitude",
    "vega_spectrum",
]
