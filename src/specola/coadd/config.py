"""Configuration of ``specola coadd`` (TOML sections ``[input]``, ``[coadd]``, ``[grid]``...)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..config import option

__all__ = [
    "CoaddConfig",
    "CoaddSection",
    "GridSection",
    "HaspSection",
    "InputSection",
    "RejectSection",
    "ScalingSection",
    "StitchSection",
]


@dataclass(frozen=True)
class InputSection:
    """Where the spectra come from."""

    indir: Path | None = option(None, help="folder of HST *_x1d.fits / *_sx1.fits files (gzip allowed)")
    files: tuple[Path, ...] = option((), help="explicit spectrum files (any format specola reads; method resample)")
    target: str = option("", help="co-add only this target (needed when a folder holds several)")


@dataclass(frozen=True)
class CoaddSection:
    """Method and weighting."""

    method: str = option(
        "hasp",
        choices=("hasp", "resample"),
        help="HASP-compatible products (the swrapper drop-in) or specola's resampling method",
    )
    weighting: str = option(
        "exptime", choices=("exptime", "inverse_variance"), help="exposure time x sensitivity, or 1/variance"
    )
    min_coverage: float = option(0.5, minimum=0.0, maximum=1.0, help="fraction of a pixel an input must cover")
    figures: bool = option(False, help="also draw figures (loads matplotlib)")


@dataclass(frozen=True)
class GridSection:
    """The common output grid (chosen per setting from the inputs)."""

    kind: str = option("auto", choices=("auto", "linear", "log", "velocity"), help="grid type")
    step: float = option(0.0, minimum=0.0, help="pixel size (A, d ln lambda, or km/s); 0 = finest native step")
    pixel_scale: float = option(1.0, minimum=0.01, help="multiplies the automatic step")


@dataclass(frozen=True)
class RejectSection:
    """Outlier rejection per exposure, per segment/order and per pixel."""

    reference: str = option(
        "median",
        choices=("median", "brightest", "longest"),
        help="what an exposure is judged against: the median of the others (with one other: the brighter), "
        "the brightest or the longest other exposure",
    )
    max_flux_deviation: float = option(0.2, minimum=0.0, help="exposure/segment flux vs the reference; 0 disables")
    sigma: float = option(5.0, minimum=0.0, help="rejection also needs this many standard errors")
    sigma_clip: float = option(5.0, minimum=0.0, help="per-pixel clipping level; 0 disables")
    two_sided: bool = option(True, help="also reject exposures/segments brighter than the reference")


@dataclass(frozen=True)
class StitchSection:
    """Combining settings (gratings)."""

    scale_overlap: bool = option(False, help="scale each grating to agree with its neighbour in the overlap")


@dataclass(frozen=True)
class ScalingSection:
    """Flux scaling of exposures before co-adding."""

    enabled: bool = option(False, help="scale exposures to a reference first (both methods; factors recorded)")
    reference: str = option("brightest", help="brightest, median, or part of an exposure name")
    method: str = option("median", choices=("median", "poly"), help="median ratio or polynomial ratio (resample)")
    degree: int = option(1, minimum=0, maximum=5, help="polynomial degree (method = poly)")


@dataclass(frozen=True)
class HaspSection:
    """Options of the HASP-compatible mode."""

    threshold: float = option(-50.0, help="flux-based filtering threshold")
    snrmax: float = option(20.0, minimum=0.0, help="largest S/N per pixel in the deviations")
    keyword_filtering: bool = option(True, help="apply keyword filters")
    cross_program: bool = option(False, help="make cross-program products")
    grating_table: Path | None = option(None, help="JSON grating priority table (default: shipped)")
    target_name: str = option("", help="target name of cross-program products")


@dataclass(frozen=True)
class CoaddConfig:
    """Everything ``specola coadd`` needs."""

    input: InputSection = field(default_factory=InputSection)
    coadd: CoaddSection = field(default_factory=CoaddSection)
    grid: GridSection = field(default_factory=GridSection)
    reject: RejectSection = field(default_factory=RejectSection)
    stitch: StitchSection = field(default_factory=StitchSection)
    scaling: ScalingSection = field(default_factory=ScalingSection)
    hasp: HaspSection = field(default_factory=HaspSection)
