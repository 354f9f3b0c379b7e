"""The starting point of a line fit, one algorithm for :func:`~specola.lines.fit` and for ``fit_many``'s batches.

Prior centres first; then the first redshift group and the first width group are scanned jointly on a coarse
grid (39 x 6), so a start at a wide prior centre cannot fit a doublet as one line at the blend's centroid; then
two rounds of 1-D scans of every redshift (39 points) and width (10 points). At every scan point fluxes and
continua are solved by bounded linear least squares, so narrow and broad components cannot start by cancelling
each other. How the points are evaluated (scipy's BVLS per point, or one vmapped call per batch) is the caller's.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

__all__ = ["grid", "inside", "starts"]

#: ``scan(ps, names, points)``: for models ``ps`` and points ``(models, npoints, len(names))`` of the named
#: parameters, the chi2-best point index per model and the linear solution at every point ``(models, npoints, nlin)``.
Scan = Callable[[list[dict], tuple, np.ndarray], tuple[np.ndarray, np.ndarray]]


def grid(plan, p: dict, name: str, points: int) -> np.ndarray:
    """``points`` interior points of a parameter's prior range (+-3 sigma of an unbounded prior) given ``p``."""
    lo, hi = plan.sites[name].bounds(plan.config_values(p))
    if not np.isfinite(hi - lo):
        c, s = plan.sites[name].centre(plan.config_values(p)), plan.sites[name].scale * plan.sites[name].factor
        lo, hi = c - 3 * s, c + 3 * s
    return np.linspace(lo, hi, points + 2)[1:-1]


def inside(plan, name: str, p: dict, x: float) -> float:
    """``x`` moved inside the support of ``name`` given ``p`` (0.1% of the range away from finite bounds)."""
    lo, hi = plan.sites[name].bounds(plan.config_values(p))
    pad = 1e-3 * (hi - lo) if np.isfinite(hi - lo) else 0.0
    return float(np.clip(x, lo + pad, hi - pad))


def best_point(chi2: np.ndarray) -> np.ndarray:
    """Index of the smallest finite chi2 along the last axis (0 where none is finite)."""
    return np.argmin(np.where(np.isfinite(chi2), chi2, np.inf), axis=-1)


def starts(plans: Sequence, linear: Sequence[str], scan: Scan) -> list[dict[str, float]]:
    """Starting values of every model (all of one structure), by name; see the module docstring."""
    ps: list[dict[str, float]] = [{} for _ in plans]
    for plan, p in zip(plans, ps, strict=True):
        for n in plan.sample_order:
            p[n] = plan.sites[n].centre(plan.config_values(p))
    scans = [n for n in plans[0].sample_order if n.startswith(("z_", "fwhm_"))]
    zs, ws = [n for n in scans if n.startswith("z_")], [n for n in scans if n.startswith("fwhm_")]
    if zs and ws:
        pts = np.asarray([[(gz, gw) for gw in grid(pl, p, ws[0], 6) for gz in grid(pl, p, zs[0], 39)]
                          for pl, p in zip(plans, ps, strict=True)])  # fmt: skip
        for p, pt, k in zip(ps, pts, scan(ps, (zs[0], ws[0]), pts)[0], strict=True):
            p[zs[0]], p[ws[0]] = (float(x) for x in pt[k])
    for _ in range(2):
        for n in scans:
            pts = np.asarray(
                [grid(pl, p, n, 39 if n.startswith("z_") else 10) for pl, p in zip(plans, ps, strict=True)]
            )
            for p, g, k in zip(ps, pts, scan(ps, (n,), pts[:, :, None])[0], strict=True):
                p[n] = float(g[k])
    x = scan(ps, (), np.zeros((len(ps), 1, 0)))[1][:, 0]
    for plan, p, xk in zip(plans, ps, x, strict=True):
        p.update({n: inside(plan, n, p, xk[i]) for i, n in enumerate(linear)})
        for n in plan.sample_order:  # dependent bounds: move each value inside its support given the others
            p[n] = inside(plan, n, p, p[n])
    return ps
