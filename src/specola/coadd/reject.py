"""Rejection that knows which exposure is wrong.

Every exposure, and then every segment or echelle order of the others, is compared
with a robust *reference*, never with a co-add that it dominates itself:

* ``median`` (default): the median (in log) of its flux ratios to each other
  exposure overlapping it, when there are at least two others (a minority cannot
  move it); with a single other, as ``brightest``;
* ``brightest``: the brightest other exposure, and only when that one is brighter
  (light losses from focus, pointing or a small aperture only lower the flux: the
  assumption of the HASP scaling tutorial); the brightest is never judged by a fainter;
* ``longest``: likewise with the longest exposure.

A ratio is that of the medians over the common pixels. An exposure or segment is
*deviant* when its ratio differs from 1 by more than ``max_flux_deviation`` and by
more than ``sigma`` standard errors. Deviant parts are decided worst first, never
the majority: a rejection must leave at least as many exposures as it removes at
the pixels it covers (with two exposures the reference stays); a deviant part that
cannot be rejected is *flagged* (kept and recorded). Every decision is a
:class:`Decision` (exposure, segment, action, factor, significance, reason), logged once.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from .config import RejectSection

__all__ = ["Decision", "against_reference", "judge"]

log = logging.getLogger(__name__)


@dataclass
class Decision:
    """One decision about an exposure or one of its segments.

    Attributes
    ----------
    exposure : str
        The exposure (file and extension).
    segment : str
        ``"all"`` for a whole exposure, else the COS segment or STIS order.
    action : str
        ``"rejected"``, ``"flagged"`` (deviant but kept: rejecting it would remove the
        majority) or ``"scaled"`` (by ``[scaling]``, factor applied).
    factor : float
        Flux ratio measured against the reference (``"scaled"``: the factor applied).
    significance : float
        ``|ln factor|`` in standard errors (0 when not measured).
    reason : str
    setting : str
        Instrument/grating (filled in by :func:`specola.coadd.coadd`).
    """

    exposure: str
    segment: str
    action: str
    factor: float
    significance: float
    reason: str
    setting: str = ""


def _stack(contribs, exposures: list[str], n: int, skip: frozenset = frozenset()) -> tuple[np.ndarray, np.ndarray]:
    """Per-exposure flux and variance on the grid (NaN where the exposure has no live pixel).

    Rejected contributions, those of the exposures in ``skip`` and those whose ``id`` is in it are left out.
    """
    sw, swf, sw2v = (np.zeros((len(exposures), n)) for _ in range(3))
    row = {e: k for k, e in enumerate(exposures)}
    for c in contribs:
        if c.rejected or c.exposure in skip or id(c) in skip:
            continue
        k = row[c.exposure]
        w = np.where(c.valid, c.weight, 0.0)
        sw[k, c.sl] += w
        swf[k, c.sl] += w * c.flux
        sw2v[k, c.sl] += w * w * c.var
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(sw > 0, swf / sw, np.nan), np.where(sw > 0, sw2v / sw**2, np.nan)


def _compare(flux, var, ref, ref_var, ok) -> tuple[float, float] | None:
    """Ratio of medians over ``ok`` and its significance, or None when it cannot be measured."""
    m = int(ok.sum())
    if m < 5:
        return None
    a, b = np.median(flux[ok]), np.median(ref[ok])
    if not (a > 0 and b > 0):
        return None
    ratio = a / b
    sig_ln = 1.2533 * np.sqrt(np.mean(var[ok]) / a**2 / m + np.mean(ref_var[ok]) / b**2 / m)
    return float(ratio), float(abs(np.log(ratio)) / sig_ln)


def _levels(flux: np.ndarray, var: np.ndarray) -> np.ndarray:
    """Each exposure's brightness: the median of its flux ratios to the others (1 where nothing overlaps)."""
    n_exp = flux.shape[0]
    levels = np.ones(n_exp)
    for k in range(n_exp):
        ratios = []
        for j in range(n_exp):
            if j != k:
                ok = np.isfinite(flux[k]) & np.isfinite(flux[j])
                measured = _compare(flux[k], var[k], flux[j], var[j], ok)
                if measured:
                    ratios.append(measured[0])
        if ratios:
            levels[k] = float(np.exp(np.median(np.log(ratios))))
    return levels


