"""Multi-fibre frames: a 2-D image of extracted spectra in counts, calibrated in one NumPy expression.

Layout read and written (FITS): the primary HDU holds counts ``(n_fibre, n_pix)`` (or ``(n_pix, n_fibre)``),
a ``WAVELENGTH`` image extension the pixel centres in Angstrom (1-D, shared by all fibres; or the primary
header's linear ``CRVAL1``/``CDELT1``/``CRPIX1`` along the wavelength axis), and an optional ``VARIANCE``
extension. ``EXPTIME`` and ``AIRMASS`` come from the primary header when the config leaves them at 0.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import astropy.units as u
import numpy as np
from astropy.io import fits

from ..errors import FileFormatError
from ..spectrum import Spectrum
from .vectors import CalibrationVector, apply_calibration

__all__ = ["Frame", "calibrate_frame", "read_frame"]


@dataclass(frozen=True, eq=False)
class Frame:
    """Counts of many fibres on one wavelength grid (``axis``: the wavelength axis of ``counts``)."""

    counts: np.ndarray
    variance: np.ndarray | None
    wavelength: np.ndarray
    axis: int
    header: fits.Header

    def pixels(self) -> Spectrum:
        """A spectrum (unit counts) on the frame's pixels, for :meth:`Sensitivity.vector`."""
        n = self.wavelength.size
        return Spectrum.from_centres(self.wavelength * u.AA, np.ones(n) * u.ct)


def read_frame(path: str | Path) -> Frame:
    """Read a multi-fibre frame (layout in the module docstring).

    Raises
    ------
    FileFormatError
        Not a 2-D image, no wavelengths, or extensions of the wrong shape (the message names the file).
    """
    path = Path(path)
    try:
        with fits.open(path) as hdul:
            counts = np.asarray(hdul[0].data, float)
            header = hdul[0].header.copy()
            names = [h.name.upper() for h in hdul]
            wave = np.asarray(hdul["WAVELENGTH"].data, float).ravel() if "WAVELENGTH" in names else None
            var = np.asarray(hdul["VARIANCE"].data, float) if "VARIANCE" in names else None
    except (OSError, TypeError, ValueError) as exc:
        raise FileFormatError(f"{path}: not a FITS multi-fibre frame ({exc})") from None
    if counts.ndim != 2:
        raise FileFormatError(f"{path}: the primary HDU must be a 2-D image (fibres x pixels), got {counts.shape}")
    if wave is None:
        axis = 1 if "CRVAL1" in header else None
        if axis is None:
            raise FileFormatError(f"{path}: no WAVELENGTH extension and no CRVAL1/CDELT1 in the header")
        n = counts.shape[1]
        wave = header["CRVAL1"] + (np.arange(n) + 1 - header.get("CRPIX1", 1.0)) * header.get("CDELT1", 1.0)
    matches = [k for k in (1, 0) if counts.shape[k] == wave.size]
    if not matches:
        raise FileFormatError(f"{path}: {wave.size} wavelengths match no axis of the {counts.shape} frame")
    if var is not None and var.shape != counts.shape:
        raise FileFormatError(f"{path}: VARIANCE {var.shape} differs from the frame's {counts.shape}")
    return Frame(counts, var, wave, matches[0], header)


def calibrate_frame(frame: Frame, vector: CalibrationVector, path: str | Path) -> Path:
    """Write the calibrated frame (f_lambda), its variance and the wavelengths to ``path``."""
    flux, var, keys = apply_calibration(frame.counts, frame.variance, vector, axis=frame.axis)
    header = frame.header.copy()
    for key, value in keys.items():
        if key == "HISTORY":
            header.add_history(value)
        else:
            header[key] = value
    hdus = [fits.PrimaryHDU(flux.astype(np.float32), header=header),
            fits.ImageHDU(frame.wavelength, name="WAVELENGTH")]  # fmt: skip
    if var is not None:
        hdus.append(fits.ImageHDU(var.astype(np.float32), name="VARIANCE"))
    fits.HDUList(hdus).writeto(path, overwrite=True)
    return Path(path)
