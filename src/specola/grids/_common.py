"""Helpers shared by the grid loaders: per-file checks and assembling models into a StellarGrid."""

from __future__ import annotations

import io
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import astropy.units as u
import numpy as np

from ..errors import FileFormatError, GridError
from .core import AXIS_NAMES, StellarGrid

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ModelFile:
    """One model spectrum on disk: its file and parameters (``column`` for multi-model files)."""

    path: Path
    params: dict[str, float]
    column: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def loadtxt(path: Path, ndmin: int = 2) -> np.ndarray:
    """:func:`numpy.loadtxt` of a (possibly gzipped) text file, decompressed with the readers' checks.

    A truncated, corrupt or bomb-sized gzip stream raises :class:`FileFormatError` naming the file.
    """
    from ..io._common import read_text

    return np.loadtxt(io.StringIO(read_text(Path(path))), ndmin=ndmin)


def check_flux(flux: np.ndarray, where: str) -> np.ndarray:
    """Raise :class:`GridError` naming ``where`` if the flux has NaN/inf or negative values."""
    flux = np.asarray(flux, float)
    if not np.all(np.isfinite(flux)):
        raise GridError(f"{where}: {int(np.sum(~np.isfinite(flux)))} flux value(s) are NaN or infinite")
    if np.any(flux < 0):
        raise GridError(f"{where}: {int(np.sum(flux < 0))} flux value(s) are negative (min {flux.min():.3g})")
    return flux


def check_wave(wave: np.ndarray, where: str) -> np.ndarray:
    """Raise :class:`GridError` naming ``where`` unless the wavelengths are finite and strictly increasing."""
    wave = np.asarray(wave, float)
    if wave.ndim != 1 or wave.size < 2 or not np.all(np.isfinite(wave)) or np.any(np.diff(wave) <= 0):
        raise GridError(f"{where}: wavelengths must be finite and strictly increasing ({wave.size} values)")
    return wave


def same_wave(reference: np.ndarray, wave: np.ndarray, ref_where: str, where: str) -> None:
    """Raise :class:`GridError` naming both files if two wavelength grids differ."""
    if wave.shape != reference.shape or not np.allclose(wave, reference, rtol=1e-9, atol=0):
        raise GridError(
            f"{where}: wavelength grid ({wave.size} points, {wave[0]:.6g}-{wave[-1]:.6g}) differs from that of "
            f"{ref_where} ({reference.size} points, {reference[0]:.6g}-{reference[-1]:.6g}); "
            "load files with one wavelength grid together"
        )


def axis_order(names: Sequence[str]) -> list[str]:
    """Canonical storage order: Teff, logg, [M/H], [alpha/M], then any other axis."""
    return [n for n in AXIS_NAMES if n in names] + [n for n in names if n not in AXIS_NAMES]


def split_axes(params: Sequence[Mapping[str, float]], always: Sequence[str] = ("Teff", "logg")) -> tuple[list, dict]:
    """Axes that vary (plus ``always``) and the parameters fixed at one value (for ``meta``)."""
    names = list(params[0])
    varying = [n for n in names if n in always or len({p[n] for p in params}) > 1]
    fixed = {n: float(params[0][n]) + 0.0 for n in names if n not in varying}
    return axis_order(varying), fixed


def check_duplicates(models: Sequence[ModelFile], names: Sequence[str]) -> None:
    """Raise :class:`GridError` naming both files when two models share all parameters."""
    seen: dict[tuple, ModelFile] = {}
    for m in models:
        key = tuple(round(float(m.params[n]), 6) for n in names)
        if key in seen:
            other = seen[key]
            what = ", ".join(f"{n}={v:g}" for n, v in zip(names, key, strict=True))
            a = f"{other.path}" + (f"[{other.column}]" if other.column else "")
            b = f"{m.path}" + (f"[{m.column}]" if m.column else "")
            raise GridError(f"{b}: duplicated grid node {what} (also in {a}); remove one of the files")
        seen[key] = m


def assemble(
    models: Sequence[ModelFile],
    wave: np.ndarray,
    fluxes: Sequence[np.ndarray],
    wave_unit: u.UnitBase,
    flux_unit: u.UnitBase,
    meta: Mapping[str, Any],
    always: Sequence[str] = ("Teff", "logg"),
) -> StellarGrid:
    """Put checked models on regular axes (absent nodes missing) with their units and metadata."""
    if not models:
        raise GridError("no model spectra found")
    names, fixed = split_axes([m.params for m in models], always)
    check_duplicates(models, names)
    params = {n: [m.params[n] + 0.0 for m in models] for n in names}  # + 0.0 turns -0.0 into 0.0
    where = str(meta.get("source") or models[0].path)
    grid = StellarGrid.from_models(
        params,
        wave,
        np.asarray(fluxes, np.float32),
        source=where,
        wave_unit=wave_unit,
        flux_unit=flux_unit,
        meta={**fixed, **meta, "n_files": len({m.path for m in models})},
    )
    missing = int(grid.present.size - grid.present.sum())
    if missing:
        log.info("%s: %d of %d grid nodes have no model (reported as missing)", where, missing, grid.present.size)
    return grid


def grid_from_files(
    models: Sequence[ModelFile],
    read_model: Callable[..., tuple[np.ndarray, np.ndarray]],
    wave_unit: u.UnitBase,
    flux_unit: u.UnitBase,
    meta: Mapping[str, Any],
    progress: bool | None = None,
    wave_range: tuple[float, float] | None = None,
    transform: Callable[..., tuple[np.ndarray, np.ndarray]] | None = None,
    **options: Any,
) -> StellarGrid:
    """Read every model file (checking flux and wavelength consistency) and assemble the grid.

    ``wave_range`` (in the files' wavelength unit) keeps only the pixels inside it;
    ``transform(wave, flux, wave_unit) -> (wave, flux)`` is applied to each checked
    model before it is kept (fixed-resolution building streams models this way).
    """
    from tqdm.auto import tqdm

    if not models:
        raise FileFormatError("no model files to read")
    wave0, where0, fluxes, out_wave = None, "", [], None
    for m in tqdm(models, desc="reading models", unit="model", disable=None if progress is None else not progress):
        wave, flux = read_model(m, **options)
        if wave_range is not None:
            keep = (wave >= wave_range[0]) & (wave <= wave_range[1])
            wave, flux = wave[keep], flux[keep]
        where = str(m.path) + (f"[{m.column}]" if m.column else "")
        if wave0 is None:
            wave0, where0 = check_wave(wave, where), where
        else:
            same_wave(wave0, np.asarray(wave, float), where0, where)
        flux = check_flux(flux, where)
        if transform is not None:
            out_wave, flux = transform(wave, flux, wave_unit)
        fluxes.append(np.asarray(flux, np.float32))
    return assemble(models, wave0 if out_wave is None else out_wave, fluxes, wave_unit, flux_unit, meta)
