"""Pseudo-continua of stellar spectra, and scores of a normalised fit.

Three fits of the upper envelope of a spectrum, each with asymmetric iterative
clipping (pixels more than ``sigma_lo`` below the fit are absorption lines, more
than ``sigma_hi`` above are artefacts) and wavelength ranges left out entirely
(tellurics): a cubic least-squares B-spline (``"bspline"``), a Legendre polynomial
(``"legendre"``) and a running median smoothed by a running mean
(``"running_median"``). :func:`normalize_with_model_continuum` divides by a model's
own continuum (the BOSZ ``C`` column) instead. :func:`score` gives the reduced
chi-square or the mean Huber loss of a normalised fit.
"""

from __future__ import annotations

import astropy.units as u
import numpy as np
from scipy.interpolate import BSpline
from scipy.ndimage import median_filter, uniform_filter1d

from ..errors import SpectrumError
from ..spectrum import Spectrum
from ._spline import knot_vector
from .config import ContinuumSection

__all__ = ["fit_continuum", "normalize_continuum", "normalize_with_model_continuum", "score"]

_METHODS = ("bspline", "legendre", "running_median")


def _in_ranges(w: np.ndarray, ranges) -> np.ndarray:
    out = np.zeros(w.size, bool)
    for lo, hi in ranges or ():
        out |= (w >= min(lo, hi)) & (w <= max(lo, hi))
    return out


