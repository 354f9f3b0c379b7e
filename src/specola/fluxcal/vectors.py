"""Calibration vectors: per-star factors from counts to f_lambda, their robust combination, and application.

A :class:`CalibrationVector` holds, on one pixel grid, the factor ``C`` with
``f_lambda = counts * C`` (erg/s/cm^2/A per count), its variance and a mask.
:meth:`Sensitivity.vector <specola.fluxcal.sensitivity.Sensitivity.vector>` builds one for an exposure
(exposure time, airmass, pixel widths). :func:`combine_vectors` merges several stars' vectors
(inverse-variance weighted mean or median) after leave-one-out clipping, which works with three stars:
each star is compared per pixel with the combination of the *others*, so one bad star cannot drag
the reference it is judged against. :func:`apply_calibration` multiplies a 2-D multi-fibre frame on
either axis in one NumPy expression and propagates the variance

    var_cal = var_counts * C**2 + counts**2 * var_C.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np

from ..errors import SpectrumError
from .config import CombineSection

__all__ = ["CalibrationVector", "CombinedCalibration", "apply_calibration", "combine_vectors"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, eq=False)
class CalibrationVector:
    """Factor ``C`` (erg/s/cm^2/A per count) on a pixel grid, with variance and mask (True = bad).

    Parameters
    ----------
    wavelength : ndarray
        Pixel centres in Angstrom.
    factor, variance : ndarray
        ``C`` and its variance per pixel.
    mask : ndarray of bool
        True where the vector is not valid (outside the fitted range, not finite).
    meta : dict
        Star name, fibre, template parameters, band residuals...
    """

    wavelength: np.ndarray
    factor: np.ndarray
    variance: np.ndarray
    mask: np.ndarray
    meta: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        arrays = [np.asarray(getattr(self, k), float) for k in ("wavelength", "factor", "variance")]
        if any(a.shape != arrays[0].shape or a.ndim != 1 for a in arrays):
            raise SpectrumError("calibration vector: wavelength, factor and variance must be 1-D of one length")
        mask = np.asarray(self.mask, bool) | ~np.isfinite(arrays[1]) | ~np.isfinite(arrays[2])
        for name, value in zip(("wavelength", "factor", "variance"), arrays, strict=True):
            object.__setattr__(self, name, value)
        object.__setattr__(self, "mask", mask)


@dataclass(frozen=True, eq=False)
class CombinedCalibration:
    """Result of :func:`combine_vectors`.

    Attributes
    ----------
    vector : CalibrationVector
        The combined vector.
    vectors : list of CalibrationVector
        The per-star vectors it came from.
    residuals : list of ndarray
        ``(C_star - C_combined) / C_combined`` per star.
    rejected : ndarray of bool
        Per star and pixel, True where clipping left the star out.
    summary : dict
        ``n_stars``, ``n_stars_used``, ``rejected_stars`` (name: reason), ``rms_scatter`` (fractional), ``method``.
    """

    vector: CalibrationVector
    vectors: list
    residuals: list
    rejected: np.ndarray
    summary: dict


def _combine(values: np.ndarray, variances: np.ndarray, keep: np.ndarray, method: str) -> tuple[np.ndarray, np.ndarray]:
    w = np.where(keep, 1.0 / variances, 0.0)
    total = w.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = (np.where(keep, values, 0.0) * w).sum(axis=0) / total
        var = 1.0 / total
    if method == "median":
        mean = np.nanmedian(np.where(keep, values, np.nan), axis=0)
        var = var * np.pi / 2  # efficiency of the median for Gaussian errors
    return mean, var


def _reject_stars(values, variances, keep, names, clip, max_rejected_fraction):
    """Whole stars that agree with no other star (pairwise) while others agree among themselves."""
    n = len(values)
    agree = np.zeros((n, n), bool)
    for i in range(n):
        for j in range(i + 1, n):
            both = keep[i] & keep[j]
            with np.errstate(invalid="ignore"):
                ok = np.abs(values[i] - values[j]) <= clip * np.sqrt(variances[i] + variances[j])
            frac = ok[both].mean() if both.any() else 0.0
            agree[i, j] = agree[j, i] = frac >= 1.0 - max_rejected_fraction
    partners = agree.sum(axis=1)
    rejected = {}
    if n >= 3 and partners.max() >= 1:
        for i in np.flatnonzero(partners == 0):
            rejected[names[i]] = "its vector disagrees with every other star's beyond the errors"
            keep = keep.copy()
            keep[i] = False
    elif n == 2 and not agree[0, 1]:
        log.warning("the two stars' calibration vectors disagree beyond their errors; cannot tell which is wrong")
    return keep, rejected


def combine_vectors(
    vectors: list[CalibrationVector],
    method: str = CombineSection.method,
    clip: float = CombineSection.clip,
    smooth_window: int = CombineSection.smooth_window,
    max_rejected_fraction: float = CombineSection.max_rejected_fraction,
) -> CombinedCalibration:
    """Combine per-star calibration vectors (one grid) into one, robustly.

    Parameters
    ----------
    vectors : list of CalibrationVector
        One per standard star, on the same wavelengths.
    method : {"weighted_mean", "median"}
        Inverse-variance weighted mean, or median, of the stars kept at each pixel.
    clip : float
        A star's pixel is left out when it differs from the combination of the other stars by more than
        ``clip`` times their combined error (0: no clipping). With one star it passes through.
    smooth_window : int
        Savitzky-Golay (cubic) window in pixels applied to the combined ``ln C`` (0: none; made odd).
    max_rejected_fraction : float
        Two stars agree when at most this fraction of their common pixels differ beyond ``clip``; with
        three or more stars, one that agrees with no other is rejected whole (its reason is in ``summary``).

    Returns
    -------
    CombinedCalibration

    Raises
    ------
    SpectrumError
        No vectors, different wavelength grids, or an unknown method.
    """
    if not vectors:
        raise SpectrumError("combine_vectors needs at least one calibration vector")
    if method not in ("weighted_mean", "median"):
        raise SpectrumError(f"combination method must be 'weighted_mean' or 'median', got {method!r}")
    w0 = vectors[0].wavelength
    for v in vectors[1:]:
        if v.wavelength.shape != w0.shape or not np.allclose(v.wavelength, w0, rtol=1e-10, atol=0):
            raise SpectrumError(f"calibration vector of {v.meta.get('star_name', '?')} is on another wavelength grid")
    values = np.array([v.factor for v in vectors])
    variances = np.array([np.where(v.variance > 0, v.variance, np.inf) for v in vectors])
    keep = np.array([~v.mask for v in vectors]) & np.isfinite(values)
    names = [str(v.meta.get("star_name", f"star {i}")) for i, v in enumerate(vectors)]
    rejected_stars: dict[str, str] = {}
    n = len(vectors)
    if n > 1 and clip > 0:
        keep, rejected_stars = _reject_stars(values, variances, keep, names, clip, max_rejected_fraction)
        clipped = np.zeros_like(keep)
        for i in range(n):
            others = keep.copy()
            others[i] = False
            if not others.any():
                continue
            ref, ref_var = _combine(values, variances, others, method)
            with np.errstate(invalid="ignore"):
                bad = np.abs(values[i] - ref) > clip * np.sqrt(variances[i] + ref_var)
            clipped[i] = keep[i] & bad & np.isfinite(ref)
        keep &= ~clipped
    for name, reason in rejected_stars.items():
        log.warning("calibration vector of %s rejected: %s", name, reason)
    mean, var = _combine(values, variances, keep, method)
    mask = ~keep.any(axis=0) | ~np.isfinite(mean)
    if smooth_window:
        from scipy.signal import savgol_filter

        good = ~mask
        window = int(smooth_window) | 1
        if good.sum() > window:
            log_c = np.interp(w0, w0[good], np.log(mean[good]))
            mean = np.where(good, np.exp(savgol_filter(log_c, window, 3)), np.nan)
    combined = CalibrationVector(w0, mean, var, mask, meta={"method": method, "stars": names})
    with np.errstate(invalid="ignore", divide="ignore"):
        residuals = [np.where(keep[i], values[i] / mean - 1.0, np.nan) for i in range(n)]
    scatter = np.concatenate([r[np.isfinite(r)] for r in residuals]) if n > 1 else np.array([0.0])
    summary = {"n_stars": n, "n_stars_used": n - len(rejected_stars), "rejected_stars": rejected_stars,
               "rms_scatter": float(np.sqrt(np.mean(scatter**2))) if scatter.size else float("nan"),
               "method": method, "wavelength_range": (float(w0[~mask][0]), float(w0[~mask][-1]))}  # fmt: skip
    return CombinedCalibration(combined, list(vectors), residuals, ~keep, summary)


def apply_calibration(
    counts: np.ndarray, variance: np.ndarray | None, vector: CalibrationVector, axis: int | None = None
) -> tuple[np.ndarray, np.ndarray | None, dict]:
    """Calibrate a multi-fibre frame (or one spectrum) with one vector, propagating the variance.

    Parameters
    ----------
    counts : ndarray
        ``(n_fibre, n_pix)``, ``(n_pix, n_fibre)`` or ``(n_pix,)`` counts on the vector's pixels.
    variance : ndarray, optional
        Variance of ``counts`` (same shape).
    vector : CalibrationVector
    axis : int, optional
        The wavelength axis (default: the one whose length matches the vector; the last if both do).

    Returns
    -------
    (flux, variance, header)
        f_lambda in erg/s/cm^2/A (NaN where the vector is masked), its variance, and FITS keywords
        (``BUNIT``, ``FLUXCAL``, ``FCMETHOD``, ``FCNSTAR``, ``HISTORY``).

    Raises
    ------
    SpectrumError
        No axis matches the vector's length, or the shapes differ.
    """
    counts = np.asarray(counts)
    n = vector.factor.size
    if axis is None:
        matches = [k for k in range(counts.ndim) if counts.shape[k] == n]
        if not matches:
            raise SpectrumError(f"no axis of the frame {counts.shape} matches the calibration vector's {n} pixels")
        axis = matches[-1]
    if counts.shape[axis] != n:
        raise SpectrumError(f"axis {axis} of the frame {counts.shape} has not the vector's {n} pixels")
    shape = [1] * counts.ndim
    shape[axis] = n
    factor = np.where(vector.mask, np.nan, vector.factor).reshape(shape)
    flux = counts * factor
    var = None
    if variance is not None:
        if np.shape(variance) != counts.shape:
            raise SpectrumError(f"variance shape {np.shape(variance)} differs from the frame's {counts.shape}")
        var = variance * factor**2 + counts**2 * vector.variance.reshape(shape)
    header = {"BUNIT": "erg/(s cm2 Angstrom)", "FLUXCAL": True, "FCMETHOD": str(vector.meta.get("method", "")),
              "FCNSTAR": len(vector.meta.get("stars", [])) or 1,
              "HISTORY": "flux-calibrated by specola.fluxcal (counts x calibration vector)"}  # fmt: skip
    return flux, var, header
