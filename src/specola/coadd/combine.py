"""specola's co-addition of one setting: flux-conserving resampling, weighting, rejection.

Every input segment (one exposure's COS segment or STIS order, or any
:class:`~specola.spectrum.Spectrum`) is rebinned onto the common grid with the
shared flux-conserving rebinning (:func:`specola.resample.rebin_arrays`), then
combined per pixel::

    F = sum w_i f_i / sum w_i,    var F = sum w_i^2 var_i / (sum w_i)^2

with ``w`` the inverse variance or the exposure time times the sensitivity
(``NET / FLUX`` when known). Effective exposure time counts each exposure once
per pixel (overlapping echelle orders of one exposure are not double counted).

Rejection works on exposures, segments and pixels, never on whole files:

* exposures, then segments, whose flux differs from a robust reference are
  rejected or flagged (:mod:`specola.coadd.reject`), every decision recorded;
* a pixel more than ``sigma_clip`` sigma from the leave-one-out co-add of at
  least two other exposures is clipped.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

import astropy.units as u
import numpy as np

from ..errors import SpectrumError
from ..resample import overlap_matrix, rebin_arrays
from ..spectrum import Spectrum
from .config import CoaddSection, RejectSection
from .reject import Decision, judge

__all__ = ["Contribution", "combine_segments", "exposure_label"]

log = logging.getLogger(__name__)


def exposure_label(spectrum: Spectrum, index: int) -> str:
    """The exposure a segment belongs to (``meta['exposure']``, else the file, else its index)."""
    meta = spectrum.meta
    return str(meta.get("exposure") or meta.get("source_file") or f"spectrum {index}")


def part_label(spectrum: Spectrum) -> str:
    """The segment (COS ``FUVA``...) or echelle order (``order 103``) of a spectrum, else ``""``."""
    meta = spectrum.meta
    if meta.get("instrument") == "STIS" and meta.get("order") is not None:
        return f"order {meta['order']}"
    return str(meta.get("segment") or "")


def segment_label(spectrum: Spectrum, index: int) -> str:
    """Exposure plus segment/order, e.g. ``ldfd01vnq_x1d.fits.gz[1] FUVA``."""
    part = part_label(spectrum)
    return f"{exposure_label(spectrum, index)} {part}" if part else exposure_label(spectrum, index)


@dataclass
class Contribution:
    """One input segment rebinned onto a window ``sl`` of the output grid."""

    label: str
    exposure: str
    part: str
    sl: slice
    flux: np.ndarray
    var: np.ndarray
    weight: np.ndarray
    valid: np.ndarray
    coverage: np.ndarray
    dq: np.ndarray
    exptime: float
    n_clipped: int = 0
    rejected: bool = False


@dataclass
class Combined:
    """Arrays of a co-add on its grid (plain floats, flux unit of the inputs)."""

    edges_low: np.ndarray
    edges_high: np.ndarray
    flux: np.ndarray
    var: np.ndarray
    n_exposures: np.ndarray
    eff_exptime: np.ndarray
    dq: np.ndarray
    contributions: list[Contribution]
    decisions: list[Decision] = field(default_factory=list)


def _sensitivity(s: Spectrum) -> np.ndarray | None:
    net = s.meta.get("net")
    if net is None or np.shape(net) != (len(s),):
        return None
    with np.errstate(divide="ignore", invalid="ignore"):
        sens = np.abs(np.asarray(net, float) / s.flux.value)
    ok = np.isfinite(sens) & (sens > 0)
    if ok.sum() < 2:
        return None
    x = np.arange(sens.size)
    return np.interp(x, x[ok], sens[ok])


def _contribution(s: Spectrum, index: int, low: np.ndarray, high: np.ndarray, weighting: str, min_coverage: float):
    lo, hi = s.low.value, s.high.value
    start = max(int(np.searchsorted(high, lo[s.good].min(), side="right")), 0) if s.good.any() else 0
    stop = min(int(np.searchsorted(low, hi[s.good].max(), side="left")), low.size) if s.good.any() else 0
    if stop <= start:
        return None
    sl = slice(start, stop)
    if s.error is None:
        raise SpectrumError(f"{segment_label(s, index)}: needs errors to be co-added")
    flux, var, cover = rebin_arrays(lo, hi, s.flux.value, s.error.value**2, s.good, low[sl], high[sl])
    valid = (cover >= min_coverage) & np.isfinite(flux) & np.isfinite(var) & (var > 0)
    exptime = float(s.meta.get("exptime", 1.0) or 0.0)
    if weighting == "inverse_variance":
        weight = np.where(valid, 1.0 / np.where(var > 0, var, np.inf), 0.0)
    else:
        if exptime <= 0:
            raise SpectrumError(f"{segment_label(s, index)}: exposure time {exptime} cannot weight a co-add")
        sens = _sensitivity(s)
        if sens is None:
            weight = np.full(flux.shape, exptime)
        else:
            weight = exptime * rebin_arrays(lo, hi, sens, None, s.good, low[sl], high[sl])[0]
        # a spectrum scaled by f has f^2 times the variance for the same photons: weight it down alike
        scale = float(np.median(np.atleast_1d(s.meta.get("scale_factor", 1.0))))
        weight = np.where(valid & np.isfinite(weight), weight / scale**2, 0.0)
    dq = np.zeros(stop - start, np.int64)
    if "dq" in s.meta and np.shape(s.meta["dq"]) == (len(s),):
        m = overlap_matrix(lo, hi, low[sl], high[sl]).tocoo()
        use = s.good[m.col]
        np.bitwise_or.at(dq, m.row[use], np.asarray(s.meta["dq"], np.int64)[m.col[use]])
    valid &= weight > 0
    return Contribution(
        segment_label(s, index),
        exposure_label(s, index),
        part_label(s) or "all",
        sl,
        np.where(valid, flux, 0.0),
        np.where(valid, var, 0.0),
        np.where(valid, weight, 0.0),
        valid,
        np.where(valid, cover, 0.0),
        dq,
        exptime,
    )


def _totals(contribs: list[Contribution], n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    sw, swf, sw2v = np.zeros(n), np.zeros(n), np.zeros(n)
    for c in contribs:
        if c.rejected:
            continue
        w = np.where(c.valid, c.weight, 0.0)
        sw[c.sl] += w
        swf[c.sl] += w * c.flux
        sw2v[c.sl] += w * w * c.var
    return sw, swf, sw2v


def _leave_one_out(c: Contribution, other_exposures) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Co-add of the other exposures at this segment's pixels: flux, variance, usable."""
    s_w, s_wf, s_w2v = other_exposures
    rest_w = s_w[c.sl]
    with np.errstate(divide="ignore", invalid="ignore"):
        f = s_wf[c.sl] / rest_w
        v = s_w2v[c.sl] / rest_w**2
    ok = c.valid & (rest_w > 0) & np.isfinite(f) & (v > 0)
    return f, v, ok


