"""Spatial profile (PSF) models fitted as splines over a pixel table.

The pixel table lists every aperture pixel of every integration with its
distance from the trace, its counts divided by that column's aperture sum (the
per-integration normalisation), the matching variance, its column and
integration. A smoothing-free least-squares spline is fitted to it:

* ``univariate`` -- one profile in distance (:class:`scipy.interpolate.LSQUnivariateSpline`);
* ``bivariate`` -- a profile that changes slowly along the dispersion, in
  (distance, column) (:class:`scipy.interpolate.LSQBivariateSpline`);
* ``windowed`` -- one univariate profile per block of columns, each fitted to
  the pixels within ``column_radius`` of the block.

Outliers (cosmic rays, hot pixels) beyond ``clip`` standard deviations are
rejected iteratively. Profiles are evaluated at pixel centres and normalised so
that ``sum(aperture_weight * profile) = 1`` in each column, which makes the
optimal flux directly comparable with the aperture flux.
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.interpolate import LSQBivariateSpline, LSQUnivariateSpline

from ..errors import SpectrumError
from .config import PsfSection

__all__ = ["PixelTable", "ProfileModel", "fit_profile", "pixel_table"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, eq=False)
class PixelTable:
    """Aperture pixels in profile coordinates (all 1-D arrays of one length).

    Attributes
    ----------
    distance, value, variance, column, integration, row : ndarray
        Distance from the trace, normalised counts, normalised variance, and
        the pixel's indices in the cube.
    """

    distance: np.ndarray
    value: np.ndarray
    variance: np.ndarray
    column: np.ndarray
    integration: np.ndarray
    row: np.ndarray

    def __len__(self) -> int:
        return self.distance.size


def pixel_table(
    data: np.ndarray,
    variance: np.ndarray,
    mask: np.ndarray,
    trace: np.ndarray,
    radius: float,
    norm: np.ndarray,
    norm_var: np.ndarray,
    min_snr: float = PsfSection.min_snr,
) -> PixelTable:
    """Collect the normalised pixels within ``radius`` of the trace.

    Parameters
    ----------
    data, variance : ndarray
        ``(n_ints, n_spatial, n_dispersion)`` background-subtracted counts and variance.
    mask : ndarray of bool
        Bad pixels (left out).
    trace : ndarray
        ``(n_ints, n_dispersion)``.
    radius : float
        Half-width of the profile window (pixels whose centre lies within it).
    norm, norm_var : ndarray
        ``(n_ints, n_dispersion)`` normalisation (aperture sums) and their variance.
    min_snr : float
        Columns whose normalisation has a lower S/N are left out.

    Returns
    -------
    PixelTable
    """
    n_spatial = data.shape[1]
    dist = np.arange(n_spatial)[None, :, None] - trace[:, None, :]
    snr = np.where(norm_var > 0, norm / np.sqrt(np.maximum(norm_var, 1e-300)), 0.0)
    ok_col = (snr >= min_snr)[:, None, :]
    keep = (np.abs(dist) <= radius) & ~mask & np.isfinite(data) & np.isfinite(variance) & ok_col
    ii, rr, cc = np.nonzero(keep)
    scale = norm[ii, cc]
    return PixelTable(
        dist[ii, rr, cc], data[ii, rr, cc] / scale, variance[ii, rr, cc] / scale**2, cc.astype(float), ii, rr
    )


@dataclass(frozen=True, eq=False)
class ProfileModel:
    """A fitted spatial profile.

    Attributes
    ----------
    kind : str
        ``univariate``, ``bivariate`` or ``windowed``.
    splines : list
        The fitted scipy spline(s): one per block for ``windowed``; for ``bivariate`` the surface and a
        univariate fallback used beyond the fitted columns.
    blocks : ndarray
        Column edges of the ``windowed`` blocks (empty otherwise).
    rejected : ndarray of bool
        Pixel-table entries rejected as outliers during the fit.
    chi2_dof : float
        Reduced chi-square of the kept pixels.
    radius : float
        Half-width of the profile window; the profile is zero beyond it.
    column_range : (float, float)
        Columns the fit covered; the profile is held constant beyond them.
    distance_range : (float, float)
        Distances the pixel table covered; the spline is not extrapolated beyond them.
    """

    kind: str
    splines: list
    blocks: np.ndarray
    rejected: np.ndarray
    chi2_dof: float
    radius: float
    column_range: tuple[float, float] = (-np.inf, np.inf)
    distance_range: tuple[float, float] = (-np.inf, np.inf)

    def __call__(self, distance: np.ndarray, column: np.ndarray) -> np.ndarray:
        """Evaluate the (unnormalised) profile at distances and columns of equal shape."""
        d = np.asarray(distance, float)
        col = np.clip(np.broadcast_to(np.asarray(column, float), d.shape), *self.column_range)
        out: np.ndarray
        inside = np.abs(d) <= self.radius
        dc = np.clip(d, *self.distance_range)
        if self.kind == "univariate":
            out = self.splines[0](dc.ravel()).reshape(d.shape)
        elif self.kind == "bivariate":
            # beyond the fitted columns the surface is unconstrained: use the univariate fallback there
            out = self.splines[0].ev(dc.ravel(), col.ravel()).reshape(d.shape)
            raw_col = np.broadcast_to(np.asarray(column, float), d.shape)
            outside = (raw_col < self.column_range[0]) | (raw_col > self.column_range[1])
            if outside.any():
                out[outside] = self.splines[1](dc[outside])
        else:
            out = np.empty(d.shape)
            block = np.clip(np.searchsorted(self.blocks, col, side="right") - 1, 0, len(self.splines) - 1)
            for b, spline in enumerate(self.splines):
                sel = block == b
                out[sel] = spline(dc[sel])
        return np.where(inside, np.maximum(out, 0.0), 0.0)

    def _windowed_frames(self, dist: np.ndarray, n_disp: int) -> np.ndarray:
        """Block splines at ``dist`` ``(..., n_disp)``, each tabulated on a grid of ``BIN_WIDTH / 4``.

        Interpolated linearly: a cubic's error over the step, ``h**2 |P''| / 8``, is ~1e-6 of the peak; beyond
        the sampled distances the end values are held (no extrapolation).
        """
        lo, hi = self.distance_range
        step = BIN_WIDTH / 4
        grid = lo + step * np.arange(int(np.ceil((hi - lo) / step)) + 1)
        col = np.clip(np.arange(n_disp, dtype=float), *self.column_range)
        block = np.clip(np.searchsorted(self.blocks, col, side="right") - 1, 0, len(self.splines) - 1)
        prof = np.zeros(dist.shape)
        for b, spline in enumerate(self.splines):
            cols = np.nonzero(block == b)[0]  # blocks are runs of adjacent columns
            if cols.size:
                part = slice(cols[0], cols[-1] + 1)
                prof[..., part] = np.interp(dist[..., part], grid, spline(grid))
        np.maximum(prof, 0.0, out=prof)
        prof[np.abs(dist) > self.radius] = 0.0
        return prof

    def frames(self, trace: np.ndarray, n_spatial: int, weights: np.ndarray) -> np.ndarray:
        """Pixel-sampled profiles normalised to ``sum(weights * profile) = 1`` per column.

        Parameters
        ----------
        trace : ndarray
            ``(n_ints, n_dispersion)`` trace rows.
        n_spatial : int
            Number of spatial rows.
        weights : ndarray
            ``(n_ints, n_spatial, n_dispersion)`` aperture weights.

        Returns
        -------
        ndarray
            ``(n_ints, n_spatial, n_dispersion)``; negative values are set to 0.
        """
        n_disp = trace.shape[1]
        dist = np.arange(n_spatial)[None, :, None] - trace[:, None, :]
        if self.kind == "windowed":
            prof = self._windowed_frames(dist, n_disp)
        else:
            cols = np.broadcast_to(np.arange(n_disp, dtype=float), dist.shape)
            prof = np.maximum(self(dist, cols), 0.0)
        total = np.sum(weights * prof, axis=1, keepdims=True)
        prof /= np.where(total > 0, total, np.inf)  # columns without light stay 0
        return prof


#: Width of the distance bins the pixel table is averaged in before a spline fit (pixels).
BIN_WIDTH = 0.02


def _bin(keys: np.ndarray, v: np.ndarray, w: np.ndarray, *coords: np.ndarray) -> tuple[np.ndarray, ...]:
    """Inverse-variance weighted means per bin: (values, weights, mean coordinates...) of the occupied bins.

    ``keys`` are small non-negative integers (bin numbers). A least-squares spline through the bin means with
    weights ``sqrt(sum w**2)`` is the full fit up to the spline's change within a bin (a fiftieth of a pixel),
    at a fraction of the cost.
    """
    n = int(keys.max()) + 1
    w2 = w**2
    tot = np.bincount(keys, w2, n)
    occ = tot > 0
    means = [np.bincount(keys, w2 * x, n)[occ] / tot[occ] for x in (v, *coords)]
    return means[0], np.sqrt(tot[occ]), *means[1:]


def _supported_knots(d: np.ndarray, lo: float, hi: float, spacing: float, min_bins: int = 8) -> np.ndarray:
    """Uniform knots, merged until every interval holds ``min_bins`` occupied bins: no swing between samples."""
    cand = np.linspace(lo, hi, max(int(np.floor((hi - lo) / spacing)), 1) + 1)
    counts = np.histogram(d, cand)[0]
    edges = [cand[0]]
    run = 0
    for k in range(len(counts)):
        run += counts[k]
        if run >= min_bins and cand[k + 1] < cand[-1]:
            edges.append(cand[k + 1])
            run = 0
    if run < min_bins and len(edges) > 1:
        edges.pop()
    return np.asarray(edges[1:])


def _fit_1d(d: np.ndarray, v: np.ndarray, w: np.ndarray, spacing: float, radius: float) -> LSQUnivariateSpline:
    lo, hi = min(-radius, float(d.min())), max(radius, float(d.max()))
    vb, wb, db = _bin(np.floor((d - lo) / BIN_WIDTH).astype(np.int64), v, w, d)
    return _fit_binned(db, vb, wb, lo, hi, spacing)


def _fit_binned(
    db: np.ndarray, vb: np.ndarray, wb: np.ndarray, lo: float, hi: float, spacing: float
) -> LSQUnivariateSpline:
    """Least-squares cubic spline through bin means on ``[lo, hi]``, knots widened until the fit is supported."""
    db = np.clip(db, lo, hi)  # bin means may round past the box
    for _ in range(8):
        knots = _supported_knots(db, lo, hi, spacing)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error")
                return LSQUnivariateSpline(db, vb, knots, w=wb, bbox=(lo, hi), k=3)
        except (ValueError, UserWarning):
            spacing *= 1.4
    raise SpectrumError("psf: the pixel table cannot support a spline; lower psf.oversample or widen the aperture")


@dataclass(frozen=True, eq=False)
class _WindowBins:
    """The pixel table binned once in (column segment, distance) for the windows of a windowed profile.

    The windows' edges cut the columns into a few segments; each window's sums are a difference of cumulative
    sums over segments, less the rejected pixels it holds.
    """

    table: PixelTable
    w2: np.ndarray  # squared weight of each pixel
    cum: tuple[np.ndarray, ...]  # (n_segments, n_bins) cumulative sums of w2, w2 * value, w2 * distance
    windows: list[tuple[int, int, int, int]]  # per block: first and last column + 1, first and last segment + 1
    c0: int
    lo: float
    hi: float

    @classmethod
    def build(
        cls, table: PixelTable, wts: np.ndarray, radius: float, blocks: np.ndarray, column_radius: int
    ) -> _WindowBins:
        lo = min(-radius, float(table.distance.min()))
        hi = max(radius, float(table.distance.max()))
        c0 = int(np.floor(table.column.min()))
        ckey, dkey = cls._keys(table.column, table.distance, c0, lo)
        n_bins = int(np.floor((hi - lo) / BIN_WIDTH)) + 1
        n_cols = int(ckey.max()) + 1
        cols = []
        for b0 in blocks:
            mid = b0 + 0.5 * column_radius
            a = int(np.clip(np.ceil(mid - column_radius) - c0, 0, n_cols))
            cols.append((a, int(np.clip(np.floor(mid + column_radius) - c0 + 1, a, n_cols))))
        edges = np.unique([0, n_cols, *(x for pair in cols for x in pair)])
        windows = [(a, b, int(np.searchsorted(edges, a)), int(np.searchsorted(edges, b))) for a, b in cols]
        seg = np.searchsorted(edges, ckey, side="right") - 1
        flat = seg * n_bins + dkey
        w2 = wts**2
        cum = []
        for x in (w2, w2 * table.value, w2 * table.distance):
            sums = np.bincount(flat, x, edges.size * n_bins).reshape(edges.size, n_bins)
            cum.append(np.concatenate([np.zeros((1, n_bins)), np.cumsum(sums, axis=0)]))
        return cls(table, w2, tuple(cum), windows, c0, lo, hi)

    @staticmethod
    def _keys(column: np.ndarray, distance: np.ndarray, c0: int, lo: float) -> tuple[np.ndarray, np.ndarray]:
        # pixel-table columns are detector columns (integers)
        return np.round(column - c0).astype(np.int64), np.floor((distance - lo) / BIN_WIDTH).astype(np.int64)

    def window(self, k: int, out: np.ndarray) -> tuple[np.ndarray, ...]:
        """Sums per distance bin over block ``k``'s window, less the pixels ``out``."""
        a, b, sa, sb = self.windows[k]
        t = self.table
        cols, bins = self._keys(t.column[out], t.distance[out], self.c0, self.lo)
        sel = (cols >= a) & (cols < b)
        n_bins = self.cum[0].shape[1]
        w2 = self.w2[out][sel]
        lost = (w2, w2 * t.value[out][sel], w2 * t.distance[out][sel])
        return tuple(c[sb] - c[sa] - np.bincount(bins[sel], x, n_bins) for c, x in zip(self.cum, lost, strict=True))


