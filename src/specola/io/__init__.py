"""Reading and writing spectra: one ``read`` for every supported format.

>>> from specola.io import read          # doctest: +SKIP
>>> spec = read("trappist1.csv")         # format sniffed from the content

Formats are registered in :mod:`specola.io.registry`; each family lives in its
own module and registers itself on import (generic tables are tried last).
"""

from . import csv_stctm as _csv_stctm  # noqa: F401  (registers readers)
from . import desi as _desi  # noqa: F401
from . import dja as _dja  # noqa: F401
from . import hst as _hst  # noqa: F401  (registers readers)
from . import jwst as _jwst  # noqa: F401
from . import native as _native  # noqa: F401
from . import sdss as _sdss  # noqa: F401
from . import table as _table  # noqa: F401
from .frames import Frames, read_frames
from .registry import formats, identify_format, read, read_all, read_series, register_reader
from .series import write_series
from .write import config_hash, write

__all__ = [
    "Frames",
    "config_hash",
    "formats",
    "identify_format",
    "read",
    "read_all",
    "read_frames",
    "read_series",
    "register_reader",
    "write",
    "write_series",
]
