"""Information criteria of a line fit: WAIC and PSIS-LOO from the pointwise log-likelihood.

Computed here with NumPy, not through ArviZ: importing ArviZ 0.x (xarray, pandas) takes ~1 s, a fifth of a warm
``specola lines`` NUTS run, for ~10 ms of arithmetic. The estimators follow Vehtari, Gelman & Gabry (2017,
Stat. Comput. 27, 1413) as the authors' R package ``loo`` computes them (sample variances, a tail of the
``M = ceil(min(S / 5, 3 sqrt(S)))`` largest importance ratios of ``S`` draws); the generalized Pareto fit of the
tail is the empirical-Bayes estimate of Zhang & Stephens (2009, Technometrics 51, 316) with the weak prior on
its shape of Vehtari et al. (2024, JMLR 25, 72). tests/lines/test_ic.py compares every output with ArviZ's.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.special import logsumexp

__all__ = ["information_criteria", "pareto_k_threshold", "psis"]

#: Variance over the draws of a pixel's log predictive density above which WAIC is unreliable there (Vehtari,
#: Gelman & Gabry 2017, section 2.2).
WAIC_VARIANCE_LIMIT = 0.4


def pareto_k_threshold(draws: int) -> float:
    """Pareto k above which PSIS estimates from ``draws`` draws are unreliable: ``min(1 - 1/log10(S), 0.7)``."""
    return min(1.0 - 1.0 / np.log10(draws), 0.7)


def _gpd_fit(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Shape ``k`` and scale ``sigma`` of generalized Pareto laws fitted to the columns of ``x`` (sorted, > 0).

    The posterior mean of ``theta = -k / sigma`` over a grid of ``30 + sqrt(M)`` values built from the sample's
    quartile and maximum (Zhang & Stephens 2009), each weighted by its profile likelihood; then ``k``
    shrunk towards 0.5 by a prior worth 10 observations.
    """
    m = x.shape[0]
    grid = 30 + int(np.sqrt(m))
    j = np.arange(1, grid + 1, dtype=float)[:, None]
    theta = 1.0 / x[-1] + (1.0 - np.sqrt(grid / (j - 0.5))) / (3.0 * x[int(m / 4 + 0.5) - 1])  # (grid, columns)
    k = np.mean(np.log1p(-theta[:, None, :] * x[None]), axis=1)
    profile = m * (np.log(-theta / k) - k - 1.0)
    weights = np.exp(profile - logsumexp(profile, axis=0))
    theta_hat = np.sum(weights * theta, axis=0)
    k_hat = np.mean(np.log1p(-theta_hat * x), axis=0)
    sigma = -k_hat / theta_hat
    return (m * k_hat + 10 * 0.5) / (m + 10), sigma


def _gpd_quantile(p: np.ndarray, k: np.ndarray, sigma: np.ndarray) -> np.ndarray:
    """Quantiles ``p`` (a column) of generalized Pareto laws with shapes ``k`` and scales ``sigma`` (rows)."""
    tiny = np.abs(k) < np.finfo(float).eps
    safe = np.where(tiny, 1.0, k)
    return sigma * np.where(tiny, -np.log1p(-p), np.expm1(-safe * np.log1p(-p)) / safe)


