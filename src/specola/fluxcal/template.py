"""Template fits of a star: (Teff, log g, [M/H], E(B-V)) in a model grid, jointly with its colours; RV; response.

The observed spectrum (counts or any flux unit) is modelled as

    data_j = P(lambda_j) * <M(lambda / (1 + v/c); theta)>_j * 10**(-0.4 E(B-V) k(lambda_j))

with ``M`` the grid model interpolated (multilinearly, not the nearest node)
at ``theta = (Teff, log g, [M/H])`` and averaged exactly over each observed
pixel after the Doppler shift, ``k`` the CCM89 extinction law and ``P`` a smooth
multiplicative response (a cubic B-spline, solved linearly for every trial). The
grid is convolved to the instrument's resolving power and binned once onto a fine
log-lambda grid (:meth:`specola.grids.StellarGrid.bin_to`).

``P`` takes the continuum shape, so the spectrum constrains theta through its
lines only; the photometric colours (:class:`~specola.fluxcal.colours.SyntheticColours`)
constrain the shape. The objective is the spectrum's chi-square, normalised to a
reduced chi-square of 1 at the best node, plus the colours' chi-square. It is
minimised over the nodes first (the RV from an FFT cross-correlation,
:func:`~specola.fluxcal.rv.cross_correlate_rv`), then continuously; uncertainties
come from its curvature, and their propagation into the scaled template's shape is
the template-choice error of the calibration. Spectrum-only and colour-only Teff
are compared, and a disagreement is reported.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import astropy.units as u
import numpy as np
from scipy.interpolate import BSpline
from scipy.optimize import minimize
from scipy.stats.distributions import chi2 as _chi2

from ..errors import GridError, SpectrumError
from ..grids import StellarGrid
from ..plotting.labels import format_value
from ..spectrum import Spectrum
from ._spline import knot_vector
from .colours import SyntheticColours
from .config import TemplateSection
from .reddening import ccm89
from .rv import cross_correlate_rv
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
        Best-fitting grid parameters and their 1-sigma errors (spectrum and colours jointly when
        photometry was given).
    rv, rv_error : float
        Radial velocity and its 1-sigma error (km/s).
    chi2, ndof : float, int
        Spectral chi-square at the optimum and its degrees of freedom.
    template : Spectrum
        The unscaled, unreddened model (surface flux) on the observed pixels, Doppler shifted.
    model : Spectrum
        Reddened template times the fitted response: the best fit to the data.
    response : ndarray
        The fitted multiplicative response ``P`` on the observed pixels.
    ebv, ebv_error : float
        Interstellar E(B-V) (given or fitted; error 0 when given) with the CCM89 law.
    at_edge : tuple of str
        Parameters whose optimum lies on the grid or search-range edge.
    bounds : dict
        ``(low, high, step)`` of each fitted quantity (grid axes, ``rv``, ``ebv``), for reporting.
    photometry : dict
        With photometry: ``dm`` (m_obs - m_syn of the unscaled model), ``dm_error``, ``synthetic``
        (scaled model magnitudes per band), ``residuals`` (synthetic - observed), ``chi2``.
    template_log_error : ndarray
        Fractional 1-sigma error of the scaled, reddened template on the observed pixels from the
        uncertainty of the parameters (covariance propagated, scale re-fitted to the photometry).
    tension : str
        Empty, or a sentence saying how colours and spectrum disagree.
    meta : dict
        Spectrum-only and colour-only estimates, node scan and optimiser details.
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
    ebv: float = 0.0
    ebv_error: float = 0.0
    at_edge: tuple = ()
    bounds: dict = field(default_factory=dict)
    photometry: dict = field(default_factory=dict)
    template_log_error: np.ndarray | None = None
    tension: str = ""
    meta: dict = field(default_factory=dict)

    @property
    def scale(self) -> float:
        """Factor bringing the (reddened) surface-flux template onto the star's apparent flux (1 without photometry)."""
        return 10 ** (-0.4 * self.photometry["dm"]) if self.photometry else 1.0

    def value_text(self, name: str) -> str:
        """``name = value +- error`` of a parameter, ``rv`` or ``ebv``, saying when it sits on a grid edge."""
        value, error = {"rv": (self.rv, self.rv_error), "ebv": (self.ebv, self.ebv_error)}.get(
            name, (self.params.get(name), self.errors.get(name))
        )
        if name == "ebv" and name not in self.bounds:
            return f"E(B-V) = {self.ebv:.3f} (fixed)"
        lo, hi, step = self.bounds.get(name, (None, None, None))
        label = {"rv": "RV", "ebv": "E(B-V)"}.get(name, name)
        return format_value(value, error if error else None, bounds=None if lo is None else (lo, hi), step=step,
                            name=label, unit="km/s" if name == "rv" else "")  # fmt: skip

    def summary(self) -> str:
        """One line with the parameters and their errors (``at grid edge`` where the optimum is on one)."""
        parts = [self.value_text(k) for k in (*self.params, "rv", "ebv")]
        line = ", ".join(parts) + f"; chi2/ndof = {self.chi2:.1f}/{self.ndof}"
        return line + (f"; WARNING: {self.tension}" if self.tension else "")


