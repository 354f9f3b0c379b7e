"""Flux scaling of exposures to a reference before co-adding.

Focus changes in small apertures, pointing, or variability make exposures of
one source differ by a factor. Each exposure is brought to a reference (the
brightest exposure, a named one, or the per-pixel median of all) by the median
ratio, or by a low-order polynomial of wavelength fitted to the ratio, over
their overlap. The factors are reported so the choice can be checked.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from ..errors import ConfigError, SpectrumError
from ..spectrum import Spectrum
from .combine import combine_segments, exposure_label
from .config import CoaddSection, RejectSection
from .grid import choose_grid

__all__ = ["ScaleReport", "scale_exposures"]

log = logging.getLogger(__name__)

_PLAIN = CoaddSection(weighting="inverse_variance")
_NO_REJECTION = RejectSection(max_flux_deviation=0.0, sigma_clip=0.0)


@dataclass
class ScaleReport:
    """Scale factors per exposure.

    Attributes
    ----------
    reference : str
        The reference exposure (or ``"median"``).
    factors : dict
        Exposure -> median factor applied.
    polynomials : dict
        Exposure -> polynomial coefficients (numpy order, in ``x = lambda / lambda_mid - 1``), poly method only.
    """

    reference: str
    factors: dict[str, float] = field(default_factory=dict)
    polynomials: dict[str, list[float]] = field(default_factory=dict)


def _exposure_spectra(spectra: Sequence[Spectrum], edges: np.ndarray) -> dict[str, np.ndarray]:
    groups: dict[str, list[Spectrum]] = {}
    for i, s in enumerate(spectra):
        groups.setdefault(exposure_label(s, i), []).append(s)
    out = {}
    for name, segs in groups.items():
        c = combine_segments(segs, edges, _PLAIN, _NO_REJECTION)
        out[name] = c.flux
    return out


def scale_exposures(
    spectra: Sequence[Spectrum], reference: str = "brightest", method: str = "median", degree: int = 1
) -> tuple[list[Spectrum], ScaleReport]:
    """Scale every exposure's segments to a reference exposure.

    Parameters
    ----------
    spectra : sequence of Spectrum
        Segments of one setting (``meta['exposure']`` groups them by exposure).
    reference : str
        ``"brightest"`` (highest median flux), ``"median"`` (per-pixel median of
        all exposures) or part of an exposure's name (e.g. a rootname).
    method : {"median", "poly"}
        Median of the ratio over the overlap, or a polynomial of ``degree`` in wavelength.
    degree : int
        Polynomial degree for ``method="poly"``.

    Returns
    -------
    scaled : list of Spectrum
    report : ScaleReport

    Examples
    --------
    >>> import astropy.units as u
    >>> a = Spectrum.from_edges(np.arange(11.0) * u.AA, np.full(10, 2.0) * u.Jy, error=np.full(10, 0.1) * u.Jy,
    ...                         meta={"exposure": "a"})
    >>> b = a.replace(flux=np.full(10, 1.0) * u.Jy, meta={"exposure": "b"})
    >>> _, report = scale_exposures([a, b])
    >>> report.factors
    {'a': 1.0, 'b': 2.0}
    """
    if method not in ("median", "poly"):
        raise ConfigError(f"scaling method {method!r} unknown; choose median or poly")
    edges, _ = choose_grid(spectra)
    centre = 0.5 * (edges[:-1] + edges[1:])
    per = _exposure_spectra(spectra, edges)
    names = list(per)
    with np.errstate(invalid="ignore"):
        medians = {k: np.nanmedian(v) if np.isfinite(v).any() else np.nan for k, v in per.items()}
    if reference == "brightest":
        ref_name = max(names, key=lambda k: -np.inf if not np.isfinite(medians[k]) else medians[k])
        ref = per[ref_name]
    elif reference == "median":
        ref_name = "median"
        stack = np.array([per[k] for k in names])
        ref = np.nanmedian(np.where(np.isfinite(stack), stack, np.nan), axis=0) if len(names) > 1 else stack[0]
    else:
        hits = [k for k in names if reference in k]
        if len(hits) != 1:
            raise ConfigError(f"scaling reference {reference!r} matches {len(hits)} exposures; choose one of {names}")
        ref_name, ref = hits[0], per[hits[0]]
    report = ScaleReport(ref_name)
    mid = np.nanmedian(centre)
    factor_of: dict[str, object] = {}
    for k in names:
        ok = np.isfinite(per[k]) & np.isfinite(ref) & (per[k] != 0)
        if ok.sum() < max(5, degree + 2):
            raise SpectrumError(f"exposure {k} and the reference {ref_name} overlap in {ok.sum()} pixels: cannot scale")
        ratio = ref[ok] / per[k][ok]
        # median of per-pixel ratios (robust, efficient at good S/N); ratio of medians for faint data
        positive = (ref[ok] > 0) & (per[k][ok] > 0)
        if positive.mean() > 0.9:
            median = float(np.median(ratio))
        else:
            median = float(np.median(ref[ok]) / np.median(per[k][ok]))
        report.factors[k] = median
        if method == "median":
            factor_of[k] = median
        else:
            x = centre[ok] / mid - 1
            keep = np.abs(ratio - np.median(ratio)) < 5 * 1.4826 * np.median(np.abs(ratio - np.median(ratio))) + 1e-300
            coef = np.polyfit(x[keep], ratio[keep], degree)
            report.polynomials[k] = coef.tolist()
            factor_of[k] = coef
        log.info("scale %s by %.4f (reference %s)", k, median, ref_name)
    out = []
    for i, s in enumerate(spectra):
        f = factor_of[exposure_label(s, i)]
        if isinstance(f, np.ndarray):
            f = np.polyval(f, s.wavelength.to_value(s.wave_unit) / mid - 1)
        scaled = s.scale(f)
        scaled.meta["scale_factor"] = f
        if scaled.meta.get("net") is not None:
            # keep NET / FLUX (the sensitivity used for weights) unchanged
            scaled.meta["net"] = np.asarray(scaled.meta["net"]) * f
        out.append(scaled)
    return out, report
