"""Turn a :class:`StellarConfig` into data, a pre-binned model, priors and a posterior (everything but sampling)."""

from __future__ import annotations

import dataclasses
import logging
import math
from dataclasses import dataclass
from pathlib import Path

import astropy.units as u
import numpy as np

from ..data import data_path
from ..errors import ConfigError, GridError
from ..grids import StellarGrid
from ..grids import load_grid as load_grid_file
from ..grids.registry import resolve_format
from ..io import read, read_series
from ..spectrum import Spectrum, SpectrumSeries
from .config import GridOptions, StellarConfig
from .likelihood import LogPosterior
from .model import BinnedModel, teff_logg_grid
from .parameters import PARAMETERS, Context
from .preprocess import Preprocessed, apply_wavelength_selection, fscale_guess, median_spectrum
from .priors import ParameterSpace, Prior

__all__ = [
    "BUNDLED_GRID",
    "BUNDLED_SPECTRUM",
    "Setup",
    "build_space",
    "fitted_names",
    "load_grid",
    "logg_from_mass_radius",
    "prepare",
    "with_parameters",
]

log = logging.getLogger(__name__)

#: Bundled inputs used when the config leaves the paths empty.
BUNDLED_GRID = ("grids", "btsettl08_prism_trappist1.h5")
BUNDLED_SPECTRUM = ("spectra", "trappist1_nirspec_prism_outoftransit.csv")


@dataclass
class Setup:
    """Everything a sampler needs, built once from the config."""

    config: StellarConfig
    pre: Preprocessed
    grid: StellarGrid
    model: BinnedModel
    posterior: LogPosterior
    space: ParameterSpace
    fscale_guess: float
    start: np.ndarray
    grid_label: str


def load_grid(config: StellarConfig) -> StellarGrid:
    """Read the model grid, select the configured sub-grid and reduce it to (Teff, logg)."""
    path = config.inputs.grid_path or data_path(*BUNDLED_GRID)
    g = config.grid
    entry, _ = resolve_format(path, None)
    grid = load_grid_file(path, **(_peer_grid_options(path, g) if entry.name == "peer_hdf5" else {}))
    ranges = {}
    for opt, axis in (("teff_range", "Teff"), ("logg_range", "logg")):
        value = getattr(g, opt)
        if not value:
            continue
        if len(value) != 2 or value[1] < value[0]:
            raise ConfigError(f"grid.{opt} must be [min, max], got {list(value)}")
        a = grid.axes[axis]
        lo, hi = max(value[0], a[0]), min(value[1], a[-1])
        if lo > hi:
            raise ConfigError(f"grid.{opt} {list(value)} does not overlap the grid's {axis} ({a[0]:g} to {a[-1]:g})")
        ranges[axis] = (lo, hi)
    if ranges:
        grid = grid.select(**ranges)
    return teff_logg_grid(grid, config.star.feh)


def _peer_grid_options(path: str, g: GridOptions) -> dict:
    """Axes and wavelengths of an exotune grid file (which stores none) from the ``grid`` options."""
    missing = [
        f"grid.{name} (peer {peer})"
        for name, peer in (
            ("teff_range", "Teff_range"),
            ("teff_step", "Teffstep"),
            ("logg_range", "logg_range"),
            ("logg_step", "loggstep"),
            ("file_resolution", "resPower_target"),
        )
        if not getattr(g, name)
    ]
    if missing:
        raise ConfigError(
            f"{path} is an exotune grid file, which stores no axes: give {', '.join(missing)} as the grid was made"
        )
    options = {
        "teff_range": g.teff_range,
        "teff_step": g.teff_step,
        "logg_range": g.logg_range,
        "logg_step": g.logg_step,
        "resolution": g.file_resolution,
    }
    if g.file_wave_range:
        options["wave_range"] = g.file_wave_range
    return options


def fitted_names(config: StellarConfig) -> list[str]:
    """Names of the fitted parameters implied by the ``fit`` switches and ``priors.log_fractions``.

    Read off :data:`specola.stellar.parameters.PARAMETERS` (in its order).
    """
    f = config.fit
    log_choice = dict(zip(("fspot", "ffac"), config.priors.log_fractions, strict=True))
    names = []
    for p in PARAMETERS:
        if not getattr(f, p.switch) or (p.requires and not any(getattr(f, r) for r in p.requires)):
            continue
        if p.base in log_choice and (p.name != p.base) != log_choice[p.base]:
            continue
        names.append(p.name)
    if not names:
        raise ConfigError("nothing to fit: every fit.* switch is off")
    return names


#: Gravitational constant times the solar mass [cm^3 s^-2] and the solar radius [cm] (IAU 2015 nominal values).
_GM_SUN_CGS = 1.3271244e26
_R_SUN_CM = 6.957e10


