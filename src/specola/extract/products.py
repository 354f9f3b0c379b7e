"""Writing an :class:`~specola.extract.run.ExtractResult` into a run folder."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from astropy.table import Table

from ..io import write, write_series
from . import plots

__all__ = ["pixel_spectra_table", "write_products"]


def pixel_spectra_table(result: Any) -> Table:
    """Per-column table (detector column, trace, wavelength, optimal and aperture flux per integration)."""
    t = Table()
    t["column"] = result.columns
    t["trace"] = result.trace.positions.mean(axis=0)
    if result.wavelength is not None:
        t["wavelength"] = result.wavelength
    t["flux"] = result.flux.T
    t["error"] = result.error.T
    t["mask"] = result.mask.T
    t["aperture_flux"] = result.aperture_flux.T
    t["aperture_error"] = result.aperture_error.T
    t["aperture_mask"] = result.aperture_mask.T
    for name in ("flux", "error", "aperture_flux", "aperture_error"):
        t[name].unit = result.unit
    t.meta.update({k: v for k, v in result.meta.items() if isinstance(v, str | int | float | bool)})
    return t


def write_products(result: Any, run: Any) -> list[Path]:
    """Write series, mean spectrum, pixel table and figures; return the paths written."""
    name = result.config.output.name
    out = []
    table = pixel_spectra_table(result)
    out.append(run.write(f"{name}_columns.ecsv", lambda p: table.write(p, format="ascii.ecsv")))
    if result.series is not None:
        out.append(run.write(f"{name}_series.fits", lambda p: write_series(result.series, p, config=result.config)))
        mean = result.mean_spectrum()
        out.append(run.write(f"{name}_spectrum.fits", lambda p: write(mean, p, config=result.config)))
    if result.config.output.figures:
        out.append(run.save_figure(f"{name}_trace.png", plots.plot_trace(result)))
        out.append(run.save_figure(f"{name}_profile.png", plots.plot_profile(result)))
        out.append(run.save_figure(f"{name}_residuals.png", plots.plot_residuals(result)))
        out.append(run.save_figure(f"{name}_spectra.png", plots.plot_spectra(result)))
        out.append(run.save_figure(f"{name}_outliers.png", plots.plot_outliers(result)))
        if result.flux.shape[0] > 1:
            out.append(run.save_figure(f"{name}_lightcurve.png", plots.plot_lightcurve(result)))
            out.append(run.save_figure(f"{name}_jitter.png", plots.plot_jitter(result)))
    return out