def against_reference(
    flux: np.ndarray, var: np.ndarray, valid: np.ndarray, stack: tuple, k: int, sl: slice, kind: str, rank: np.ndarray
) -> tuple[float, float, int] | None:
    """Flux ratio of (a segment of) exposure ``k`` to its reference, and its significance.

    Parameters
    ----------
    flux, var, valid : ndarray
        The exposure's (or segment's) values on the pixels ``sl`` of the grid.
    stack : tuple of ndarray, shape (n_exposures, n_pixels)
        Per-exposure flux and variance (NaN where not covered or rejected).
    k : int
        Row of the exposure judged (never part of its own reference).
    sl : slice
        Its pixels on the grid.
    kind : {"median", "brightest", "longest"}
        ``"median"``: the median (in log) of the ratios to every other overlapping exposure
        when there are at least two, else as ``"brightest"``; ``"brightest"``/``"longest"``:
        the ratio to the best-ranked other exposure, only when it outranks ``k``.
    rank : ndarray
        Brightness levels, or exposure times for ``"longest"``.

    Returns
    -------
    (ratio, significance, reference) or None
        ``reference`` is the row of the reference exposure, or ``-m`` for the median of ``m`` others;
        None when nothing can judge ``k``.
    """
    sflux, svar = stack
    pairs = {}
    for j in range(sflux.shape[0]):
        if j != k:
            ref, ref_var = sflux[j, sl], svar[j, sl]
            measured = _compare(flux, var, ref, ref_var, valid & np.isfinite(ref) & (ref_var > 0))
            if measured:
                pairs[j] = measured
    if kind == "median" and len(pairs) >= 2:
        # median in log space: with two others, their geometric mean, so that one of them cannot swing it
        ratio = float(np.exp(np.median(np.log([r for r, _ in pairs.values()]))))
        # significance: that of the pair closest to the median ratio, rescaled to the median
        r_mid, z_mid = min(pairs.values(), key=lambda p: abs(np.log(p[0] / ratio)))
        z = abs(np.log(ratio)) * z_mid / abs(np.log(r_mid)) if r_mid != 1 else 0.0
        return ratio, float(z), -len(pairs)
    better = [j for j in pairs if rank[j] > rank[k] or (rank[j] == rank[k] and j < k)]
    if not better:
        return None
    j = max(better, key=lambda i: rank[i])
    return (*pairs[j], j)


def _deviant(ratio: float, z: float, cfg: RejectSection) -> bool:
    low = ratio < 1 - cfg.max_flux_deviation
    high = cfg.two_sided and ratio > 1 + cfg.max_flux_deviation
    return (low or high) and z > cfg.sigma


def _describe(ratio: float, z: float, ref: int, names: list[str], cfg: RejectSection) -> str:
    if ref < 0:
        what = f"the median of the {-ref} other exposures"
    else:
        what = f"the {'longest' if cfg.reference == 'longest' else 'brightest'} exposure {names[ref]}"
    return f"flux {ratio:.3f} x {what} ({z:.1f} sigma; limit {cfg.max_flux_deviation:.0%} and {cfg.sigma:g} sigma)"


