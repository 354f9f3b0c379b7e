"""``specola grid``: build fixed-resolution model grids and describe grid files.

``specola grid build [CONFIG.toml] [--source PATH ...] [-o OUT.h5] [-key=value ...]``
convolves a source grid to a target resolving power on a log-lambda grid and
writes specola's cache file; ``specola grid info FILE`` prints its axes,
coverage, wavelengths, R and size.
"""

from __future__ import annotations

import argparse
import logging
from dataclasses import dataclass, field
from pathlib import Path

import astropy.units as u
import numpy as np

from ..config import load_config, option
from ..errors import ConfigError
from ..grids import StellarGrid, grid_formats, load_grid, save_grid
from ..grids.build import build_grid
from ..runs import check_writable

__all__ = ["GridBuildConfig", "add_parser", "coverage_table", "describe"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SourceSection:
    """Where the models come from."""

    path: tuple[str, ...] = option((), help="model files, folders or glob patterns")
    format: str = option("", help="grid format (empty: recognise from the files)")
    wave_file: str = option("", help="wavelength file for BOSZ-2024 / PHOENIX / BT-Settl (empty: found next to them)")


@dataclass(frozen=True)
class ParamsSection:
    """Parameter ranges: [] keeps everything, [min, max] keeps the source's nodes, [min, max, step] regrids."""

    teff: tuple[float, ...] = option((), help="Teff [min, max] or [min, max, step] (K)")
    logg: tuple[float, ...] = option((), help="log g [min, max] or [min, max, step] (cgs)")
    mh: tuple[float, ...] = option((), help="[M/H] [min, max] or [min, max, step]")
    alpha: tuple[float, ...] = option((), help="[alpha/M] [min, max] or [min, max, step]")


@dataclass(frozen=True)
class WavelengthSection:
    """Output wavelengths and resolution."""

    range: tuple[float, ...] = option((), help="[min, max] in 'unit'")
    unit: str = option("um", help="unit of 'range' (astropy name)")
    resolution: float = option(1000.0, minimum=1.0, help="target resolving power R = lambda / FWHM")
    sampling: float = option(3.0, minimum=1.0, help="output pixels per FWHM")
    initial_resolution: float = option(0.0, minimum=0.0, help="R of the input models (0: from the source)")


@dataclass(frozen=True)
class OutputSection:
    """Output file."""

    path: str = option("grid.h5", help="output HDF5 file (specola grid cache format)")


@dataclass(frozen=True)
class GridBuildConfig:
    """Configuration of ``specola grid build``."""

    source: SourceSection = field(default_factory=SourceSection)
    params: ParamsSection = field(default_factory=ParamsSection)
    wavelength: WavelengthSection = field(default_factory=WavelengthSection)
    output: OutputSection = field(default_factory=OutputSection)


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register ``specola grid build`` and ``specola grid info``."""
    p = sub.add_parser("grid", help="build fixed-resolution model grids; describe grid files")
    grid_sub = p.add_subparsers(dest="grid_command", metavar="ACTION", required=True)
    b = grid_sub.add_parser(
        "build",
        help="convolve a model grid to resolving power R on a log-lambda grid",
        epilog="Options: -source.path=... -params.teff=[2300,3000,100] -wavelength.range=[0.5,5.5] "
        "-wavelength.resolution=1000 -output.path=grid.h5 (or the same keys in a TOML file).",
    )
    b.add_argument("config", nargs="?", help="TOML file with [source], [params], [wavelength], [output]")
    b.add_argument("--source", nargs="+", help="model files, folders or glob patterns (overrides source.path)")
    b.add_argument("-o", "--output", help="output file (overrides output.path)")
    b.add_argument("--overwrite", action="store_true", help="replace an existing output file")
    b.set_defaults(func=run_build, takes_overrides=True)
    i = grid_sub.add_parser("info", help="axes, coverage, wavelengths, R and size of a grid")
    i.add_argument("files", nargs="*", help="grid file(s) or folder in any supported format")
    i.add_argument("--format", help="grid format (default: recognised from the files)")
    i.add_argument("--formats", action="store_true", help="list the supported grid formats")
    i.set_defaults(func=run_info)


def _span(values: tuple[float, ...], key: str) -> tuple[float, ...] | None:
    if not values:
        return None
    if len(values) not in (2, 3):
        raise ConfigError(f"params.{key}: give [min, max] or [min, max, step], got {list(values)}")
    return values


def run_build(args: argparse.Namespace) -> int:
    """Build the grid described by the config/flags and write it."""
    overrides = dict(args.overrides)
    if args.source:
        overrides["source.path"] = list(args.source)
    if args.output:
        overrides["output.path"] = args.output
    config = load_config(GridBuildConfig, args.config, overrides)
    if not config.source.path:
        raise ConfigError("no source given: pass --source FILES or set source.path")
    if len(config.wavelength.range) != 2:
        raise ConfigError(f"wavelength.range: give [min, max], got {list(config.wavelength.range)}")
    base = Path(args.config).parent if args.config else Path()
    sources = [str(base / p) if args.config and not Path(p).is_absolute() else p for p in config.source.path]
    output = check_writable(base / config.output.path if args.config else Path(config.output.path), args.overwrite)
    ranges = {}
    for key in ("teff", "logg", "mh", "alpha"):
        span = _span(getattr(config.params, key), key)
        if span is not None:
            ranges[key] = span
    try:
        unit = u.Unit(config.wavelength.unit)
    except ValueError as exc:
        raise ConfigError(f"wavelength.unit: {config.wavelength.unit!r} is not an astropy unit") from exc
    options = {"wave_file": config.source.wave_file} if config.source.wave_file else {}
    grid = build_grid(
        sources,
        resolution=config.wavelength.resolution,
        wave_range=u.Quantity(config.wavelength.range, unit),
        ranges=ranges,
        sampling=config.wavelength.sampling,
        format=config.source.format or None,
        initial_resolution=config.wavelength.initial_resolution or None,
        progress=False if args.quiet else None,
        **options,
    )
    save_grid(grid, output, overwrite=args.overwrite)
    log.info("wrote %s: %r", output, grid)
    return 0


def coverage_table(grid: StellarGrid) -> list[str]:
    """Lines showing which nodes exist ('#') and which are missing ('.'): Teff rows, logg columns.

    Axes beyond the first two are shown as one table per combination of their values.
    """
    names = grid.names
    present = grid.present
    if present.ndim == 1:
        return [f"{names[0]:>10}  " + " ".join("#" if p else "." for p in present)]
    lines = []
    extra = [range(n) for n in present.shape[2:]]
    first, second = grid.axes[names[0]], grid.axes[names[1]]
    for combo in np.ndindex(*present.shape[2:]) if extra else [()]:
        if combo:
            label = ", ".join(f"{names[2 + k]}={grid.axes[names[2 + k]][i]:g}" for k, i in enumerate(combo))
            lines.append(f"  [{label}]")
        lines.append(f"{names[0] + ' / ' + names[1]:>14}  " + " ".join(f"{g:>4g}" for g in second))
        for a, value in enumerate(first):
            row = present[(a, slice(None), *combo)]
            lines.append(f"{value:>14g}  " + " ".join(f"{'#' if p else '.':>4}" for p in row))
    return lines


def describe(grid: StellarGrid, path: str | Path | None = None) -> str:
    """A human-readable summary: axes, coverage, wavelength range, R and size."""
    centre = 0.5 * (grid.low + grid.high)
    sampling_r = centre / (grid.high - grid.low)
    lines = [f"{path}:" if path else repr(grid)]
    lines.append(f"  name: {grid.meta.get('name', '')}   source: {grid.meta.get('source', '')}")
    if grid.meta.get("citation"):
        lines.append(f"  citation: {grid.meta['citation']}")
    for name, axis in grid.axes.items():
        steps = np.unique(np.round(np.diff(axis), 9))
        step = f"step {steps[0]:g}" if steps.size == 1 else ("single value" if axis.size == 1 else "irregular steps")
        lines.append(f"  {name:>10}: {axis[0]:g} .. {axis[-1]:g}  ({axis.size} nodes, {step})")
    fixed = {k: v for k, v in grid.meta.items() if k.startswith("[") or k in ("vturb", "C/O")}
    if fixed:
        lines.append("  fixed: " + ", ".join(f"{k} = {v}" for k, v in fixed.items()))
    lines.append(f"  nodes present: {int(grid.present.sum())} of {grid.present.size}")
    lines.extend("    " + line for line in coverage_table(grid))
    lines.append(
        f"  wavelength: {grid.low[0]:.6g} - {grid.high[-1]:.6g} {grid.wave_unit}, {grid.low.size} pixels "
        f"(sampling lambda/dlambda {sampling_r.min():.0f} - {sampling_r.max():.0f})"
    )
    resolution = grid.meta.get("resolution")
    lines.append(f"  resolving power R: {resolution:g}" if resolution else "  resolving power R: not recorded")
    lines.append(
        f"  flux: {grid.flux_unit} (surface flux), {grid.flux.dtype}, {grid.flux.nbytes / 2**20:.1f} MiB in memory"
    )
    if path is not None and Path(path).is_file():
        lines.append(f"  file size: {Path(path).stat().st_size / 2**20:.2f} MiB")
    return "\n".join(lines)


def run_info(args: argparse.Namespace) -> int:
    """Print the summary of each grid file (or the list of formats)."""
    if args.formats or not args.files:
        for name, text in grid_formats().items():
            print(f"  {name:<10} {text}")
        return 0
    for path in args.files:
        print(describe(load_grid(path, format=args.format), path))
    return 0
