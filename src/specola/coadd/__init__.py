"""Co-addition of multi-exposure, multi-grating spectra.

Two methods share the readers (:mod:`specola.io.hst`) and writers:

* :func:`coadd`: specola's own method, flux-conserving resampling onto a grid
  chosen from the inputs, inverse-variance or exposure-time weights, rejection that
  judges each exposure and segment against a robust reference (every decision
  recorded), overlap-aware stitching and optional flux scaling (the method for
  Spectrum objects of any instrument);
* :func:`run_hasp`: a drop-in for the HASP script on folders of HST x1d/sx1 files
  (same grouping, rejection, abutment, names and FITS layout).

:func:`run` computes what a :class:`CoaddConfig` asks (``coadd.method`` picks the
method) and :func:`run_to_folder` also writes it.
"""

from .combine import combine_segments
from .config import CoaddConfig
from .demo import demo
from .grid import choose_grid
from .hasp import HaspResult, run_hasp
from .reject import Decision
from .run import CoaddResult, coadd, read_inputs, run, run_to_folder
from .scaling import ScaleReport, scale_exposures
from .stitch import stitch

__all__ = [
    "CoaddConfig",
    "CoaddResult",
    "Decision",
    "HaspResult",
    "ScaleReport",
    "choose_grid",
    "coadd",
    "combine_segments",
    "demo",
    "read_inputs",
    "run",
    "run_hasp",
    "run_to_folder",
    "scale_exposures",
    "stitch",
]