class _Problem:
    """Arrays of one fit: data, weights, response basis, reddening curve."""

    def __init__(
        self,
        spectrum: Spectrum,
        templates: TemplateSet,
        knot_spacing: float,
        mask: tuple[tuple[float, float], ...],
        r_v: float,
    ):
        s = spectrum.to_wave_unit(u.AA)
        if s.error is None:
            raise SpectrumError("template fitting needs a spectrum with errors")
        if not np.any(np.isfinite(s.flux.value) & s.good):
            raise SpectrumError("the standard-star spectrum has no finite, unmasked pixel (all NaN or masked)")
        w = s.wavelength.value
        good = s.good & np.isfinite(s.flux.value) & np.isfinite(s.error.value) & (s.error.value > 0)
        for lo, hi in mask:
            good &= ~((s.high.value > lo) & (s.low.value < hi))
        if good.sum() < 20:
            raise SpectrumError(f"only {int(good.sum())} good pixels to fit a template to")
        self.low, self.high = s.low.value[good], s.high.value[good]
        self.y, self.sigma = s.flux.value[good], s.error.value[good]
        self.k = ccm89(w, r_v)
        self.good = good
        self.spectrum = s
        self.templates = templates
        knots = knot_vector(w[good], knot_spacing)
        self.knots = knots
        self.basis = BSpline.design_matrix(np.clip(w[good], knots[0], knots[-1]), knots, 3).toarray()

    def solve(self, params: tuple, rv: float, ebv: float) -> tuple[float, np.ndarray, np.ndarray]:
        m = self.templates.model(params, rv, self.low, self.high) * 10.0 ** (-0.4 * ebv * self.k[self.good])
        if not np.all(np.isfinite(m)):
            return np.inf, m, np.zeros(self.basis.shape[1])
        a = self.basis * (m / self.sigma)[:, None]
        coef, *_ = np.linalg.lstsq(a, self.y / self.sigma, rcond=None)
        resid = self.y / self.sigma - a @ coef
        return float(resid @ resid), m, coef

    def chi2(self, params: tuple, rv: float, ebv: float) -> float:
        return self.solve(params, rv, ebv)[0]


def chi2_sf(value: float, ndof: int) -> float:
    """Probability of a chi-square at least ``value`` for ``ndof`` degrees of freedom."""
    return float(_chi2.sf(value, ndof))


def _nodes(grid: StellarGrid) -> list[tuple[float, ...]]:
    return [tuple(float(a[i]) for a, i in zip(grid.axes.values(), index, strict=True))
            for index in zip(*np.nonzero(grid.present), strict=True)]  # fmt: skip


def _hessian(f, x0: np.ndarray, steps: np.ndarray) -> np.ndarray:
    """Central-difference Hessian of ``f`` at ``x0``."""
    n = x0.size
    f0 = f(x0)
    hess = np.zeros((n, n))
    eye = np.diag(steps)
    for i in range(n):
        hess[i, i] = (f(x0 + eye[i]) - 2 * f0 + f(x0 - eye[i])) / steps[i] ** 2
        for j in range(i):
            hess[i, j] = hess[j, i] = (
                f(x0 + eye[i] + eye[j]) - f(x0 + eye[i] - eye[j]) - f(x0 - eye[i] + eye[j]) + f(x0 - eye[i] - eye[j])
            ) / (4 * steps[i] * steps[j])
    return hess


