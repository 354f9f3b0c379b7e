"""Background (sky) in windows beside the trace, and 1/f stripe removal.

Methods (``background.method``), all fitted to the window pixels whose distance
from the trace lies between ``inner`` and ``outer`` only, with two-sided
iterative clipping at ``sigma`` robust standard deviations:

* ``columns`` -- a polynomial in the spatial coordinate along every dispersion
  column of every integration;
* ``rows`` -- a polynomial in the dispersion coordinate along every spatial row
  (rows the windows never reach take the nearest fitted row's background);
* ``median`` -- the median of each column's window pixels;
* ``photutils`` -- :class:`photutils.background.Background2D` over the frame with
  everything but the windows masked.

Every fit keeps the variance it adds to a linear extraction
(:meth:`BackgroundFit.extra_variance`): the coefficient covariance of the
polynomials, or the variance of a median / box estimate shared by a column.

:func:`destripe` removes 1/f stripes of JWST-like detectors: per integration,
the median offset of the window pixels in every column and/or row.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from .aperture import aperture_weights
from .config import BackgroundSection

__all__ = ["BackgroundFit", "background_from_pixels", "destripe", "fit_background", "sky_window"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, eq=False)
class BackgroundFit:
    """A fitted background and the variance it adds.

    Attributes
    ----------
    model : ndarray
        ``(n_ints, n_spatial, n_dispersion)`` background counts (NaN where it could not be fitted).
    used : ndarray of bool
        Pixels that entered the final fit.
    rejected : ndarray of bool
        Window pixels rejected by clipping.
    pixel_variance : ndarray
        Variance of the model in each pixel, independent from pixel to pixel along a column.
    column_variance : ndarray
        ``(n_ints, n_dispersion)`` variance of a level shared by all rows of a column.
    design, covariance : ndarray or None
        ``columns`` method: the spatial polynomial basis and the coefficient covariance per column.
    method : str
    """

    model: np.ndarray
    used: np.ndarray
    rejected: np.ndarray
    pixel_variance: np.ndarray | float = 0.0
    column_variance: np.ndarray | float = 0.0
    design: np.ndarray | None = None
    covariance: np.ndarray | None = None
    method: str = "columns"

    @property
    def failed(self) -> np.ndarray:
        """``(n_ints, n_dispersion)`` columns without a usable background."""
        return ~np.all(np.isfinite(self.model), axis=1)

    def extra_variance(self, weights: np.ndarray) -> np.ndarray:
        """Variance that the background adds to ``sum(weights * (data - model))`` per column.

        Parameters
        ----------
        weights : ndarray
            ``(n_ints, n_spatial, n_dispersion)`` linear extraction weights.

        Returns
        -------
        ndarray
            ``(n_ints, n_dispersion)``.
        """
        out = np.sum(weights, axis=1) ** 2 * self.column_variance
        out = out + np.sum(weights**2 * self.pixel_variance, axis=1)
        if self.design is not None:
            v = np.einsum("irc,rk->ick", weights, self.design)
            out = out + np.einsum("ick,ickl,icl->ic", v, self.covariance, v)
        return np.nan_to_num(out, nan=np.inf)


def _masked_median(values: np.ndarray, valid: np.ndarray, axis: int = 1) -> np.ndarray:
    """Median along ``axis`` of the valid entries (sort-based; much faster than ``np.nanmedian`` on cubes)."""
    n = valid.sum(axis=axis, keepdims=True)
    srt = np.sort(np.where(valid, values, np.inf), axis=axis)
    lo = np.take_along_axis(srt, np.maximum((n - 1) // 2, 0), axis=axis)
    hi = np.take_along_axis(srt, np.maximum(n // 2, 0), axis=axis)
    return np.where(n > 0, 0.5 * (lo + hi), np.nan)


def sky_window(trace: np.ndarray, n_spatial: int, inner: float, outer: float) -> np.ndarray:
    """Pixels whose centres lie ``inner <= |row - trace| <= outer`` and that no aperture of radius ``inner`` touches.

    Parameters
    ----------
    trace : ndarray
        ``(n_ints, n_dispersion)``.
    n_spatial : int
    inner, outer : float

    Returns
    -------
    ndarray of bool
        ``(n_ints, n_spatial, n_dispersion)``.
    """
    dist = np.abs(np.arange(n_spatial)[None, :, None] - trace[:, None, :])
    return (dist >= inner) & (dist <= outer) & (aperture_weights(trace, n_spatial, inner) == 0)


def _design(n: int, degree: int) -> np.ndarray:
    x = (np.arange(n) - 0.5 * (n - 1)) / max(n, 2)
    return np.vander(x, degree + 1, increasing=True)


def _robust_scale(resid: np.ndarray, valid: np.ndarray, variance: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Median and MAD-based scale of residuals (floored by half the expected noise) per line."""
    med = _masked_median(resid, valid)
    scale = 1.4826 * _masked_median(np.abs(resid - med), valid)
    floor = 0.5 * np.sqrt(np.abs(_masked_median(variance, valid)))
    return med, np.maximum(scale, floor)