def logg_from_mass_radius(mass: tuple[float, ...], radius: tuple[float, ...]) -> tuple[float, float]:
    """``log10 g`` [cgs] and its 1-sigma error from ``[mean, std]`` mass [Msun] and radius [Rsun].

    Examples
    --------
    >>> m, s = logg_from_mass_radius((0.0898, 0.0023), (0.1192, 0.0013))  # TRAPPIST-1 (Agol et al. 2021)
    >>> round(m, 3), round(s, 3)
    (5.239, 0.015)
    """
    if len(mass) != 2 or len(radius) != 2 or mass[0] <= 0 or radius[0] <= 0:
        raise ConfigError(
            "priors.logg_from_mass_radius needs star.mass = [mean, std] (Msun) and star.radius = [mean, std] (Rsun), "
            f"got {list(mass)} and {list(radius)}"
        )
    g = _GM_SUN_CGS * mass[0] / (radius[0] * _R_SUN_CM) ** 2
    err = math.hypot(mass[1] / mass[0], 2.0 * radius[1] / radius[0]) / math.log(10.0)
    return math.log10(g), max(err, 1e-4)


def _check_inside(name: str, lo: float, hi: float, allowed: tuple[float, float], what: str) -> None:
    if lo < allowed[0] - 1e-9 or hi > allowed[1] + 1e-9:
        raise ConfigError(
            f"priors.uniform.{name} = [{lo:g}, {hi:g}] reaches outside the grid ({what} allowed: "
            f"{allowed[0]:g} to {allowed[1]:g}); narrow the prior or use a wider grid (inputs.grid_path)"
        )


def build_space(
    config: StellarConfig,
    names: list[str],
    teff_range: tuple[float, float],
    logg_range: tuple[float, float],
    log_fscale: float,
) -> ParameterSpace:
    """Priors and fixed values for the fitted ``names`` (see :mod:`specola.stellar.priors`)."""
    p, s = config.priors, config.star
    t0, t1 = teff_range
    g0, g1 = logg_range
    ctx = Context(config, (t0, t1), (g0, g1), log_fscale)
    logg_phot = ctx.logg_phot
    fixed = {q.base: q.fixed(ctx) for q in PARAMETERS if q.name == q.base}
    default = {q.name: tuple(q.bound(ctx)) for q in PARAMETERS}
    uniform, gaussian = dict(p.uniform or {}), dict(p.gaussian or {})
    if p.logg_from_mass_radius and "logg_phot" in names:
        if "logg_phot" in gaussian:
            raise ConfigError(
                "priors.gaussian.logg_phot and priors.logg_from_mass_radius both set a logg prior; keep one"
            )
        gaussian["logg_phot"] = list(logg_from_mass_radius(s.mass, s.radius))
        log.info("logg_phot prior from mass and radius: N(%.3f, %.3f)", *gaussian["logg_phot"])
    for table, label in ((uniform, "uniform"), (gaussian, "gaussian")):
        for key in table:
            if key not in default:
                raise ConfigError(f"priors.{label}.{key}: unknown parameter; choose from {', '.join(default)}")
            if key not in names:
                log.warning("priors.%s.%s is ignored: %s is not fitted", label, key, key)
    bounds = {n: tuple(uniform.get(n, default[n])) for n in names}
    # the photosphere's reachable range decides which heterogeneity offsets the grid can hold
    tphot = bounds.get("Tphot", (s.teff, s.teff))
    gphot = bounds.get("logg_phot", (logg_phot, logg_phot))
    for n, (lo, hi) in bounds.items():
        if n in uniform:
            if n == "Tphot":
                _check_inside(n, lo, hi, (t0, t1), "Teff")
            elif n == "logg_phot":
                _check_inside(n, lo, hi, (g0, g1), "logg")
            elif n == "deltaTspot":
                _check_inside(n, lo, hi, (t0 - tphot[1], 0.0), "Tspot - Tphot")
            elif n == "deltaTfac":
                _check_inside(n, lo, hi, (0.0, t1 - tphot[0]), "Tfac - Tphot")
            elif n == "dlogg_het":
                _check_inside(n, lo, hi, (g0 - gphot[1], g1 - gphot[0]), "logg_het - logg_phot")
            elif n in ("fspot", "ffac"):
                _check_inside(n, lo, hi, (0.0, 1.0), "covering fraction")
            elif n in ("log_fspot", "log_ffac"):
                _check_inside(n, lo, hi, (-math.inf, 0.0), "log10 covering fraction")
    priors = {}
    for n in names:
        lo, hi = bounds[n]
        if n in gaussian:
            mean, std = gaussian[n]
            prior = Prior("gaussian", lo, hi, float(mean), float(std))
            if prior.log_density(min(max(mean, lo), hi), lo, hi) == -math.inf:
                raise ConfigError(f"priors.gaussian.{n} = [{mean}, {std}] has no mass inside [{lo:g}, {hi:g}]")
            if n in ("Tphot", "logg_phot") and not lo <= mean <= hi:
                raise ConfigError(
                    f"priors.gaussian.{n} mean {mean:g} lies outside the grid ({lo:g} to {hi:g}); "
                    "change the prior or use a wider grid (inputs.grid_path)"
                )
            priors[n] = prior
        else:
            priors[n] = Prior("uniform", float(lo), float(hi))
    space = ParameterSpace(names, fixed, priors, teff_range, logg_range, p.photosphere_dominant)
    space.validate_defaults()
    return space


