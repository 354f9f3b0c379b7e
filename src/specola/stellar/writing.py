"""Write a :class:`~specola.stellar.result.StellarResult` into a run folder: tables, arrays, figures."""

from __future__ import annotations

import io
import json
import logging
from typing import TYPE_CHECKING, Any

import numpy as np
from astropy.table import Table

from ..runs import RunFolder
from . import plots

if TYPE_CHECKING:
    from .result import StellarResult

__all__ = ["write_preprocessing", "write_result"]

log = logging.getLogger(__name__)


def _table(run: RunFolder, name: str, table: Table) -> str:
    buf = io.StringIO()
    table.write(buf, format="ascii.csv")
    run.write_text(name, buf.getvalue())
    return name


def _json(run: RunFolder, name: str, data: dict[str, Any]) -> str:
    run.write_text(name, json.dumps(data, indent=2, default=lambda o: o.item() if hasattr(o, "item") else str(o)))
    return name


def _save(path: Any, func: Any, *args: Any, **kwargs: Any) -> None:
    with open(path, "wb") as fh:  # a file object keeps numpy from appending a suffix to the temporary name
        func(fh, *args, **kwargs)


def _data_dict(result: StellarResult) -> dict[str, np.ndarray]:
    spec = result.setup.pre.fitted
    return {
        "wave": spec.wavelength.value,
        "flux": spec.flux.value,
        "error": spec.error.value,
        "good": result.setup.posterior.good,
    }


def _unit(result: StellarResult) -> str:
    return result.setup.pre.fitted.flux_unit.to_string("latex_inline")


def write_preprocessing(result: StellarResult, run: RunFolder, fmt: str = "png") -> list[str]:
    """Preprocessing figures (time selection, wavelength selection, Fscale guess) and the median spectrum."""
    setup, cfg = result.setup, result.setup.config
    pre = setup.pre
    written = []
    if pre.series is not None:
        series = pre.series
        times, time_label = _time_axis(series.times, series.n_times)
        white = _white_light(np.where(series.mask, np.nan, series.flux.value), pre.time_excluded)
        fig = plots.plot_time_selection(
            times,
            white,
            pre.time_excluded,
            cfg.preprocessing.time_ranges_masked,
            cfg.preprocessing.kernel_size,
            time_label,
        )
        written.append(run.save_figure(f"select_time.{fmt}", fig).name)
        if cfg.inputs.save_median_spectrum:
            written.append(_save_median(pre.spectrum, run, cfg.inputs.median_spectrum_path))
    spec = pre.spectrum
    fig = plots.plot_wave_selection(
        spec.wavelength.value,
        np.where(spec.good, spec.flux.value, np.nan),
        spec.error.value if spec.error is not None else np.zeros(len(spec)),
        cfg.preprocessing.wave_ranges_masked,
        spec.flux_unit.to_string("latex_inline"),
    )
    written.append(run.save_figure(f"select_wave.{fmt}", fig).name)
    fitted = pre.fitted
    fig = plots.plot_fscale_guess(
        fitted.wavelength.value,
        np.where(fitted.good, fitted.flux.value, np.nan),
        pre.notes["fscale_model"],
        setup.fscale_guess,
        cfg.preprocessing.fscale_band,
        _unit(result),
    )
    written.append(run.save_figure(f"fscale_guess.{fmt}", fig).name)
    return written


def _time_axis(times: Any, n: int) -> tuple[np.ndarray, str]:
    """Plain time values and an axis label naming their unit/scale (integration index without times)."""
    if times is None:
        return np.arange(n, dtype=float), "Integration"
    if hasattr(times, "jd") and hasattr(times, "scale"):  # astropy Time
        return np.asarray(times.jd, float), f"Time [JD, {times.scale.upper()}]"
    if hasattr(times, "unit"):
        return np.asarray(times.value, float), f"Time [{times.unit.to_string()}]"
    return np.asarray(times, float), "Time"


def _white_light(flux: np.ndarray, excluded: np.ndarray) -> np.ndarray:
    """Relative white-light flux of each integration.

    Sum of its valid pixels over the same pixels of the median of the kept integrations (NaN for an
    integration without valid pixels).
    """
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns / integrations
        ref = np.nanmedian(flux[~excluded], axis=0)
    valid = np.isfinite(flux) & np.isfinite(ref)[None, :]
    num = np.where(valid, flux, 0.0).sum(axis=1)
    den = np.where(valid, ref[None, :], 0.0).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(valid.any(axis=1) & (den != 0), num / den, np.nan)


def _save_median(spectrum: Any, run: RunFolder, path: str) -> str:
    """Median spectrum in specola's ECSV/FITS layout (units, errors and mask; ``specola.io.read`` reads it)."""
    from pathlib import Path

    from ..io import write

    if path:
        write(spectrum, Path(path), overwrite=run.overwrite)
        log.info("median spectrum saved to %s", path)
        return str(path)
    write(spectrum, run.path / "median_spectrum.ecsv", overwrite=True)  # atomic itself
    return "median_spectrum.ecsv"


