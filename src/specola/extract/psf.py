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
from scipy.interpolate import BSpline, LSQBivariateSpline, LSQUnivariateSpline

from ..errors import SpectrumError
from .config import PsfSection
from .threads import serial_blas

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
    keep = np.abs(dist) <= radius
    keep &= ok_col
    keep &= ~mask
    keep &= np.isfinite(data)
    keep &= np.isfinite(variance)
    flat = np.flatnonzero(keep)  # one index into the flattened cube: 1-D gathers
    n_disp = data.shape[2]
    cc = flat % n_disp
    ii = flat // (n_spatial * n_disp)
    scale = norm.ravel()[ii * n_disp + cc]
    return PixelTable(
        dist.ravel()[flat],
        np.ravel(data)[flat] / scale,
        np.ravel(variance)[flat] / scale**2,
        cc.astype(float),
        ii,
        (flat // n_disp) % n_spatial,
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

    def _block(self, columns: np.ndarray) -> np.ndarray:
        """The windowed block of each column."""
        col = np.clip(columns, *self.column_range)
        return np.clip(np.searchsorted(self.blocks, col, side="right") - 1, 0, len(self.splines) - 1)

    def tabulate(self, distance: np.ndarray, columns: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The profile on a grid of distances, once per distinct profile, clipped at zero, not cut at ``radius``.

        Parameters
        ----------
        distance : ndarray
            Increasing distances from the trace (held at the fitted range beyond it: no extrapolation).
        columns : ndarray
            Increasing columns.

        Returns
        -------
        table : ndarray
            ``(distance.size, n_profiles)``: one profile (univariate), one per block (windowed), one per column
            (bivariate).
        which : ndarray of int
            The profile (column of ``table``) of each of ``columns``.
        """
        d = np.clip(distance, *self.distance_range)
        if self.kind == "univariate":
            tab, which = self.splines[0](d)[:, None], np.zeros(columns.size, np.intp)
        elif self.kind == "bivariate":
            which = np.arange(columns.size)
            # beyond the fitted columns the surface is unconstrained: the univariate fallback is used there
            fitted = (columns >= self.column_range[0]) & (columns <= self.column_range[1])
            tab = _surface(self.splines[0], d, columns[fitted])
            if not fitted.all():
                full = np.repeat(self.splines[1](d)[:, None], columns.size, axis=1)
                full[:, fitted] = tab
                tab = full
        else:
            tab, which = np.stack([spline(d) for spline in self.splines], axis=1), self._block(columns)
        return np.maximum(tab, 0.0), which

    def frames(self, trace: np.ndarray, n_spatial: int, weights: np.ndarray) -> np.ndarray:
        """Pixel-sampled profiles normalised to ``sum(weights * profile) = 1`` per column.

        The profile is tabulated every ``1 / STEPS`` pixel in distance and interpolated linearly: a cubic's error
        over the step, ``h**2 |P''| / 8``, is ~1e-6 of the peak. Rows are whole pixels apart, so a column's
        pixels share one interpolation fraction.

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
        lo, hi = self.distance_range
        n_grid = max(int(np.ceil((hi - lo) * STEPS)) + 1, 2)
        tab, which = self.tabulate(lo + np.arange(n_grid) / STEPS, np.arange(n_disp, dtype=float))
        tab = np.concatenate([tab[:1], tab, tab[-1:]])  # end values repeated: held beyond the grid
        n_prof = tab.shape[1]
        # row r of column (i, c) lies STEPS * r + u0 grid steps from the grid's start: one fraction per column
        u0 = (-trace - lo) * STEPS
        k0 = np.floor(u0)
        frac = (u0 - k0)[:, None, :]
        idx = (k0.astype(np.intp) + 1)[:, None, :] + STEPS * np.arange(n_spatial)[None, :, None]
        np.clip(idx, 0, n_grid, out=idx)
        if n_prof > 1:
            idx *= n_prof
            idx += which
        t = tab.ravel()
        prof = t[idx]
        prof += (t[idx + n_prof] - prof) * frac
        rows = np.arange(n_spatial)[None, :, None]
        prof *= (rows >= (trace - self.radius)[:, None, :]) & (rows <= (trace + self.radius)[:, None, :])
        total = np.sum(weights * prof, axis=1, keepdims=True)
        prof /= np.where(total > 0, total, np.inf)  # columns without light stay 0
        return prof


def _surface(spline: LSQBivariateSpline, distance: np.ndarray, columns: np.ndarray) -> np.ndarray:
    """A bivariate spline on a grid, as the product of its two B-spline design matrices and its coefficients."""
    tx, ty, c = spline.tck
    kx, ky = spline.degrees
    bx = BSpline.design_matrix(distance, tx, kx).toarray()
    by = BSpline.design_matrix(columns, ty, ky).toarray()
    return bx @ c.reshape(tx.size - kx - 1, ty.size - ky - 1) @ by.T


#: Width of the distance bins the pixel table is averaged in before a spline fit (pixels).
BIN_WIDTH = 0.02
#: Grid points per pixel of the tabulated profile that frames are interpolated from (every ``BIN_WIDTH / 4``).
STEPS = 200


@dataclass(frozen=True, eq=False)
class _Binned:
    """The pixel table's weighted sums per bin, taken once; a clipping iteration subtracts its rejected pixels.

    ``sums`` are those of ``w**2`` and ``w**2 * x`` for each coordinate ``x`` (value first): a least-squares
    spline through the bin means with weights ``sqrt(sum w**2)`` is the full fit up to the spline's change within
    a bin (a fiftieth of a pixel), at a fraction of the cost.
    """

    keys: np.ndarray
    terms: tuple[np.ndarray, ...]
    sums: tuple[np.ndarray, ...]

    @classmethod
    def of(cls, keys: np.ndarray, n: int, w2: np.ndarray, *coords: np.ndarray) -> _Binned:
        terms = (w2, *(w2 * x for x in coords))
        return cls(keys, terms, tuple(np.bincount(keys, t, n) for t in terms))

    def less(self, out: np.ndarray) -> tuple[np.ndarray, ...]:
        """Sums per bin without the pixels ``out`` (indices)."""
        if out.size == 0:
            return self.sums
        k = self.keys[out]
        return tuple(s - np.bincount(k, t[out], s.size) for s, t in zip(self.sums, self.terms, strict=True))


def _means(sums: tuple[np.ndarray, ...]) -> tuple[np.ndarray, ...]:
    """(weights, mean value, mean coordinates...) of the occupied bins of :class:`_Binned` sums."""
    tot = sums[0]
    occ = tot > 1e-12 * tot.max()  # bins emptied by rejection keep a rounding residue
    return np.sqrt(tot[occ]), *(x[occ] / tot[occ] for x in sums[1:])


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
class _Grid:
    """Distance bins and integer columns of a pixel table: every pixel's bin ``dkey`` and column ``ckey``."""

    lo: float
    hi: float
    dkey: np.ndarray
    ckey: np.ndarray
    n_bins: int
    columns: np.ndarray  # the table's columns, c0 ... c1

    @classmethod
    def of(cls, table: PixelTable, radius: float) -> _Grid:
        lo = min(-radius, float(table.distance.min()))
        hi = max(radius, float(table.distance.max()))
        dkey = ((table.distance - lo) / BIN_WIDTH).astype(np.int64)  # non-negative: truncation is the floor
        c0 = int(table.column.min())
        ckey = table.column.astype(np.int64) - c0  # pixel-table columns are detector columns (integers)
        columns = c0 + np.arange(int(ckey.max()) + 1, dtype=float)
        return cls(lo, hi, dkey, ckey, int(np.floor((hi - lo) / BIN_WIDTH)) + 1, columns)

    @property
    def centres(self) -> np.ndarray:
        return self.lo + (np.arange(self.n_bins) + 0.5) * BIN_WIDTH


class _Univariate:
    """One spline in distance over every column."""

    def __init__(self, table: PixelTable, w2: np.ndarray, grid: _Grid, config: PsfSection) -> None:
        self.grid = grid
        self.bins = _Binned.of(grid.dkey, grid.n_bins, w2, table.value, table.distance)

    def fit(self, out: np.ndarray, spacing: float) -> list[Any]:
        wb, vb, db = _means(self.bins.less(out))
        return [_fit_binned(db, vb, wb, self.grid.lo, self.grid.hi, spacing)]


class _Windowed:
    """One spline per block of ``column_radius`` columns, fitted to the pixels within ``column_radius`` of its middle.

    The windows' edges cut the columns into a few segments; the table is binned once in (segment, distance), and
    each window's sums are a difference of cumulative sums over segments, less the rejected pixels it holds.
    """

    def __init__(self, table: PixelTable, w2: np.ndarray, grid: _Grid, config: PsfSection) -> None:
        column_radius = max(config.column_radius, 2)
        n_cols = grid.columns.size
        c0 = int(grid.columns[0])
        self.blocks = np.arange(c0, c0 + n_cols, column_radius, dtype=float)
        cols = []
        for b0 in self.blocks:
            mid = b0 + 0.5 * column_radius
            a = int(np.clip(np.ceil(mid - column_radius) - c0, 0, n_cols))
            cols.append((a, int(np.clip(np.floor(mid + column_radius) - c0 + 1, a, n_cols))))
        edges = np.unique([0, n_cols, *(x for pair in cols for x in pair)])
        self.windows = [(a, b, int(np.searchsorted(edges, a)), int(np.searchsorted(edges, b))) for a, b in cols]
        segment = np.searchsorted(edges, np.arange(n_cols), side="right") - 1
        n = grid.n_bins
        bins = _Binned.of(segment[grid.ckey] * n + grid.dkey, edges.size * n, w2, table.value, table.distance)
        zero = np.zeros((1, n))
        self.cum = [np.concatenate([zero, np.cumsum(x.reshape(edges.size, n), axis=0)]) for x in bins.sums]
        self.bins, self.grid = bins, grid

    def fit(self, out: np.ndarray, spacing: float) -> list[Any]:
        n = self.grid.n_bins
        cols, dkey = self.grid.ckey[out], self.grid.dkey[out]
        terms = [t[out] for t in self.bins.terms]
        splines = []
        for a, b, sa, sb in self.windows:
            sel = (cols >= a) & (cols < b)
            lost = [np.bincount(dkey[sel], t[sel], n) for t in terms]
            sums = tuple(c[sb] - c[sa] - x for c, x in zip(self.cum, lost, strict=True))
            wb, vb, db = _means(sums)
            splines.append(_fit_binned(db, vb, wb, self.grid.lo, self.grid.hi, spacing))
        return splines


def _column_knots(d: np.ndarray, ckey: np.ndarray, n_cols: int, n_knots: int) -> int:
    """The most interior column knots, up to ``n_knots``, that keep every column segment sampled.

    Each segment must sample >= 80 % of the sub-pixel phases (10 bins): with fewer, the surface swings between them.
    """
    phase = (np.mod(d, 1.0) * 10).astype(np.int64) % 10
    while n_knots > 0:
        seg = np.minimum(ckey * (n_knots + 1) // max(n_cols - 1, 1), n_knots)
        seen = np.bincount(seg * 10 + phase, minlength=(n_knots + 1) * 10).reshape(n_knots + 1, 10) > 0
        if seen.mean(axis=1).min() >= 0.8:
            break
        n_knots -= 1
    return n_knots


class _Bivariate:
    """A spline surface in (distance, column) and a univariate fallback beyond the fitted columns."""

    def __init__(self, table: PixelTable, w2: np.ndarray, grid: _Grid, config: PsfSection) -> None:
        n_cols = grid.columns.size
        self.n_col_knots = _column_knots(table.distance, grid.ckey, n_cols, config.knot_columns)
        self.col_bin = max((n_cols - 1) / (10 * (self.n_col_knots + 1)), 1.0)
        self.n_cb = int((n_cols - 1) / self.col_bin) + 1
        keys = grid.dkey * self.n_cb + (grid.ckey / self.col_bin).astype(np.int64)
        self.bins = _Binned.of(keys, grid.n_bins * self.n_cb, w2, table.value, table.distance, table.column)
        self.grid = grid

    def fit(self, out: np.ndarray, spacing: float) -> list[Any]:
        sums = self.bins.less(out)
        lo, hi = self.grid.lo, self.grid.hi
        clo, chi = self.grid.columns[0], self.grid.columns[-1]
        marginal = _means(tuple(x.reshape(self.grid.n_bins, self.n_cb).sum(axis=1) for x in sums[:3]))
        fallback = _fit_binned(marginal[2], marginal[1], marginal[0], lo, hi, spacing)
        wb, vb, db, cb = _means(sums)
        db, cb = np.clip(db, lo, hi), np.clip(cb, clo, chi)  # bin means may round past the box
        n_col_knots = self.n_col_knots
        for _ in range(8):
            tx = _supported_knots(db, lo, hi, spacing)
            ty = np.linspace(clo, chi, n_col_knots + 2)[1:-1]
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("error")
                    surface = LSQBivariateSpline(db, cb, vb, tx, ty, w=wb, bbox=[lo, hi, clo, chi], kx=3, ky=3)
                return [surface, fallback]
            except (ValueError, UserWarning):
                spacing *= 1.4
                n_col_knots = max(n_col_knots - 1, 0)
        raise SpectrumError("psf: the pixel table cannot support a bivariate spline; lower psf.knot_columns")


class _Clipper:
    """Pixels farther than ``threshold`` from the tabulated profile, re-tested only near the threshold.

    A pixel's verdict can change only when the profile at its bin moves by more than its distance from the
    threshold; while the profile stays within ``margin`` of the one of the last full pass, only the pixels within
    ``margin`` of the threshold there are compared again: the verdicts of a full pass, at a fraction of its cost.
    """

    def __init__(self, value: np.ndarray, threshold: np.ndarray, index: np.ndarray) -> None:
        self.value, self.threshold, self.index = value, threshold, index
        self.margin = 0.1 * float(np.median(threshold))
        self.ref: np.ndarray | None = None

    def __call__(self, flat: np.ndarray) -> np.ndarray:
        """Rejected pixels for the profile tabulated as ``flat`` (indexed by ``index``)."""
        if self.ref is None or np.max(np.abs(flat - self.ref)) > self.margin:
            resid = np.abs(self.value - flat[self.index])
            self.rejected = resid > self.threshold
            self.near = np.nonzero(np.abs(resid - self.threshold) <= self.margin)[0]
            self.near_args = (self.value[self.near], self.index[self.near], self.threshold[self.near])
            self.ref = flat
            return self.rejected.copy()
        value, index, threshold = self.near_args
        out = self.rejected.copy()
        out[self.near] = np.abs(value - flat[index]) > threshold
        return out


_FITTERS = {"univariate": _Univariate, "bivariate": _Bivariate, "windowed": _Windowed}


@serial_blas
def fit_profile(table: PixelTable, radius: float, kind: str, config: PsfSection | None = None) -> ProfileModel:
    """Fit a spline profile to a pixel table with iterative sigma clipping.

    The table is binned once (bins of ``BIN_WIDTH`` in distance; for ``bivariate`` also in column); each clipping
    iteration subtracts its rejected pixels from the bin sums, fits the spline(s) to the bin means and compares
    every pixel with the profile at its bin.

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
    if kind not in _FITTERS:
        raise SpectrumError(f"psf.kind: unknown profile model {kind!r}; use univariate, bivariate or windowed")
    if len(table) < 20:
        raise SpectrumError(
            f"psf: only {len(table)} pixels with a well-measured normalisation; lower psf.min_snr or use "
            "extraction.method = 'aperture'"
        )
    spacing = 1.0 / cfg.oversample
    grid = _Grid.of(table, radius)
    w2 = 1.0 / table.variance
    fitter = _FITTERS[kind](table, w2, grid, cfg)
    blocks = getattr(fitter, "blocks", np.empty(0))
    crange = (float(grid.columns[0]), float(grid.columns[-1]))
    drange = (float(table.distance.min()), float(table.distance.max()))
    inside = (np.abs(grid.centres) <= radius)[:, None]
    index = clipper = None
    rejected = np.zeros(len(table), bool)
    for _ in range(max(cfg.niter, 0) + 1):
        splines = fitter.fit(np.nonzero(rejected)[0], spacing)
        model = ProfileModel(kind, splines, blocks, rejected, np.nan, radius, crange, drange)
        tab, which = model.tabulate(grid.centres, grid.columns)
        flat = (tab * inside).ravel()
        if index is None:  # every pixel's place in the tabulated profile (bin centre, profile of its column)
            index = grid.dkey * tab.shape[1] + which[grid.ckey]
        if cfg.clip <= 0:
            break
        clipper = clipper or _Clipper(table.value, cfg.clip * np.sqrt(table.variance), index)
        new = clipper(flat)
        if np.array_equal(new, rejected):
            break
        rejected = new
    fitted = flat[index]
    keep = ~rejected
    chi2 = float(np.sum((table.value[keep] - fitted[keep]) ** 2 * w2[keep]) / max(keep.sum() - 1, 1))
    log.info("psf (%s): %d pixels, %d rejected, chi2/dof %.2f", kind, len(table), int(rejected.sum()), chi2)
    return ProfileModel(kind, splines, blocks, rejected, chi2, radius, crange, drange)
