"""Background subtraction of single 2-D frames with an explicit background mask (stark's ``reduce`` helpers).

Each takes a ``(n_rows, n_columns)`` frame (dispersion along columns) and a
mask that is 1 (True) on the pixels to estimate the background from, and
returns the corrected frame and the subtracted background. Clipping is two-sided
(about the median, scale from the MAD); the fits are the ones the extraction
uses (:func:`specola.extract.background.background_from_pixels`).
"""

from __future__ import annotations

import numpy as np

from ..errors import SpectrumError
from .background import BackgroundFit, background_from_pixels
from .config import BackgroundSection

__all__ = ["background2d", "col_by_col_bkg_sub", "polynomial_bkg_cols", "polynomial_bkg_rows"]


def _fit(frame: np.ndarray, mask: np.ndarray, **options) -> BackgroundFit:
    frame = np.asarray(frame, float)
    if frame.ndim != 2:
        raise SpectrumError(f"frame must be 2-D (n_rows, n_columns), got shape {frame.shape}")
    if np.shape(mask) != frame.shape:
        raise SpectrumError(f"mask shape {np.shape(mask)} differs from the frame's {frame.shape}")
    good = np.asarray(mask, bool) & np.isfinite(frame)
    cfg = BackgroundSection(**options)
    # unit variances: the clipping scale then comes from the MAD of the data alone
    return background_from_pixels(frame[None], np.zeros((1, *frame.shape)), good[None], cfg)


def col_by_col_bkg_sub(frame: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Subtract the median of each column's background pixels.

    Parameters
    ----------
    frame : ndarray
        ``(n_rows, n_columns)``.
    mask : ndarray
        1 on background pixels.

    Returns
    -------
    corrected : ndarray
    background : ndarray
        ``(n_columns,)`` subtracted level per column.

    Examples
    --------
    >>> f = np.tile(np.arange(4.0), (6, 1)); m = np.ones_like(f); m[2:4] = 0
    >>> col_by_col_bkg_sub(f, m)[1].tolist()
    [0.0, 1.0, 2.0, 3.0]
    """
    fit = _fit(frame, mask, method="median", sigma=0.0)
    level = fit.model[0, 0]
    return np.asarray(frame, float) - level[None, :], level


def polynomial_bkg_cols(
    frame: np.ndarray, mask: np.ndarray, deg: int, sigma: float | None = BackgroundSection.sigma
) -> tuple[np.ndarray, np.ndarray]:
    """Subtract a clipped polynomial fitted along every column (in the row coordinate).

    Parameters
    ----------
    frame : ndarray
        ``(n_rows, n_columns)``.
    mask : ndarray
        1 on background pixels.
    deg : int
        Polynomial degree.
    sigma : float or None
        Two-sided clipping threshold (None = no clipping).

    Returns
    -------
    corrected, background : ndarray
        Same shape as ``frame``.
    """
    fit = _fit(frame, mask, method="columns", degree=deg, sigma=sigma or 0.0)
    return np.asarray(frame, float) - fit.model[0], fit.model[0]


def polynomial_bkg_rows(
    frame: np.ndarray, mask: np.ndarray, deg: int, sigma: float | None = BackgroundSection.sigma
) -> tuple[np.ndarray, np.ndarray]:
    """Subtract a clipped polynomial fitted along every row (in the column coordinate).

    Rows without enough background pixels take the nearest fitted row's background.

    Parameters
    ----------
    frame : ndarray
        ``(n_rows, n_columns)``.
    mask : ndarray
        1 on background pixels.
    deg : int
        Polynomial degree.
    sigma : float or None
        Two-sided clipping threshold (None = no clipping).

    Returns
    -------
    corrected, background : ndarray
        Same shape as ``frame``.
    """
    fit = _fit(frame, mask, method="rows", degree=deg, sigma=sigma or 0.0)
    return np.asarray(frame, float) - fit.model[0], fit.model[0]


def background2d(
    frame: np.ndarray,
    mask: np.ndarray,
    clip: float = BackgroundSection.sigma,
    bkg_estimator: str = BackgroundSection.estimator,
    box_size: tuple[int, int] = BackgroundSection.box_size,
) -> tuple[np.ndarray, np.ndarray]:
    """Subtract a :class:`photutils.background.Background2D` estimate made from the background pixels.

    Parameters
    ----------
    frame : ndarray
        ``(n_rows, n_columns)``.
    mask : ndarray
        1 on background pixels.
    clip : float
        Sigma-clipping threshold.
    bkg_estimator : {"median", "mmm"}
        photutils estimator.
    box_size : (int, int)
        Box ``(ny, nx)``.

    Returns
    -------
    corrected, background : ndarray
        Same shape as ``frame``.
    """
    fit = _fit(frame, mask, method="photutils", sigma=clip, estimator=bkg_estimator, box_size=tuple(box_size))
    return np.asarray(frame, float) - fit.model[0], fit.model[0]
