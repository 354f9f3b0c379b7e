"""Sky / background: a sigma-clipped polynomial along each column in windows beside the trace.

In every integration and dispersion column, the pixels whose distance from the
trace lies between ``inner`` and ``outer`` are fitted with a polynomial in the
spatial coordinate (ordinary least squares; outliers beyond ``sigma`` robust
standard deviations are rejected iteratively). The coefficient covariance is
kept so the background's (correlated) uncertainty can be added to any linear
extraction: see :meth:`BackgroundFit.extra_variance`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import SpectrumError
from .aperture import aperture_weights

__all__ = ["BackgroundFit", "fit_background"]


@dataclass(frozen=True, eq=False)
class BackgroundFit:
    """A per-column polynomial background.

    Attributes
    ----------
    model : ndarray
        ``(n_ints, n_spatial, n_dispersion)`` background counts.
    design : ndarray
        ``(n_spatial, degree + 1)`` polynomial basis in the scaled row coordinate.
    covariance : ndarray
        ``(n_ints, n_dispersion, degree + 1, degree + 1)`` coefficient covariance.
    used : ndarray of bool
        Pixels that entered the final fit.
    rejected : ndarray of bool
        Window pixels rejected by sigma clipping.
    """

    model: np.ndarray
    design: np.ndarray
    covariance: np.ndarray
    used: np.ndarray
    rejected: np.ndarray

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
        v = np.einsum("irc,rk->ick", weights, self.design)
        return np.einsum("ick,ickl,icl->ic", v, self.covariance, v)


def _masked_median(values: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """Median along axis 1 of the valid entries (sort-based; much faster than ``np.nanmedian`` on cubes)."""
    n = valid.sum(axis=1, keepdims=True)
    srt = np.sort(np.where(valid, values, np.inf), axis=1)
    lo = np.take_along_axis(srt, np.maximum((n - 1) // 2, 0), axis=1)
    hi = np.take_along_axis(srt, np.maximum(n // 2, 0), axis=1)
    return np.where(n > 0, 0.5 * (lo + hi), np.nan)


def _normal_equations(a: np.ndarray, m: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``A^T M A`` (i, c, k, k) and ``A^T M y`` (i, c, k) through matrix products."""
    nterm = a.shape[1]
    aa = (a[:, :, None] * a[:, None, :]).reshape(a.shape[0], -1)
    ata = np.matmul(np.swapaxes(m, 1, 2), aa).reshape(*m.shape[::2], nterm, nterm)
    atb = np.matmul(np.swapaxes(m * y, 1, 2), a)
    return ata, atb


def _design(n_spatial: int, degree: int) -> np.ndarray:
    x = (np.arange(n_spatial) - 0.5 * (n_spatial - 1)) / max(n_spatial, 2)
    return np.vander(x, degree + 1, increasing=True)


def fit_background(
    data: np.ndarray,
    variance: np.ndarray,
    mask: np.ndarray,
    trace: np.ndarray,
    inner: float,
    outer: float,
    degree: int = 1,
    sigma: float = 4.0,
    niter: int = 5,
) -> BackgroundFit:
    """Fit a polynomial background along every column of every integration.

    Parameters
    ----------
    data, variance : ndarray
        ``(n_ints, n_spatial, n_dispersion)``.
    mask : ndarray of bool
        True for bad pixels (never used).
    trace : ndarray
        ``(n_ints, n_dispersion)`` trace rows.
    inner, outer : float
        The windows are the pixels whose centres lie ``inner <= |row - trace| <= outer``.
    degree : int
        Polynomial degree (0 = constant).
    sigma : float
        Clipping threshold in robust standard deviations (0 = no clipping).
    niter : int
        Maximum clipping iterations.

    Returns
    -------
    BackgroundFit

    Raises
    ------
    SpectrumError
        If a column has fewer usable window pixels than polynomial terms.

    Examples
    --------
    >>> d = np.tile(np.arange(20.0)[None, :, None], (1, 1, 3))
    >>> fit = fit_background(d, np.ones_like(d), np.zeros(d.shape, bool), np.full((1, 3), 10.0), 4, 9, degree=1)
    >>> float(np.abs(fit.model - d).max()) < 1e-9
    True
    """
    n_ints, n_spatial, n_disp = data.shape
    trace = np.broadcast_to(trace, (n_ints, n_disp))
    dist = np.abs(np.arange(n_spatial)[None, :, None] - trace[:, None, :])
    window = (dist >= inner) & (dist <= outer)
    # pixels partly inside the aperture never count as sky
    window &= aperture_weights(trace, n_spatial, inner) == 0
    good = window & ~mask & np.isfinite(data) & np.isfinite(variance)
    a = _design(n_spatial, degree)
    nterm = degree + 1
    rejected = np.zeros_like(good)
    clean = np.where(good, data, 0.0)
    for step in range(max(niter, 0) + 1):
        used = good & ~rejected
        count = used.sum(axis=1)
        if np.any(count < nterm + 1):
            ii, cc = np.nonzero(count < nterm + 1)
            raise SpectrumError(
                f"background: column {cc[0]} (integration {ii[0]}) has {count[ii[0], cc[0]]} usable sky pixels "
                f"for a degree-{degree} fit; widen background.outer or lower background.degree"
            )
        ata, atb = _normal_equations(a, used.astype(float), clean)
        coef = np.linalg.solve(ata, atb[..., None])[..., 0]
        model = np.swapaxes(np.matmul(coef, a.T), 1, 2)
        if sigma <= 0 or step == niter:
            break
        resid = data - model
        med = _masked_median(resid, used)
        scale = 1.4826 * _masked_median(np.abs(resid - med), used)
        floor = 0.5 * np.sqrt(_masked_median(variance, used))
        new = good & (np.abs(np.where(good, data - model, 0.0) - med) > sigma * np.maximum(scale, floor))
        if np.array_equal(new, rejected):
            break
        rejected = new
    used = good & ~rejected
    sky_var = np.sum(np.where(used, variance, 0.0), axis=1) / np.maximum(used.sum(axis=1), 1)
    ata, _ = _normal_equations(a, used.astype(float), clean)
    cov = np.linalg.inv(ata) * sky_var[..., None, None]
    return BackgroundFit(model, a, cov, used, rejected)
