"""specola: astronomical spectroscopy from detector to science.

>>> import specola
>>> spec = specola.read(specola.data_path("spectra", "trappist1_nirspec_prism_outoftransit.csv"))  # doctest: +SKIP

The names users reach for first are here; each stage lives in its own subpackage
(:mod:`specola.extract`, :mod:`specola.fluxcal`, :mod:`specola.coadd`, :mod:`specola.lines`,
:mod:`specola.stellar`). They load on first use, so ``import specola`` stays light.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ._version import __version__

if TYPE_CHECKING:  # pragma: no cover
    from .data import data_path
    from .io import read, write
    from .spectrum import Spectrum, SpectrumSeries

__all__ = ["Spectrum", "SpectrumSeries", "__version__", "data_path", "read", "write"]

#: public name -> module that defines it (imported on first access: astropy alone costs ~0.5 s)
_LAZY = {
    "Spectrum": ".spectrum",
    "SpectrumSeries": ".spectrum",
    "read": ".io",
    "write": ".io",
    "data_path": ".data",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name], __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'specola' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
