"""Flux calibration: counts -> physical flux.

* :mod:`~specola.fluxcal.photometry`: synthetic photometry (AB and Vega, photon- or energy-counting);
* :mod:`~specola.fluxcal.sensitivity`: sensitivity functions from standard stars, with extinction;
* :mod:`~specola.fluxcal.template`: template fits of a star (Teff, log g, [M/H], E(B-V), RV) jointly with its
  photometric colours, and the template-shape error they carry into the calibration;
* :mod:`~specola.fluxcal.catalog`: Refcat2-layout catalogues, sky matching, AB conversions, Teff from colours;
* :mod:`~specola.fluxcal.vectors`: per-star calibration vectors, their robust combination, 2-D frames;
* :mod:`~specola.fluxcal.continuum`, :mod:`~specola.fluxcal.masks`, :mod:`~specola.fluxcal.rv`,
  :mod:`~specola.fluxcal.download`: pseudo-continua and scores, wavelength masks, FFT radial velocities,
  the BOSZ-2024 downloader;
* :func:`run` / :func:`run_to_folder`: the ``specola fluxcal`` stage.
"""

from .bandpass import Bandpass, load_bandpass, load_bandpasses
from .catalog import load_catalog, match_catalog, photometry_from_row, teff_from_colour
from .config import FluxcalConfig
from .demo import demo
from .photometry import FLAM, Photometer, ab_minus_vega, synthetic_magnitude, vega_spectrum
from .run import FluxcalResult, bundled_grid_files, run, run_to_folder
from .scaling import Photometry, ScaleResult, scale_to_photometry, template_sensitivity
from .sensitivity import Sensitivity, fit_sensitivity, line_mask, rate_density
from .standards import Extinction, load_extinction, read_calspec, standard_path
from .template import TemplateFit, TemplateSet, fit_template, prepare_templates
from .vectors import CalibrationVector, CombinedCalibration, apply_calibration, combine_vectors

__all__ = [
    "FLAM",
    "Bandpass",
    "CalibrationVector",
    "CombinedCalibration",
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
    "apply_calibration",
    "bundled_grid_files",
    "combine_vectors",
    "demo",
    "fit_sensitivity",
    "fit_template",
    "line_mask",
    "load_bandpass",
    "load_bandpasses",
    "load_catalog",
    "load_extinction",
    "match_catalog",
    "photometry_from_row",
    "prepare_templates",
    "rate_density",
    "read_calspec",
    "run",
    "run_to_folder",
    "scale_to_photometry",
    "standard_path",
    "synthetic_magnitude",
    "teff_from_colour",
    "template_sensitivity",
    "vega_spectrum",
]
