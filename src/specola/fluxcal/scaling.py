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
from ..grids import StellarGrid
from ..spectrum import Spectrum
from .photometry import FLAM, synthetic_magnitude
from .sensitivity import Sensitivity, fit_sensitivity
from .standards import Extinction
from .template import TemplateFit

__all__ = ["Photometry", "ScaleResult", "scale_to_photometry", "template_sensitivity"]


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
    """

    bands: Sequence[str]
    magnitudes: Sequence[float]
    errors: Sequence[float]
    system: str = "Vega"

    def __post_init__(self) -> None:
        n = len(self.bands)
        if n == 0 or len(self.magnitudes) != n or len(self.errors) != n:
            raise ConfigError(
                f"photometry needs one magnitude and one error per band; got {n} bands, "
                f"{len(self.magnitudes)} magnitudes, {len(self.errors)} errors"
            )
        if any(not e > 0 for e in self.errors):
            raise ConfigError(f"photometric errors must be > 0, got {list(self.errors)}")
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
    grid: StellarGrid,
    photometry: Photometry,
    exptime: float | u.Quantity | None = None,
    airmass: float = 0.0,
    extinction: Extinction | None = None,
    knot_spacing: float = 300.0,
    clip: float = 4.0,
) -> tuple[Sensitivity, ScaleResult]:
    """Sensitivity from a star with a fitted template scaled to its photometry.

    Parameters
    ----------
    observed : Spectrum
        The star in counts.
    fit : TemplateFit
        Its template fit (:func:`~specola.fluxcal.template.fit_template`).
    grid : StellarGrid
        The full-range grid the fit used (for synthetic photometry outside the spectrum).
    photometry : Photometry
        The star's magnitudes.
    exptime, airmass, extinction, knot_spacing, clip
        As in :func:`~specola.fluxcal.sensitivity.fit_sensitivity`.

    Returns
    -------
    (Sensitivity, ScaleResult)
        The sensitivity includes the scale's error (``scale_log_error``).
    """
    wide = grid.spectrum(**fit.params)
    scaled = scale_to_photometry(wide, photometry)
    reference = fit.template.scale(scaled.scale)
    reference = reference.replace(flux=reference.flux.to(FLAM), meta={"target": "scaled template"})
    sens = fit_sensitivity(
        observed,
        reference,
        exptime=exptime,
        airmass=airmass,
        extinction=extinction,
        knot_spacing=knot_spacing,
        line_half_width_kms=0.0,
        clip=clip,
    )
    meta = dict(sens.meta, template=dict(fit.params), rv=fit.rv, scale=scaled.scale, band_residuals=scaled.residuals)
    return Sensitivity(sens.spline, sens.points, meta, scale_log_error=scaled.log_error), scaled
