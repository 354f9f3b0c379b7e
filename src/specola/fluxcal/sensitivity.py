"""Sensitivity functions: counts per second per Angstrom per unit f_lambda, from a standard star.

The sensitivity is ``S(lambda) = r(lambda) / F(lambda)`` with ``r`` the
observed count-rate density (counts/s/A) corrected to above the atmosphere
(``r * 10**(0.4 k(lambda) X)``) and ``F`` the star's reference f_lambda. The
ratio is fitted in ``ln S`` by a cubic B-spline (knots every
``knot_spacing`` A) with stellar lines and telluric bands masked and outliers
clipped; the spline's covariance gives the reported uncertainty.

A science spectrum in counts is calibrated by ``F = r / (S * 10**(-0.4 k X))``
(:meth:`Sensitivity.calibrate`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import astropy.units as u
import numpy as np

from ..errors import SpectrumError
from ..spectrum import Spectrum
from ._spline import SplineFit, fit_spline
from .config import SensitivitySection
from .photometry import FLAM
from .standards import Extinction
from .vectors import CalibrationVector

__all__ = [
    "STELLAR_LINES",
    "TELLURIC_BANDS",
    "Sensitivity",
    "fit_sensitivity",
    "line_mask",
    "rate_density",
]

log = logging.getLogger(__name__)

#: Strong stellar absorption lines (Angstrom; vacuum below 2000 A, air above): Lyman alpha, Balmer series,
#: Paschen lines, Ca II H&K, Mg b, Na D, He I, He II 4686 and the Ca II triplet.
STELLAR_LINES = (
    1215.67, 1640.4, 3835.39, 3889.05, 3933.66, 3968.47, 3970.07, 4101.74, 4340.47, 4471.48, 4685.7,
    4861.33, 5175.0, 5892.9, 6562.80, 8498.0, 8542.1, 8662.1, 8750.5, 8862.8, 9014.9, 9229.0, 9545.97,
    10049.4, 10938.1, 12818.1,
)  # fmt: skip

#: Telluric absorption bands (Angstrom): O2 gamma, B and A bands, H2O bands.
TELLURIC_BANDS = ((6270.0, 6330.0), (6860.0, 6960.0), (7160.0, 7340.0), (7590.0, 7700.0), (8120.0, 8360.0),
                  (8950.0, 9850.0))  # fmt: skip

SENSITIVITY_UNIT = u.ct / u.s / u.AA / FLAM
_COUNTS = (u.ct, u.electron, u.adu)


def rate_density(spectrum: Spectrum, exptime: float | u.Quantity | None = None) -> Spectrum:
    """Express a spectrum in counts/s/A (from counts, counts/s or counts/A per pixel).

    Parameters
    ----------
    spectrum : Spectrum
        Flux in ct, ct/s, ct/A or ct/s/A (electron and adu count as ct).
    exptime : float or Quantity, optional
        Exposure time (s) when the flux is not per second; default ``meta['exptime']``.

    Returns
    -------
    Spectrum
        Flux in ct/s/A.

    Raises
    ------
    SpectrumError
        The unit is not a count unit, or the exposure time is missing.
    """
    unit = spectrum.flux_unit
    for base in _COUNTS:
        rest = (unit / base).decompose()
        for per_time, per_wave in ((False, False), (True, False), (False, True), (True, True)):
            target = (u.s**-1 if per_time else u.dimensionless_unscaled) * (u.AA**-1 if per_wave else 1)
            if not rest.is_equivalent(target):
                continue
            scale = rest.to(target)
            factor = np.full(len(spectrum), scale)
            if not per_time:
                t = exptime if exptime is not None else spectrum.meta.get("exptime")
                if t is None:
                    raise SpectrumError(f"flux in {unit} needs an exposure time: pass exptime= or set meta['exptime']")
                factor = factor / u.Quantity(t, u.s).to_value(u.s)
            if not per_wave:
                factor = factor / spectrum.width.to_value(u.AA)
            out = spectrum.scale(factor).to_wave_unit(u.AA)
            return out.replace(
                flux=out.flux.value * u.ct / u.s / u.AA,
                error=None if out.error is None else out.error.value * u.ct / u.s / u.AA,
            )
    raise SpectrumError(f"expected counts (ct, ct/s, ct/A or ct/s/A; electron or adu), got flux in {unit}")


def line_mask(
    wavelength: np.ndarray, half_width_kms: float = 1500.0, telluric: bool = True, lines: tuple = STELLAR_LINES
) -> np.ndarray:
    """True where a wavelength (A) lies within ``half_width_kms`` of a stellar line or inside a telluric band."""
    w = np.asarray(wavelength, float)
    bad = np.zeros(w.size, bool)
    if half_width_kms > 0:
        for line in lines:
            bad |= np.abs(w - line) < line * half_width_kms / 299792.458
    if telluric:
        for lo, hi in TELLURIC_BANDS:
            bad |= (w > lo) & (w < hi)
    return bad


@dataclass(frozen=True, eq=False)
class Sensitivity:
    """A smooth sensitivity curve ``S(lambda)`` in (ct/s/A) / (erg/s/cm^2/A), above the atmosphere.

    Parameters
    ----------
    spline : SplineFit
        Cubic B-spline of ``ln S`` against wavelength in Angstrom, with covariance.
    points : dict
        The data it was fitted to (``wavelength``, ``sensitivity``, ``error``, ``used``), for QC.
    meta : dict
        How it was made (standard, airmass, extinction source, chi2...).
    scale_log_error : float
        Fractional uncertainty common to all wavelengths (e.g. a photometric scale), added in quadrature.
    systematic : (ndarray, ndarray), optional
        Wavelengths (A) and a fractional uncertainty there (e.g. of a template's shape), interpolated
        and added in quadrature.
    """

    spline: SplineFit
    points: dict = field(default_factory=dict)
    meta: dict = field(default_factory=dict)
    scale_log_error: float = 0.0
    systematic: tuple[np.ndarray, np.ndarray] | None = None

    @property
    def wave_range(self) -> u.Quantity:
        """Wavelength range the curve is valid over."""
        return u.Quantity(self.spline.x_range, u.AA)

    def __call__(self, wavelength: u.Quantity) -> u.Quantity:
        """``S`` at wavelengths (Quantity); raises outside :attr:`wave_range`."""
        w = u.Quantity(wavelength).to_value(u.AA, u.spectral())
        return np.exp(self.spline(w)) * SENSITIVITY_UNIT

    def log_error(self, wavelength: u.Quantity) -> np.ndarray:
        """1-sigma uncertainty of ``ln S`` (the fractional uncertainty of S)."""
        w = u.Quantity(wavelength).to_value(u.AA, u.spectral())
        err = np.hypot(self.spline.error(w), self.scale_log_error)
        if self.systematic is not None:
            err = np.hypot(err, np.interp(w, *self.systematic))
        return err

    def vector(
        self,
        spectrum: Spectrum,
        exptime: float | u.Quantity | None = None,
        airmass: float = 0.0,
        extinction: Extinction | None = None,
        meta: dict | None = None,
    ) -> CalibrationVector:
        """The factor from counts to f_lambda on a spectrum's (or frame's) pixels for one exposure.

        ``C = 1 / (S(lambda) * 10**(-0.4 k X) * exptime * width)`` for counts per pixel (no time or
        ``/A`` in the unit: see :func:`rate_density` for the others), masked outside :attr:`wave_range`.

        Parameters
        ----------
        spectrum : Spectrum
            Any spectrum on the pixels to calibrate (its flux unit says what the counts are).
        exptime, airmass, extinction
            As in :meth:`calibrate`.
        meta : dict, optional
            Stored in the vector (star name, fibre...).

        Returns
        -------
        CalibrationVector
        """
        ones = spectrum.replace(flux=np.ones(len(spectrum)) * spectrum.flux_unit, error=None, mask=None)
        per = rate_density(ones, exptime)  # counts -> ct/s/A for a unit count
        w_all = per.wavelength.to_value(u.AA)
        lo, hi = self.spline.x_range
        inside = (w_all >= lo) & (w_all <= hi)
        if airmass > 0 and extinction is None:
            raise SpectrumError("airmass > 0 needs an extinction curve (extinction=load_extinction())")
        w = np.clip(w_all, lo, hi) * u.AA
        atm = extinction.transmission(w, airmass) if airmass > 0 else np.ones(w_all.size)
        factor = np.where(inside, per.flux.value / (self(w).value * atm), np.nan)
        frac = np.where(inside, self.log_error(w), np.nan)
        info = dict(meta or {}, airmass=airmass, **{k: self.meta[k] for k in ("template", "rv", "band_residuals")
                                                     if k in self.meta})  # fmt: skip
        return CalibrationVector(w_all, factor, (factor * frac) ** 2, ~inside, info)

    def calibrate(
        self,
        spectrum: Spectrum,
        exptime: float | u.Quantity | None = None,
        airmass: float = 0.0,
        extinction: Extinction | None = None,
        include_calibration_error: bool = True,
    ) -> Spectrum:
        """Convert a spectrum in counts into f_lambda (erg/s/cm^2/A), propagating errors.

        Parameters
        ----------
        spectrum : Spectrum
            Counts (see :func:`rate_density` for accepted units).
        exptime : float or Quantity, optional
            Exposure time, when the flux is not per second.
        airmass : float
            Airmass of the science exposure (0 = above the atmosphere).
        extinction : Extinction, optional
            Needed when ``airmass > 0``.
        include_calibration_error : bool
            Add the sensitivity's uncertainty in quadrature per pixel (it is correlated
            across pixels; ``meta['calibration_error']`` keeps it apart).

        Returns
        -------
        Spectrum
            ``error**2 = (sigma_r / (S A))**2 + (F sigma_lnS)**2``.
        """
        rate = rate_density(spectrum, exptime)
        if airmass > 0 and extinction is None:
            raise SpectrumError("airmass > 0 needs an extinction curve (extinction=load_extinction())")
        lo, hi = self.spline.x_range
        w_all = rate.wavelength.to_value(u.AA)
        inside = (w_all >= lo) & (w_all <= hi)
        if not inside.any():
            raise SpectrumError(f"the spectrum ({w_all[0]:.0f}-{w_all[-1]:.0f} A) misses the sensitivity's range "
                                f"{lo:.0f}-{hi:.0f} A")  # fmt: skip
        if not inside.all():
            log.warning("%d pixels outside the sensitivity's range %.0f-%.0f A are masked", (~inside).sum(), lo, hi)
        w = np.clip(w_all, lo, hi) * u.AA
        atm = extinction.transmission(w, airmass) if airmass > 0 else np.ones(len(rate))
        factor = np.where(inside, 1.0 / (self(w).value * atm), np.nan)
        frac = np.where(inside, self.log_error(w), np.nan)
        out = rate.scale(factor, factor * frac if include_calibration_error else None)
        meta = dict(out.meta, bunit="erg/s/cm2/A", calibration_error=frac, airmass=airmass)
        return out.replace(
            flux=out.flux.value * FLAM, error=None if out.error is None else out.error.value * FLAM, meta=meta
        )


def fit_sensitivity(
    observed: Spectrum,
    reference: Spectrum,
    exptime: float | u.Quantity | None = None,
    airmass: float = 0.0,
    extinction: Extinction | None = None,
    knot_spacing: float = SensitivitySection.knot_spacing,
    line_half_width_kms: float = SensitivitySection.line_half_width_kms,
    telluric: bool | None = None,
    resolution: Any = None,
    clip: float = SensitivitySection.clip,
    extra_mask: tuple[tuple[float, float], ...] = (),
) -> Sensitivity:
    """Fit the sensitivity from an observed standard star and its reference spectrum.

    Parameters
    ----------
    observed : Spectrum
        The standard star in counts (ct, ct/s, ct/A or ct/s/A).
    reference : Spectrum
        Its reference f_lambda (e.g. :func:`read_calspec`), covering the observed range.
    exptime : float or Quantity, optional
        Exposure time when ``observed`` is not per second.
    airmass : float
        Airmass of the standard (0 for space data).
    extinction : Extinction, optional
        Atmospheric extinction (needed when ``airmass > 0``).
    knot_spacing : float
        Spline knot spacing in Angstrom (the smallest scale of throughput structure followed).
    line_half_width_kms : float
        Half-width of the masks around :data:`STELLAR_LINES` (0 masks none).
    telluric : bool, optional
        Mask :data:`TELLURIC_BANDS` (default: when ``airmass > 0``).
    resolution : float or callable, optional
        Resolving power of the observation; the reference is convolved to it first.
    clip : float
        Sigma-clipping threshold of the spline fit (0 disables).
    extra_mask : sequence of (start, end)
        More wavelength intervals (A) to leave out.

    Returns
    -------
    Sensitivity
    """
    rate = rate_density(observed, exptime)
    if airmass > 0:
        if extinction is None:
            raise SpectrumError("airmass > 0 needs an extinction curve (extinction=load_extinction())")
        atm = extinction.transmission(rate.wavelength, airmass)
        rate = rate.scale(1.0 / atm)
    ref = reference.to_wave_unit(u.AA)
    dq = np.asarray(ref.meta.get("dataqual", []))
    if dq.size == len(ref):  # CALSPEC pixels of lower quality: kept for photometry, not fitted
        ref = ref.replace(mask=ref.mask | (dq == 0))
    if ref.flux_unit != FLAM:
        ref = ref.to_flux_unit(FLAM)
    lo, hi = max(rate.low[0], ref.low[0]), min(rate.high[-1], ref.high[-1])
    rate = rate[(rate.low >= lo) & (rate.high <= hi)]
    if len(rate) < 10:
        raise SpectrumError(
            f"the reference ({ref.low[0]:.0f}-{ref.high[-1]:.0f}) barely overlaps the observation; "
            "choose the right standard star file"
        )
    if resolution is not None:
        ref = ref.select(rate.low[0] * 0.98, rate.high[-1] * 1.02).convolve_to_resolution(resolution)
    ref = ref.rebin(rate)
    r, f = rate.flux.value, ref.flux.value
    sr = np.zeros_like(r) if rate.error is None else rate.error.value
    sf = np.zeros_like(f) if ref.error is None else ref.error.value
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = r / f
        sigma_ln = np.hypot(sr / r, sf / f)
    w = rate.wavelength.value
    telluric = airmass > 0 if telluric is None else telluric
    masked = line_mask(w, line_half_width_kms, telluric)
    for a, b in extra_mask:
        masked |= (rate.high.value > min(a, b)) & (rate.low.value < max(a, b))
    usable = rate.good & ref.good & (r > 0) & (f > 0) & ~masked & np.isfinite(sigma_ln) & (sigma_ln > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        spline = fit_spline(w, np.log(ratio), sigma_ln, knot_spacing, usable=usable, clip=clip)
    points = {"wavelength": w, "sensitivity": ratio, "error": ratio * sigma_ln, "used": spline.used, "masked": masked}
    meta = {
        "standard": reference.meta.get("target", ""),
        "airmass": airmass,
        "extinction": getattr(extinction, "source", None),
        "knot_spacing": knot_spacing,
        "chi2": spline.chi2,
        "ndof": spline.ndof,
        "n_clipped": int(np.sum(usable & ~spline.used)),
    }
    log.info(
        "sensitivity from %s: %d of %d pixels used, chi2/ndof = %.2f",
        meta["standard"] or "standard",
        int(spline.used.sum()),
        len(w),
        spline.chi2 / max(spline.ndof, 1),
    )
    misfit = _misfit(w, np.log(np.where(ratio > 0, ratio, np.nan)), spline, knot_spacing)
    meta["max_misfit"] = float(np.max(misfit[1])) if misfit[1].size else 0.0
    return Sensitivity(spline, points, meta, systematic=misfit)


def _misfit(w: np.ndarray, log_ratio: np.ndarray, spline: SplineFit, knot_spacing: float):
    """Where the spline cannot follow the data (a steep cut-off between knots): the binned mean residual.

    In bins of a quarter and of half a knot spacing, a mean residual of the used points larger than twice
    its own error is a misfit of the smooth curve, not noise. The larger of the two, spread to the
    neighbouring bins (a misfit between two knots spans both), becomes part of the reported error there.
    """
    used = spline.used
    x, r = w[used], log_ratio[used] - spline(w[used])
    fine = np.arange(x.min(), x.max() + knot_spacing / 4, knot_spacing / 4)
    centres = 0.5 * (fine[1:] + fine[:-1])
    best = np.zeros(centres.size)
    for width in (knot_spacing / 4, knot_spacing / 2):
        edges = np.arange(x.min(), x.max() + width, width)
        k = np.clip(np.digitize(x, edges) - 1, 0, max(edges.size - 2, 0))
        mids, values = [], []
        for b in np.unique(k):
            rb = r[k == b]
            if rb.size >= 3:
                mean, err = float(np.mean(rb)), float(np.std(rb, ddof=1) / np.sqrt(rb.size))
                mids.append(0.5 * (edges[b] + edges[min(b + 1, edges.size - 1)]))
                values.append(abs(mean) if abs(mean) > 2 * err else 0.0)
        if mids:
            idx = np.clip(np.searchsorted(np.array(mids), centres), 0, len(mids) - 1)
            best = np.maximum(best, np.array(values)[idx])
    spread = np.maximum.reduce([best, np.roll(best, 1), np.roll(best, -1)]) if best.size > 2 else best
    return centres, spread
