"""``run(config) -> StellarResult``: one stellar retrieval from a configuration."""

from __future__ import annotations

import dataclasses
import logging
import re
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..runs import run_stage
from ..spectrum import Spectrum, SpectrumSeries
from .config import StellarConfig
from .result import StellarResult
from .sampling import find_start, run_dynesty, run_emcee
from .setup import BUNDLED_GRID, Setup, prepare

if TYPE_CHECKING:
    from .compare import CompareResult

__all__ = ["grid_label", "prior_choice", "run", "run_folder_name", "run_to_folder", "sample"]

log = logging.getLogger(__name__)


def run_folder_name(config: StellarConfig, grid_label: str) -> str:
    """``fit_<label>_<grid>_<mask>[_<suffix>]`` (``preprocess_...`` for preprocessing-only runs)."""
    prefix = "preprocess" if config.preprocessing.preprocess_only else "fit"
    parts = [prefix, config.inputs.label, grid_label, config.preprocessing.mask_label, config.saving.suffix]
    name = "_".join(p for p in parts if p)
    return re.sub(r"[^A-Za-z0-9_.+-]", "-", name)


def prior_choice(config: StellarConfig) -> str:
    """One line naming the covering-fraction prior in use (recorded in run.json and logged)."""
    if config.priors.photosphere_dominant:
        return "photosphere_dominant = true (specola's prior: the photosphere covers most of the disk)"
    return "photosphere_dominant = false (the peer's prior: spots or faculae may cover more than the photosphere)"


def sample(setup: Setup) -> StellarResult:
    """Run the configured sampler on a prepared setup."""
    cfg = setup.config.sampling
    post = setup.posterior
    ncpu = cfg.ncpu if cfg.parallel else 1
    start = setup.start
    log.info("prior: %s", prior_choice(setup.config))
    if cfg.sampler == "emcee":
        if cfg.optimize_start:
            start = find_start(post, start, np.random.default_rng(cfg.seed))
        log.info("emcee: %d parameters %s, nsteps = %s", post.ndim, post.space.names, cfg.nsteps)
        out = run_emcee(
            post,
            start,
            cfg.nsteps,
            cfg.burnin_fraction,
            cfg.walkers_per_dim,
            cfg.seed,
            ncpu,
            cfg.progress,
            moves=cfg.moves,
            engine=cfg.engine,
            unconstrained=cfg.unconstrained,
            nsteps_max=cfg.nsteps_max,
        )
        d = out.diagnostics
        log.info(
            "acceptance %.2f, max autocorrelation time %.1f steps (post-burn-in steps / tau = %.1f), converged: %s",
            d["acceptance_mean"],
            d["autocorr_time_max"],
            d["nsteps_post_burnin_over_tau"],
            d["verdict"]["converged"],
        )
    else:
        log.info("dynesty: %d parameters %s, %d live points", post.ndim, post.space.names, cfg.nlive)
        out = run_dynesty(post, cfg.nlive, cfg.dlogz, cfg.seed, ncpu, cfg.progress)
        log.info("ln Z = %.2f +- %.2f", out.log_evidence, out.log_evidence_error)
    extra = {"start": dict(zip(post.space.names, map(float, start), strict=True))}
    result = StellarResult(setup, out, extra)
    for edge in result.grid_edges():
        log.warning(edge["message"])
    return result


def run(config: StellarConfig, data: Spectrum | SpectrumSeries | None = None) -> StellarResult:
    """Run a stellar retrieval.

    Parameters
    ----------
    config : StellarConfig
        Configuration (see :func:`~specola.stellar.config.load_stellar_config`).
    data : Spectrum or SpectrumSeries, optional
        Data in memory (instead of the input paths of the config).

    Returns
    -------
    StellarResult
        With ``sampler=None`` when ``preprocessing.preprocess_only`` is set.

    Examples
    --------
    >>> from specola.stellar import StellarConfig, run          # doctest: +SKIP
    >>> result = run(StellarConfig())                           # doctest: +SKIP
    >>> result.best_fit()                                       # doctest: +SKIP
    """
    setup = prepare(config, data)
    if config.preprocessing.preprocess_only:
        return StellarResult(setup)
    return sample(setup)


def run_to_folder(
    config: StellarConfig,
    output: str | Path | None = None,
    *,
    overwrite: bool = False,
    data: Spectrum | SpectrumSeries | None = None,
) -> StellarResult | CompareResult:
    """Run and write the result into its run folder (``inputs.output_dir / run_folder_name``).

    The folder is checked before any work and ``run.json`` records the run's status (see
    :func:`specola.runs.run_stage`); with ``inputs.compare_models`` every model variant is fitted
    (:func:`specola.stellar.compare.compare`) and the comparison is written instead.

    Parameters
    ----------
    config : StellarConfig
        Configuration.
    output : str or Path, optional
        Run folder to use instead of the automatic name.
    overwrite : bool
        Replace an earlier run in that folder.
    data : Spectrum or SpectrumSeries, optional
        Data in memory (instead of the input paths of the config).

    Returns
    -------
    StellarResult or CompareResult
    """
    from .compare import compare

    name = run_folder_name(config, grid_label(config))
    if config.inputs.compare_models:
        name = "compare_" + name.removeprefix("fit_")
    folder = Path(output) if output else Path(config.inputs.output_dir) / name
    compute = (lambda: compare(config, data=data)) if config.inputs.compare_models else (lambda: run(config, data))
    result = run_stage(
        "stellar",
        config,
        compute,
        folder,
        overwrite=overwrite,
        seed=config.sampling.seed,
        config_layout=config.inputs.config_layout,
        prior=prior_choice(config),
    )
    result.extra["run_folder"] = str(folder)
    log.info("stellar results in %s", folder)
    return result


def grid_label(config: StellarConfig) -> str:
    """The grid's name in run folder names: ``grid.label``, else the grid file's stem."""
    return config.grid.label or Path(config.inputs.grid_path or BUNDLED_GRID[-1]).stem


def with_overrides(config: StellarConfig, **sections: dict) -> StellarConfig:
    """Copy of ``config`` with options of some sections replaced, e.g. ``fit={"faculae": False}``."""
    changes = {name: dataclasses.replace(getattr(config, name), **values) for name, values in sections.items()}
    return dataclasses.replace(config, **changes)