def _fit_windowed(bins: _WindowBins, rejected: np.ndarray, spacing: float) -> list[LSQUnivariateSpline]:
    """One spline per block, each fitted to the pixels within ``column_radius`` columns of the block's middle.

    Each block's fit costs only its few hundred distance bins.
    """
    out = np.nonzero(rejected)[0]
    splines = []
    for k in range(len(bins.windows)):
        tot, sv, sd = bins.window(k, out)
        occ = tot > 1e-12 * tot.max()  # bins emptied by rejection keep a rounding residue
        splines.append(
            _fit_binned(sd[occ] / tot[occ], sv[occ] / tot[occ], np.sqrt(tot[occ]), bins.lo, bins.hi, spacing)
        )
    return splines


def _phase_coverage(d: np.ndarray) -> float:
    """Share of the sub-pixel phases (10 bins) that the distances sample."""
    return float(np.mean(np.bincount((np.mod(d, 1.0) * 10).astype(int) % 10, minlength=10) > 0))


def _fit_2d(
    d: np.ndarray, c: np.ndarray, v: np.ndarray, w: np.ndarray, spacing: float, n_col_knots: int, radius: float
) -> LSQBivariateSpline:
    clo, chi = float(c.min()), float(c.max())
    # every column segment must sample most sub-pixel phases, or the surface swings between them
    while n_col_knots > 0:
        seg = np.minimum(((c - clo) / max(chi - clo, 1.0) * (n_col_knots + 1)).astype(int), n_col_knots)
        if min(_phase_coverage(d[seg == k]) for k in range(n_col_knots + 1)) >= 0.8:
            break
        n_col_knots -= 1
    lo, hi = min(-radius, float(d.min())), max(radius, float(d.max()))
    col_bin = max((chi - clo) / (10 * (n_col_knots + 1)), 1.0)
    ckey = np.floor((c - clo) / col_bin).astype(np.int64)
    keys = np.floor((d - lo) / BIN_WIDTH).astype(np.int64) * (int(ckey.max()) + 1) + ckey
    vb, wb, db, cb = _bin(keys, v, w, d, c)
    db, cb = np.clip(db, lo, hi), np.clip(cb, clo, chi)  # bin means may round past the box
    for _ in range(8):
        tx = _supported_knots(db, lo, hi, spacing)
        ty = np.linspace(clo, chi, n_col_knots + 2)[1:-1]
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error")
                return LSQBivariateSpline(db, cb, vb, tx, ty, w=wb, bbox=[lo, hi, clo, chi], kx=3, ky=3)
        except (ValueError, UserWarning):
            spacing *= 1.4
            n_col_knots = max(n_col_knots - 1, 0)
    raise SpectrumError("psf: the pixel table cannot support a bivariate spline; lower psf.knot_columns")


