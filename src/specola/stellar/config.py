"""Configuration of ``specola stellar``: sections, options, and the peer tool's names.

Sections mirror the peer (exotune) TOML with clearer names; a peer TOML file
(``[choice_of_inputs]``, ``[MCMC_params]``, ...) and peer-style overrides
(``-fitspot=0``) are translated on load (see :data:`PEER_OPTIONS` and
docs/stellar.md for the mapping).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..config import apply_overrides, from_dict, option, read_toml, resolve_paths
from ..errors import ConfigError

log = logging.getLogger(__name__)

__all__ = ["PEER_OPTIONS", "StellarConfig", "load_stellar_config"]

_Ranges = tuple[tuple[float, float], ...]


@dataclass(frozen=True)
class Inputs:
    """Where the data and the model grid come from (peer: ``choice_of_inputs``)."""

    label: str = option("trappist1", help="short label of the observation, used in the run name")
    from_timeseries: bool = option(False, help="start from a time series of spectra instead of one spectrum")
    timeseries_path: Path | None = option(None, help="time series file (SpectrumSeries HDF5/FITS, Eureka! S3 HDF5)")
    timeseries_format: str = option("", help="reader for the time series ('' = sniff the format)")
    save_median_spectrum: bool = option(False, help="save the median out-of-transit spectrum")
    median_spectrum_path: Path | None = option(None, help="where to save it (unset = inside the run folder)")
    spectrum_path: Path | None = option(None, help="spectrum file (unset = bundled TRAPPIST-1 NIRSpec PRISM spectrum)")
    spectrum_format: str = option("", help="reader name ('' = sniff the format)")
    grid_path: Path | None = option(None, help="stellar model grid file (unset = bundled BT-Settl08 PRISM grid)")
    output_dir: Path = option(Path("stellar_results"), help="folder in which the run folder is created")
    compare_models: bool = option(
        False, help="fit photosphere, +spots, +faculae, +both and compare them (CLI --compare)"
    )
    config_layout: str = option(
        "specola", choices=("specola", "exotune"), help="layout of the TOML file read (set when it is loaded)"
    )


@dataclass(frozen=True)
class Preprocessing:
    """Median spectrum and masks (peer: ``preprocessing``)."""

    preprocess_only: bool = option(False, help="make the preprocessing figures and stop (no sampling)")
    mask_label: str = option("nomask", help="label of the masks used, part of the run name")
    kernel_size: int = option(19, minimum=0, help="median-filter kernel of the plotted light curve (0 = none)")
    time_ranges_masked: _Ranges = option((), help="[[start, end], ...] times left out of the median spectrum")
    wave_ranges_masked: _Ranges = option((), help="[[start, end], ...] wavelengths (micron) left out of the fit")
    fscale_band: tuple[float, float] = option((2.5, 3.0), minimum=0, help="band (micron) for the Fscale guess")


@dataclass(frozen=True)
class Saving:
    """What to write (peer: ``saving_options``)."""

    save_fit: bool = option(True, help="write the tables and figures of the fit")
    suffix: str = option("", help="suffix of the run folder name")
    figure_format: str = option("png", choices=("png", "pdf"), help="format of the figures")


@dataclass(frozen=True)
class Star:
    """Stellar parameters and the defaults of unfitted parameters (peer: ``stellar_params``)."""

    teff: float = option(2566.0, minimum=0, help="effective temperature [K]: default Tphot")
    feh: float = option(0.04, help="[Fe/H] used when the grid has a metallicity axis")
    logg: float = option(5.2396, help="log g of the star [cgs]")
    logg_phot_source: str = option("value", choices=("value", "star"), help="default logg_phot: value or star.logg")
    logg_phot_value: float = option(5.0, help="default logg_phot when logg_phot_source = 'value'")
    delta_tspot: float = option(-150.0, help="Tspot - Tphot [K] when not fitted (and starting value)")
    delta_tfac: float = option(150.0, help="Tfac - Tphot [K] when not fitted (and starting value)")
    mass: tuple[float, ...] = option((), minimum=0, help="[mean, std] stellar mass [Msun] for the logg prior")
    radius: tuple[float, ...] = option((), minimum=0, help="[mean, std] stellar radius [Rsun] for the logg prior")
    fspot_start: float = option(0.02, minimum=0, maximum=1, help="starting spot fraction")
    ffac_start: float = option(0.05, minimum=0, maximum=1, help="starting faculae fraction")


@dataclass(frozen=True)
class GridOptions:
    """Model grid selection (peer: ``stellar_models``)."""

    label: str = option("", help="grid label in the run name ('' = the grid's own name)")
    teff_range: tuple[float, ...] = option(
        (), help="[min, max] Teff of the sub-grid used ([] = whole grid); for an exotune grid file, its Teff axis"
    )
    logg_range: tuple[float, ...] = option(
        (), help="[min, max] logg of the sub-grid used ([] = whole grid); for an exotune grid file, its logg axis"
    )
    wave_range: tuple[float, ...] = option((), help="[min, max] wavelength (micron) fitted ([] = all data)")
    instrument_resolution: float = option(0.0, minimum=0, help="convolve models to this R first (0 = no)")
    teff_step: float = option(0.0, minimum=0, help="Teff step of an exotune grid file (peer Teffstep; 0 = none)")
    logg_step: float = option(0.0, minimum=0, help="logg step of an exotune grid file (peer loggstep; 0 = none)")
    file_resolution: float = option(
        0.0, minimum=0, help="R an exotune grid file was made at (peer resPower_target; 0 = none)"
    )
    file_wave_range: tuple[float, ...] = option(
        (), help="[min, max] micron an exotune grid file was made on (peer stellar_models.wave_range)"
    )


@dataclass(frozen=True)
class Sampling:
    """Sampler settings (peer: ``MCMC_params``)."""

    sampler: str = option("emcee", choices=("emcee", "dynesty"), help="MCMC (emcee) or nested sampling (dynesty)")
    parallel: bool = option(False, help="evaluate walkers in worker processes")
    ncpu: int = option(2, minimum=1, help="worker processes when parallel")
    nsteps: int | str = option(
        "auto", minimum=1, help='MCMC steps per walker, or "auto": run until converged (up to nsteps_max)'
    )
    nsteps_max: int = option(20000, minimum=100, help='cap of nsteps = "auto"')
    burnin_fraction: float = option(0.6, minimum=0, maximum=0.99, help="fraction of steps discarded as burn-in")
    walkers_per_dim: int = option(20, minimum=2, help="walkers per fitted parameter (at least 2 * ndim + 2 total)")
    seed: int = option(42, minimum=0, help="random seed (recorded in run.json)")
    optimize_start: bool = option(True, help="start the walkers around the maximum a posteriori estimate")
    moves: str = option("kde+de", choices=("kde+de", "de+snooker", "stretch"), help="emcee proposal mixture")
    engine: str = option(
        "numpy",
        choices=("numpy", "emcee"),
        help="ensemble loop: vectorised NumPy (same moves, no per-walker Python) or emcee's EnsembleSampler",
    )
    unconstrained: bool = option(True, help="emcee samples logit coordinates of the prior intervals (exact)")
    nlive: int = option(400, minimum=10, help="live points (dynesty)")
    dlogz: float = option(0.1, minimum=0, help="evidence tolerance (dynesty)")
    max_models: int = option(2000, minimum=10, help="posterior samples turned into model spectra (blobs)")
    progress: bool = option(True, help="show a progress bar (silent off a terminal)")

    def __post_init__(self) -> None:
        if isinstance(self.nsteps, str) and self.nsteps != "auto":
            raise ConfigError(f'sampling.nsteps: expected an integer or "auto", got {self.nsteps!r}')


@dataclass(frozen=True)
class Fit:
    """Which parameters are fitted (peer: the ``fit*`` switches of ``MCMC_params``)."""

    spots: bool = option(True, help="fit the spot covering fraction (peer fitspot)")
    faculae: bool = option(True, help="fit the faculae covering fraction (peer fitfac)")
    het_temperatures: bool = option(True, help="fit Tspot and Tfac (peer fitThet)")
    tphot: bool = option(True, help="fit Tphot (peer fitTphot)")
    logg_phot: bool = option(True, help="fit logg of the photosphere (peer fitlogg_phot)")
    logg_het: bool = option(True, help="fit logg of the heterogeneities (peer fitlogg_het)")
    fscale: bool = option(True, help="fit the flux scale (peer fitFscale)")
    error_inflation: bool = option(True, help="fit an error inflation factor (peer fiterrInfl)")


@dataclass(frozen=True)
class Priors:
    """Priors (peer: ``priors``); uniform bounds are clipped to what the grid allows."""

    gaussian: Any = option(None, help="{name = [mean, std]}: truncated Gaussian priors")
    uniform: Any = option(None, help="{name = [low, high]}: uniform priors replacing the defaults")
    log_fractions: tuple[bool, bool] = option((False, False), help="log-uniform prior on [fspot, ffac]")
    log_fraction_range: tuple[float, float] = option((-5.0, 0.0), maximum=0, help="log10 bounds of those priors")
    fraction_max: float = option(0.9, minimum=0, maximum=1, help="upper bound of linear fspot / ffac priors")
    photosphere_dominant: bool = option(
        True, help="require 1 - fspot - ffac >= fspot and ffac (no swapped roles; false = the peer's prior)"
    )
    logg_from_mass_radius: bool = option(
        False, help="Gaussian prior on logg_phot from star.mass and star.radius (log g = log G M / R^2)"
    )
    min_delta_t: float = option(100.0, minimum=0, help="spots at least this much cooler, faculae hotter [K]")
    log_fscale_halfwidth: float = option(1.0, minimum=0, help="logFscale prior: guess +- this (dex)")
    error_inflation_max: float = option(50.0, minimum=1, help="upper bound of the error inflation factor")

    def __post_init__(self) -> None:
        for name in ("gaussian", "uniform"):
            table = getattr(self, name)
            if table is None:
                continue
            if not isinstance(table, Mapping):
                raise ConfigError(f"priors.{name}: expected a table {{parameter = [a, b]}}, got {table!r}")
            for key, pair in table.items():
                ok = isinstance(pair, list | tuple) and len(pair) == 2
                ok = ok and all(isinstance(x, int | float) and math.isfinite(x) for x in pair)
                if not ok:
                    raise ConfigError(f"priors.{name}.{key}: expected [a, b] numbers, got {pair!r}")
                if name == "gaussian" and pair[1] <= 0:
                    raise ConfigError(f"priors.gaussian.{key}: the standard deviation must be > 0, got {pair[1]}")
                if name == "uniform" and pair[1] <= pair[0]:
                    raise ConfigError(f"priors.uniform.{key}: need low < high, got {list(pair)}")


@dataclass(frozen=True)
class Plotting:
    """Figures (peer: ``plotting``)."""

    pad: float = option(0.25, minimum=0, help="wavelength padding of spectrum plots (micron)")
    resolving_power: float = option(300.0, minimum=1, help="R of the plotted model spectra (peer target_resP)")


@dataclass(frozen=True)
class StellarConfig:
    """Full configuration of a stellar retrieval."""

    inputs: Inputs = field(default_factory=Inputs)
    preprocessing: Preprocessing = field(default_factory=Preprocessing)
    saving: Saving = field(default_factory=Saving)
    star: Star = field(default_factory=Star)
    grid: GridOptions = field(default_factory=GridOptions)
    sampling: Sampling = field(default_factory=Sampling)
    fit: Fit = field(default_factory=Fit)
    priors: Priors = field(default_factory=Priors)
    plotting: Plotting = field(default_factory=Plotting)


#: Peer option -> specola option (section.key); values are converted by :func:`_peer_value`.
PEER_OPTIONS = {
    "label_obs": "inputs.label",
    "start_from_timeseries": "inputs.from_timeseries",
    "save_median_spectrum": "inputs.save_median_spectrum",
    "path_save_median_spectrum": "inputs.median_spectrum_path",
    "path_to_stellar_spec_ts": "inputs.timeseries_path",
    "path_to_spec": "inputs.spectrum_path",
    "spec_format": "inputs.spectrum_format",
    "stmodfile": "inputs.grid_path",
    "optimize_param": "preprocessing.preprocess_only",
    "obsmaskpattern": "preprocessing.mask_label",
    "kern_size": "preprocessing.kernel_size",
    "jd_range_mask": "preprocessing.time_ranges_masked",
    "wave_range_mask": "preprocessing.wave_ranges_masked",
    "save_fit": "saving.save_fit",
    "res_suffix": "saving.suffix",
    "Teffstar": "star.teff",
    "feh": "star.feh",
    "loggstar": "star.logg",
    "logg_phot_source": "star.logg_phot_source",
    "logg_phot_value": "star.logg_phot_value",
    "label_grid": "grid.label",
    "logg_range": "grid.logg_range",
    "Teff_range": "grid.teff_range",
    "wave_range": "grid.file_wave_range",
    "Teffstep": "grid.teff_step",
    "loggstep": "grid.logg_step",
    "resPower_target": "grid.file_resolution",
    "parallel": "sampling.parallel",
    "ncpu": "sampling.ncpu",
    "nsteps": "sampling.nsteps",
    "frac_burnin": "sampling.burnin_fraction",
    "fitspot": "fit.spots",
    "fitfac": "fit.faculae",
    "fitThet": "fit.het_temperatures",
    "fitTphot": "fit.tphot",
    "fitlogg_phot": "fit.logg_phot",
    "fitlogg_het": "fit.logg_het",
    "fitFscale": "fit.fscale",
    "fiterrInfl": "fit.error_inflation",
    "fitLogfSpotFac": "priors.log_fractions",
    "hyperp_logpriors": "priors.log_fraction_range",
    "pad": "plotting.pad",
    "target_resP": "plotting.resolving_power",
}
#: The peer's floor of the default Teff range of its grids [K] (``Teff_range = "default"``).
PEER_TEFF_FLOOR = 2300.0
_PEER_SECTIONS = {"choice_of_inputs", "stellar_params", "stellar_models", "MCMC_params", "saving_options"}


def _peer_value(key: str, value: Any, star_teff: float) -> Any:
    if key == "logg_phot_source":
        return {"loggstar": "star"}.get(value, value)
    if key == "Teff_range" and isinstance(value, str) and value.lower() == "default":
        return [max(star_teff - 1000.0, PEER_TEFF_FLOOR), star_teff + 1000.0]
    if key in ("fitLogfSpotFac",) and isinstance(value, list):
        return [bool(v) for v in value]
    if (
        key in ("jd_range_mask", "wave_range_mask")
        and isinstance(value, list)
        and value
        and not isinstance(value[0], list)
    ):
        return [value]
    return value


def _gaussian_from_peer(names: Any, hyper: Any) -> dict[str, list[float]]:
    if isinstance(names, str):
        names = [n for n in names.replace(",", "_").split("_") if n] if names else []
    if isinstance(hyper, str):
        hyper = [[float(x) for x in part.split("_")] for part in hyper.split("|") if part]
    if hyper and not isinstance(hyper[0], list | tuple):
        hyper = [hyper]
    if len(names) != len(hyper or []):
        raise ConfigError(f"priors: gaussparanames {names!r} and hyperp_gausspriors {hyper!r} differ in length")
    rename = {"loggphot": "logg_phot", "dlogghet": "dlogg_het"}
    return {rename.get(n, n): list(map(float, h)) for n, h in zip(names, hyper or [], strict=True)}


def translate_peer(data: Mapping[str, Any]) -> dict[str, Any]:
    """Translate a peer (exotune) TOML mapping into specola's sections."""
    out: dict[str, Any] = {}
    flat = {}
    for section, table in data.items():
        if isinstance(table, Mapping):
            flat.update(table)
        else:
            flat[section] = table
    teff = float(flat.get("Teffstar", Star.teff))
    gauss_names, gauss_hyper = flat.pop("gaussparanames", None), flat.pop("hyperp_gausspriors", None)
    for key, value in flat.items():
        if key not in PEER_OPTIONS:
            raise ConfigError(f"unknown peer option '{key}'; known: {', '.join(sorted(PEER_OPTIONS))}")
        section, name = PEER_OPTIONS[key].split(".")
        out.setdefault(section, {})[name] = _peer_value(key, value, teff)
    if gauss_names:
        out.setdefault("priors", {})["gaussian"] = _gaussian_from_peer(gauss_names, gauss_hyper)
    if "wave_range" in flat:
        log.info(
            "exotune wave_range %s is the wavelength range its grid file was made on (as exotune uses it), "
            "not a fitted range; set grid.wave_range to restrict the fitted wavelengths",
            list(flat["wave_range"]),
        )
    # the peer's prior lets spots or faculae cover more of the disk than the photosphere
    out.setdefault("priors", {})["photosphere_dominant"] = False
    out.setdefault("inputs", {})["config_layout"] = "exotune"
    log.warning(
        "exotune TOML: using the peer's prior (priors.photosphere_dominant = false: spots or faculae may cover "
        "more of the disk than the photosphere, so the roles can swap); set priors.photosphere_dominant = true "
        "for specola's prior"
    )
    return out


