"""SDSS/BOSS resolving power from the ``wdisp`` column of spec files.

``wdisp`` is the Gaussian sigma of the line-spread function in pixels of the
log10-wavelength grid (1 pixel = 1e-4 dex), so
``sigma_lambda = wdisp * 1e-4 * ln(10) * lambda`` and
``R = lambda / (2.3548 sigma_lambda) = 1 / (2.3548 * wdisp * 1e-4 * ln 10)``.
"""

from __future__ import annotations

import astropy.units as u
import numpy as np

from .base import FWHM_PER_SIGMA, Tabulated, register

__all__ = ["SDSS", "wdisp_to_resolution"]

#: Pixel size of the SDSS log10-lambda grid, in dex.
LOGLAM_PIXEL = 1e-4


def wdisp_to_resolution(wdisp: np.ndarray, pixel_dex: float = LOGLAM_PIXEL) -> np.ndarray:
    """R from wdisp (LSF sigma in log10-lambda pixels of ``pixel_dex``).

    Examples
    --------
    >>> round(float(wdisp_to_resolution(1.0)))
    1844
    """
    sigma_ln = np.asarray(wdisp, float) * pixel_dex * np.log(10.0)  # sigma_lambda / lambda
    with np.errstate(divide="ignore"):
        return 1.0 / (FWHM_PER_SIGMA * sigma_ln)


class SDSS(Tabulated):
    """Per-pixel R of one SDSS spectrum, interpolated in wavelength.

    Parameters
    ----------
    wavelength : Quantity
        Pixel centres.
    wdisp : array_like
        The spec file's ``wdisp`` (LSF sigma in 1e-4 dex pixels); pixels with wdisp <= 0 are ignored.
    """

    def __init__(self, wavelength: u.Quantity, wdisp: np.ndarray) -> None:
        wdisp = np.asarray(wdisp, float)
        R = np.where(wdisp > 0, wdisp_to_resolution(np.where(wdisp > 0, wdisp, 1.0)), np.nan)
        super().__init__(wavelength, R, name="SDSS wdisp")


register("sdss", SDSS)
