"""The specola exception and warning hierarchy.

Every error specola raises on purpose derives from :class:`SpecolaError`, so a
caller (and the command line) can tell a problem with the user's input from a
bug. Messages say what was received and what to change.
"""

from astropy.utils.exceptions import AstropyUserWarning

__all__ = [
    "ChecksumWarning",
    "ConfigError",
    "EmptySpectrumWarning",
    "FileFormatError",
    "GridError",
    "NegativeErrorWarning",
    "OutputError",
    "OutputExistsError",
    "SpecolaError",
    "SpecolaWarning",
    "SpectrumError",
    "UnknownUnitWarning",
]


class SpecolaError(Exception):
    """Base class of every error specola raises deliberately."""


class ConfigError(SpecolaError, ValueError):
    """A configuration key is unknown, of the wrong type, or out of range."""


class FileFormatError(SpecolaError, OSError):
    """A file is missing, empty, corrupt, or not in the expected format."""


class SpectrumError(SpecolaError, ValueError):
    """Arrays, units or ranges of a spectrum are inconsistent or unusable."""


class GridError(SpecolaError, ValueError):
    """A stellar model grid is malformed, or a point lies outside it."""


class OutputExistsError(SpecolaError, FileExistsError):
    """An output already exists and ``overwrite`` was not requested."""


class OutputError(SpecolaError, OSError):
    """An output location cannot be created or written."""


class SpecolaWarning(AstropyUserWarning):
    """Base class of specola's warnings."""


class ChecksumWarning(SpecolaWarning):
    """A FITS CHECKSUM or DATASUM keyword does not match the data."""


class UnknownUnitWarning(SpecolaWarning):
    """A unit string in a file is not understood; a default was used."""


class EmptySpectrumWarning(SpecolaWarning):
    """A spectrum read from a file has no good pixel (all masked or non-finite)."""


class NegativeErrorWarning(SpecolaWarning):
    """Uncertainties in a file are negative; those pixels are masked."""