def _others_by_exposure(contribs: list[Contribution], n: int) -> dict[str, tuple]:
    """For each exposure, the totals of every non-rejected contribution from the *other* exposures."""
    per = {e: _totals([c for c in contribs if c.exposure == e], n) for e in dict.fromkeys(c.exposure for c in contribs)}
    out = {}
    for e in per:
        rest = [per[o] for o in per if o != e]
        out[e] = tuple(np.sum([r[k] for r in rest], axis=0) if rest else np.zeros(n) for k in range(3))
    return out


def sigma_clip(contribs: list[Contribution], n: int, nsigma: float, iterations: int = 3) -> int:
    """Clip pixels more than ``nsigma`` from the co-add of at least two other exposures; returns the count."""
    total = 0
    for _ in range(iterations):
        live = [c for c in contribs if not c.rejected]
        count = np.zeros(n, int)
        for e in {c.exposure for c in live}:
            covered = np.zeros(n, bool)
            for c in live:
                if c.exposure == e:
                    covered[c.sl] |= c.valid
            count += covered
        new = 0
        others = _others_by_exposure(live, n)
        for c in live:
            f, v, ok = _leave_one_out(c, others[c.exposure])
            enough = ok & (count[c.sl] >= 3)
            with np.errstate(invalid="ignore", divide="ignore"):
                z = (c.flux - f) / np.sqrt(c.var + v)
            clip = enough & (np.abs(z) > nsigma)
            if clip.any():
                c.valid = c.valid & ~clip
                c.weight = np.where(c.valid, c.weight, 0.0)
                c.n_clipped += int(clip.sum())
                new += int(clip.sum())
        total += new
        if new == 0:
            break
    return total


