"""Flux calibration: counts -> physical flux.

* :mod:`~specola.fluxcal.photometry`: synthetic photometry (AB and Vega, photon- or energy-counting);
* :mod:`~specola.fluxcal.sensitivity`: sensitivity functions from standard stars, with extinction;
* :mod:`~specola.fluxcal.template`: template fits of a star (Teff, log g, [M/H], RV) scaled to photometry;
* :func:`run`: the ``specola fluxcal`` stage.
"""

from .bandpass import Bandpass, load_bandpass, load_bandpasses
from .config import FluxcalConfig
from .demo import demo
from .photometry import FLAM, Photometer, ab_minus_vega, synthetic_magnitude, vega_spectrum
from .run import FluxcalResult, bundled_grid_files, run, run_to_folder
from .scaling import Photometry, ScaleResult, scale_to_photometry, template_sensitivity
from .sensitivity import Sensitivity, fit_sensitivity, line_mask, rate_density
from .standards import Extinction, load_extinction, read_calspec, standard_path
from .template import TemplateFit, TemplateSet, fit_template, prepare_templates

__all__ = [
    "FLAM",
    "Bandpass",
    "Extinction",
    "FluxcalConfig",
    "FluxcalResult",
    "Photometer",
    "Photometry",
    "ScaleResult",
    "Sensitivity",
    "TemplateFit",
    "TemplateSet",
    "ab_minus_vega",
    "bundled_grid_files",
    "demo",
    "fit_sensitivity",
    "fit_template",
    "line_mask",
    "load_bandpass",
    "load_bandpasses",
    "load_extinction",
    "prepare_templates",
    "rate_density",
    "read_calspec",
    "run",
    "run_to_folder",
    "scale_to_photometry",
    "standard_path",
    "synthetic_magnitude",
    "template_sensitivity",
    "vega_spectrum",
]