class _Tally:
    """How many exposures cover each pixel, and how many of them are rejected there."""

    def __init__(self, contribs, exposures: list[str], n: int) -> None:
        self.rows = {e: k for k, e in enumerate(exposures)}
        self.cover = np.zeros((len(exposures), n), bool)
        for c in contribs:
            self.cover[self.rows[c.exposure], c.sl] |= c.valid
        self.rejected = np.zeros_like(self.cover)
        self.total = self.cover.sum(axis=0)

    def allows(self, exposure: str, sl: slice, valid: np.ndarray) -> bool:
        """True when rejecting leaves at least as many exposures as are rejected at most of its pixels."""
        k = self.rows[exposure]
        pix = np.arange(self.cover.shape[1])[sl][valid]
        if pix.size == 0:
            return False
        gone = self.rejected[:, pix].sum(axis=0) + ~self.rejected[k, pix]
        return bool(np.median(2 * gone <= self.total[pix]) >= 0.5)

    def reject(self, exposure: str, sl: slice, valid: np.ndarray) -> None:
        k = self.rows[exposure]
        self.rejected[k, sl] |= valid


def judge(contribs: list, n: int, cfg: RejectSection) -> list[Decision]:
    """Compare exposures, then their segments, with the reference; reject or flag deviant ones.

    The exposures are judged against references built from all of them, worst first;
    then the segments of the others against references without the exposures decided,
    one at a time (worst first, each decided segment left out of the next references).
    Every rejection obeys the majority rule.

    Parameters
    ----------
    contribs : list of Contribution
        Rebinned segments of one setting (``rejected`` is set on those rejected).
    n : int
        Number of output pixels.
    cfg : RejectSection
        Limits and the reference kind.

    Returns
    -------
    list of Decision
    """
    exposures = list(dict.fromkeys(c.exposure for c in contribs))
    if len(exposures) < 2 or cfg.max_flux_deviation <= 0:
        return []
    exptimes = np.array([max(c.exptime for c in contribs if c.exposure == e) for e in exposures])
    tally = _Tally(contribs, exposures, n)
    decisions: list[Decision] = []
    # 1. whole exposures
    stack = _stack(contribs, exposures, n)
    rank = exptimes if cfg.reference == "longest" else _levels(*stack)
    found = []
    for k, e in enumerate(exposures):
        f, v = stack[0][k], stack[1][k]
        measured = against_reference(f, v, np.isfinite(f), stack, k, slice(None), cfg.reference, rank)
        if measured and _deviant(*measured[:2], cfg):
            found.append(([c for c in contribs if c.exposure == e], e, "all", measured))
    decisions += [_decide(cand, tally, exposures, cfg) for cand in sorted(found, key=_severity, reverse=True)]
    # 2. segments / orders of the exposures not decided as a whole, against those exposures only;
    #    worst first, each decision taken out of the references before the next
    skip = {d.exposure for d in decisions}
    while True:
        stack = _stack(contribs, exposures, n, frozenset(skip))
        rank = exptimes if cfg.reference == "longest" else _levels(*stack)
        found = []
        for c in contribs:
            if c.exposure not in skip and id(c) not in skip:
                k = tally.rows[c.exposure]
                measured = against_reference(c.flux, c.var, c.valid, stack, k, c.sl, cfg.reference, rank)
                if measured and _deviant(*measured[:2], cfg):
                    found.append(([c], c.exposure, c.part, measured))
        if not found:
            return decisions
        worst = max(found, key=_severity)
        decisions.append(_decide(worst, tally, exposures, cfg))
        skip.add(id(worst[0][0]))


def _severity(candidate: tuple) -> float:
    return abs(np.log(candidate[3][0]))


def _decide(candidate: tuple, tally: _Tally, exposures: list[str], cfg: RejectSection) -> Decision:
    """Reject the candidate's contributions when the majority rule allows, else flag them."""
    items, exposure, segment, (ratio, z, ref) = candidate
    why = _describe(ratio, z, ref, exposures, cfg)
    if all(tally.allows(c.exposure, c.sl, c.valid) for c in items):
        for c in items:
            c.rejected = True
            tally.reject(c.exposure, c.sl, c.valid)
        action = "rejected"
    else:
        action = "flagged"
        why += "; kept: rejecting it would remove the majority of the exposures there"
    log.info("%s %s%s: %s", action, exposure, "" if segment == "all" else f" {segment}", why)
    return Decision(exposure, segment, action, ratio, z, why)