def _covariance(hess: np.ndarray) -> np.ndarray:
    """``2 H^-1`` of a chi-square Hessian; the diagonal inverse where H is not positive definite."""
    try:
        cov = 2.0 * np.linalg.inv(hess)
        if np.all(np.diag(cov) > 0) and np.all(np.isfinite(cov)):
            return cov
    except np.linalg.LinAlgError:
        pass
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.diag(np.where(np.diag(hess) > 0, 2.0 / np.diag(hess), np.inf))


class _Objective:
    """Joint chi-square of the spectrum (normalised to a reduced chi-square of 1) and the colours."""

    def __init__(self, problem: _Problem, colours: SyntheticColours | None, n_par: int, fit_ebv: bool, ebv: float):
        self.p, self.colours, self.n_par, self.fit_ebv, self.ebv = problem, colours, n_par, fit_ebv, ebv
        self.spec_norm = 1.0
        self.use_spectrum, self.use_colours = True, colours is not None

    def split(self, x: np.ndarray) -> tuple[tuple, float, float]:
        return tuple(x[: self.n_par]), float(x[self.n_par]), float(x[self.n_par + 1]) if self.fit_ebv else self.ebv

    def parts(self, x: np.ndarray) -> tuple[float, float]:
        params, rv, ebv = self.split(x)
        spec = self.p.chi2(params, rv, ebv) / self.spec_norm if self.use_spectrum else 0.0
        phot = self.colours.chi2(params, ebv)[0] if self.use_colours else 0.0
        return spec, phot

    def __call__(self, x: np.ndarray) -> float:
        total = sum(self.parts(x))
        return total if np.isfinite(total) else 1e30


def _minimise(objective: _Objective, start: np.ndarray, scales: np.ndarray, lows: np.ndarray, highs: np.ndarray):
    def f(z: np.ndarray) -> float:
        x = z * scales
        if np.any(x < lows) or np.any(x > highs):
            return 1e30 * (1 + float(np.sum(np.clip(lows - x, 0, None) + np.clip(x - highs, 0, None))))
        return objective(x)

    z0 = start / scales
    simplex = z0 + np.vstack([np.zeros(z0.size), 0.3 * np.eye(z0.size)])
    res = minimize(f, z0, method="Nelder-Mead",
                   options={"initial_simplex": simplex, "xatol": 1e-3, "fatol": 1e-3, "maxiter": 3000})  # fmt: skip
    return np.clip(res.x * scales, lows, highs), res


def _errors(objective: _Objective, x: np.ndarray, scales: np.ndarray, lows: np.ndarray, highs: np.ndarray):
    """Covariance from the curvature, evaluated one step inside the bounds for parameters on an edge."""
    steps = 0.05 * scales
    centre = np.clip(x, lows + steps, highs - steps)
    return _covariance(_hessian(objective, centre, steps)), centre


def _template_log_error(objective: _Objective, x: np.ndarray, cov: np.ndarray, steps: np.ndarray) -> np.ndarray:
    """Fractional error of the scaled, reddened template per observed pixel from the parameter covariance."""
    p, colours, n = objective.p, objective.colours, objective.n_par
    s = p.spectrum
    idx = [i for i in [*range(n)] + ([n + 1] if objective.fit_ebv else []) if cov[i, i] > 0]  # free ones

    def log_template(v: np.ndarray) -> np.ndarray:
        params, rv, ebv = objective.split(v)
        m = p.templates.model(params, rv, s.low.value, s.high.value) * 10.0 ** (-0.4 * ebv * p.k)
        dm = colours.chi2(params, ebv)[1] if colours is not None else 0.0
        return np.log(np.clip(m, 1e-300, None)) - 0.4 * np.log(10) * dm

    jac = np.empty((len(s), len(idx)))
    for col, i in enumerate(idx):
        e = np.zeros(x.size)
        e[i] = steps[i]
        jac[:, col] = (log_template(x + e) - log_template(x - e)) / (2 * steps[i])
    sub = cov[np.ix_(idx, idx)]
    sub = np.where(np.isfinite(sub), sub, 0.0)
    return np.sqrt(np.clip(np.einsum("ij,jk,ik->i", jac, sub, jac), 0.0, None))


