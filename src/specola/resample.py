"""Flux-conserving rebinning and resolution convolution on explicit bin edges.

Both operations are linear maps from input to output pixels, built once as a
sparse matrix and then applied to any number of flux vectors (a whole model
grid at once, for example). Bins are described by their ``low`` and ``high``
edges, so gaps and non-uniform sampling are exact.

The rebinned flux density in an output bin is the average of the input flux
density over the part of the bin covered by valid input pixels::

    F_j = sum_i o_ij f_i / sum_i o_ij,   var_j = sum_i o_ij**2 var_i / (sum_i o_ij)**2

with ``o_ij`` the overlap length of input bin ``i`` and output bin ``j``. The
integral ``sum_j F_j w_j`` equals ``sum_i f_i w_i`` over fully covered bins.
Output variances are the diagonal of the propagated covariance (neighbouring
output pixels that share an input pixel are correlated).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import scipy.sparse as sp
from scipy.special import ndtr

from .errors import SpectrumError

__all__ = ["bind_resolution", "convolution_matrix", "fwhm_to_sigma", "overlap_matrix", "rebin_arrays"]

#: Ratio of a Gaussian's FWHM to its standard deviation, 2 sqrt(2 ln 2).
FWHM_PER_SIGMA = 2.0 * np.sqrt(2.0 * np.log(2.0))


def fwhm_to_sigma(fwhm: np.ndarray | float) -> np.ndarray | float:
    """Convert a Gaussian FWHM to its standard deviation.

    Examples
    --------
    >>> round(float(fwhm_to_sigma(2.3548200450309493)), 12)
    1.0
    """
    return fwhm / FWHM_PER_SIGMA


def _check_sorted_bins(low: np.ndarray, high: np.ndarray, what: str) -> None:
    if np.any(high <= low):
        raise SpectrumError(f"{what} bins must have high > low; {int(np.sum(high <= low))} do not")
    if np.any(low[1:] < high[:-1]):
        raise SpectrumError(f"{what} bins must be sorted and must not overlap")


def overlap_matrix(in_low: np.ndarray, in_high: np.ndarray, out_low: np.ndarray, out_high: np.ndarray) -> sp.csr_matrix:
    """Sparse matrix of overlap lengths between input and output bins.

    Parameters
    ----------
    in_low, in_high : ndarray
        Edges of the input bins (any order; they may overlap each other).
    out_low, out_high : ndarray
        Edges of the output bins, sorted and non-overlapping (gaps allowed).

    Returns
    -------
    scipy.sparse.csr_matrix
        Shape ``(n_out, n_in)``; entry ``(j, i)`` is the length of
        ``[in_low[i], in_high[i]] & [out_low[j], out_high[j]]``.

    Examples
    --------
    >>> m = overlap_matrix(np.array([0.0, 1.0]), np.array([1.0, 2.0]), np.array([0.5]), np.array([1.5]))
    >>> m.toarray()
    array([[0.5, 0.5]])
    """
    in_low, in_high = np.asarray(in_low, float), np.asarray(in_high, float)
    out_low, out_high = np.asarray(out_low, float), np.asarray(out_high, float)
    _check_sorted_bins(out_low, out_high, "output")
    first = np.searchsorted(out_high, in_low, side="right")
    stop = np.searchsorted(out_low, in_high, side="left")
    counts = np.maximum(stop - first, 0)
    rows_in = np.repeat(np.arange(in_low.size), counts)
    offsets = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
    cols_out = np.repeat(first, counts) + offsets
    length = np.minimum(in_high[rows_in], out_high[cols_out]) - np.maximum(in_low[rows_in], out_low[cols_out])
    keep = length > 0
    return sp.csr_matrix((length[keep], (cols_out[keep], rows_in[keep])), shape=(out_low.size, in_low.size))


def rebin_arrays(
    in_low: np.ndarray,
    in_high: np.ndarray,
    flux: np.ndarray,
    variance: np.ndarray | None,
    valid: np.ndarray,
    out_low: np.ndarray,
    out_high: np.ndarray,
) -> tuple[np.ndarray, np.ndarray | None, np.ndarray]:
    """Rebin flux densities (and variances) onto new bins, conserving flux.

    Parameters
    ----------
    in_low, in_high : ndarray
        Input bin edges, shape ``(n_in,)``.
    flux : ndarray
        Flux densities, shape ``(..., n_in)``; leading axes are rebinned together.
    variance : ndarray or None
        Variances of ``flux`` (same shape) or None.
    valid : ndarray of bool
        Input pixels to use, shape ``(n_in,)``; the others are excluded.
    out_low, out_high : ndarray
        Output bin edges (sorted, non-overlapping).

    Returns
    -------
    flux_out : ndarray
        Shape ``(..., n_out)``; NaN where no valid input covers the bin.
    variance_out : ndarray or None
        Propagated variances (diagonal), or None.
    coverage : ndarray
        Fraction of each output bin covered by valid input pixels.

    Examples
    --------
    >>> f, v, c = rebin_arrays(np.array([0., 1.]), np.array([1., 2.]), np.array([1., 3.]),
    ...                        np.array([1., 1.]), np.array([True, True]), np.array([0.]), np.array([2.]))
    >>> float(f[0]), float(v[0]), float(c[0])
    (2.0, 0.5, 1.0)
    """
    overlap = overlap_matrix(in_low, in_high, out_low, out_high)
    valid = np.asarray(valid, bool)
    weights = overlap @ sp.diags(valid.astype(float))
    covered = np.asarray(weights.sum(axis=1)).ravel()
    width = np.asarray(out_high, float) - np.asarray(out_low, float)
    with np.errstate(invalid="ignore", divide="ignore"):
        norm = np.where(covered > 0, 1.0 / covered, np.nan)
    flux = np.where(valid, flux, 0.0)
    flux_out = (weights @ np.moveaxis(flux, -1, 0)).T * norm if flux.ndim > 1 else (weights @ flux) * norm
    variance_out = None
    if variance is not None:
        variance = np.where(valid, variance, 0.0)
        weights2 = weights.multiply(weights)
        moved = np.moveaxis(variance, -1, 0)
        variance_out = (weights2 @ moved).T * norm**2 if variance.ndim > 1 else (weights2 @ variance) * norm**2
    return flux_out, variance_out, covered / width


def bind_resolution(resolution: Any, unit: Any) -> Any:
    """Adapt a public resolution argument to :func:`convolution_matrix`'s plain numbers.

    Public APIs take R as a number, an array, or a callable of a wavelength
    *Quantity* (e.g. a :mod:`specola.instruments` curve); inside, wavelengths
    are plain numbers in ``unit``.
    """
    if callable(resolution):
        return lambda w: np.asarray(resolution(w * unit), float)
    return resolution


def convolution_matrix(
    low: np.ndarray,
    high: np.ndarray,
    resolution: float | np.ndarray | Callable[[np.ndarray], np.ndarray],
    valid: np.ndarray | None = None,
    initial_resolution: float | np.ndarray | Callable[[np.ndarray], np.ndarray] | None = None,
    truncate: float = 5.0,
) -> sp.csr_matrix:
    """Row-normalised sparse matrix that convolves binned data with a Gaussian LSF.

    The Gaussian has FWHM ``lambda / R`` at each output pixel centre (R constant,
    per pixel, or a function of wavelength) and is integrated exactly over each
    input bin, so non-uniform and gapped sampling are handled.

    Parameters
    ----------
    low, high : ndarray
        Bin edges (sorted, non-overlapping).
    resolution : float, ndarray or callable
        Target resolving power R = lambda / FWHM.
    valid : ndarray of bool, optional
        Pixels that may contribute; rows are renormalised over them.
    initial_resolution : float, ndarray or callable, optional
        Resolving power the data already have; the kernel width is then the
        quadrature difference. It must exceed ``resolution`` everywhere.
    truncate : float
        Kernel half-width in units of sigma.

    Returns
    -------
    scipy.sparse.csr_matrix
        Shape ``(n, n)``; rows sum to one (or zero where nothing is valid).

    Examples
    --------
    >>> edges = np.linspace(1.0, 2.0, 201)
    >>> m = convolution_matrix(edges[:-1], edges[1:], 100.0)
    >>> bool(np.allclose(m.sum(axis=1)[20:-20], 1.0))
    True
    """
    low, high = np.asarray(low, float), np.asarray(high, float)
    _check_sorted_bins(low, high, "input")
    centre = 0.5 * (low + high)

    def as_array(r):
        r = r(centre) if callable(r) else np.broadcast_to(np.asarray(r, float), centre.shape)
        if np.any(~np.isfinite(r)) or np.any(r <= 0):
            raise SpectrumError("resolving power R must be finite and positive everywhere")
        return r

    sigma2 = fwhm_to_sigma(centre / as_array(resolution)) ** 2
    if initial_resolution is not None:
        sigma2 = sigma2 - fwhm_to_sigma(centre / as_array(initial_resolution)) ** 2
        if np.any(sigma2 <= 0):
            raise SpectrumError("target resolution must be lower than initial_resolution everywhere")
    sigma = np.sqrt(sigma2)
    first = np.searchsorted(high, centre - truncate * sigma, side="right")
    stop = np.searchsorted(low, centre + truncate * sigma, side="left")
    counts = stop - first
    rows = np.repeat(np.arange(centre.size), counts)
    cols = np.repeat(first, counts) + (np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts))
    s = sigma[rows]
    weight = ndtr((high[cols] - centre[rows]) / s) - ndtr((low[cols] - centre[rows]) / s)
    if valid is not None:
        weight = weight * np.asarray(valid, bool)[cols]
    matrix = sp.csr_matrix((weight, (rows, cols)), shape=(centre.size, centre.size))
    total = np.asarray(matrix.sum(axis=1)).ravel()
    with np.errstate(divide="ignore"):
        return sp.diags(np.where(total > 0, 1.0 / total, 0.0)) @ matrix
