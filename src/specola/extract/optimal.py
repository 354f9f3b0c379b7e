"""Optimal extraction (Horne 1986, PASP 98, 609) with iterative outlier rejection.

In each column the flux is the inverse-variance weighted least-squares scale
of the normalised profile ``P`` to the background-subtracted counts ``D``::

    f = sum(M P D / V) / sum(M P**2 / V),   var(f) = 1 / sum(M P**2 / V)

over the aperture pixels (``M`` = 1 for good pixels). With a
:class:`VarianceModel` the pixel variances come from the model,
``V = floor + scale * max(f P + sky, 0)`` (Horne's step 6), which avoids the
bias of weights measured from the noisy data themselves. Each iteration
rejects, per column, the single worst pixel whose residual exceeds ``clip``
standard deviations, until none does (only the columns that still have an
outlier are iterated, so a cube costs little more than one pass); pixels
rejected while a worse one still dragged the fit are then given back.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import SpectrumError
from .aperture import aperture_weights
from .config import OptimalSection

__all__ = ["OptimalResult", "VarianceModel", "horne_extract", "optimal_extract"]


@dataclass(frozen=True, eq=False)
class VarianceModel:
    """Pixel variance as a function of the expected counts: ``floor + scale * max(expected, 0)``.

    Attributes
    ----------
    floor : ndarray or float
        Read-noise (and other count-independent) variance, broadcastable to ``(n_spatial, n_dispersion)``.
    scale : float
        Variance per unit of expected signal (``1 / gain`` for counts in ADU).
    """

    floor: np.ndarray | float
    scale: float

    def __call__(self, expected: np.ndarray) -> np.ndarray:
        """Variance of pixels whose expected counts (source + sky) are ``expected``."""
        return self.floor + self.scale * np.maximum(expected, 0.0)


@dataclass(frozen=True, eq=False)
class OptimalResult:
    """Optimal-extraction products.

    Attributes
    ----------
    flux, variance : ndarray
        ``(n_ints, n_dispersion)``.
    profile : ndarray
        ``(n_ints, n_spatial, n_dispersion)`` normalised profile used.
    outliers : ndarray of bool
        Pixels rejected as outliers (cosmic rays, hot pixels).
    weights : ndarray
        Linear weights such that ``flux = sum(weights * D)`` (for background error propagation).
    bad : ndarray of bool
        Columns with no usable pixels or with more than half the profile weight lost.
    """

    flux: np.ndarray
    variance: np.ndarray
    profile: np.ndarray
    outliers: np.ndarray
    weights: np.ndarray
    bad: np.ndarray

    @property
    def model(self) -> np.ndarray:
        """Synthetic frames ``f * P`` (for residual images)."""
        return self.flux[:, None, :] * self.profile


def _solve(d, p, v, m, axis):
    w = np.where(m, p / v, 0.0)
    den = np.sum(w * p, axis=axis)
    ok = den > 0
    f = np.sum(w * d, axis=axis) / np.where(ok, den, np.inf)
    return f, den


def _reject_columns(d, p, v, floor, sky, m, vmodel, clip, max_reject, f0):
    """Horne's loop on a compact set of columns ``(n, n_rows)``; returns the variances and the outlier mask.

    It starts with every pixel off the robust flux ``f0`` by more than ``clip`` sigma rejected (a cosmic ray on
    the profile core would otherwise drag the first fit and hide itself), then rejects the worst pixel per
    column per pass.
    """
    out = m & ((d - f0[:, None] * p) ** 2 > clip**2 * v)
    for _ in range(max_reject):
        f, _ = _solve(d, p, v, m & ~out, -1)
        model = f[:, None] * p
        if vmodel is not None:
            v = floor + vmodel.scale * np.maximum(model + sky, 0.0)
        z2 = np.where(m & ~out, (d - model) ** 2 / v, 0.0)
        worst = np.argmax(z2, axis=-1)
        hit = z2[np.arange(len(worst)), worst] > clip**2
        if not hit.any():
            break
        out[np.nonzero(hit)[0], worst[hit]] = True
    f, _ = _solve(d, p, v, m & ~out, -1)
    model = f[:, None] * p
    if vmodel is not None:
        v = floor + vmodel.scale * np.maximum(model + sky, 0.0)
    # give back pixels rejected while a worse outlier still dragged the fit
    out &= (d - model) ** 2 / v > clip**2
    f, _ = _solve(d, p, v, m & ~out, -1)
    if vmodel is not None:
        v = floor + vmodel.scale * np.maximum(f[:, None] * p + sky, 0.0)
    return v, out


def horne_extract(
    data: np.ndarray,
    variance: np.ndarray,
    mask: np.ndarray,
    profile: np.ndarray,
    aperture: np.ndarray,
    clip: float = OptimalSection.clip,
    max_reject: int = OptimalSection.max_reject,
    sky: np.ndarray | None = None,
    variance_model: VarianceModel | None = None,
    start: np.ndarray | None = None,
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
        Subtracted background (part of the expected counts of the variance model).
    variance_model : VarianceModel, optional
        When given, pixel variances come from the model (Horne 1986) instead of ``variance``.
    start : ndarray, optional
        ``(n_ints, n_dispersion)`` robust starting fluxes (free of cosmic rays, e.g. a median over
        integrations): they set the first variances and the first outlier cut.

    Returns
    -------
    OptimalResult

    Examples
    --------
    >>> r = np.arange(15.0)[None, :, None]
    >>> p = np.exp(-0.5 * (r - 7) ** 2 / 1.5**2); p = p / p.sum()
    >>> res = horne_extract(500 * p, np.ones_like(p), np.zeros(p.shape, bool), p, np.ones_like(p))
    >>> round(float(res.flux[0, 0]), 6)
    500.0
    """
    use = aperture > 0
    use &= profile > 0
    use &= ~mask
    use &= np.isfinite(data)
    use &= np.isfinite(variance)
    d = np.where(use, data, 0.0)
    sky_full = np.zeros((1, 1, 1)) if sky is None else sky
    floor = np.zeros((1, 1)) if variance_model is None else np.broadcast_to(variance_model.floor, data.shape[1:])

    def solve(iv: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        # iv: inverse variances, 0 at the pixels left out
        w = profile * iv
        den = np.einsum("irc,irc->ic", w, profile)
        return np.einsum("irc,irc->ic", w, d) / np.where(den > 0, den, np.inf), den, w

    def inverse(v: np.ndarray) -> np.ndarray:
        return np.divide(1.0, v, out=np.zeros_like(v), where=use)

    if start is None:
        start = solve(use.astype(float))[0]
    if variance_model is None:
        v = variance
        iv = inverse(v)
        f = solve(iv)[0]
    else:
        f = start
        for _ in range(2):
            v = variance_model(f[:, None, :] * profile + sky_full)
            iv = inverse(v)
            f = solve(iv)[0]
    outliers = np.zeros(use.shape, bool)
    if clip > 0 and max_reject > 0:
        worst = np.zeros(f.shape)
        for flux in (f, start):
            r = flux[:, None, :] * profile
            r -= d
            r *= r
            r *= iv
            np.maximum(worst, np.max(r, axis=1), out=worst)
        ii, cc = np.nonzero(worst > clip**2)
        if ii.size:
            sky_act = np.broadcast_to(sky_full, data.shape)[ii, :, cc]
            v_act, out = _reject_columns(
                d[ii, :, cc],
                profile[ii, :, cc],
                np.where(use[ii, :, cc], v[ii, :, cc], 1.0),
                0.0 if variance_model is None else floor[:, cc].T,
                sky_act,
                use[ii, :, cc],
                variance_model,
                clip,
                max_reject,
                start[ii, cc],
            )
            outliers[ii, :, cc] = out
            iv[ii, :, cc] = np.where(use[ii, :, cc] & ~out, 1.0 / v_act, 0.0)
    m = use & ~outliers
    f, den, w = solve(iv)
    ok = den > 0
    weights = w / np.where(ok, den, np.inf)[:, None, :]
    var = np.where(ok, 1.0 / np.where(ok, den, 1.0), np.inf)
    lost = np.einsum("irc,irc->ic", aperture * ~m, profile)
    bad = ~ok | (lost > 0.5)
    return OptimalResult(np.where(ok, f, np.nan), var, profile, outliers, weights, bad)


def optimal_extract(
    psf_frame: np.ndarray,
    data: np.ndarray,
    variance: np.ndarray,
    mask: np.ndarray,
    ord_pos: np.ndarray,
    ap_rad: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Fit a pixel-sampled PSF frame to one frame inside an aperture (stark's ``optimal_extract``).

    The flux of each column is ``sum(M P D / V) / sum(M P**2 / V)`` over the aperture pixels where the PSF is
    positive, as in stark; its variance is ``1 / sum(M P**2 / V)``, the variance of that estimator whatever
    the PSF's normalisation (stark's ``sum(M P) / sum(M P**2 / V)`` equals it only for a PSF normalised in
    the aperture). No outliers are rejected: :func:`horne_extract` does that, for whole cubes.

    Parameters
    ----------
    psf_frame : ndarray
        ``(n_rows, n_columns)`` PSF sampled on the frame (e.g. from :class:`SingleOrderPSF`).
    data, variance : ndarray
        ``(n_rows, n_columns)`` background-subtracted counts and their variance.
    mask : ndarray of bool
        True for the pixels to USE, as in stark (the opposite of specola's masks, which flag bad pixels).
    ord_pos : ndarray
        ``(n_columns,)`` trace row of each column.
    ap_rad : float
        Aperture half-width in pixels (fractional edges: every pixel the aperture touches enters the fit).

    Returns
    -------
    spec, var : ndarray
        ``(n_columns,)`` flux and variance; NaN / inf in columns with no usable pixel (e.g. a trace off the
        frame).
    synth : ndarray
        ``(n_rows, n_columns)`` synthetic frame ``spec * psf_frame`` inside the aperture (zero elsewhere), for
        residual images.

    Examples
    --------
    >>> r = np.arange(15.0)[:, None]
    >>> p = np.exp(-0.5 * (r - 7) ** 2 / 1.5**2) * np.ones((1, 3)); p /= p.sum(axis=0)
    >>> spec, var, synth = optimal_extract(p, 500 * p, np.ones_like(p), np.ones(p.shape, bool), np.full(3, 7.0), 5)
    >>> spec.round(6).tolist()
    [500.0, 500.0, 500.0]
    """
    arrays = [np.asarray(a, float) for a in (psf_frame, data, variance)]
    good = np.asarray(mask, bool)
    trace = np.asarray(ord_pos, float)
    for name, a in zip(("psf_frame", "data", "variance", "mask"), (*arrays, good), strict=True):
        if a.ndim != 2 or a.shape != arrays[1].shape:
            raise SpectrumError(f"optimal_extract: {name} must be a 2-D (n_rows, n_columns) frame like data "
                                f"{arrays[1].shape}, got shape {a.shape}")  # fmt: skip
    if trace.shape != arrays[1].shape[1:]:
        raise SpectrumError(f"optimal_extract: ord_pos must hold one row per column ({arrays[1].shape[1]}), "
                            f"got shape {trace.shape}")  # fmt: skip
    psf, d, v = (a[None] for a in arrays)
    aperture = aperture_weights(trace[None], d.shape[1], ap_rad)
    res = horne_extract(d, v, ~good[None] | ~(v > 0), psf, aperture, clip=0.0)
    synth = np.where(aperture > 0, res.flux[:, None, :] * psf, 0.0)
    return res.flux[0], res.variance[0], np.nan_to_num(synth[0])
