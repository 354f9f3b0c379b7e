"""The specola exception and warning hierarchy.

Every error specola raises on purpose derives from :class:`SpecolaError`, so a
caller (and the command line) can tell a problem with the user's input from a
bug. Messages say what was received and what to change.

The warnings derive from astropy's ``AstropyUserWarning`` (astropy's logger prints them as it prints its
own); they are defined in :mod:`specola._warnings` and loaded on first use, so that importing this module
(every command line does) does not import astropy (0.1 s of CPU, a quarter of ``specola coadd``'s start-up).
"""

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from ._warnings import (
        ChecksumWarning,
        EmptySpectrumWarning,
        NegativeErrorWarning,
        SpecolaWarning,
        UnknownUnitWarning,
    )

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


_WARNINGS = ("ChecksumWarning", "EmptySpectrumWarning", "NegativeErrorWarning", "SpecolaWarning", "UnknownUnitWarning")


def __getattr__(name: str) -> Any:
    if name in _WARNINGS:
        from . import _warnings

        value = getattr(_warnings, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