def _clip(resid: np.ndarray, used: np.ndarray, good: np.ndarray, variance: np.ndarray, sigma: float) -> np.ndarray:
    """Two-sided clipping about the median residual, scale from the MAD (floored by the expected noise)."""
    med, scale = _robust_scale(resid, used, variance)
    return good & (np.abs(resid - med) > sigma * scale)


def _polyfit_axis1(
    data: np.ndarray, variance: np.ndarray, good: np.ndarray, degree: int, sigma: float, niter: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Clipped polynomial along axis 1 of ``(n_ints, n, n_lines)``: model, used, rejected, design, covariance."""
    n_ints, n, n_lines = data.shape
    a = _design(n, degree)
    nterm = degree + 1
    aa = (a[:, :, None] * a[:, None, :]).reshape(n, -1)
    clean = np.where(good, data, 0.0)
    # a robust start: clip about the median first (a least-squares line through cosmic rays hides them)
    # the scale is measured once, about the median (robust), and kept for the later passes
    rejected = np.zeros_like(good)
    if sigma > 0:
        resid0 = np.where(good, data - _masked_median(data, good), 0.0)
        _, scale = _robust_scale(resid0, good, variance)
        rejected = good & (np.abs(resid0) > sigma * scale)
    eye = np.eye(nterm)
    for step in range(max(niter, 0) + 1):
        used = good & ~rejected
        m = used.astype(float)
        ata = np.matmul(np.swapaxes(m, 1, 2), aa).reshape(n_ints, n_lines, nterm, nterm)
        atb = np.matmul(np.swapaxes(m * clean, 1, 2), a)
        fitted = used.sum(axis=1) > nterm
        ata = np.where(fitted[..., None, None], ata, eye)
        coef = np.linalg.solve(ata, atb[..., None])[..., 0]
        model = np.swapaxes(np.matmul(coef, a.T), 1, 2)
        if sigma <= 0 or step == niter:
            break
        new = good & (np.abs(data - model) > sigma * scale)
        if np.array_equal(new, rejected):
            break
        rejected = new
    used = good & ~rejected
    count = used.sum(axis=1)
    sky_var = np.sum(np.where(used, variance, 0.0), axis=1) / np.maximum(count, 1)
    cov = np.linalg.inv(ata) * sky_var[..., None, None]
    model = np.where((count > nterm)[:, None, :], model, np.nan)
    return model, used, rejected, a, cov


def _fill_rows(model: np.ndarray) -> np.ndarray:
    """Give rows without a fit the background of the nearest fitted row (per integration)."""
    ok = np.all(np.isfinite(model), axis=2)
    rows = np.arange(model.shape[1])
    for i in range(model.shape[0]):
        good = np.nonzero(ok[i])[0]
        if good.size and good.size < rows.size:
            near = good[np.abs(rows[:, None] - good[None, :]).argmin(axis=1)]
            model[i] = model[i, near]
    return model


def _photutils(data: np.ndarray, good: np.ndarray, cfg: BackgroundSection) -> tuple[np.ndarray, np.ndarray]:
    from astropy.stats import SigmaClip
    from photutils.background import Background2D, MedianBackground, MMMBackground

    estimator = MedianBackground() if cfg.estimator == "median" else MMMBackground()
    box = tuple(int(b) for b in cfg.box_size[:2])
    model = np.empty_like(data)
    rms = np.empty_like(data)
    for i in range(data.shape[0]):
        bkg = Background2D(
            np.where(good[i], data[i], 0.0),
            box,
            mask=~good[i],
            sigma_clip=SigmaClip(sigma=cfg.sigma) if cfg.sigma > 0 else None,
            bkg_estimator=estimator,
            exclude_percentile=90.0,
        )
        model[i], rms[i] = bkg.background, bkg.background_rms
    return model, rms


def fit_background(
    data: np.ndarray,
    variance: np.ndarray,
    mask: np.ndarray,
    trace: np.ndarray,
    config: BackgroundSection | None = None,
) -> BackgroundFit:
    """Fit the background of every integration in windows beside the trace.

    Parameters
    ----------
    data, variance : ndarray
        ``(n_ints, n_spatial, n_dispersion)``.
    mask : ndarray of bool
        True for bad pixels (never used).
    trace : ndarray
        ``(n_ints, n_dispersion)`` trace rows.
    config : BackgroundSection, optional
        Method, windows (``inner``, ``outer``), degree and clipping (defaults when None).

    Returns
    -------
    BackgroundFit
        Columns that cannot be fitted get a NaN model (see :attr:`BackgroundFit.failed`).

    Examples
    --------
    >>> from specola.extract.config import BackgroundSection
    >>> d = np.tile(np.arange(20.0)[None, :, None], (1, 1, 3))
    >>> cfg = BackgroundSection(inner=4, outer=9, degree=1)
    >>> fit = fit_background(d, np.ones_like(d), np.zeros(d.shape, bool), np.full((1, 3), 10.0), cfg)
    >>> float(np.abs(fit.model - d).max()) < 1e-9
    True
    """
    cfg = config or BackgroundSection()
    n_ints, n_spatial, n_disp = data.shape
    trace = np.broadcast_to(trace, (n_ints, n_disp))
    good = sky_window(trace, n_spatial, cfg.inner, cfg.outer) & ~mask & np.isfinite(data) & np.isfinite(variance)
    return background_from_pixels(data, variance, good, cfg)


def background_from_pixels(
    data: np.ndarray, variance: np.ndarray, good: np.ndarray, config: BackgroundSection
) -> BackgroundFit:
    """Fit the background to the pixels marked ``good`` (see :func:`fit_background` for the methods).

    Parameters
    ----------
    data, variance : ndarray
        ``(n_ints, n_spatial, n_dispersion)``.
    good : ndarray of bool
        Background pixels to use.
    config : BackgroundSection
        ``method``, ``degree``, ``sigma``, ``niter``, ``box_size``, ``estimator``.

    Returns
    -------
    BackgroundFit
    """
    cfg = config
    if cfg.method == "columns":
        model, used, rejected, a, cov = _polyfit_axis1(data, variance, good, cfg.degree, cfg.sigma, cfg.niter)
        fit = BackgroundFit(model, used, rejected, design=a, covariance=cov, method="columns")
    elif cfg.method == "rows":
        t = lambda x: np.swapaxes(x, 1, 2)
        model, used, rejected, a, cov = _polyfit_axis1(t(data), t(variance), t(good), cfg.degree, cfg.sigma, cfg.niter)
        pix_var = np.einsum("ck,irkl,cl->irc", a, cov, a)
        model = _fill_rows(t(model).copy())
        fit = BackgroundFit(model, t(used), t(rejected), pixel_variance=pix_var, method="rows")
    elif cfg.method == "median":
        rejected = np.zeros_like(good)
        for _ in range(max(cfg.niter, 0) + 1):
            used = good & ~rejected
            level = _masked_median(data, used)
            new = (
                _clip(np.where(good, data - level, 0.0), used, good, variance, cfg.sigma) if cfg.sigma > 0 else rejected
            )
            if np.array_equal(new, rejected):
                break
            rejected = new
        used = good & ~rejected
        n = used.sum(axis=1)
        col_var = np.pi / 2 * np.sum(np.where(used, variance, 0.0), axis=1) / np.maximum(n, 1) ** 2
        model = np.broadcast_to(level, data.shape).copy()
        fit = BackgroundFit(model, used, rejected, column_variance=col_var, method="median")
    elif cfg.method == "photutils":
        model, rms = _photutils(data, good, cfg)
        n_box = max(int(np.prod(cfg.box_size[:2])), 1)
        col_var = np.median(rms**2, axis=1) / n_box
        fit = BackgroundFit(model, good, np.zeros_like(good), column_variance=col_var, method="photutils")
    else:
        raise ValueError(f"background.method: unknown {cfg.method!r}")
    return fit


def destripe(
    data: np.ndarray, mask: np.ndarray, trace: np.ndarray, inner: float, axes: str
) -> tuple[np.ndarray, np.ndarray]:
    """Remove 1/f stripes: the median of the pixels farther than ``inner`` from the trace, per column and/or row.

    Parameters
    ----------
    data : ndarray
        ``(n_ints, n_spatial, n_dispersion)``.
    mask : ndarray of bool
        Bad pixels (ignored).
    trace : ndarray
        ``(n_ints, n_dispersion)``.
    inner : float
        Pixels closer to the trace are source, not stripe.
    axes : {"none", "columns", "rows", "both"}
        ``columns``: one offset per integration and dispersion column (stripes across the slit);
        ``rows``: one per integration and spatial row.

    Returns
    -------
    data : ndarray
        Corrected copy.
    stripes : ndarray
        The subtracted offsets, same shape as ``data``.
    """
    n_ints, n_spatial, n_disp = data.shape
    free = sky_window(np.broadcast_to(trace, (n_ints, n_disp)), n_spatial, inner, np.inf)
    free &= ~mask & np.isfinite(data)
    stripes = np.zeros_like(data)
    out = data
    if axes in ("columns", "both"):
        col = np.nan_to_num(_masked_median(out, free, axis=1))
        stripes = stripes + col
        out = data - stripes
    if axes in ("rows", "both"):
        row = np.nan_to_num(_masked_median(out, free, axis=2))
        stripes = stripes + row
        out = data - stripes
    return out, stripes