def _load_input(config: StellarConfig, data: Spectrum | SpectrumSeries | None = None) -> Preprocessed:
    inp = config.inputs
    if isinstance(data, SpectrumSeries):
        spectrum, excluded = median_spectrum(data, config.preprocessing.time_ranges_masked)
        return Preprocessed(spectrum, spectrum, data, excluded)
    if isinstance(data, Spectrum):
        return Preprocessed(data, data)
    if inp.from_timeseries:
        if not inp.timeseries_path:
            raise ConfigError("inputs.from_timeseries is true but inputs.timeseries_path is empty")
        series = read_series(inp.timeseries_path, inp.timeseries_format or None)
        spectrum, excluded = median_spectrum(series, config.preprocessing.time_ranges_masked)
        return Preprocessed(spectrum, spectrum, series, excluded)
    path = inp.spectrum_path or str(data_path(*BUNDLED_SPECTRUM))
    spectrum = read(path, inp.spectrum_format or None)
    return Preprocessed(spectrum, spectrum)


def prepare(config: StellarConfig, data: Spectrum | SpectrumSeries | None = None) -> Setup:
    """Read the inputs, pre-bin the grid onto the data, and build priors and the posterior.

    Parameters
    ----------
    config : StellarConfig
        The run configuration.
    data : Spectrum or SpectrumSeries, optional
        Data given in memory instead of ``inputs.spectrum_path`` / ``inputs.timeseries_path``.

    Returns
    -------
    Setup
    """
    grid = load_grid(config)
    pre = _load_input(config, data)
    grid_wave = (
        float((grid.low[0] * grid.wave_unit).to_value(u.um)),
        float((grid.high[-1] * grid.wave_unit).to_value(u.um)),
    )
    pre.fitted = apply_wavelength_selection(
        pre.spectrum, config.preprocessing.wave_ranges_masked, config.grid.wave_range, grid_wave, grid.flux_unit
    )
    resolution = config.grid.instrument_resolution or None
    try:
        binned = grid.bin_to(pre.fitted, resolution=resolution)
    except GridError as exc:
        raise GridError(f"{exc} (grid.wave_range)") from None
    model = BinnedModel(binned)
    spec = pre.fitted
    s = config.star
    logg_phot = s.logg if s.logg_phot_source == "star" else s.logg_phot_value
    teff_range, logg_range = model.teff_range, model.logg_range
    if not teff_range[0] <= s.teff <= teff_range[1]:
        raise ConfigError(f"star.teff = {s.teff:g} K is outside the grid ({teff_range[0]:g}-{teff_range[1]:g} K)")
    if not logg_range[0] <= logg_phot <= logg_range[1]:
        raise ConfigError(
            f"the default logg_phot {logg_phot:g} is outside the grid ({logg_range[0]:g}-{logg_range[1]:g}); "
            "change star.logg_phot_value or star.logg_phot_source"
        )
    phot = model.grid.at(s.teff, logg_phot)
    data = np.where(spec.good, spec.flux.value, np.nan)
    guess = fscale_guess(data, phot, spec.wavelength.value, config.preprocessing.fscale_band)
    label = config.grid.label or Path(config.inputs.grid_path or BUNDLED_GRID[-1]).stem
    pre.notes.update(fscale_guess=guess, fscale_model=phot)
    return with_parameters(Setup(config, pre, grid, model, None, None, guess, None, label), config)


def with_parameters(setup: Setup, config: StellarConfig) -> Setup:
    """The same data, grid and pre-binned model with the parameter space (fit switches, priors) of ``config``.

    Used by :func:`prepare` and by ``--compare``, which reads and pre-bins everything once and varies only this.
    """
    names = fitted_names(config)
    space = build_space(config, names, setup.model.teff_range, setup.model.logg_range, math.log10(setup.fscale_guess))
    spec = setup.pre.fitted
    posterior = LogPosterior(setup.model, spec.flux.value, spec.error.value, spec.good, space)
    start = space.start()
    if not np.isfinite(posterior(start)):
        start = space.transform(np.full(space.ndim, 0.5))
    return dataclasses.replace(setup, config=config, posterior=posterior, space=space, start=start)
