"""Template fits of a star: (Teff, log g, [M/H]) interpolated in a model grid, radial velocity, response.

The observed spectrum (counts or any flux unit) is modelled as

    data_j = P(lambda_j) * <M(lambda / (1 + v/c); theta)>_j

with ``M`` the grid model interpolated (multilinearly, not the nearest node)
at ``theta = (Teff, log g, [M/H])`` and averaged exactly over each observed
pixel after the Doppler shift, and ``P`` a smooth multiplicative response (a
cubic B-spline, solved linearly for every trial). The grid is convolved to the
instrument's resolving power and binned once onto a fine log-lambda grid
(:meth:`specola.grids.StellarGrid.bin_to`); the chi-square is minimised over
nodes and velocities first, then continuously; uncertainties come from the
chi-square curvature (scaled by the reduced chi-square when above 1).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import astropy.units as u
import numpy as np
from scipy.interpolate import BSpline
from scipy.optimize import minimize

from ..errors import GridError, SpectrumError
from ..grids import StellarGrid
from ..spectrum import Spectrum
from ._spline import knot_vector
from .sensitivity import TELLURIC_BANDS

__all__ = ["TemplateFit", "TemplateSet", "fit_template", "prepare_templates"]

log = logging.getLogger(__name__)

C_KMS = 299792.458


@dataclass(frozen=True, eq=False)
class TemplateSet:
    """A model grid pre-binned (and convolved) onto fine log-lambda bins around an observation.

    Parameters
    ----------
    grid : StellarGrid
        The binned grid (Angstrom bins ``edges``).
    edges : ndarray
        Contiguous fine bin edges in Angstrom.
    """

    grid: StellarGrid
    edges: np.ndarray

    @property
    def names(self) -> tuple[str, ...]:
        """Parameter names of the grid."""
        return self.grid.names

    def model(self, params: np.ndarray | tuple, rv: float, low: np.ndarray, high: np.ndarray) -> np.ndarray:
        """Model averaged over observed pixels ``[low, high]`` (A) after a Doppler shift ``rv`` (km/s).

        Returns NaN everywhere for a parameter set whose enclosing nodes are missing.
        """
        try:
            flux = self.grid.at(*params)
        except GridError:
            return np.full(low.size, np.nan)
        cum = np.concatenate([[0.0], np.cumsum(flux * np.diff(self.edges))])
        shift = 1.0 + rv / C_KMS
        a, b = low / shift, high / shift
        return (np.interp(b, self.edges, cum) - np.interp(a, self.edges, cum)) / (b - a)


def prepare_templates(
    grid: StellarGrid,
    wave_range: tuple[float, float] | u.Quantity,
    resolution: Any = None,
    step_kms: float = 10.0,
    max_rv: float = 1000.0,
    **ranges: tuple[float, float],
) -> TemplateSet:
    """Bin a grid once onto fine log-lambda bins covering ``wave_range`` (A) plus ``max_rv`` of Doppler margin.

    Parameters
    ----------
    grid : StellarGrid
        Model grid (e.g. ``load_grid(paths, format="kurucz")``).
    wave_range : (float, float) or Quantity
        Observed wavelength range (Angstrom for plain numbers).
    resolution : float or callable, optional
        Instrumental resolving power to convolve the models to.
    step_kms : float
        Fine bin width in km/s (a few times smaller than the observed pixels).
    max_rv : float
        Largest ``|RV|`` (km/s) the set must allow.
    **ranges : (float, float)
        Parameter ranges kept, e.g. ``Teff=(5500, 6750)``, ``logg=(3.5, 5)``, ``M_H=(-1, 0)``.

    Returns
    -------
    TemplateSet
    """
    lo, hi = u.Quantity(wave_range, u.AA).to_value(u.AA) if isinstance(wave_range, u.Quantity) else wave_range
    margin = 1.0 + 1.2 * max_rv / C_KMS
    a, b = lo / margin, hi * margin
    n = int(np.ceil(np.log(b / a) / (step_kms / C_KMS)))
    edges = a * np.exp(np.arange(n + 1) * (step_kms / C_KMS))
    sub = grid.select(**ranges) if ranges else grid
    binned = sub.bin_to((edges[:-1] * u.AA, edges[1:] * u.AA), resolution=resolution)
    return TemplateSet(binned, edges)


@dataclass(frozen=True, eq=False)
class TemplateFit:
    """Result of :func:`fit_template`.

    Attributes
    ----------
    params, errors : dict
        Best-fitting grid parameters and their 1-sigma errors.
    rv, rv_error : float
        Radial velocity and its 1-sigma error (km/s).
    chi2, ndof : float, int
        Minimum chi-square and degrees of freedom.
    template : Spectrum
        The unscaled model (surface flux) on the observed pixels, Doppler shifted.
    model : Spectrum
        Template times the fitted response: the best fit to the data.
    response : ndarray
        The fitted multiplicative response ``P`` on the observed pixels.
    meta : dict
        Node scan and optimiser details.
    """

    params: dict
    errors: dict
    rv: float
    rv_error: float
    chi2: float
    ndof: int
    template: Spectrum
    model: Spectrum
    response: np.ndarray
    meta: dict = field(default_factory=dict)

    def summary(self) -> str:
        """One line with the parameters and their errors."""
        parts = [f"{k} = {v:.4g} +/- {self.errors[k]:.2g}" for k, v in self.params.items()]
        parts.append(f"RV = {self.rv:.1f} +/- {self.rv_error:.1f} km/s")
        return ", ".join(parts) + f"; chi2/ndof = {self.chi2:.1f}/{self.ndof}"


class _Problem:
    """Arrays of one fit: data, weights, response basis."""

    def __init__(self, spectrum: Spectrum, templates: TemplateSet, knot_spacing: float, mask_telluric: bool):
        s = spectrum.to_wave_unit(u.AA)
        if s.error is None:
            raise SpectrumError("template fitting needs a spectrum with errors")
        w = s.wavelength.value
        good = s.good & (s.error.value > 0)
        if mask_telluric:
            for lo, hi in TELLURIC_BANDS:
                good &= ~((w > lo) & (w < hi))
        if good.sum() < 20:
            raise SpectrumError(f"only {int(good.sum())} good pixels to fit a template to")
        self.low, self.high = s.low.value[good], s.high.value[good]
        self.y, self.sigma = s.flux.value[good], s.error.value[good]
        self.good = good
        self.spectrum = s
        self.templates = templates
        knots = knot_vector(w[good], knot_spacing)
        self.knots = knots
        self.basis = BSpline.design_matrix(np.clip(w[good], knots[0], knots[-1]), knots, 3).toarray()

    def solve(self, params: np.ndarray | tuple, rv: float) -> tuple[float, np.ndarray, np.ndarray]:
        m = self.templates.model(params, rv, self.low, self.high)
        if not np.all(np.isfinite(m)):
            return np.inf, m, np.zeros(self.basis.shape[1])
        a = self.basis * (m / self.sigma)[:, None]
        coef, *_ = np.linalg.lstsq(a, self.y / self.sigma, rcond=None)
        resid = self.y / self.sigma - a @ coef
        return float(resid @ resid), m, coef

    def chi2(self, params: np.ndarray | tuple, rv: float) -> float:
        return self.solve(params, rv)[0]


def _node_scan(problem: _Problem, rv: float) -> tuple[tuple[float, ...], float]:
    grid = problem.templates.grid
    present = grid.present
    best, best_chi2 = None, np.inf
    for index in zip(*np.nonzero(present), strict=True):
        node = tuple(float(a[i]) for a, i in zip(grid.axes.values(), index, strict=True))
        c = problem.chi2(node, rv)
        if c < best_chi2:
            best, best_chi2 = node, c
    return best, best_chi2


def _rv_scan(problem: _Problem, params: tuple, max_rv: float, step: float) -> float:
    velocities = np.arange(-max_rv, max_rv + step / 2, step)
    chi2 = np.array([problem.chi2(params, v) for v in velocities])
    return float(velocities[int(np.argmin(chi2))])


def _curvature_errors(f, x0: np.ndarray, steps: np.ndarray, scale: float) -> np.ndarray:
    """1-sigma errors from the chi-square Hessian (central differences); diagonal fallback."""
    n = x0.size
    f0 = f(x0)
    hess = np.zeros((n, n))
    for i in range(n):
        ei = np.zeros(n)
        ei[i] = steps[i]
        hess[i, i] = (f(x0 + ei) - 2 * f0 + f(x0 - ei)) / steps[i] ** 2
        for j in range(i):
            ej = np.zeros(n)
            ej[j] = steps[j]
            hess[i, j] = hess[j, i] = (f(x0 + ei + ej) - f(x0 + ei - ej) - f(x0 - ei + ej) + f(x0 - ei - ej)) / (
                4 * steps[i] * steps[j]
            )
    try:
        cov = 2.0 * np.linalg.inv(hess)
        if np.all(np.diag(cov) > 0) and np.all(np.isfinite(cov)):
            return np.sqrt(np.diag(cov) * scale)
    except np.linalg.LinAlgError:
        pass
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.sqrt(np.where(np.diag(hess) > 0, 2.0 / np.diag(hess), np.inf) * scale)


def fit_template(
    spectrum: Spectrum,
    templates: TemplateSet,
    knot_spacing: float = 800.0,
    max_rv: float = 500.0,
    rv_step: float | None = None,
    mask_telluric: bool = True,
) -> TemplateFit:
    """Fit grid parameters, radial velocity and a smooth response to a stellar spectrum.

    Parameters
    ----------
    spectrum : Spectrum
        The star (counts or any flux unit, with errors).
    templates : TemplateSet
        From :func:`prepare_templates` (covering the spectrum and ``max_rv``).
    knot_spacing : float
        Knot spacing (A) of the multiplicative response spline; wider is stiffer.
    max_rv : float
        Velocity search range (km/s).
    rv_step : float, optional
        Velocity scan step (km/s); default a third of the median pixel width.
    mask_telluric : bool
        Leave the telluric bands out.

    Returns
    -------
    TemplateFit

    Raises
    ------
    SpectrumError
        Too few good pixels, or no spectrum errors.
    """
    p = _Problem(spectrum, templates, knot_spacing, mask_telluric)
    pix_kms = float(np.median((p.high - p.low) / (0.5 * (p.high + p.low)))) * C_KMS
    rv_step = rv_step or pix_kms / 3
    axes = templates.grid.axes
    mid = tuple(float(a[len(a) // 2]) for a in axes.values())
    node, _ = _node_scan(p, 0.0)
    rv0 = _rv_scan(p, node or mid, max_rv, rv_step)
    node, chi2_node = _node_scan(p, rv0)
    if node is None:
        raise GridError("no grid model fits the spectrum (every node gave a non-finite chi-square)")
    scales = np.array([np.median(np.diff(a)) if a.size > 1 else 1.0 for a in axes.values()] + [pix_kms])
    lows = np.array([a[0] for a in axes.values()] + [-max_rv])
    highs = np.array([a[-1] for a in axes.values()] + [max_rv])

    def objective(z: np.ndarray) -> float:
        x = z * scales
        if np.any(x < lows) or np.any(x > highs):
            return 1e30
        c = p.chi2(tuple(x[:-1]), x[-1])
        return c if np.isfinite(c) else 1e30

    start = np.array([*node, rv0]) / scales
    simplex = start + np.vstack([np.zeros(start.size), 0.3 * np.eye(start.size)])
    res = minimize(objective, start, method="Nelder-Mead",
                   options={"initial_simplex": simplex, "xatol": 1e-3, "fatol": 1e-3, "maxiter": 4000})  # fmt: skip
    x = res.x * scales
    chi2, _, coef = p.solve(tuple(x[:-1]), x[-1])
    ndof = int(p.y.size - coef.size - x.size)
    red = max(chi2 / max(ndof, 1), 1.0)
    steps = scales * 0.05
    errors = _curvature_errors(lambda v: p.chi2(tuple(v[:-1]), v[-1]), x, steps, red)
    names = templates.names
    edge = [k for k, v, lo, hi in zip((*names, "rv"), x, lows, highs, strict=True)
            if min(v - lo, hi - v) < 1e-3 * scales[list((*names, "rv")).index(k)]]  # fmt: skip
    if edge:
        log.warning("template fit ends on the edge of the grid/search range in %s: widen the grid; the errors of "
                    "those parameters are unknown (NaN)", ", ".join(edge))  # fmt: skip
        for k in edge:
            errors[list((*names, "rv")).index(k)] = np.nan
    params = {k: float(v) for k, v in zip(names, x[:-1], strict=True)}
    errs = {k: float(v) for k, v in zip(names, errors[:-1], strict=True)}
    s = p.spectrum
    full = templates.model(tuple(x[:-1]), x[-1], s.low.value, s.high.value)
    w = s.wavelength.value
    knots = p.knots
    resp_full = BSpline.design_matrix(np.clip(w, knots[0], knots[-1]), knots, 3).toarray() @ coef
    unit = templates.grid.flux_unit
    template = Spectrum(s.low, s.high, full * unit, meta={"model": dict(params), "rv": float(x[-1])})
    fitted = Spectrum(s.low, s.high, full * resp_full * s.flux_unit, mask=~p.good)
    log.info("template fit: %s", ", ".join(f"{k}={v:.4g}" for k, v in params.items()))
    return TemplateFit(
        params, errs, float(x[-1]), float(errors[-1]), chi2, ndof, template, fitted, resp_full,
        meta={"at_grid_edge": edge, "start_node": node, "start_rv": rv0, "node_chi2": chi2_node,
              "optimizer": res.message, "pixel_kms": pix_kms},
    )  # fmt: skip