def fit_template(
    spectrum: Spectrum,
    templates: TemplateSet,
    photometry: Any = None,
    grid: StellarGrid | None = None,
    knot_spacing: float = TemplateSection.knot_spacing,
    max_rv: float = TemplateSection.max_rv,
    ebv: float = TemplateSection.ebv,
    fit_ebv: bool = TemplateSection.fit_ebv,
    max_ebv: float = TemplateSection.max_ebv,
    r_v: float = TemplateSection.r_v,
    mask: tuple[tuple[float, float], ...] = TELLURIC_BANDS,
    tension_sigma: float = TemplateSection.tension_sigma,
    teff_systematic: float = TemplateSection.teff_systematic,
) -> TemplateFit:
    """Fit grid parameters, E(B-V), radial velocity and a smooth response to a star, jointly with its colours.

    The spectrum's chi-square (lines: its continuum shape is taken by the response spline),
    normalised to a reduced chi-square of 1 at the best node, is added to the chi-square of the
    photometric colours (:class:`~specola.fluxcal.colours.SyntheticColours`): colours fix the
    temperature/reddening combination, the lines break the degeneracy. The fit starts from the best
    node (an FFT cross-correlation gives the first RV) and moves continuously between nodes
    (multilinear interpolation). Separate spectrum-only and colour-only temperatures are compared;
    when they disagree by more than ``tension_sigma`` combined sigma the fit says so (``tension``,
    logged as a warning).

    Parameters
    ----------
    spectrum : Spectrum
        The star (counts or any flux unit, with errors).
    templates : TemplateSet
        From :func:`prepare_templates` (covering the spectrum and ``max_rv``).
    photometry : Photometry, optional
        The star's magnitudes; without them only the spectrum constrains the parameters.
    grid : StellarGrid, optional
        Full-wavelength grid for the synthetic photometry (needed with ``photometry``).
    knot_spacing : float
        Knot spacing (A) of the multiplicative response spline; wider is stiffer.
    max_rv : float
        Velocity search range (km/s).
    ebv : float
        E(B-V) (the start value when fitted).
    fit_ebv : bool
        Fit E(B-V) in ``[0, max_ebv]``.
    max_ebv : float
        Upper bound of a fitted E(B-V).
    r_v : float
        R_V of the CCM89 extinction law.
    mask : sequence of (start, end)
        Wavelength intervals (A) left out (default the telluric bands).
    tension_sigma : float
        Threshold of the colour-vs-spectrum Teff comparison.
    teff_systematic : float
        Systematic error (K) of each Teff estimate in that comparison (the grid's own physics).

    Returns
    -------
    TemplateFit

    Raises
    ------
    SpectrumError
        Too few good pixels, an all-NaN spectrum, no spectrum errors, or a grid that misses a band.
    """
    p = _Problem(spectrum, templates, knot_spacing, tuple(mask), r_v)
    colours = None
    if photometry is not None:
        if grid is None:
            raise GridError("fit_template with photometry needs the full-wavelength grid (grid=)")
        colours = SyntheticColours(grid, photometry, r_v)
    axes = templates.grid.axes
    names = templates.names
    n = len(names)
    obj = _Objective(p, colours, n, fit_ebv, ebv)
    pix_kms = float(np.median((p.high - p.low) / (0.5 * (p.high + p.low)))) * C_KMS
    nodes = _nodes(templates.grid)
    if not nodes:
        raise GridError("the template grid has no model in the selected parameter ranges")
    # first RV: cross-correlate against the best node at rest
    spec0 = np.array([p.chi2(nd, 0.0, ebv) for nd in nodes])
    if not np.any(np.isfinite(spec0)):
        raise GridError("no grid model fits the spectrum (every node gave a non-finite chi-square)")
    best0 = nodes[int(np.nanargmin(spec0))]
    s = p.spectrum
    model0 = templates.model(best0, 0.0, s.low.value, s.high.value)
    tmpl0 = Spectrum(s.low, s.high, model0 * templates.grid.flux_unit)
    observed0 = s.replace(mask=~p.good)
    try:
        rv0 = cross_correlate_rv(observed0, tmpl0, max_rv)
    except SpectrumError as exc:
        log.warning("cross-correlation failed (%s); starting from RV = 0", exc)
        rv0 = 0.0
    ebv_grid = np.linspace(0.0, max_ebv, 11) if fit_ebv else np.array([ebv])
    spec_n = np.array([p.chi2(nd, rv0, ebv) for nd in nodes])
    ndof = int(p.y.size - p.basis.shape[1] - n - 1 - int(fit_ebv))
    obj.spec_norm = max(float(np.nanmin(spec_n)) / max(ndof, 1), 1.0)
    if colours is not None:
        phot_n = np.array([[colours.chi2(nd, e)[0] for e in ebv_grid] for nd in nodes])
        ebv_n = ebv_grid[np.argmin(np.where(np.isfinite(phot_n), phot_n, np.inf), axis=1)]
        phot_n = np.min(np.where(np.isfinite(phot_n), phot_n, np.inf), axis=1)
    else:
        phot_n, ebv_n = np.zeros(len(nodes)), np.full(len(nodes), ebv)
    total = spec_n / obj.spec_norm + phot_n
    k = int(np.nanargmin(np.where(np.isfinite(total), total, np.nan)))
    scales = np.array([np.median(np.diff(a)) if a.size > 1 else 1.0 for a in axes.values()] + [pix_kms]
                      + ([0.05] if fit_ebv else []))  # fmt: skip
    lows = np.array([a[0] for a in axes.values()] + [-max_rv] + ([0.0] if fit_ebv else []))
    highs = np.array([a[-1] for a in axes.values()] + [max_rv] + ([max_ebv] if fit_ebv else []))
    start = np.array([*nodes[k], rv0] + ([ebv_n[k]] if fit_ebv else []))
    free = highs > lows  # single-node axes stay fixed

    def partial(z: np.ndarray) -> float:
        y = start.copy()
        y[free] = z
        return obj(y)

    z, res = _minimise(partial, start[free], scales[free], lows[free], highs[free])
    sub_cov, sub_centre = _errors(partial, z, scales[free], lows[free], highs[free])
    x, centre = start.copy(), start.copy()
    x[free], centre[free] = z, sub_centre
    cov = np.zeros((x.size, x.size))
    cov[np.ix_(free, free)] = sub_cov
    errors = np.sqrt(np.diag(cov))
    keys = (*names, "rv", *(("ebv",) if fit_ebv else ()))
    edge = tuple(key for key, v, lo, hi, sc, f in zip(keys, x, lows, highs, scales, free, strict=True)
                 if f and min(v - lo, hi - v) < 1e-3 * sc)  # fmt: skip
    if edge:
        log.warning("template fit ends on the edge of the grid/search range in %s: widen the grid; their errors "
                    "are the curvature one step inside the edge", ", ".join(edge))  # fmt: skip
    params, rv, ebv_fit = obj.split(x)
    chi2, _, coef = p.solve(params, rv, ebv_fit)
    tension, meta = "", {"start_node": nodes[k], "start_rv": rv0, "spec_norm": obj.spec_norm,
                         "optimizer": res.message, "pixel_kms": pix_kms, "n_templates": len(nodes), "r_v": r_v,
                         "node_scores": [{"params": nd, "spectrum_chi2": float(a), "colour_chi2": float(b)}
                                         for nd, a, b in zip(nodes, spec_n, phot_n, strict=True)]}  # fmt: skip
    phot = {}
    if colours is not None:
        tension, extra = _compare(obj, x, scales, lows, highs, names, tension_sigma, teff_systematic)
        meta.update(extra)
        c2, dm, syn = colours.chi2(params, ebv_fit)
        n_free = 2  # the scale and (mostly) Teff
        if len(syn) > n_free and chi2_sf(c2, len(syn) - n_free) < 1e-3:
            miss = (f"the template's colours miss the photometry (chi2 = {c2:.1f} for {len(syn)} bands); "
                    "the star may lie outside the grid or a magnitude is wrong")  # fmt: skip
            log.warning("template fit: %s", miss)
            tension = f"{tension}; {miss}" if tension else miss
        err_mag = colours.scale_mag_error * np.sqrt(max(1.0, c2 / max(len(syn) - 1, 1)))
        phot = {"dm": dm, "dm_error": float(err_mag), "chi2": c2, "bands": colours.bands,
                "synthetic": {b: float(m + dm) for b, m in zip(colours.bands, syn, strict=True)},
                "residuals": {b: float(m + dm - o) for b, m, o in zip(colours.bands, syn, colours.observed,
                                                                       strict=True)}}  # fmt: skip
    tle = _template_log_error(obj, centre, cov, 0.05 * scales)
    w = s.wavelength.value
    full = templates.model(params, rv, s.low.value, s.high.value)
    knots = p.knots
    resp_full = BSpline.design_matrix(np.clip(w, knots[0], knots[-1]), knots, 3).toarray() @ coef
    template = Spectrum(
        s.low, s.high, full * templates.grid.flux_unit, meta={"model": dict(zip(names, params, strict=True)), "rv": rv}
    )
    red = 10.0 ** (-0.4 * ebv_fit * p.k)
    fitted = Spectrum(s.low, s.high, full * red * resp_full * s.flux_unit, mask=~p.good)
    out = TemplateFit(
        params={k2: float(v) for k2, v in zip(names, params, strict=True)},
        errors={k2: float(v) for k2, v in zip(names, errors[:n], strict=True)},
        rv=rv, rv_error=float(errors[n]), chi2=chi2, ndof=ndof, template=template, model=fitted,
        response=resp_full, ebv=ebv_fit, ebv_error=float(errors[n + 1]) if fit_ebv else 0.0, at_edge=edge,
        bounds={k2: (float(lo), float(hi), 0.05 * float(sc)) for k2, lo, hi, sc in zip(keys, lows, highs, scales,
                                                                                       strict=True)},
        photometry=phot, template_log_error=tle, tension=tension, meta=meta,
    )  # fmt: skip
    log.info("template fit: %s", out.summary())
    return out


