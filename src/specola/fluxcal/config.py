"""Configuration of ``specola fluxcal`` (TOML sections ``[standard]``, ``[template]``, ``[photometry]``...)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..config import option

__all__ = [
    "CombineSection",
    "ContinuumSection",
    "FluxcalConfig",
    "MasksSection",
    "OutputSection",
    "PhotometrySection",
    "ScienceSection",
    "SensitivitySection",
    "StandardSection",
    "StandardsSection",
    "TemplateSection",
]


@dataclass(frozen=True)
class StandardSection:
    """The observed standard star (counts)."""

    file: Path | None = option(None, help="observed standard-star spectrum in counts (any format specola reads)")
    method: str = option("calspec", choices=("calspec", "template"), help="reference spectrum or template fit")
    reference: str = option("", help="bundled CALSPEC standard (method = calspec), e.g. bd_17d4708_stisnic_007")
    reference_file: Path | None = option(None, help="CALSPEC FITS file of the standard (instead of reference)")
    exptime: float = option(0.0, minimum=0.0, help="exposure time in s (0: from the file's meta, or per-second data)")
    airmass: float = option(0.0, minimum=0.0, help="airmass of the standard (0: above the atmosphere)")


@dataclass(frozen=True)
class StandardsSection:
    """Several standard stars (method = template) with photometry from a Refcat2-layout catalogue."""

    files: tuple[Path, ...] = option((), help="standard-star spectra (counts); each is matched to the catalogue")
    catalog: Path | None = option(None, help="Refcat2-layout CSV (ra, dec, gaia, dgaia, bp, ..., k, dk)")
    tolerance_arcsec: float = option(2.0, minimum=0.0, help="largest sky distance of a catalogue match")
    positions: tuple[float, ...] = option((), help="RA, Dec (deg) of each file, flat; empty: meta ra/dec of each")
    bands: tuple[str, ...] = option(("gaia_g", "gaia_bp", "gaia_rp", "ps1_g", "ps1_r", "ps1_i", "ps1_z"),
                                    help="catalogue bands used (sentinel values are dropped)")  # fmt: skip
    exptime: float = option(0.0, minimum=0.0, help="exposure time of the standards in s (0: each file's meta)")
    airmass: float = option(0.0, minimum=0.0, help="airmass of the standards' exposure")


@dataclass(frozen=True)
class TemplateSection:
    """Template fit of the star (method = template)."""

    grid: tuple[Path, ...] = option((), help="grid files or folders (CK04, BOSZ...); empty: bundled CK04 subset")
    format: str = option("", help="grid format name (specola.grids.grid_formats()); empty: sniffed from the files")
    wave_file: Path | None = option(None, help="shared wavelength file of the grid (BOSZ 2024); default: beside them")
    resolution: float = option(1000.0, minimum=0.0, help="instrument resolving power R (0: no convolution)")
    knot_spacing: float = option(400.0, minimum=1.0, help="response spline knot spacing in A")
    max_rv: float = option(500.0, minimum=0.0, help="radial-velocity search range in km/s")
    teff: tuple[float, float] = option((3500.0, 50000.0), help="Teff range kept from the grid")
    logg: tuple[float, float] = option((0.0, 5.0), help="log g range kept")
    metallicity: tuple[float, float] = option((-5.0, 1.0), help="[M/H] range kept")
    ebv: float = option(0.0, minimum=0.0, help="interstellar E(B-V) (the start value when fit_ebv)")
    fit_ebv: bool = option(False, help="fit E(B-V) jointly with the stellar parameters")
    max_ebv: float = option(0.5, minimum=0.0, help="upper bound of a fitted E(B-V)")
    r_v: float = option(3.1, minimum=1.0, help="R_V of the Cardelli-Clayton-Mathis (1989) extinction law")
    tension_sigma: float = option(3.0, minimum=0.0, help="warn when colour and spectrum Teff differ by more sigma")
    teff_systematic: float = option(80.0, minimum=0.0, help="systematic Teff error (K) of each estimate in that test")
    model_error: float = option(0.01, minimum=0.0, help="fractional accuracy of the grid's SED shape, added to errors")


@dataclass(frozen=True)
class PhotometrySection:
    """Broadband photometry of the star (method = template)."""

    bands: tuple[str, ...] = option(("gaiadr2-G", "gaiadr2-BP", "gaiadr2-RP"), help="speclite filter names")
    magnitudes: tuple[float, ...] = option((), help="magnitudes, one per band")
    errors: tuple[float, ...] = option((), help="1-sigma errors, one per band")
    system: str = option("Vega", choices=("AB", "Vega"), help="magnitude system")


@dataclass(frozen=True)
class SensitivitySection:
    """The sensitivity fit."""

    knot_spacing: float = option(200.0, minimum=0.1, help="spline knot spacing in A")
    line_half_width_kms: float = option(1500.0, minimum=0.0, help="mask half-width around stellar lines (km/s)")
    clip: float = option(4.0, minimum=0.0, help="sigma clipping threshold (0 disables)")
    extinction: Path | None = option(None, help="extinction table (A, mag/airmass); default: bundled La Silla curve")
    resolution: float = option(0.0, minimum=0.0, help="R to convolve the CALSPEC reference to (0: none)")


@dataclass(frozen=True)
class ScienceSection:
    """Spectra to calibrate with the sensitivity."""

    files: tuple[Path, ...] = option((), help="science spectra in counts")
    frames: tuple[Path, ...] = option((), help="multi-fibre frames (FITS: counts image, WAVELENGTH, VARIANCE)")
    exptime: float = option(0.0, minimum=0.0, help="exposure time in s (0: from each file's meta)")
    airmass: float = option(0.0, minimum=0.0, help="airmass of the science exposures")


@dataclass(frozen=True)
class MasksSection:
    """Wavelength ranges left out of every fit (besides the telluric bands, masked on the ground)."""

    names: tuple[str, ...] = option((), help='named masks: "telluric", "stellar_lines"')
    files: tuple[Path, ...] = option((), help="mask files: start end [A] per line, # comments")
    ranges: tuple[float, ...] = option((), help="more ranges as a flat list [start1, end1, start2, end2, ...] (A)")


@dataclass(frozen=True)
class CombineSection:
    """Combination of several standard stars' calibration vectors."""

    method: str = option("weighted_mean", choices=("weighted_mean", "median"), help="how stars are combined")
    clip: float = option(3.0, minimum=0.0, help="leave-one-out clipping threshold in sigma (0: none)")
    smooth_window: int = option(0, minimum=0, help="Savitzky-Golay window (pixels) on the combined vector (0: none)")
    max_rejected_fraction: float = option(0.2, minimum=0.0, maximum=1.0,
                                          help="stars agree with at most this fraction of pixels apart")  # fmt: skip


