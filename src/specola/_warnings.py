"""specola's warnings (public as :mod:`specola.errors`, which loads this module on first use: it imports astropy)."""

from astropy.utils.exceptions import AstropyUserWarning

__all__ = ["ChecksumWarning", "EmptySpectrumWarning", "NegativeErrorWarning", "SpecolaWarning", "UnknownUnitWarning"]


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


for _cls in (SpecolaWarning, ChecksumWarning, UnknownUnitWarning, EmptySpectrumWarning, NegativeErrorWarning):
    _cls.__module__ = "specola.errors"  # where users import them from (and where the docs list them)