def fit_profile(table: PixelTable, radius: float, kind: str, config: PsfSection | None = None) -> ProfileModel:
    """Fit a spline profile to a pixel table with iterative sigma clipping.

    Parameters
    ----------
    table : PixelTable
        From :func:`pixel_table`.
    radius : float
        Half-width of the profile window (pixels).
    kind : {"univariate", "bivariate", "windowed"}
        Profile model (see the module docstring).
    config : PsfSection, optional
        ``oversample`` (knots per pixel in distance), ``knot_columns`` (interior knots along the dispersion,
        bivariate), ``column_radius`` (half-width in columns of each windowed fit), ``clip`` and ``niter``
        (outlier threshold in standard deviations, 0 = none, and clipping iterations).

    Returns
    -------
    ProfileModel
    """
    cfg = config or PsfSection()
    oversample, knot_columns, column_radius = cfg.oversample, cfg.knot_columns, max(cfg.column_radius, 2)
    clip, niter = cfg.clip, cfg.niter
    if len(table) < 20:
        raise SpectrumError(
            f"psf: only {len(table)} pixels with a well-measured normalisation; lower psf.min_snr or use "
            "extraction.method = 'aperture'"
        )
    spacing = 1.0 / oversample
    rejected = np.zeros(len(table), bool)
    sigma = np.sqrt(table.variance)
    wts = 1.0 / sigma
    low, high = table.value - clip * sigma, table.value + clip * sigma
    blocks = np.empty(0)
    splines: list[Any] = []
    crange = (float(table.column.min()), float(table.column.max()))
    drange = (float(table.distance.min()), float(table.distance.max()))
    dkey = np.floor((table.distance - drange[0]) / BIN_WIDTH).astype(np.int64)
    grid = drange[0] + (np.arange(int(dkey.max()) + 1) + 0.5) * BIN_WIDTH
    if kind == "windowed":
        blocks = np.arange(table.column.min(), table.column.max() + 1, column_radius, dtype=float)
        block = np.clip(np.searchsorted(blocks, table.column, side="right") - 1, 0, len(blocks) - 1)
        on_grid_index = block * grid.size + dkey
        bins = _WindowBins.build(table, wts, radius, blocks, column_radius)
    for _ in range(max(niter, 0) + 1):
        keep = ~rejected
        if kind == "univariate":
            splines = [_fit_1d(table.distance[keep], table.value[keep], wts[keep], spacing, radius)]
        elif kind == "bivariate":
            splines = [
                _fit_2d(
                    table.distance[keep],
                    table.column[keep],
                    table.value[keep],
                    wts[keep],
                    spacing,
                    knot_columns,
                    radius,
                ),
                _fit_1d(table.distance[keep], table.value[keep], wts[keep], spacing, radius),
            ]
        elif kind == "windowed":
            splines = _fit_windowed(bins, rejected, spacing)
        else:
            raise SpectrumError(f"psf.kind: unknown profile model {kind!r}; use univariate, bivariate or windowed")
        model = ProfileModel(kind, splines, blocks, rejected, np.nan, radius, crange, drange)
        if kind == "univariate":
            # evaluated on the distance bins (a fiftieth of a pixel), not at every pixel
            fitted = model(grid, np.zeros_like(grid))[dkey]
        elif kind == "windowed":
            fitted = np.stack([model(grid, np.full_like(grid, b0)) for b0 in blocks]).ravel()[on_grid_index]
        else:
            fitted = model(table.distance, table.column)
        if clip <= 0:
            break
        new = (fitted < low) | (fitted > high)  # |value - fitted| > clip * sigma
        if np.array_equal(new, rejected):
            break
        rejected = new
    keep = ~rejected
    chi2 = float(np.sum(((table.value[keep] - fitted[keep]) / sigma[keep]) ** 2) / max(keep.sum() - 1, 1))
    log.info("psf (%s): %d pixels, %d rejected, chi2/dof %.2f", kind, len(table), int(rejected.sum()), chi2)
    return ProfileModel(kind, splines, blocks, rejected, chi2, radius, crange, drange)
