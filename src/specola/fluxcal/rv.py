"""Radial velocities by FFT cross-correlation on a uniform log-lambda grid, with a sub-pixel peak.

Both spectra are put on one log-lambda grid (equal velocity steps, oversampled
``oversample`` times the coarser pixel), divided by a smooth continuum (a running
median then a Gaussian, ``continuum_kms`` wide) so that only lines correlate,
tapered at the ends and zero-padded; the correlation peak within the search window
is refined by a parabola through its three highest samples.
"""

from __future__ import annotations

import astropy.units as u
import numpy as np
from scipy.ndimage import gaussian_filter1d, median_filter

from ..errors import SpectrumError
from ..spectrum import Spectrum

__all__ = ["cross_correlate_rv"]

C_KMS = 299792.458


def _on_log_grid(spectrum: Spectrum, loglam: np.ndarray, smooth_px: float) -> np.ndarray:
    s = spectrum.to_wave_unit(u.AA)
    w = s.wavelength.value
    good = s.good & np.isfinite(s.flux.value)
    if good.sum() < 10:
        raise SpectrumError("cross-correlation needs at least 10 good pixels in each spectrum")
    flux = np.interp(loglam, np.log(w[good]), s.flux.value[good])
    size = max(int(2 * smooth_px) | 1, 3)
    cont = gaussian_filter1d(median_filter(flux, size=size, mode="nearest"), smooth_px / 2, mode="nearest")
    with np.errstate(divide="ignore", invalid="ignore"):
        norm = np.where(cont > 0, flux / cont - 1.0, 0.0)
    inside = np.interp(loglam, np.log(w), good.astype(float)) > 0.5
    norm = np.where(inside, norm, 0.0)
    return norm - norm[inside].mean() * inside


def cross_correlate_rv(
    observed: Spectrum,
    template: Spectrum,
    max_shift_kms: float,
    rv_guess: float = 0.0,
    oversample: int = 4,
    continuum_kms: float = 3000.0,
) -> float:
    """Velocity (km/s, positive = receding) of ``observed`` relative to ``template``.

    Parameters
    ----------
    observed, template : Spectrum
        Any flux units; masked pixels are left out (set to the continuum).
    max_shift_kms : float
        Half-width of the search window around ``rv_guess``.
    rv_guess : float
        Centre of the search window (km/s).
    oversample : int
        log-lambda steps per (coarser) pixel.
    continuum_kms : float
        Width of the smooth continuum divided out before correlating.

    Returns
    -------
    float

    Raises
    ------
    SpectrumError
        No overlap, too few good pixels, or a peak on the edge of the search window.
    """
    o, t = observed.to_wave_unit(u.AA), template.to_wave_unit(u.AA)
    lo = max(o.low[0].value, t.low[0].value)
    hi = min(o.high[-1].value, t.high[-1].value)
    if hi <= lo:
        raise SpectrumError("cross-correlation: the spectra do not overlap in wavelength")
    pix = max(
        float(np.median(np.log(o.high.value / o.low.value))), float(np.median(np.log(t.high.value / t.low.value)))
    )
    step = pix / oversample
    n = int(np.log(hi / lo) / step)
    loglam = np.log(lo) + step * (np.arange(n) + 0.5)
    smooth = continuum_kms / C_KMS / step
    a = _on_log_grid(o, loglam, smooth)
    b = _on_log_grid(t, loglam, smooth)
    taper = np.hanning(n) ** 0.25
    size = 1 << int(np.ceil(np.log2(2 * n)))
    corr = np.fft.irfft(np.fft.rfft(a * taper, size) * np.conj(np.fft.rfft(b * taper, size)), size)
    lags = np.fft.fftfreq(size, 1.0 / size)
    v = C_KMS * np.expm1(lags * step)
    window = np.abs(v - rv_guess) <= max_shift_kms
    if not window.any():
        raise SpectrumError(f"cross-correlation: no lag within {max_shift_kms} km/s of {rv_guess} km/s")
    k = int(np.flatnonzero(window)[np.argmax(corr[window])])
    k_lo, k_hi = (k - 1) % size, (k + 1) % size
    if not (window[k_lo] and window[k_hi]):
        raise SpectrumError(f"cross-correlation peak at the edge of the +-{max_shift_kms} km/s search window")
    y0, y1, y2 = corr[k_lo], corr[k], corr[k_hi]
    denom = y0 - 2 * y1 + y2
    frac = 0.5 * (y0 - y2) / denom if denom < 0 else 0.0
    return float(C_KMS * np.expm1((lags[k] + frac) * step))