def psis(log_ratios: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pareto-smoothed importance sampling of each column of ``log_ratios`` ``(draws, columns)``.

    The ``M`` largest ratios of a column are replaced by the expected order statistics of a generalized Pareto
    law fitted to them, capped at the largest raw ratio (Vehtari et al. 2024). A column whose fit fails (a tail
    of equal ratios, or fewer than 5 draws in it) keeps its raw ratios and gets ``k = inf``.

    Returns
    -------
    (ndarray, ndarray)
        Log weights normalised per column ``(draws, columns)``, and the fitted shapes ``k`` ``(columns,)``.
    """
    lr = np.asarray(log_ratios, float)
    draws, columns = lr.shape
    m = int(np.ceil(min(draws / 5.0, 3.0 * np.sqrt(draws))))
    lw = lr - np.max(lr, axis=0)  # the largest ratio is 1
    order = np.argsort(lw, axis=0, kind="stable")
    ranked = np.take_along_axis(lw, order, axis=0)
    cutoff = ranked[draws - m - 1]
    tail = np.exp(ranked[draws - m :]) - np.exp(cutoff)  # exceedances, ascending
    k = np.full(columns, np.inf)
    fit = (tail[-1] > 0) if m > 4 else np.zeros(columns, bool)
    if np.any(fit):
        with np.errstate(divide="ignore", invalid="ignore"):
            shape, sigma = _gpd_fit(tail[:, fit])
            p = (np.arange(m, dtype=float)[:, None] + 0.5) / m
            smooth = np.log(_gpd_quantile(p, shape, sigma) + np.exp(cutoff[fit]))
        ok = np.isfinite(shape) & np.all(np.isfinite(smooth), axis=0)
        cols = np.flatnonzero(fit)[ok]
        k[cols] = shape[ok]
        ranked[draws - m :, cols] = np.minimum(smooth[:, ok], 0.0)
    np.put_along_axis(lw, order, ranked, axis=0)
    return lw - logsumexp(lw, axis=0), k


def _sum_and_se(pointwise: np.ndarray) -> tuple[float, float]:
    """Sum over pixels and its standard error ``sqrt(n var)`` (sample variance)."""
    return float(np.sum(pointwise)), float(np.sqrt(pointwise.size * np.var(pointwise, ddof=1)))


def information_criteria(log_lik: np.ndarray) -> dict[str, Any]:
    """WAIC and PSIS-LOO of a fit, on the deviance scale (lower is better) and as elpd.

    Parameters
    ----------
    log_lik : ndarray
        Pointwise log-likelihood ``(draws, pixels)`` of (nearly) independent posterior draws.

    Returns
    -------
    dict
        ``waic``, ``elpd_waic``, ``p_waic``, ``waic_se``, ``loo``, ``elpd_loo``, ``p_loo``, ``loo_se``,
        ``pareto_k_max``, ``pareto_k_threshold`` (:func:`pareto_k_threshold`), ``pareto_k_bad`` (pixels above
        it) and ``ic_warnings`` (text).
    """
    ll = np.asarray(log_lik, float)
    draws = ll.shape[0]
    lppd = logsumexp(ll, axis=0) - np.log(draws)
    var_lpd = np.var(ll, axis=0, ddof=1)
    elpd_waic, se_waic = _sum_and_se(lppd - var_lpd)
    lw, k = psis(-ll)
    elpd_loo, se_loo = _sum_and_se(logsumexp(lw + ll, axis=0))
    limit = pareto_k_threshold(draws)
    out = {
        "waic": -2.0 * elpd_waic,
        "elpd_waic": elpd_waic,
        "p_waic": float(np.sum(var_lpd)),
        "waic_se": 2.0 * se_waic,
        "loo": -2.0 * elpd_loo,
        "elpd_loo": elpd_loo,
        "p_loo": float(np.sum(lppd)) - elpd_loo,
        "loo_se": 2.0 * se_loo,
        "pareto_k_max": float(np.max(k)),
        "pareto_k_threshold": limit,
        "pareto_k_bad": int(np.sum(k > limit)),
        "ic_warnings": [],
    }
    wide = int(np.sum(var_lpd > WAIC_VARIANCE_LIMIT))
    if wide:
        out["ic_warnings"].append(
            f"WAIC: the log predictive density of {wide} pixel(s) varies over the draws by more than "
            f"{WAIC_VARIANCE_LIMIT} (variance); WAIC may be biased, prefer PSIS-LOO"
        )
    if out["pareto_k_bad"]:
        out["ic_warnings"].append(
            f"PSIS-LOO: {out['pareto_k_bad']} pixel(s) with Pareto k > {limit:.2f} (largest "
            f"{out['pareto_k_max']:.2f}); LOO is unreliable there (a pixel the model misses, or too few draws)"
        )
    return out
