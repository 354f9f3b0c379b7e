"""Reading and writing spectra: one ``read`` for every supported format.

>>> from specola.io import read          # doctest: +SKIP
>>> spec = read("trappist1.csv")         # format sniffed from the content

Formats are registered in :mod:`specola.io.registry`; each family lives in its
own module and registers itself on import.
"""

from . import csv_stctm as _csv_stctm  # noqa: F401  (registers readers)
from . import hst as _hst  # noqa: F401  (registers readers)
from .registry import formats, identify_format, read, read_all, read_series, register_reader

__all__ = ["formats", "identify_format", "read", "read_all", "read_series", "register_reader"]
