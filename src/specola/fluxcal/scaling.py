"""Scaling a template to broadband photometry, and the calibration it gives.

A template's surface flux ``M`` is scaled to the star's apparent flux by
``s = 10**(-0.4 * dm)``, with ``dm`` the inverse-variance weighted mean of
``m_observed - m_synthetic`` over the bands (synthetic magnitudes in the
photometry's own system, AB or Vega). The sensitivity then follows from the
observed counts divided by ``s`` times the fitted, Doppler-shifted template.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import astropy.units as u
import numpy as np

from ..errors import ConfigError
from ..spectrum import Spectrum
from .config import SensitivitySection, TemplateSection
from .photometry import FLAM, synthetic_magnitude
from .reddening import reddening
from .sensitivity import Sensitivity, fit_sensitivity
from .standards import Extinction
from .template import TemplateFit

__all__ = ["Photometry", "ScaleResult", "scale_to_photometry", "template_sensitivity"]


#: Magnitudes at or above this, and errors at or above SENTINEL_ERROR, are catalogue placeholders (99.9, 9.99).
SENTINEL_MAG = 50.0
SENTINEL_ERROR = 9.9


@dataclass(frozen=True)
class Photometry:
    """Broadband magnitudes of one star.

    Parameters
    ----------
    bands : sequence of str
        speclite filter names (``"gaiadr2-G"``...).
    magnitudes, errors : sequence of float
        Magnitudes and their 1-sigma errors (> 0).
    system : {"AB", "Vega"}
        System of the magnitudes (Gaia and 2MASS catalogues are Vega).
    star : str
        Name of the star (for messages).

    Raises
    ------
    ConfigError
        Mismatched lengths, NaN or sentinel magnitudes (>= 50, e.g. 99.9), non-positive or sentinel
        errors (>= 9.9): one line naming the star and band.
    """

    bands: Sequence[str]
    magnitudes: Sequence[float]
    errors: Sequence[float]
    system: str = "Vega"
    star: str = ""

    def __post_init__(self) -> None:
        n = len(self.bands)
        if n == 0 or len(self.magnitudes) != n or len(self.errors) != n:
            raise ConfigError(
                f"photometry needs one magnitude and one error per band; got {n} bands, "
                f"{len(self.magnitudes)} magnitudes, {len(self.errors)} errors"
            )
        who = f"photometry of {self.star or 'the standard'}"
        for band, mag, err in zip(self.bands, self.magnitudes, self.errors, strict=True):
            if not np.isfinite(mag) or not -30.0 < mag < SENTINEL_MAG:
                raise ConfigError(f"{who}: band {band} magnitude {mag} is NaN or a catalogue sentinel; drop the band")
            if not (np.isfinite(err) and 0 < err < SENTINEL_ERROR):
                raise ConfigError(f"{who}: band {band} error {err} must be finite, > 0 and < {SENTINEL_ERROR}")
        if self.system.upper() not in ("AB", "VEGA"):
            raise ConfigError(f"photometric system must be 'AB' or 'Vega', got {self.system!r}")


@dataclass(frozen=True)
class ScaleResult:
    """Scale factor of a template and the band-by-band comparison."""

    scale: float
    log_error: float
    synthetic: dict = field(default_factory=dict)
    residuals: dict = field(default_factory=dict)
    chi2: float = 0.0


def scale_to_photometry(template: Spectrum, photometry: Photometry) -> ScaleResult:
    """Scale factor bringing a template's synthetic magnitudes onto observed ones.

    Parameters
    ----------
    template : Spectrum
        Unscaled model flux density covering every band (e.g. ``grid.spectrum(...)``).
    photometry : Photometry

    Returns
    -------
    ScaleResult
        ``scale``; ``log_error`` is the fractional 1-sigma error of the scale (inflated by
        sqrt(chi2/ndof) when the bands disagree more than their errors); ``residuals`` are
        ``synthetic(scaled) - observed`` per band.
    """
    syn = np.array([synthetic_magnitude(template, b, photometry.system) for b in photometry.bands])
    obs = np.asarray(photometry.magnitudes, float)
    w = 1.0 / np.asarray(photometry.errors, float) ** 2
    dm = float(np.sum(w * (obs - syn)) / np.sum(w))
    resid = syn + dm - obs
    chi2 = float(np.sum(w * resid**2))
    ndof = max(len(obs) - 1, 1)
    err_mag = np.sqrt(1.0 / np.sum(w) * max(1.0, chi2 / ndof)) if len(obs) > 1 else np.sqrt(1.0 / np.sum(w))
    return ScaleResult(
        scale=10 ** (-0.4 * dm),
        log_error=float(0.4 * np.log(10) * err_mag),
        synthetic={b: float(m + dm) for b, m in zip(photometry.bands, syn, strict=True)},
        residuals={b: float(r) for b, r in zip(photometry.bands, resid, strict=True)},
        chi2=chi2,
    )


def template_sensitivity(
    observed: Spectrum,
    fit: TemplateFit,
    exptime: float | u.Quantity | None = None,
    airmass: float = 0.0,
    extinction: Extinction | None = None,
    knot_spacing: float = SensitivitySection.knot_spacing,
    line_half_width_kms: float = SensitivitySection.line_half_width_kms,
    clip: float = SensitivitySection.clip,
    model_error: float = TemplateSection.model_error,
    extra_mask: tuple[tuple[float, float], ...] = (),
) -> Sensitivity:
    """Sensitivity from a star with a template fitted jointly to its spectrum and photometry.

    The reference is the fitted template, reddened by the fitted E(B-V) and scaled to the
    photometry (``fit.scale``). Its uncertainty enters the sensitivity's errors: the scale's
    (``scale_log_error``), the shape's from the parameter covariance (``fit.template_log_error``)
    and ``model_error``, the grid's own accuracy of the SED shape.

    Parameters
    ----------
    observed : Spectrum
        The star in counts.
    fit : TemplateFit
        Its template fit with photometry (:func:`~specola.fluxcal.template.fit_template`).
    exptime, airmass, extinction, knot_spacing, line_half_width_kms, clip, extra_mask
        As in :func:`~specola.fluxcal.sensitivity.fit_sensitivity`.
    model_error : float
        Fractional accuracy of the grid's SED shape.

    Returns
    -------
    Sensitivity

    Raises
    ------
    ConfigError
        The fit had no photometry (no absolute scale).
    """
    if not fit.photometry:
        raise ConfigError("a template calibration needs photometry: give [photometry] bands and magnitudes")
    t = fit.template
    w = t.wavelength.to_value(u.AA)
    red = reddening(w, fit.ebv, fit.meta.get("r_v", TemplateSection.r_v))
    flux = (t.flux * fit.scale * red).to(FLAM)
    reference = Spectrum(t.low, t.high, flux, meta={"target": "scaled template"})
    sens = fit_sensitivity(
        observed,
        reference,
        exptime=exptime,
        airmass=airmass,
        extinction=extinction,
        knot_spacing=knot_spacing,
        line_half_width_kms=line_half_width_kms,
        clip=clip,
        extra_mask=extra_mask,
    )
    shape = np.hypot(fit.template_log_error, model_error)
    if sens.systematic is not None and sens.systematic[0].size:
        shape = np.hypot(shape, np.interp(w, *sens.systematic))
    meta = dict(sens.meta, template=dict(fit.params), rv=fit.rv, ebv=fit.ebv, scale=fit.scale,
                band_residuals=fit.photometry["residuals"], tension=fit.tension)  # fmt: skip
    scale_err = 0.4 * np.log(10) * fit.photometry["dm_error"]
    return Sensitivity(sens.spline, sens.points, meta, scale_log_error=float(scale_err), systematic=(w, shape))
