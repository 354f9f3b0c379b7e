"""Configuration of ``specola lines`` (TOML sections ``[[spectra]]``, ``[[lines]]``, ``[[groups]]``...).

Priors are tables ``{kind = "uniform", low = ..., high = ...}``, ``{kind = "loguniform", low, high}``,
``{kind = "normal", loc, scale}``, ``{kind = "truncnormal", loc, scale, low, high}`` or
``{kind = "fixed", loc}``. Redshift priors are relative to ``fit.redshift``; width priors are intrinsic
FWHM in km/s; flux priors are in the working flux unit times Angstrom (``kind = "auto"``: a wide uniform
prior scaled to the data, ``>= 0`` for emission and absorption lines unless ``positive = false``).

Bounds and locations may be expressions of other parameters' names (``low = "fwhm_narrow + 150"``: the broad
width exceeds the narrow one by 150 km/s), parsed by a small grammar of ``+ - * /``, numbers and names.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..config import option
from ..errors import ConfigError

__all__ = [
    "CalibrationSpec",
    "ContinuumSection",
    "ErrorsSection",
    "FitSection",
    "GroupSpec",
    "LineSpec",
    "LinesConfig",
    "OutputSection",
    "PriorSpec",
    "SpectrumSpec",
]

PRIOR_KINDS = ("auto", "uniform", "loguniform", "normal", "truncnormal", "fixed")
PROFILES = ("gaussian", "lorentzian", "voigt", "laplace", "skewgauss", "gausshermite")
#: Shape parameters of each profile (one per width group, ``<shape>_<group>``), beyond the width group's FWHM.
SHAPES = {"voigt": ("fwhmg",), "skewgauss": ("skew",), "gausshermite": ("h3", "h4")}
GUIDES = ("normal", "multivariate", "lowrank", "delta")


@dataclass(frozen=True)
class PriorSpec:
    """A one-dimensional prior."""

    kind: str = option("auto", choices=PRIOR_KINDS, help="prior family (auto: the default for this parameter)")
    low: float | str = option(0.0, help="lower bound (uniform, loguniform, truncnormal); number or expression")
    high: float | str = option(0.0, help="upper bound (uniform, loguniform, truncnormal); number or expression")
    loc: float | str = option(0.0, help="mean (normal, truncnormal; number or expression) or value (fixed)")
    scale: float = option(1.0, minimum=0.0, help="standard deviation (normal, truncnormal)")

    def __post_init__(self) -> None:
        numbers = not isinstance(self.low, str) and not isinstance(self.high, str)
        if numbers and self.kind in ("uniform", "loguniform", "truncnormal") and not self.high > self.low:
            raise ConfigError(f"{self.kind} prior needs high > low, got low={self.low}, high={self.high}")
        if self.kind in ("normal", "truncnormal") and not self.scale > 0:
            raise ConfigError(f"{self.kind} prior needs scale > 0, got {self.scale}")


@dataclass(frozen=True)
class SpectrumSpec:
    """One input file (every spectrum it holds is fitted, e.g. the three DESI arms)."""

    file: Path | None = option(None, help="spectrum file (any format specola reads; relative to the TOML file)")
    name: str = option("", help="label (default: the file stem, plus the arm)")
    resolution: str = option(
        "file",
        help="'file' (what the file carries; DESI: its resolution matrix), 'constant:R', 'nirspec:DISPERSER[:point]', "
        "'lsf:PATH[:DISPERSER]' (a tabulated LSF kernel), 'none'",
    )
    rscale: str = option("", help="name of a shared resolution-scale token ('' : fixed 1)")
    flux_scale: str = option("", help="name of a flux-scale token ('' : fixed 1)")
    pix_offset: str = option("", help="name of a pixel-offset token ('' : fixed 0)")


@dataclass(frozen=True)
class LineSpec:
    """One line component."""

    name: str = option("", help="bundled line name (see specola.lines.LINES) or any label with wavelength")
    wavelength: float = option(0.0, minimum=0.0, help="rest vacuum wavelength in A (0: from the line list)")
    label: str = option("", help="unique component label (default: name; e.g. Halpha_broad)")
    redshift: str = option("z", help="redshift group (lines in one group share z)")
    width: str = option("narrow", help="width group (lines in one group share the intrinsic FWHM)")
    profile: str = option(
        "gaussian",
        choices=PROFILES,
        help="intrinsic profile (lorentzian: exact Voigt once the LSF is added; voigt: plus an intrinsic Gaussian "
        "fwhmg_<width>; laplace: exponential wings; skewgauss: skew_<width>; gausshermite: h3_<width>, h4_<width>)",
    )
    absorption: bool = option(False, help="an absorption line: the component is subtracted (flux >= 0 is its depth)")
    tie: str = option("", help="label of the line whose flux this one follows (flux = ratio * that flux)")
    ratio: float = option(1.0, help="flux ratio to the tied line")
    positive: bool = option(True, help="restrict the flux to >= 0 (auto prior); false lets it change sign")
    prior: PriorSpec = PriorSpec()


@dataclass(frozen=True)
class GroupSpec:
    """A redshift or width group."""

    name: str = option("", help="group name used by lines")
    kind: str = option(
        "width",
        choices=("redshift", "width", "fwhmg", "skew", "h3", "h4"),
        help="what the group ties (fwhmg, skew, h3, h4: a shape prior of the width group of the same name)",
    )
    prior: PriorSpec = PriorSpec()


@dataclass(frozen=True)
class CalibrationSpec:
    """A calibration token shared by the spectra that name it."""

    name: str = option("", help="token name used by spectra")
    kind: str = option("rscale", choices=("rscale", "flux_scale", "pix_offset"), help="what it calibrates")
    prior: PriorSpec = PriorSpec()


@dataclass(frozen=True)
class ContinuumSection:
    """The continuum under the lines."""

    form: str = option(
        "polynomial",
        choices=("polynomial", "chebyshev", "powerlaw", "blackbody", "bspline"),
        help="continuum form per region (blackbody: temperature Tbb_<r> [K] and scale; bspline: cubic)",
    )
    order: int = option(1, minimum=0, maximum=8, help="polynomial / Chebyshev order")
    knots: int = option(4, minimum=0, maximum=40, help="bspline: uniform interior knots per region (knots + 4 terms)")
    regions: tuple[tuple[float, float], ...] = option((), help="rest-frame [low, high] A windows ([] : auto)")
    share: tuple[str, ...] = option(
        (), help="one name per region (as in regions): regions with one name share one continuum ('' : its own)"
    )
    width_kms: float = option(4000.0, minimum=100.0, help="auto windows: half-width around each line (km/s)")


@dataclass(frozen=True)
class FitSection:
    """Inference settings."""

    redshift: float = option(0.0, minimum=-0.01, help="systemic redshift (0 with a file redshift: taken from it)")
    method: str = option(
        "nuts", choices=("nuts", "laplace", "svi", "map"), help="NUTS, MAP + Laplace approximation, SVI, or MAP alone"
    )
    num_warmup: int = option(300, minimum=1, help="NUTS warm-up steps per chain")
    num_samples: int = option(500, minimum=1, help="posterior draws per chain")
    num_chains: int = option(2, minimum=1, help="chains (run one after another)")
    seed: int = option(0, minimum=0, help="random seed")
    svi_guide: str = option("multivariate", choices=GUIDES, help="SVI autoguide (AutoNormal, ...MultivariateNormal...)")
    svi_steps: int = option(3000, minimum=1, help="SVI optimisation steps")
    svi_learning_rate: float = option(0.01, minimum=0.0, help="SVI Adam learning rate (whitened coordinates)")


@dataclass(frozen=True)
class ErrorsSection:
    """Rescaling of the flux errors per spectrum and window, from a continuum fit away from the lines."""

    rescale: bool = option(False, help="scale each window's errors so a continuum fit has reduced chi2 = 1")
    line_mask_kms: float = option(5000.0, minimum=0.0, help="pixels within this of a line are left out (km/s)")
    min_pixels: int = option(10, minimum=3, help="windows with fewer unmasked pixels keep their errors")


@dataclass(frozen=True)
class OutputSection:
    """What to write."""

    figures: bool = option(True, help="write the fit and corner figures")
    corner: tuple[str, ...] = option((), help="parameters of the corner plot ([] : redshifts, widths, fluxes)")


@dataclass(frozen=True)
class LinesConfig:
    """Everything ``specola lines`` needs."""

    spectra: tuple[SpectrumSpec, ...] = option((), help="input spectra ([[spectra]] tables)")
    lines: tuple[LineSpec, ...] = option((), help="line components ([[lines]] tables)")
    groups: tuple[GroupSpec, ...] = option((), help="redshift and width groups ([[groups]] tables)")
    calibration: tuple[CalibrationSpec, ...] = option((), help="calibration tokens ([[calibration]] tables)")
    continuum: ContinuumSection = ContinuumSection()
    fit: FitSection = FitSection()
    errors: ErrorsSection = ErrorsSection()
    output: OutputSection = OutputSection()

    def __post_init__(self) -> None:
        e, c = self.errors, self.continuum
        if e.rescale and not c.regions and e.line_mask_kms >= c.width_kms:
            raise ConfigError(
                f"errors.line_mask_kms = {e.line_mask_kms:g} masks the whole +-{c.width_kms:g} km/s continuum windows "
                "(continuum.width_kms): no pixel is left to rescale the errors; lower errors.line_mask_kms or widen "
                "continuum.width_kms"
            )

    @property
    def instrument(self):
        """The spectra and calibration tokens as an :class:`~specola.lines.instrument.InstrumentConfig`."""
        from .instrument import InstrumentConfig

        return InstrumentConfig(self.spectra, self.calibration)
