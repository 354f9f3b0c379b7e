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

import importlib
from typing import Any

#: public name -> submodule defining it (imported on first use, so that the HASP-compatible
#: mode does not load specola's resampling method, scipy or plotting); no submodule is named
#: like a function it exports, or importing it would shadow the function.
_EXPORTS = {
    "CoaddConfig": "config",
    "CoaddResult": "resampled",
    "Decision": "reject",
    "HaspResult": "hasp",
    "ScaleReport": "scaling",
    "choose_grid": "grid",
    "coadd": "resampled",
    "combine_segments": "combine",
    "demo": "demo_cos",
    "read_inputs": "resampled",
    "run_hasp": "hasp",
    "scale_exposures": "scaling",
    "stitch": "stitching",
}

from .run import run, run_to_folder  # noqa: E402  (light; binds the names over the submodule)

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


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
