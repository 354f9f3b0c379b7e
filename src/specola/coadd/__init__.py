"""Co-addition of multi-exposure, multi-grating spectra.

Two methods share the readers (:mod:`specola.io.hst`) and writers:

* :func:`coadd` / :func:`run`: specola's own method, flux-conserving resampling
  onto a grid chosen from the inputs, inverse-variance or exposure-time weights,
  per-segment and per-pixel rejection with reasons, overlap-aware stitching and
  optional flux scaling (the default for Spectrum objects of any instrument);
* :func:`run_hasp`: a drop-in for the HASP script on folders of HST x1d/sx1 files
  (same grouping, rejection, abutment, names and FITS layout).
"""

from .combine import combine_segments
from .config import CoaddConfig
from .demo import demo
from .grid import choose_grid
from .hasp import HaspResult, run_hasp
from .run import CoaddResult, coadd, read_inputs, run
from .scaling import ScaleReport, scale_exposures
from .stitch import stitch

__all__ = [
    "CoaddConfig",
    "CoaddResult",
    "HaspResult",
    "ScaleReport",
    "choose_grid",
    "coadd",
    "combine_segments",
    "demo",
    "read_inputs",
    "run",
    "run_hasp",
    "scale_exposures",
    "stitch",
]
