"""Fixed-resolution grids: convolve every model to one resolving power on a log-lambda wavelength grid.

High-resolution inputs (PHOENIX, R ~ 500 000, 1.5 million pixels) never meet a
big matrix here: each model is rebinned (flux conserving) onto an intermediate
log-lambda grid ``oversample`` times finer than the output, convolved there
with a Gaussian of constant width in pixels (``scipy.ndimage``; a constant
FWHM in ln(lambda) is a constant R), and rebinned onto the output log-lambda
bins. The two rebinning maps are sparse with about one entry per pixel and are
built once per grid. Edges are handled by normalised convolution, so flux is
conserved to the precision of the input's coverage.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import astropy.units as u
import numpy as np
from scipy.ndimage import gaussian_filter1d
from tqdm.auto import tqdm

from ..errors import GridError
from ..resample import FWHM_PER_SIGMA, overlap_matrix
from ..spectrum import edges_from_centres
from .core import StellarGrid
from .registry import resolve_format

__all__ = ["LogLambdaConvolver", "build_grid", "log_lambda_edges"]

log = logging.getLogger(__name__)

_ALIASES = {
    "teff": "Teff",
    "logg": "logg",
    "mh": "[M/H]",
    "m_h": "[M/H]",
    "feh": "[M/H]",
    "[m/h]": "[M/H]",
    "alpha": "[alpha/M]",
    "alpha_m": "[alpha/M]",
    "[alpha/m]": "[alpha/M]",
}


def log_lambda_edges(wave_min: float, wave_max: float, resolution: float, sampling: float) -> np.ndarray:
    """Bin edges uniform in ln(lambda) with ``sampling`` pixels per FWHM = lambda / R.

    Examples
    --------
    >>> e = log_lambda_edges(1.0, 2.0, 1000.0, 2.0)
    >>> bool(np.allclose(np.diff(np.log(e)), 1 / 2000))
    True
    """
    if not 0 < wave_min < wave_max:
        raise GridError(f"wavelength range must satisfy 0 < min < max, got ({wave_min}, {wave_max})")
    step = 1.0 / (resolution * sampling)
    n = int(np.floor(np.log(wave_max / wave_min) / step + 1e-9))
    if n < 1:
        raise GridError(f"wavelength range ({wave_min}, {wave_max}) is narrower than one pixel at R={resolution:g}")
    return wave_min * np.exp(np.arange(n + 1) * step)


class LogLambdaConvolver:
    """Convolve spectra to resolving power R and resample them onto log-lambda bins (flux conserving).

    Parameters
    ----------
    wave_range : (float, float)
        Output wavelength range (the input's wavelength unit).
    resolution : float
        Target resolving power R = lambda / FWHM.
    sampling : float
        Output pixels per FWHM.
    oversample : int
        Intermediate pixels per output pixel.
    initial_resolution : float, optional
        Resolving power the inputs already have; the kernel is the quadrature difference.
    truncate : float
        Kernel half-width in sigma.

    Examples
    --------
    >>> conv = LogLambdaConvolver((1.0, 2.0), 100.0)
    >>> edges = np.linspace(0.9, 2.1, 2001)
    >>> out = conv(edges[:-1], edges[1:], np.ones((1, 2000)))
    >>> bool(np.allclose(out, 1.0))
    True
    """

    def __init__(
        self,
        wave_range: tuple[float, float],
        resolution: float,
        sampling: float = 3.0,
        oversample: int = 8,
        initial_resolution: float | None = None,
        truncate: float = 5.0,
    ) -> None:
        if resolution <= 0 or sampling <= 0 or oversample < 1:
            raise GridError("resolution, sampling and oversample must be positive")
        fwhm2 = (1.0 / resolution) ** 2
        if initial_resolution:
            if initial_resolution <= resolution:
                raise GridError(
                    f"the models already have R = {initial_resolution:g}; the target R = {resolution:g} must be lower"
                )
            fwhm2 -= (1.0 / initial_resolution) ** 2
        self.resolution = float(resolution)
        self.sigma_ln = np.sqrt(fwhm2) / FWHM_PER_SIGMA  # kernel sigma in ln(lambda)
        self.edges = log_lambda_edges(float(wave_range[0]), float(wave_range[1]), resolution, sampling)
        self.step = np.log(self.edges[1] / self.edges[0]) / oversample
        self.oversample = int(oversample)
        self.truncate = float(truncate)
        self._key: tuple | None = None

    @property
    def low(self) -> np.ndarray:
        """Output bin lower edges."""
        return self.edges[:-1]

    @property
    def high(self) -> np.ndarray:
        """Output bin upper edges."""
        return self.edges[1:]

    def _prepare(self, in_low: np.ndarray, in_high: np.ndarray) -> None:
        key = (in_low.size, in_low[0], in_high[-1], in_low[in_low.size // 2])
        if key == self._key:
            return
        if in_low[0] > self.edges[0] or in_high[-1] < self.edges[-1]:
            raise GridError(
                f"the models cover {in_low[0]:.6g}-{in_high[-1]:.6g}, less than the requested wavelength range "
                f"{self.edges[0]:.6g}-{self.edges[-1]:.6g}; narrow the range"
            )
        sampling_r = 0.5 * (in_low + in_high) / (in_high - in_low)
        inside = (in_high > self.edges[0]) & (in_low < self.edges[-1])
        if np.min(sampling_r[inside]) < self.resolution:
            log.warning(
                "the models are sampled at R = %.4g in places, coarser than the target R = %.4g: the output "
                "resolution there is set by the models, not by the kernel",
                np.min(sampling_r[inside]),
                self.resolution,
            )
        margin = self.truncate * self.sigma_ln + 2 * self.step
        lo = max(np.log(self.edges[0]) - margin, np.log(in_low[0]))
        hi = min(np.log(self.edges[-1]) + margin, np.log(in_high[-1]))
        n_left = int(np.floor((np.log(self.edges[0]) - lo) / self.step))
        n_right = int(np.floor((hi - np.log(self.edges[-1])) / self.step))
        n_mid = (self.edges.size - 1) * self.oversample
        k = np.arange(-n_left, n_mid + n_right + 1)
        mid_edges = self.edges[0] * np.exp(k * self.step)
        m_low, m_high = mid_edges[:-1], mid_edges[1:]
        to_mid = overlap_matrix(in_low, in_high, m_low, m_high)
        covered = np.asarray(to_mid.sum(axis=1)).ravel()
        self._coverage = covered / (m_high - m_low)
        self._to_mid = to_mid.multiply(1.0 / (m_high - m_low)[:, None]).tocsr()  # mean flux density x coverage
        to_out = overlap_matrix(m_low, m_high, self.low, self.high)
        self._to_out = to_out.multiply(1.0 / (self.high - self.low)[:, None]).tocsr()
        self._sigma_px = self.sigma_ln / self.step
        self._norm = gaussian_filter1d(self._coverage, self._sigma_px, mode="constant", truncate=self.truncate)
        self._key = key

    def __call__(self, in_low: np.ndarray, in_high: np.ndarray, flux: np.ndarray) -> np.ndarray:
        """Convolve and resample ``flux`` (shape ``(..., n_in)``) given on bins ``in_low``-``in_high``.

        Returns
        -------
        ndarray
            Shape ``(..., n_out)`` on :attr:`low`-:attr:`high`.
        """
        self._prepare(np.asarray(in_low, float), np.asarray(in_high, float))
        flux = np.asarray(flux, float)
        lead = flux.shape[:-1]
        flat = flux.reshape(-1, flux.shape[-1])
        mid = np.asarray((self._to_mid @ flat.T).T)  # integral over covered part / bin width
        smooth = gaussian_filter1d(mid, self._sigma_px, axis=-1, mode="constant", truncate=self.truncate)
        with np.errstate(invalid="ignore", divide="ignore"):
            smooth = smooth / self._norm
        out = np.asarray((self._to_out @ smooth.T).T)
        return out.reshape(*lead, self.low.size)


def _axis_name(key: str, names: Sequence[str]) -> str:
    name = key if key in names else _ALIASES.get(key.lower(), key)
    if name not in names:
        raise GridError(f"unknown grid axis {key!r}; the grid has {list(names)}")
    return name


def _bracket(values: np.ndarray, lo: float, hi: float, name: str) -> tuple[float, float]:
    if lo > hi or lo < values[0] or hi > values[-1]:
        raise GridError(
            f"{name} range [{lo:g}, {hi:g}] is not inside the source grid ({values[0]:g} to {values[-1]:g})"
        )
    return float(values[values <= lo][-1]), float(values[values >= hi][0])


def _regrid(grid: StellarGrid, targets: Mapping[str, np.ndarray]) -> StellarGrid:
    """Interpolate onto new axis values (missing where an enclosing node is missing)."""
    axes = {k: np.asarray(targets.get(k, a), float) for k, a in grid.axes.items()}
    if all(np.array_equal(axes[k], a) for k, a in grid.axes.items()):
        return grid
    points = np.stack(np.meshgrid(*axes.values(), indexing="ij"), axis=-1).reshape(-1, len(axes))
    flux = np.full((points.shape[0], grid.low.size), np.nan, np.float32)
    for i, p in enumerate(points):
        flux[i] = grid.at(*p)  # NaN when an enclosing node is missing
    meta = dict(grid.meta, interpolated_axes=sorted(k for k in axes if not np.array_equal(axes[k], grid.axes[k])))
    shape = (*(a.size for a in axes.values()), grid.low.size)
    return StellarGrid(axes, grid.low, grid.high, flux.reshape(shape), grid.wave_unit, grid.flux_unit, meta)


def _range_in(wave_range: tuple[float, float] | u.Quantity, unit: u.UnitBase) -> tuple[float, float]:
    if isinstance(wave_range, u.Quantity):
        lo, hi = sorted(wave_range.to_value(unit, u.spectral()))
        return float(lo), float(hi)
    return float(wave_range[0]), float(wave_range[1])


def _stream(load: Any, paths: list[Path], options: dict, settings: tuple, progress: bool | None) -> StellarGrid:
    """Load one model at a time through the convolver (only the small output is kept)."""
    resolution, wave_range, sampling, initial_resolution, oversample = settings
    holder: list[LogLambdaConvolver] = []

    def transform(wave: np.ndarray, flux: np.ndarray, wave_unit: u.UnitBase) -> tuple[np.ndarray, np.ndarray]:
        if not holder:
            span = _range_in(wave_range, wave_unit)
            holder.append(LogLambdaConvolver(span, resolution, sampling, oversample, initial_resolution))
        conv = holder[0]
        low, high = edges_from_centres(wave)
        return np.sqrt(conv.low * conv.high), conv(low, high, flux)

    grid = load(paths, transform=transform, progress=progress, **options)
    conv = holder[0]
    return StellarGrid(grid.axes, conv.low, conv.high, grid.flux, grid.wave_unit, grid.flux_unit, grid.meta)


def _convolve_grid(
    grid: StellarGrid,
    resolution: float,
    wave_range: tuple[float, float] | u.Quantity,
    sampling: float,
    initial_resolution: float | None,
    oversample: int,
    progress: bool | None,
    batch: int = 16,
) -> StellarGrid:
    """Convolve every present model of an in-memory grid (in batches, with a progress bar)."""
    conv = LogLambdaConvolver(
        _range_in(wave_range, grid.wave_unit), resolution, sampling, oversample, initial_resolution
    )
    present = np.argwhere(grid.present)
    flux = np.full((*grid.present.shape, conv.low.size), np.nan, np.float32)
    with tqdm(
        total=len(present), desc="convolving", unit="model", disable=None if progress is None else not progress
    ) as bar:
        for start in range(0, len(present), batch):
            nodes = tuple(present[start : start + batch].T)
            flux[nodes] = conv(grid.low, grid.high, grid.flux[nodes])
            bar.update(len(nodes[0]))
    return StellarGrid(grid.axes, conv.low, conv.high, flux, grid.wave_unit, grid.flux_unit, grid.meta)


def build_grid(
    source: str | Path | Sequence[str | Path] | StellarGrid,
    resolution: float,
    wave_range: tuple[float, float] | u.Quantity,
    ranges: Mapping[str, Sequence[float]] | None = None,
    sampling: float = 3.0,
    format: str | None = None,
    initial_resolution: float | None = None,
    oversample: int = 8,
    progress: bool | None = None,
    **load_options: Any,
) -> StellarGrid:
    """Build a fixed-resolution grid: convolve to R and resample onto log-lambda bins.

    Parameters
    ----------
    source : path(s) or StellarGrid
        Model files in any registered format (streamed one model at a time for
        one-model-per-file families), or a grid already in memory.
    resolution : float
        Target resolving power R = lambda / FWHM.
    wave_range : (float, float) or Quantity
        Output range; plain numbers are in the source's wavelength unit.
    ranges : mapping, optional
        Per axis ``(min, max)`` or ``(min, max, step)``, e.g. ``{"Teff": (2300, 3000, 100)}``.
        Without a step the source's nodes in the range are kept; with one, the
        axis becomes ``min, min + step, ..., max`` (interpolated between the
        source's nodes where they differ).
    sampling : float
        Output pixels per resolution element (FWHM).
    format : str, optional
        Source format (sniffed when None).
    initial_resolution : float, optional
        R the models already have (default: the source's ``meta["resolution"]``).
    oversample : int
        Intermediate pixels per output pixel.
    progress : bool, optional
        Progress bar (default: when attached to a terminal).
    **load_options
        Passed to the loader (e.g. ``wave_file=``).

    Returns
    -------
    StellarGrid
        ``meta["resolution"] = resolution``, float32 flux on log-lambda bins.
    """
    wanted = dict(ranges or {})
    if isinstance(source, StellarGrid):
        grid, streamed = source, False
    else:
        entry, files = resolve_format(source, format)
        streamed = entry.scan is not None
        if streamed:
            models = entry.scan(files, **load_options)
            names = list(dict.fromkeys(k for m in models for k in m.params))
            keep = np.ones(len(models), bool)
            for key, spec in wanted.items():
                name = _axis_name(key, names)
                values = np.unique([m.params[name] for m in models])
                lo, hi = _bracket(values, float(spec[0]), float(spec[1]), name)
                keep &= np.array([lo <= m.params[name] <= hi for m in models])
            chosen = [m for m, k in zip(models, keep, strict=True) if k]
            options = dict(load_options)
            if "wave_file" in chosen[0].extra:
                options["wave_file"] = chosen[0].extra["wave_file"]
            initial_resolution = initial_resolution or chosen[0].extra.get("resolution")
            settings = (resolution, wave_range, sampling, initial_resolution, oversample)
            grid = _stream(entry.load, [m.path for m in chosen], options, settings, progress)
        else:
            grid = entry.load(files, **load_options)
    if not streamed:
        select = {}
        for key, spec in wanted.items():
            name = _axis_name(key, grid.names)
            select[name] = _bracket(grid.axes[name], float(spec[0]), float(spec[1]), name)
        grid = grid.select(**select) if select else grid
        initial_resolution = initial_resolution or grid.meta.get("resolution")
        grid = _convolve_grid(grid, resolution, wave_range, sampling, initial_resolution, oversample, progress)
    targets = {}
    for key, spec in wanted.items():
        if _ALIASES.get(key.lower(), key) not in grid.names and key not in grid.names:
            continue  # a single value in the source: it is in meta, not an axis
        name = _axis_name(key, grid.names)
        if len(spec) > 2 and spec[2]:
            lo, hi, step = (float(x) for x in spec[:3])
            targets[name] = np.round(np.arange(lo, hi + 0.5 * step, step), 9)
        else:
            axis = grid.axes[name]
            targets[name] = axis[(axis >= float(spec[0])) & (axis <= float(spec[1]))]
    grid = _regrid(grid, targets)
    meta = dict(grid.meta, resolution=float(resolution), sampling=float(sampling), wavelength_grid="log-lambda")
    return StellarGrid(grid.axes, grid.low, grid.high, grid.flux, grid.wave_unit, grid.flux_unit, meta)
