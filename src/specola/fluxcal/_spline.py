"""Weighted least-squares B-spline fits with covariance and sigma clipping."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
from scipy.interpolate import BSpline

from ..errors import SpectrumError

log = logging.getLogger(__name__)


def knot_vector(
    x: np.ndarray, spacing: float, degree: int = 3, min_points: int = 4, span: tuple[float, float] | None = None
) -> np.ndarray:
    """Full knot vector with interior knots every ``spacing`` (x units), merging spans with too few points.

    ``span`` (default the range of ``x``) may reach beyond the data (e.g. across a masked band at
    the end of a spectrum): the end spans then merge until they hold ``min_points`` points.
    """
    lo, hi = (float(x.min()), float(x.max())) if span is None else span
    n = max(int(np.floor((hi - lo) / spacing)), 1)
    interior = list(np.linspace(lo, hi, n + 1)[1:-1])
    # drop interior knots until every span between knots holds at least min_points data points
    while interior:
        edges = np.array([lo, *interior, hi])
        counts = np.histogram(x, edges)[0]
        worst = int(np.argmin(counts))
        if counts[worst] >= min_points:
            break
        del interior[min(worst, len(interior) - 1)]
    return np.concatenate([[lo] * (degree + 1), interior, [hi] * (degree + 1)])


@dataclass(frozen=True, eq=False)
class SplineFit:
    """A fitted B-spline ``y(x)`` with the covariance of its coefficients."""

    knots: np.ndarray
    coef: np.ndarray
    cov: np.ndarray
    degree: int
    chi2: float
    ndof: int
    used: np.ndarray

    @property
    def x_range(self) -> tuple[float, float]:
        """Range of x the fit is valid over."""
        return float(self.knots[0]), float(self.knots[-1])

    def design(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, float)
        lo, hi = self.x_range
        if np.any(x < lo - 1e-9 * abs(lo)) or np.any(x > hi + 1e-9 * abs(hi)):
            raise SpectrumError(
                f"wavelengths {x.min():.6g}-{x.max():.6g} fall outside the fitted range {lo:.6g}-{hi:.6g}; "
                "the calibration cannot be extrapolated"
            )
        return BSpline.design_matrix(np.clip(x, lo, hi), self.knots, self.degree).toarray()

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return self.design(x) @ self.coef

    def error(self, x: np.ndarray) -> np.ndarray:
        b = self.design(x)
        return np.sqrt(np.einsum("ij,jk,ik->i", b, self.cov, b))


def fit_spline(
    x: np.ndarray,
    y: np.ndarray,
    sigma: np.ndarray,
    spacing: float,
    usable: np.ndarray | None = None,
    degree: int = 3,
    clip: float = 4.0,
    max_iter: int = 10,
) -> SplineFit:
    """Fit ``y(x)`` with a cubic B-spline by weighted least squares, clipping outliers iteratively.

    Points beyond ``clip`` times the larger of their errors and the residuals' robust scatter are
    dropped, never so many that a knot span is left empty. The coefficient covariance is
    ``(B^T W B)^-1``, multiplied by the reduced
    chi-square when that exceeds 1 (the errors were underestimated). The spline spans
    every finite point, unusable (masked) ones too, so a masked band at an end is bridged
    by the last span, with the growing uncertainty its covariance gives.
    """
    x, y, sigma = (np.asarray(a, float) for a in (x, y, sigma))
    ok = np.isfinite(x) & np.isfinite(y) & np.isfinite(sigma) & (sigma > 0)
    if usable is not None:
        ok &= usable
    if ok.sum() < 2 * (degree + 1):
        raise SpectrumError(f"only {int(ok.sum())} usable points to fit; unmask more pixels or widen the range")
    finite = np.isfinite(x) & np.isfinite(y)
    knots = knot_vector(x[ok], spacing, degree, span=(float(x[finite].min()), float(x[finite].max())))
    used = ok.copy()
    for iteration in range(max_iter + 1):
        b = BSpline.design_matrix(np.clip(x[used], knots[0], knots[-1]), knots, degree).toarray()
        a = b / sigma[used, None]
        coef, *_ = np.linalg.lstsq(a, y[used] / sigma[used], rcond=None)
        model = BSpline.design_matrix(np.clip(x[ok], knots[0], knots[-1]), knots, degree).toarray() @ coef
        resid = np.full(x.size, np.inf)
        resid[ok] = (y[ok] - model) / sigma[ok]
        # clip against the larger of the stated errors and the residuals' robust scatter (model mismatch)
        scatter = max(1.0, 1.4826 * float(np.median(np.abs(resid[used]))))
        new = ok & (np.abs(resid) < clip * scatter) if clip > 0 else used
        spans = np.histogram(x[new], knots[degree : knots.size - degree])[0]
        if np.array_equal(new, used) or iteration == max_iter or spans.min() < 2:
            break  # converged, or clipping would leave a knot span without data
        used = new
    ndof = int(used.sum()) - coef.size
    chi2 = float(np.sum(resid[used] ** 2))
    cov = np.linalg.inv(a.T @ a)
    red = chi2 / max(ndof, 1)
    if red > 1:
        cov = cov * red
    log.debug("spline fit: %d points, %d coefficients, chi2/ndof = %.2f", used.sum(), coef.size, red)
    return SplineFit(knots, coef, cov, degree, chi2, ndof, used)
