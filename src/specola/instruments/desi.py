"""DESI resolving power from the per-pixel resolution matrix.

DESI files store, per arm, ``ndiag`` (usually 11) diagonals of the band
resolution matrix in the ``desispec`` convention: row ``k`` of the
``(ndiag, nwave)`` array holds the diagonal with offset ``ndiag // 2 - k``, laid
out as :class:`scipy.sparse.dia_matrix` data. Row ``i`` of the matrix is the
line-spread function seen by pixel ``i``; its second moment gives an effective
Gaussian sigma (in pixels), times the local pixel width gives the FWHM, and
``R = lambda / FWHM``.
"""

from __future__ import annotations

import astropy.units as u
import numpy as np
import scipy.sparse as sp

from ..errors import SpectrumError
from .base import FWHM_PER_SIGMA, Tabulated, register

__all__ = ["DESI", "resolution_matrix"]


def resolution_matrix(diagonals: np.ndarray) -> sp.csr_matrix:
    """Sparse ``(nwave, nwave)`` resolution matrix from desispec-style diagonals ``(ndiag, nwave)``."""
    data = np.asarray(diagonals, float)
    if data.ndim != 2 or data.shape[0] % 2 != 1:
        raise SpectrumError(f"resolution diagonals must have shape (odd ndiag, nwave), got {data.shape}")
    ndiag, n = data.shape
    offsets = np.arange(ndiag // 2, -(ndiag // 2) - 1, -1)
    return sp.dia_matrix((data, offsets), shape=(n, n)).tocsr()


def effective_sigma_pixels(diagonals: np.ndarray) -> np.ndarray:
    """Gaussian-equivalent LSF sigma per pixel (pixels) from the second moment of each matrix row.

    The rows act on a model sampled at the pixel centres, so their second moment
    is the LSF variance itself. Negative wing values are clipped to zero; rows
    with no weight give NaN; the ``ndiag // 2`` rows at each end, whose kernels
    are cut by the edge, take the value of the nearest complete row.
    """
    m = resolution_matrix(diagonals).tocoo()
    w = np.clip(m.data, 0.0, None)
    n = m.shape[0]
    offset = (m.col - m.row).astype(float)
    s0 = np.bincount(m.row, w, n)
    s1 = np.bincount(m.row, w * offset, n)
    s2 = np.bincount(m.row, w * offset**2, n)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = s1 / s0
        sigma = np.sqrt(np.clip(s2 / s0 - mean**2, 0.0, None))
    half = np.asarray(diagonals).shape[0] // 2
    if n > 2 * half:  # rows at the ends lose part of their kernel: use the nearest complete row
        sigma[:half], sigma[n - half :] = sigma[half], sigma[n - half - 1]
    return sigma


class DESI(Tabulated):
    """Per-pixel R of one DESI arm from its resolution matrix.

    Parameters
    ----------
    wavelength : Quantity
        Pixel centres of the arm (increasing).
    diagonals : ndarray
        ``(ndiag, nwave)`` resolution diagonals (``<ARM>_RESOLUTION`` for one target).
    """

    def __init__(self, wavelength: u.Quantity, diagonals: np.ndarray) -> None:
        wavelength = u.Quantity(wavelength)
        diagonals = np.asarray(diagonals, float)
        if diagonals.ndim != 2 or diagonals.shape[1] != wavelength.size:
            raise SpectrumError(f"DESI resolution diagonals must be (ndiag, {wavelength.size}), got {diagonals.shape}")
        self.diagonals = diagonals
        pixel = np.gradient(wavelength.value)
        fwhm = FWHM_PER_SIGMA * effective_sigma_pixels(diagonals) * pixel
        with np.errstate(divide="ignore", invalid="ignore"):
            super().__init__(wavelength, wavelength.value / fwhm, name="DESI resolution matrix")

    def matrix(self) -> sp.csr_matrix:
        """The sparse resolution matrix (apply it to a model sampled on this arm's pixels)."""
        return resolution_matrix(self.diagonals)


register("desi", DESI)