def _smooth_fit(method: str, w: np.ndarray, y: np.ndarray, weight: np.ndarray, use: np.ndarray, **kw) -> np.ndarray:
    if method == "bspline":
        knots = knot_vector(w[use], (w[use].max() - w[use].min()) / (kw["n_knots"] + 1), kw["order"],
                            span=(float(w.min()), float(w.max())))  # fmt: skip
        b = BSpline.design_matrix(w, knots, kw["order"]).toarray()
        coef, *_ = np.linalg.lstsq(b[use] * weight[use, None], y[use] * weight[use], rcond=None)
        return b @ coef
    if method == "legendre":
        x = 2 * (w - w.min()) / (w.max() - w.min()) - 1
        series = np.polynomial.legendre.Legendre.fit(x[use], y[use], kw["order"], w=weight[use], domain=[-1, 1])
        return series(x)
    filled = np.interp(w, w[use], y[use])
    window = int(kw["median_window"]) | 1
    return uniform_filter1d(median_filter(filled, size=window, mode="nearest"), max(window // 3, 1), mode="nearest")


def fit_continuum(
    spectrum: Spectrum,
    method: str = ContinuumSection.method,
    order: int = ContinuumSection.order,
    n_knots: int = ContinuumSection.n_knots,
    sigma_lo: float = ContinuumSection.sigma_lo,
    sigma_hi: float = ContinuumSection.sigma_hi,
    n_iter: int = ContinuumSection.n_iter,
    mask_regions: tuple[tuple[float, float], ...] = (),
    median_window: int = ContinuumSection.median_window,
) -> np.ndarray:
    """The pseudo-continuum of a spectrum at every pixel.

    Parameters
    ----------
    spectrum : Spectrum
        Any flux units; its errors weight the fit (uniform without errors).
    method : {"bspline", "legendre", "running_median"}
    order : int
        Spline degree (``bspline``) or polynomial degree (``legendre``).
    n_knots : int
        Interior knots of the B-spline, evenly spread.
    sigma_lo, sigma_hi : float
        Clipping thresholds below and above the fit, in units of the pixel errors (or of the
        residuals' robust scatter without errors).
    n_iter : int
        Clipping passes.
    mask_regions : sequence of (start, end)
        Wavelength ranges (A) left out of the fit; the continuum is still evaluated there.
    median_window : int
        Window (pixels, made odd) of the running median.

    Returns
    -------
    ndarray

    Raises
    ------
    SpectrumError
        Unknown method, or too few usable pixels.
    """
    if method not in _METHODS:
        raise SpectrumError(f"continuum method must be one of {', '.join(_METHODS)}, got {method!r}")
    s = spectrum.to_wave_unit(u.AA)
    w, y = s.wavelength.value, s.flux.value
    err = s.error.value if s.error is not None else None
    use = s.good & np.isfinite(y) & ~_in_ranges(w, mask_regions)
    if err is not None:
        use &= np.isfinite(err) & (err > 0)
    if use.sum() < max(order + 2, 10):
        raise SpectrumError(f"only {int(use.sum())} usable pixels to fit a continuum to")
    weight = np.where(use, 1.0 / err, 0.0) if err is not None else use.astype(float)
    start = use.copy()
    kw = {"order": order, "n_knots": n_knots, "median_window": median_window}
    for _ in range(n_iter):
        cont = _smooth_fit(method, w, y, weight, use, **kw)
        resid = y - cont
        sigma = err if err is not None else np.full(w.size, 1.4826 * np.median(np.abs(resid[use])))
        new = start & (resid > -sigma_lo * sigma) & (resid < sigma_hi * sigma)
        if new.sum() < max(order + 2, 10) or np.array_equal(new, use):
            break
        use = new
    return _smooth_fit(method, w, y, weight, use, **kw)


def normalize_continuum(spectrum: Spectrum, **options) -> tuple[Spectrum, np.ndarray]:
    """Divide by :func:`fit_continuum` (same options); errors are divided too. Returns ``(normalised, continuum)``."""
    cont = fit_continuum(spectrum, **options)
    return normalize_with_model_continuum(spectrum, cont)


def normalize_with_model_continuum(spectrum: Spectrum, continuum: np.ndarray) -> tuple[Spectrum, np.ndarray]:
    """Divide by a given continuum (e.g. a BOSZ model's ``C`` on the same pixels); non-positive values are masked."""
    cont = np.asarray(continuum, float)
    if cont.shape != (len(spectrum),):
        raise SpectrumError(f"continuum has {cont.size} values for a spectrum of {len(spectrum)} pixels")
    bad = ~(np.isfinite(cont) & (cont > 0))
    safe = np.where(bad, 1.0, cont)
    out = spectrum.scale(1.0 / safe)
    out = out.replace(flux=out.flux.value * u.dimensionless_unscaled,
                      error=None if out.error is None else out.error.value * u.dimensionless_unscaled,
                      mask=out.mask | bad, meta=dict(out.meta, continuum=cont))  # fmt: skip
    return out, cont


def score(
    observed: Spectrum,
    model: np.ndarray,
    metric: str = "chi2",
    mask_regions: tuple[tuple[float, float], ...] = (),
    huber_delta: float = ContinuumSection.huber_delta,
) -> tuple[float, int]:
    """Agreement of a normalised spectrum and a normalised model on its pixels.

    Parameters
    ----------
    observed : Spectrum
        Continuum-normalised spectrum with errors.
    model : ndarray
        Normalised model on the same pixels.
    metric : {"chi2", "huber"}
        Reduced chi-square, or mean Huber loss of the normalised residuals (quadratic within
        ``huber_delta``, linear beyond: lines the model lacks weigh less).
    mask_regions : sequence of (start, end)
        Ranges (A) left out.
    huber_delta : float

    Returns
    -------
    (score, n_pixels)
    """
    if metric not in ("chi2", "huber"):
        raise SpectrumError(f"metric must be 'chi2' or 'huber', got {metric!r}")
    if observed.error is None:
        raise SpectrumError("scoring needs a spectrum with errors")
    s = observed.to_wave_unit(u.AA)
    w = s.wavelength.value
    r = (s.flux.value - np.asarray(model, float)) / s.error.value
    use = s.good & np.isfinite(r) & ~_in_ranges(w, mask_regions)
    n = int(use.sum())
    if n == 0:
        raise SpectrumError("no pixel left to score")
    r = r[use]
    if metric == "chi2":
        return float(np.sum(r**2) / n), n
    a = np.abs(r)
    loss = np.where(a <= huber_delta, 0.5 * r**2, huber_delta * (a - 0.5 * huber_delta))
    return float(np.mean(loss)), n
