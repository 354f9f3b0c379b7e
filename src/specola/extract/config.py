"""Configuration of ``specola extract`` (TOML sections ``[input]``, ``[detector]``, ``[background]``...)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..config import option

__all__ = [
    "ApertureSection",
    "BackgroundSection",
    "DetectorSection",
    "ExtractConfig",
    "InputSection",
    "OptimalSection",
    "OutputSection",
    "PsfSection",
    "TraceSection",
    "WavelengthSection",
]


@dataclass(frozen=True)
class InputSection:
    """The frame or cube to extract."""

    file: Path | None = option(None, help="FITS frame or cube (JWST calints/rateints or a plain image)")
    dispersion_axis: int = option(0, choices=(0, 1, 2), help="1 = along array columns, 2 = rows, 0 = DISPAXIS")
    columns: tuple[int, ...] = option((), help="[start, stop) dispersion columns to extract (default: all)")
    integrations: tuple[int, ...] = option((), help="[start, stop) integrations of a cube (default: all)")
    dq_bad_bits: int = option(1, minimum=0, help="JWST DQ bits that mark a pixel bad (1 = DO_NOT_USE)")


@dataclass(frozen=True)
class DetectorSection:
    """Bias and noise of raw frames (ignored when the file has a variance plane)."""

    gain: float = option(0.0, minimum=0.0, help="e-/ADU; 0 = the GAIN header keyword")
    read_noise: float = option(0.0, minimum=0.0, help="read noise in electrons; 0 = RDNOISE header keyword or 0")
    bias: str = option("none", choices=("none", "constant", "region", "overscan_rows"), help="bias removal")
    bias_level: float = option(0.0, help="bias level in ADU (bias = constant)")
    bias_region: tuple[int, ...] = option((), help="[row0, row1, col0, col1] dark/overscan box (region methods)")


@dataclass(frozen=True)
class TraceSection:
    """Finding the spectrum."""

    guess: float = option(-1.0, help="starting spatial row; -1 = peak of the median profile")
    halfwidth: float = option(4.0, minimum=0.5, help="centroid window half-width (pixels)")
    bin_columns: int = option(8, minimum=1, help="columns median-combined per centroid")
    degree: int = option(2, minimum=0, maximum=7, help="trace polynomial degree")
    sigma: float = option(4.0, minimum=0.0, help="clipping threshold for outlying centroids")
    min_snr: float = option(5.0, minimum=0.0, help="bins below this S/N are not traced")
    method: str = option(
        "centroid", choices=("centroid", "deconvolve"), help="centroids, or Richardson-Lucy + centring"
    )
    kernel_radius: int = option(10, minimum=1, help="half-length of the deconvolution kernel (pixels)")
    num_iter: int = option(100, minimum=1, help="Richardson-Lucy iterations")
    knots: int = option(8, minimum=1, help="spline knots of the deconvolved master trace")
    shifts: bool = option(True, help="fit a spatial offset per integration (time series; robust template fit)")
    edge: float = option(
        1.0, minimum=0.0, help="columns whose aperture comes closer than this to the frame edge are flagged"
    )


@dataclass(frozen=True)
class BackgroundSection:
    """Background in windows beside the trace, and 1/f stripes."""

    enabled: bool = option(True, help="fit and subtract a background")
    method: str = option(
        "columns",
        choices=("columns", "rows", "median", "photutils"),
        help="polynomial along each dispersion column, along each spatial row, column median, or photutils 2-D",
    )
    destripe: str = option(
        "none", choices=("none", "columns", "rows", "both"), help="1/f stripes: median offset per column and/or row"
    )
    box_size: tuple[int, ...] = option((10, 2), minimum=1, help="photutils box (rows, columns)")
    estimator: str = option("median", choices=("median", "mmm"), help="photutils background estimator")
    inner: float = option(8.0, minimum=0.0, help="windows start this far from the trace (pixels)")
    outer: float = option(20.0, minimum=0.0, help="windows end this far from the trace (pixels)")
    degree: int = option(1, minimum=0, maximum=5, help="polynomial degree along the column")
    sigma: float = option(4.0, minimum=0.0, help="clipping threshold (0 = none)")
    niter: int = option(5, minimum=0, help="clipping iterations")


@dataclass(frozen=True)
class ApertureSection:
    """Boxcar extraction."""

    radius: float = option(4.0, minimum=0.5, help="aperture half-width (pixels, fractional edges)")
    uniform: bool = option(False, help="uniformly lit slit: mean of the good pixels times the aperture length")


@dataclass(frozen=True)
class PsfSection:
    """Spatial profile fitted over the pixel table."""

    kind: str = option(
        "auto",
        choices=("auto", "empirical", "univariate", "bivariate", "windowed"),
        help="profile model; auto = empirical unless the trace crosses a pixel within the column window",
    )
    oversample: float = option(1.0, minimum=0.1, maximum=10.0, help="knots per pixel along the slit (splines)")
    knot_columns: int = option(6, minimum=0, help="interior knots along the dispersion (bivariate)")
    column_radius: int = option(10, minimum=0, help="column half-window of the empirical and windowed profiles")
    time_terms: bool = option(True, help="fit shift and width terms per integration (time series)")
    clip: float = option(5.0, minimum=0.0, help="outlier threshold while fitting (sigma; 0 = none)")
    niter: int = option(5, minimum=0, help="clipping iterations")
    min_snr: float = option(10.0, minimum=0.0, help="columns whose aperture S/N is lower are not fitted")


@dataclass(frozen=True)
class OptimalSection:
    """Optimal extraction."""

    enabled: bool = option(True, help="run optimal extraction (else aperture only)")
    clip: float = option(5.0, minimum=0.0, help="outlier threshold (sigma; 0 = none)")
    max_reject: int = option(10, minimum=0, help="most pixels rejected per column")
    variance: str = option("model", choices=("data", "model"), help="pixel variances: from the model (Horne) or data")


@dataclass(frozen=True)
class WavelengthSection:
    """Wavelength solution (needed for a SpectrumSeries; without one the output stays in pixels)."""

    source: str = option("auto", choices=("auto", "map", "polynomial", "none"), help="where wavelengths come from")
    coefficients: tuple[float, ...] = option((), help="c0, c1, ...: wavelength = sum c_k * column**k (polynomial)")
    unit: str = option("Angstrom", help="unit of the polynomial wavelengths")


@dataclass(frozen=True)
class OutputSection:
    """What to write."""

    name: str = option("extract", help="stem of the output files")
    figures: bool = option(True, help="write QC figures")


@dataclass(frozen=True)
class ExtractConfig:
    """Everything ``specola extract`` needs."""

    input: InputSection = field(default_factory=InputSection)
    detector: DetectorSection = field(default_factory=DetectorSection)
    trace: TraceSection = field(default_factory=TraceSection)
    background: BackgroundSection = field(default_factory=BackgroundSection)
    aperture: ApertureSection = field(default_factory=ApertureSection)
    psf: PsfSection = field(default_factory=PsfSection)
    optimal: OptimalSection = field(default_factory=OptimalSection)
    wavelength: WavelengthSection = field(default_factory=WavelengthSection)
    output: OutputSection = field(default_factory=OutputSection)