@dataclass(frozen=True)
class ContinuumSection:
    """Pseudo-continuum fits (:mod:`specola.fluxcal.continuum`); the defaults of those functions."""

    method: str = option("bspline", choices=("bspline", "legendre", "running_median"), help="continuum fit")
    order: int = option(3, minimum=0, help="spline degree or Legendre degree")
    n_knots: int = option(20, minimum=1, help="interior B-spline knots")
    sigma_lo: float = option(2.0, minimum=0.0, help="clip pixels this many sigma below the fit (lines)")
    sigma_hi: float = option(4.0, minimum=0.0, help="clip pixels this many sigma above the fit (artefacts)")
    n_iter: int = option(5, minimum=1, help="clipping passes")
    median_window: int = option(151, minimum=3, help="running-median window in pixels")
    huber_delta: float = option(1.5, minimum=0.0, help="Huber loss transition (sigma)")


@dataclass(frozen=True)
class OutputSection:
    """What to write."""

    figures: bool = option(True, help="write QC figures")


@dataclass(frozen=True)
class FluxcalConfig:
    """Everything ``specola fluxcal`` needs."""

    standard: StandardSection = field(default_factory=StandardSection)
    standards: StandardsSection = field(default_factory=StandardsSection)
    template: TemplateSection = field(default_factory=TemplateSection)
    photometry: PhotometrySection = field(default_factory=PhotometrySection)
    sensitivity: SensitivitySection = field(default_factory=SensitivitySection)
    science: ScienceSection = field(default_factory=ScienceSection)
    masks: MasksSection = field(default_factory=MasksSection)
    combine: CombineSection = field(default_factory=CombineSection)
    output: OutputSection = field(default_factory=OutputSection)
