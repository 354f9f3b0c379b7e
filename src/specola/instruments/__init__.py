"""Instrument resolution curves R(lambda) in a small registry.

>>> import astropy.units as u
>>> from specola.instruments import get
>>> r = get("nirspec", "prism")
>>> float(r(3.0 * u.um)) > 100
True

Any curve can be the ``resolution`` or ``initial_resolution`` of
:meth:`specola.Spectrum.convolve_to_resolution`. Readers attach the curve of a
spectrum to ``meta['resolution']`` where the file carries it (SDSS, DESI).
"""

from .base import Constant, Resolution, Tabulated, available, get, register
from .desi import DESI, resolution_matrix
from .kernel import TabulatedLSF
from .nirspec import DISPERSERS, NIRSpec
from .sdss import SDSS, wdisp_to_resolution

__all__ = [
    "DESI",
    "DISPERSERS",
    "SDSS",
    "Constant",
    "NIRSpec",
    "Resolution",
    "Tabulated",
    "TabulatedLSF",
    "available",
    "get",
    "register",
    "resolution_matrix",
    "wdisp_to_resolution",
]