def combine_segments(
    spectra: Sequence[Spectrum],
    edges: np.ndarray,
    options: CoaddSection | None = None,
    reject: RejectSection | None = None,
) -> Combined:
    """Co-add segments of one setting on the grid ``edges`` (same wavelength and flux units).

    Parameters
    ----------
    spectra : sequence of Spectrum
        Segments with errors; ``meta['exposure']`` groups segments of one exposure.
    edges : ndarray
        Output bin edges (contiguous).
    options : CoaddSection, optional
        Weighting and the coverage an input needs in an output pixel (default: the config's).
    reject : RejectSection, optional
        Exposure/segment rejection (``max_flux_deviation = 0`` disables) and per-pixel
        clipping (``sigma_clip = 0`` disables); default: the config's.

    Returns
    -------
    Combined
    """
    options, reject = options or CoaddSection(), reject or RejectSection()
    edges = np.asarray(edges, float)
    low, high = edges[:-1], edges[1:]
    n = low.size
    contribs = []
    for i, s in enumerate(spectra):
        if not s.good.any():
            log.debug("%s: no good pixel; left out", segment_label(s, i))  # the reader has warned
            continue
        c = _contribution(s, i, low, high, options.weighting, options.min_coverage)
        if c is None or not c.valid.any():
            log.warning("%s: no valid pixels on the output grid; left out", segment_label(s, i))
            continue
        contribs.append(c)
    if not contribs:
        raise SpectrumError("every pixel of every input is masked or outside the grid: nothing to co-add")
    decisions = judge(contribs, n, reject)
    if reject.sigma_clip > 0:
        sigma_clip(contribs, n, reject.sigma_clip)
    sw, swf, sw2v = _totals(contribs, n)
    with np.errstate(divide="ignore", invalid="ignore"):
        flux = np.where(sw > 0, swf / sw, np.nan)
        var = np.where(sw > 0, sw2v / sw**2, np.nan)
    exposures = list(dict.fromkeys(c.exposure for c in contribs if not c.rejected))
    n_exp = np.zeros(n, int)
    eff = np.zeros(n)
    dq = np.zeros(n, np.int64)
    for e in exposures:
        cover = np.zeros(n)
        for c in contribs:
            if c.exposure == e and not c.rejected:
                cover[c.sl] = np.maximum(cover[c.sl], np.where(c.valid, c.coverage, 0.0))
                dq[c.sl] |= np.where(c.valid, c.dq, 0)
                exptime = c.exptime
        n_exp += cover > 0
        eff += exptime * np.minimum(cover, 1.0)
    return Combined(low, high, flux, var, n_exp, eff, dq, contribs, decisions)


def to_spectrum(combined: Combined, wave_unit: u.UnitBase, flux_unit: u.UnitBase, meta: dict) -> Spectrum:
    """A :class:`Spectrum` of a co-add; ``meta`` gains n_exposures, eff_exptime, dq, snr and decisions."""
    err = np.sqrt(combined.var)
    with np.errstate(divide="ignore", invalid="ignore"):
        snr = np.where(err > 0, combined.flux / err, 0.0)
    meta = dict(
        meta,
        n_exposures=combined.n_exposures,
        eff_exptime=combined.eff_exptime,
        dq=combined.dq,
        snr=np.nan_to_num(snr),
        decisions=[dataclasses.asdict(d) for d in combined.decisions],
        clipped={c.label: c.n_clipped for c in combined.contributions if c.n_clipped},
        segments=[c.label for c in combined.contributions if not c.rejected],
    )
    return Spectrum(
        combined.edges_low * wave_unit,
        combined.edges_high * wave_unit,
        np.nan_to_num(combined.flux) * flux_unit,
        np.nan_to_num(err) * flux_unit,
        ~np.isfinite(combined.flux) | (combined.n_exposures == 0),
        meta=meta,
    )
