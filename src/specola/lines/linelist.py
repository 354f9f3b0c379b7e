"""A small bundled list of emission lines with vacuum rest wavelengths.

Wavelengths are vacuum, in Angstrom. Forbidden and recombination lines of the
optical and near-infrared come from the SDSS line table (vacuum wavelengths,
https://classic.sdss.org/dr6/algorithms/linestable.php), the rest from the NIST
Atomic Spectra Database (https://physics.nist.gov/asd; Ritz wavelengths, converted
to vacuum where tabulated in air). Each entry records its source.
"""

from __future__ import annotations

from dataclasses import dataclass

import astropy.units as u

from ..errors import ConfigError

__all__ = ["LINES", "Line", "line"]


@dataclass(frozen=True)
class Line:
    """One emission line: name, vacuum rest wavelength (Angstrom) and where it came from."""

    name: str
    wavelength: float
    source: str

    @property
    def quantity(self) -> u.Quantity:
        """The rest wavelength as a Quantity (Angstrom)."""
        return self.wavelength * u.AA


_SDSS = "SDSS line table (vacuum)"
_NIST = "NIST ASD (vacuum)"

#: Bundled lines by name (vacuum Angstrom).
LINES: dict[str, Line] = {
    line.name: line
    for line in [
        Line("Lyalpha", 1215.67, _SDSS),
        Line("CIV1548", 1548.19, _NIST),
        Line("CIV1551", 1550.77, _NIST),
        Line("HeII1640", 1640.42, _NIST),
        Line("CIII]1907", 1906.68, _NIST),
        Line("CIII]1909", 1908.73, _NIST),
        Line("MgII2796", 2796.35, _NIST),
        Line("MgII2804", 2803.53, _NIST),
        Line("[OII]3727", 3727.092, _SDSS),
        Line("[OII]3730", 3729.875, _SDSS),
        Line("[NeIII]3870", 3869.86, _SDSS),
        Line("Hdelta", 4102.89, _SDSS),
        Line("Hgamma", 4341.68, _SDSS),
        Line("[OIII]4364", 4364.436, _SDSS),
        Line("HeII4687", 4687.02, _SDSS),
        Line("Hbeta", 4862.68, _SDSS),
        Line("[OIII]4960", 4960.295, _SDSS),
        Line("[OIII]5008", 5008.240, _SDSS),
        Line("HeI5877", 5877.29, _NIST),
        Line("[OI]6302", 6302.046, _SDSS),
        Line("[OI]6365", 6365.536, _SDSS),
        Line("[NII]6550", 6549.86, _SDSS),
        Line("Halpha", 6564.61, _SDSS),
        Line("[NII]6585", 6585.27, _SDSS),
        Line("[SII]6718", 6718.29, _SDSS),
        Line("[SII]6733", 6732.67, _SDSS),
        Line("[SIII]9071", 9071.1, _NIST),
        Line("[SIII]9533", 9533.2, _NIST),
        Line("HeI10833", 10833.31, _NIST),
        Line("Pagamma", 10941.09, _NIST),
        Line("Pabeta", 12821.59, _NIST),
        Line("Paalpha", 18756.13, _NIST),
    ]
}


def line(name: str) -> Line:
    """Look up a bundled line by name (case-insensitive).

    Examples
    --------
    >>> line("halpha").wavelength
    6564.61
    """
    for key, value in LINES.items():
        if key.lower() == name.lower():
            return value
    raise ConfigError(
        f"unknown line {name!r}; give its rest vacuum wavelength (wavelength = ...) or use one of {', '.join(LINES)}"
    )
