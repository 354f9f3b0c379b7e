"""Emission-line fitting with JAX and NumPyro.

* :func:`build_model`: spectra + line components -> :class:`LinesModel` (``model_fn``, ``args``) for any NumPyro
  inference; profiles convolved with the instrument and integrated exactly over pixel edges;
* :func:`fit`: NUTS, MAP + Laplace approximation, SVI or MAP -> :class:`Posterior`; :func:`fit_many`: many
  spectra of one configuration on one compiled model (any pixel grids);
* :class:`InstrumentConfig`: spectra and shared calibration tokens, printable, saved to / loaded from TOML;
* :class:`LinesResult`: line tables (flux, EW, FWHM, velocity with percentiles and units), figures, writing;
* :func:`run`: the ``specola lines`` stage from a :class:`LinesConfig`.

Importing this package does not import JAX. The first model built (or kernel imported) imports it and turns on
its float64 switch ``jax_enable_x64``, once, with a message (see :mod:`specola.lines._jax` for when it is
left alone), and a persistent compilation cache.
"""

from .config import (
    CalibrationSpec,
    ContinuumSection,
    ErrorsSection,
    FitSection,
    GroupSpec,
    LinesConfig,
    LineSpec,
    OutputSection,
    PriorSpec,
    SpectrumSpec,
)
from .demo import demo
from .inference import Posterior, compiled, find_map, fit, fit_many
from .instrument import InstrumentConfig
from .linelist import LINES, Line, line
from .model import LinesModel, build_model
from .result import LinesResult
from .run import load_spectra, run, run_to_folder
from .simulate import simulate

__all__ = [
    "LINES",
    "CalibrationSpec",
    "ContinuumSection",
    "ErrorsSection",
    "FitSection",
    "GroupSpec",
    "InstrumentConfig",
    "Line",
    "LineSpec",
    "LinesConfig",
    "LinesModel",
    "LinesResult",
    "OutputSection",
    "Posterior",
    "PriorSpec",
    "SpectrumSpec",
    "build_model",
    "compiled",
    "demo",
    "find_map",
    "fit",
    "fit_many",
    "line",
    "load_spectra",
    "run",
    "run_to_folder",
    "simulate",
]