def _translate_overrides(overrides: Mapping[str, Any]) -> dict[str, Any]:
    out = {}
    for key, value in overrides.items():
        if key in PEER_OPTIONS:
            out[PEER_OPTIONS[key]] = _peer_value(key, value, Star.teff)
        else:
            out[key] = value
    return out


_PATH_OPTIONS = ("timeseries_path", "median_spectrum_path", "spectrum_path", "grid_path")


def _drop_empty_paths(data: Mapping[str, Any]) -> dict[str, Any]:
    """``""`` path options (the peer's way, and older specola files, to say "none") are left unset."""
    data = dict(data)
    inputs = data.get("inputs")
    if isinstance(inputs, Mapping):
        data["inputs"] = {k: v for k, v in inputs.items() if not (k in _PATH_OPTIONS and v == "")}
    return data


def load_stellar_config(path: str | Path | None = None, overrides: Mapping[str, Any] | None = None) -> StellarConfig:
    """Read a stellar config (specola's or the peer's TOML layout) and apply overrides.

    Relative paths in the file are resolved against the file's folder, those given as overrides against
    the working directory.

    Parameters
    ----------
    path : str or Path, optional
        TOML file; None starts from the defaults.
    overrides : mapping, optional
        ``{"section.key": value}``, ``{"key": value}`` or peer names (``{"fitspot": 0}``).

    Returns
    -------
    StellarConfig
    """
    data: dict[str, Any] = {}
    if path is not None:
        path = Path(path)
        data = read_toml(path)
        if set(data) & _PEER_SECTIONS or ("priors" in data and "gaussparanames" in data["priors"]):
            data = translate_peer(data)
        data = resolve_paths(StellarConfig, _drop_empty_paths(data), path.resolve().parent)
    over = {k: v for k, v in _translate_overrides(overrides or {}).items() if v != "" or not k.endswith("_path")}
    merged = apply_overrides(StellarConfig, data, over)
    return from_dict(StellarConfig, resolve_paths(StellarConfig, merged, Path.cwd()))