def write_result(result: StellarResult, run: RunFolder, figures: bool = True) -> list[str]:
    """Write everything a retrieval produced; returns the file names."""
    cfg = result.setup.config
    fmt = cfg.saving.figure_format
    written = [_table(run, "initial_parameters.csv", result.initial_parameters())]
    if figures:
        written += write_preprocessing(result, run, fmt)
    if result.sampler is None:
        return written
    out = result.sampler
    params = result.parameters
    # posterior samples: fitted + physical parameters, ln-likelihood and ln-probability in separate columns
    keep = np.arange(len(out.samples))
    if keep.size > 20000:
        keep = keep[:: int(np.ceil(keep.size / 20000))]
    t = Table({name: values[keep] for name, values in params.items()})
    t["lnlike"], t["lnprob"] = out.lnlike[keep], out.lnprob[keep]
    written.append(_table(run, "posterior_samples.csv", t))
    arrays = {"samples": out.samples, "lnlike": out.lnlike, "lnprob": out.lnprob, "names": np.array(result.names)}
    if out.chain is not None:
        arrays.update(chain=out.chain, chain_lnprob=out.chain_lnprob, burnin=out.burnin)
    run.write("chain.npz", lambda p: _save(p, np.savez_compressed, **arrays))
    written.append("chain.npz")
    written.append(_table(run, "bestfit.csv", result.best_fit()))
    stats = result.statistics()
    written.append(_json(run, "bestfit_stats.json", stats))
    scalars = {k: v for k, v in stats.items() if not isinstance(v, list)}
    written.append(_table(run, "bestfit_stats.csv", Table(rows=[scalars])))
    written.append(_json(run, "diagnostics.json", out.diagnostics))
    binned = result.binned_models()
    written.append(_table(run, "models_binned_1_2_3_sigma.csv", binned))
    resp = cfg.plotting.resolving_power
    resolved = result.resolved_models()
    written.append(_table(run, f"models_R{resp:g}_1_2_3_sigma.csv", resolved))
    run.write("blobs.npy", lambda p: _save(p, np.save, result.blobs))
    written.append("blobs.npy")
    if figures:
        written += _figures(result, run, fmt, binned, resolved, params)
    return written


def _figures(
    result: StellarResult, run: RunFolder, fmt: str, binned: Table, resolved: Table, params: dict[str, np.ndarray]
) -> list[str]:
    cfg, out = result.setup.config, result.sampler
    pad, resp, unit = cfg.plotting.pad, cfg.plotting.resolving_power, _unit(result)
    data = _data_dict(result)
    written = []
    if out.chain is not None:
        written.append(
            run.save_figure(
                f"chains_full.{fmt}",
                plots.plot_chains(out.chain, result.names, out.burnin, out.diagnostics.get("verdict")),
            ).name
        )
        written.append(
            run.save_figure(f"chains_after_burnin.{fmt}", plots.plot_chains(out.chain[out.burnin :], result.names)).name
        )
    infl = float(params["errInfl"][result.index_maxlike])
    fig = plots.plot_bestfit(
        data, np.asarray(binned["max_likelihood"]), np.asarray(binned["max_probability"]), infl, pad, unit
    )
    written.append(run.save_figure(f"bestfit_model.{fmt}", fig).name)
    rbands = {c: np.asarray(resolved[c]) for c in resolved.colnames}
    bbands = {c: np.asarray(binned[c]) for c in binned.colnames}
    edges = result.grid_edges()
    flagged = [e["parameter"] for e in edges]
    model = result.setup.model
    grid_edges = {n: (model.teff[0], model.teff[-1]) for n in ("Tphot", "Tspot", "Tfac")}
    grid_edges.update({n: (model.logg[0], model.logg[-1]) for n in ("logg_phot", "logg_het")})
    infl_median = float(np.median(params["errInfl"]))
    for log_wave, tag in ((False, ""), (True, "_logwave")):
        fig = plots.plot_bands(data, rbands["wave"], rbands, pad, log_wave, unit, label=f"(R={resp:g})")
        written.append(run.save_figure(f"spectrum_R{resp:g}{tag}_1_2_3_sigma.{fmt}", fig).name)
        fig = plots.plot_combo(
            data,
            rbands["wave"],
            rbands,
            params,
            pad,
            log_wave,
            unit,
            plots.fitted_components(result.names),
            edges=grid_edges,
            flagged=flagged,
            binned=bbands,
            error_scale=infl_median,
            resolved_label=f"median model at R={resp:g}",
        )
        written.append(run.save_figure(f"combo_R{resp:g}{tag}_1_2_3_sigma.{fmt}", fig).name)
    fig = plots.plot_bands(data, data["wave"], bbands, pad, False, unit, label="(data bins)", steps=True)
    written.append(run.save_figure(f"spectrum_binned_1_2_3_sigma.{fmt}", fig).name)
    if result.setup.space.ndim > 1:
        space = result.setup.space
        bounds = {n: (space.priors[n].low, space.priors[n].high) for n in result.names}
        for n in ("Tphot", "logg_phot"):
            if n in bounds:
                bounds[n] = (*bounds[n], *grid_edges[n])
        fig = plots.plot_corner(
            out.samples,
            result.names,
            result.extra.get("truths"),
            bounds,
            [e["message"] for e in edges] + result.prior_bounds_piled(),
        )
        written.append(run.save_figure(f"corner.{fmt}", fig).name)
    return written