def _compare(
    obj: _Objective, x: np.ndarray, scales, lows, highs, names, tension_sigma: float, teff_systematic: float
) -> tuple[str, dict]:
    """Teff from the spectrum alone and from the colours alone (other parameters at the joint optimum)."""
    i = names.index("Teff") if "Teff" in names else 0
    if highs[i] <= lows[i]:
        return "", {}  # a single temperature: nothing to compare
    estimates = {}
    for label, spec, col in (("spectrum", True, False), ("colours", False, True)):
        obj.use_spectrum, obj.use_colours = spec, col
        free = np.zeros(x.size, bool)
        free[i] = True
        if spec:
            free[obj.n_par] = True  # RV with the spectrum

        def f(v: np.ndarray, free=free) -> float:
            y = x.copy()
            y[free] = v
            return obj(y)

        sub_x, _ = _minimise(f, x[free], scales[free], lows[free], highs[free])
        cov, _ = _errors(f, sub_x, scales[free], lows[free], highs[free])
        estimates[label] = (float(sub_x[0]), float(np.sqrt(cov[0, 0])))
    obj.use_spectrum, obj.use_colours = True, True
    (ts, es), (tc, ec) = estimates["spectrum"], estimates["colours"]
    es, ec = np.hypot(es, teff_systematic), np.hypot(ec, teff_systematic)
    combined = np.hypot(es, ec)
    sigma = abs(ts - tc) / combined if np.isfinite(combined) and combined > 0 else 0.0
    meta = {"teff_spectrum": (ts, es), "teff_colours": (tc, ec), "tension_sigma": sigma}
    text = ""
    if sigma > tension_sigma:
        text = (f"colours and spectrum disagree: {names[i]} {ts:.0f} +/- {es:.0f} from the spectrum, "
                f"{tc:.0f} +/- {ec:.0f} from the colours ({sigma:.1f} sigma); check the photometry, E(B-V) "
                "and the grid")  # fmt: skip
        log.warning("template fit: %s", text)
    return text, meta
