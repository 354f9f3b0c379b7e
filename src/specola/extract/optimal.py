"""Optimal extraction (Horne 1986, PASP 98, 609) with iterative outlier rejection.

In each column the flux is the inverse-variance weighted least-squares scale
of the normalised profile ``P`` to the background-subtracted counts ``D``::

    f = sum(M P D / V) / sum(M P**2 / V),   var(f) = 1 / sum(M P**2 / V)

over the aperture pixels (``M`` = 1 for good pixels). With ``variance =
"model"`` the pixel variances are re-estimated from the model,
``V = (read_noise/gain)**2 + max(f P + sky, 0) / gain`` (Horne's step 6), which
avoids the bias of variances measured from the noisy data themselves. Each
iteration rejects, per column, the single worst pixel whose residual exceeds
``clip`` standard deviations, until none does; pixels rejected early that agree
with the final model are then given back.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .trace import nanmedian

__all__ = ["OptimalResult", "optimal_extract"]


@dataclass(frozen=True, eq=False)
class OptimalResult:
    """Optimal-extraction products.

    Attributes
    ----------
    flux, variance : ndarray
        ``(n_ints, n_dispersion)``.
    model : ndarray
        ``(n_ints, n_spatial, n_dispersion)`` synthetic frames ``f * P``.
    outliers : ndarray of bool
        Pixels rejected as outliers (cosmic rays, hot pixels).
    weights : ndarray
        Linear weights such that ``flux = sum(weights * D)`` (for background error propagation).
    bad : ndarray of bool
        Columns with no usable pixels or with more than half the profile weight lost.
    """

    flux: np.ndarray
    variance: np.ndarray
    model: np.ndarray
    outliers: np.ndarray
    weights: np.ndarray
    bad: np.ndarray


def optimal_extract(
    data: np.ndarray,
    variance: np.ndarray,
    mask: np.ndarray,
    profile: np.ndarray,
    aperture: np.ndarray,
    clip: float = 5.0,
    max_reject: int = 10,
    sky: np.ndarray | None = None,
    gain: float | None = None,
    read_noise: float = 0.0,
) -> OptimalResult:
    """Extract by weighted profile fitting, rejecting outliers column by column.

    Parameters
    ----------
    data, variance : ndarray
        ``(n_ints, n_spatial, n_dispersion)`` background-subtracted counts and variance.
    mask : ndarray of bool
        True for bad pixels.
    profile : ndarray
        Normalised profile frames (``sum(aperture * profile) = 1`` per column).
    aperture : ndarray
        Aperture weights; pixels with weight > 0 enter the fit.
    clip : float
        Outlier threshold in standard deviations (0 = no rejection).
    max_reject : int
        Most pixels rejected per column.
    sky : ndarray, optional
        Subtracted background, for the model variance.
    gain : float, optional
        e⁻/ADU; when given, pixel variances come from the model (Horne 1986).
    read_noise : float
        Read noise in electrons (model variance).

    Returns
    -------
    OptimalResult

    Examples
    --------
    >>> r = np.arange(15.0)[None, :, None]
    >>> p = np.exp(-0.5 * (r - 7) ** 2 / 1.5**2); p = p / p.sum()
    >>> res = optimal_extract(500 * p, np.ones_like(p), np.zeros(p.shape, bool), p, np.ones_like(p))
    >>> round(float(res.flux[0, 0]), 6)
    500.0
    """
    use = (aperture > 0) & ~mask & np.isfinite(data) & np.isfinite(variance)
    d = np.where(use, data, 0.0)
    v = np.where(use, variance, 1.0)
    sky = np.zeros_like(d) if sky is None else sky
    outliers = np.zeros_like(use)
    p2 = profile**2
    if clip > 0:
        # robust first pass: a cosmic ray on the profile peak would drag a least-squares fit, so compare
        # every pixel with the median of D / P over the profile core and reject all discrepant ones at once
        core = use & (profile >= 0.25 * np.max(np.where(use, profile, 0.0), axis=1, keepdims=True)) & (profile > 0)
        ratio = np.where(core, d / np.where(core, profile, 1.0), np.nan)
        f0 = np.nan_to_num(nanmedian(ratio, axis=1))
        v0 = v if gain is None else (read_noise / gain) ** 2 + np.maximum(f0[:, None, :] * profile + sky, 0.0) / gain
        outliers = use & ((d - f0[:, None, :] * profile) ** 2 > clip**2 * v0)
    for step in range(max_reject + 2):
        m = use & ~outliers
        denom = np.sum(np.where(m, p2 / v, 0.0), axis=1)
        ok = denom > 0
        f = np.where(ok, np.sum(np.where(m, profile * d / v, 0.0), axis=1) / np.where(ok, denom, 1.0), 0.0)
        model = f[:, None, :] * profile
        if gain is not None:
            v = np.where(use, (read_noise / gain) ** 2 + np.maximum(model + sky, 0.0) / gain, 1.0)
        if clip <= 0 or step > max_reject:
            break
        z2 = np.where(m, (d - model) ** 2 / v, 0.0)
        worst = np.argmax(z2, axis=1)
        zmax = np.take_along_axis(z2, worst[:, None, :], axis=1)[:, 0, :]
        hit = zmax > clip**2
        if not hit.any():
            if gain is None or step > 0:
                break
            continue
        ii, cc = np.nonzero(hit)
        outliers[ii, worst[ii, cc], cc] = True
    if clip > 0 and outliers.any():
        # give back pixels rejected while a worse outlier still dragged the fit (they agree with the final model)
        restore = outliers & ((d - model) ** 2 / v <= clip**2)
        if restore.any():
            outliers &= ~restore
            m = use & ~outliers
            denom = np.sum(np.where(m, p2 / v, 0.0), axis=1)
            ok = denom > 0
            f = np.where(ok, np.sum(np.where(m, profile * d / v, 0.0), axis=1) / np.where(ok, denom, 1.0), 0.0)
            if gain is not None:
                v = np.where(use, (read_noise / gain) ** 2 + np.maximum(f[:, None, :] * profile + sky, 0.0) / gain, 1.0)
    m = use & ~outliers
    denom = np.sum(np.where(m, p2 / v, 0.0), axis=1)
    ok = denom > 0
    weights = np.where(m, profile / v, 0.0) / np.where(ok, denom, 1.0)[:, None, :]
    flux = np.sum(weights * d, axis=1)
    var = np.where(ok, 1.0 / np.where(ok, denom, 1.0), np.inf)
    lost = np.sum(np.where((aperture > 0) & ~m, aperture * profile, 0.0), axis=1)
    bad = ~ok | (lost > 0.5)
    return OptimalResult(flux, var, flux[:, None, :] * profile, outliers, weights, bad)
