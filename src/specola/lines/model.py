"""The NumPyro line model: :func:`build_model` returns a :class:`LinesModel` with ``(model_fn, args)``.

The model of pixel ``i`` of spectrum ``s`` is

``f_i = FluxScale_s * [ C(a_i, b_i) + sum_l F_l * P_l(a_i, b_i) ]``

where ``[a_i, b_i]`` are the calibrated pixel edges minus ``PixOffset_s`` pixel widths, ``C`` is the pixel mean of
the continuum of the pixel's region, ``F_l`` the integrated flux of line ``l`` and ``P_l`` the exact pixel
mean of its unit-area profile: a Gaussian with ``sigma^2 = sigma_int^2 + sigma_instr^2``, ``sigma_int`` from
the intrinsic FWHM (km/s) and ``sigma_instr = lambda / (R_s(lambda) RScale_s 2.3548)``; other profiles are
convolved exactly with the same Gaussian (Voigt, Laplace, skew-normal, Gauss-Hermite; see ``_profiles``).
``args`` holds only arrays (pixels, data, resolution tables, scales and the systemic redshift ``z0``, from which
the redshift priors and the continuum windows are placed at run time), so one compiled log density serves every
data set of a configuration (other pixel grids and redshifts, simulations, bootstrap).

Sign of PixOffset (the same as unite's): a positive offset means the spectrum is displaced toward longer
wavelengths on the detector, so a line of true wavelength ``lambda`` appears at ``lambda + PixOffset * dlambda``
in the calibrated wavelengths; the model moves the pixel edges blueward by ``PixOffset`` pixels to match.
Redshifts measured with a free PixOffset refer to the corrected wavelengths.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import astropy.units as u
import numpy as np

from ..errors import ConfigError, SpectrumError
from ..spectrum import Spectrum
from ._indexing import choose, take
from ._kernels import EVAL_KEYS, KERNEL_KEYS, convolved, kernel_args
from .config import CalibrationSpec, ContinuumSection, ErrorsSection, GroupSpec, LineSpec, PriorSpec, SpectrumSpec
from .linelist import line as lookup_line

__all__ = ["LinesModel", "Plan", "build_model", "working_unit"]

log = logging.getLogger(__name__)

C_KMS = 299792.458
FLAM = u.Unit("erg / (s cm2 Angstrom)")
_NTAB = 64
_BUCKET_MIN = 32
_PIXEL_KEYS = ("low", "high", "flux", "error", "spec", "region", "mask")


def bucket(npix: int) -> int:
    """The padded length of ``npix`` pixels: the next of 32, 48, 64, 96, 128, 192, ... (``2^k`` and ``1.5 x 2^k``).

    Steps of at most 1.5x keep the padding's share of every likelihood call under a third (the DJA PRISM
    model's 40 pixels: 48, not 64, ~30% faster gradients), while a survey's spectra still fall in few lengths.
    """
    n = max(int(npix), _BUCKET_MIN)
    power = 1 << (n - 1).bit_length()
    return power * 3 // 4 if n <= power * 3 // 4 else power


def working_unit(spectrum: Spectrum) -> u.UnitBase:
    """The f_lambda unit a fit works in: the spectrum's own if it is f_lambda, else 1e-20 erg/s/cm2/A."""
    if spectrum.flux_unit.is_equivalent(FLAM):
        return spectrum.flux_unit
    return u.Unit(1e-20 * FLAM)


@dataclass
class Plan:
    """Static structure of a line model: names, indices, priors and scales (no data arrays).

    ``sites`` maps each free parameter to its :class:`~specola.lines._priors.Prior`, ``order`` lists them so
    that every parameter comes after those its prior refers to; ``fixed`` holds fixed parameters.

    ``z0`` and the scales (``line_unit``, ``cont_unit``) are this model's values, for the host; compiled code
    reads them from ``args`` (``args["z0"]`` shifts the redshift priors and places the continuum windows), so
    they are not part of :meth:`structure_key` and models of other spectra and redshifts share one compile.
    Methods that take ``args`` use its values (traced code); without it they use the plan's own.
    """

    z0: float
    flux_unit: u.UnitBase
    line_unit: float
    labels: list[str]
    names: list[str]
    rest: np.ndarray
    line_z: np.ndarray
    line_w: np.ndarray
    line_f: np.ndarray
    ratio: np.ndarray
    profile: np.ndarray
    zgroups: list[str]
    wgroups: list[str]
    flux_sites: list[str]
    regions: list[tuple[float, float]]
    cont_unit: np.ndarray
    form: str
    order: int
    spectra: list[str]
    tokens: dict[str, list[str | None]]
    sites: dict[str, Any]
    fixed: dict[str, float]
    sample_order: list[str] = field(default_factory=list)
    cont_sets: list[str] = field(default_factory=list)
    knots: int = 0
    dropped: list[str] = field(default_factory=list)
    error_scales: list[dict] = field(default_factory=list)
    compiled: dict = field(default_factory=dict, repr=False)

    @property
    def region_ref(self) -> np.ndarray:
        """Observed centre of each continuum window at ``z0`` (A); compiled code scales the rest centres."""
        return np.asarray([0.5 * (w0 + w1) * (1 + self.z0) for w0, w1 in self.regions])

    def prior(self, name: str, args: dict | None = None):
        """The prior of a free or fixed parameter (None: neither), its run-time shift and factor from ``args``."""
        p = self.sites.get(name) or self.fixed_priors.get(name)
        return p.bind(args) if p is not None else None

    def prior_args(self, args: dict) -> dict:
        """The entries of ``args`` the priors read (run-time shifts and units: ``z0``, ``line_unit``)."""
        priors = (*self.sites.values(), *self.fixed_priors.values())
        return {k: args[k] for k in sorted(({p.origin for p in priors} | {p.unit for p in priors}) - {""})}

    def value(self, params: dict, name: str, args: dict | None = None):
        """A parameter's value: sampled, or fixed."""
        if name in params:
            return params[name]
        p = self.fixed_priors.get(name)
        return p.bind(args).bounds()[0] if p is not None and p.runtime and args is not None else self.fixed[name]

    def config_values(self, params: dict, args: dict | None = None, names: Sequence[str] | None = None) -> dict:
        """Values of the given (and fixed) parameters in config units, as prior expressions see them.

        ``names``: only these (default: every given and fixed parameter).
        """
        out = {}
        for name in {**self.fixed, **params} if names is None else names:
            v, p = self.value(params, name, args), self.prior(name, args)
            out[name] = v if p is None else (v - p.shift) / p.factor
        return out

    @property
    def fixed_priors(self) -> dict:
        """Priors of the fixed parameters (their shift and factor convert to config units)."""
        return self.compiled.setdefault("fixed_priors", {})

    def distribution(self, name: str, params: dict, args: dict | None = None):
        """The prior distribution of site ``name`` given the values of the parameters it refers to."""
        p = self.prior(name, args)
        return p.distribution(self.config_values(params, args) if p.names else None)

    def table(self) -> str:
        """The line configuration as text: one row per line, then the priors of every parameter."""
        rows = [f"{'line':<16s} {'rest [A]':>10s} {'profile':<10s} {'z':<10s} {'width':<14s} flux"]
        for i, label in enumerate(self.labels):
            root = self.flux_sites[self.line_f[i]]
            tie = "" if root == label else f" = {self.ratio[i]:.4g} x {root}"
            rows.append(f"{label:<16s} {self.rest[i]:>10.3f} {self.profile[i]:<10s} "
                        f"z_{self.zgroups[self.line_z[i]]:<8s} fwhm_{self.wgroups[self.line_w[i]]:<9s} "
                        f"flux_{root}{tie}")  # fmt: skip
        rows.append("")
        rows += [f"  {n:<24s} {self.sites[n].describe()}" for n in self.sample_order]
        rows += [f"  {n:<24s} fixed({v:.6g})" for n, v in self.fixed.items()]
        return "\n".join(rows)

    def structure_key(self) -> str:
        """Everything the compiled functions bake in (not ``z0`` nor the scales, which travel in ``args``).

        Two plans with the same key share one set of compiled functions. Fixed values follow from their priors.
        """
        parts = (self.labels, self.rest.tolist(), self.line_z.tolist(), self.line_w.tolist(),
                 self.line_f.tolist(), self.ratio.tolist(), self.profile.tolist(), self.zgroups, self.wgroups,
                 self.flux_sites, self.regions, self.form, self.order, self.cont_sets, self.knots, len(self.spectra),
                 self.tokens, [(n, self.sites[n].structure()) for n in self.sample_order],
                 sorted((n, p.structure()) for n, p in self.fixed_priors.items()))  # fmt: skip
        return repr(parts)


def _region_windows(cfg: ContinuumSection, rest: list[float]) -> list[tuple[float, float]]:
    if cfg.regions:
        return sorted((min(r), max(r)) for r in cfg.regions)
    half = cfg.width_kms / C_KMS
    wins = sorted((w * (1 - half), w * (1 + half)) for w in rest)
    merged = [list(wins[0])]
    for lo, hi in wins[1:]:
        if lo <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], hi)
        else:
            merged.append([lo, hi])
    return [tuple(m) for m in merged]


def _prepare_spectrum(spectrum: Spectrum, unit: u.UnitBase, name: str) -> Spectrum:
    if spectrum.error is None:
        raise SpectrumError(f"spectrum {name}: line fitting needs flux errors; this spectrum has none")
    s = spectrum.to_wave_unit(u.AA)
    try:
        return s.to_flux_unit(unit)
    except SpectrumError as exc:
        raise SpectrumError(
            f"spectrum {name}: cannot fit flux in {spectrum.flux_unit} with {unit} (the first spectrum's): {exc}"
        ) from None


def _group_prior(groups: dict[str, GroupSpec], name: str, kind: str) -> PriorSpec:
    from ._priors import DEFAULTS

    if name in groups and groups[name].prior.kind != "auto":
        return groups[name].prior
    key = "redshift" if kind == "redshift" else name
    if key not in DEFAULTS:
        raise ConfigError(
            f"width group {name!r} has no prior: add [[groups]] name = {name!r}, kind = 'width', "
            "prior = {kind = 'uniform', low = ..., high = ...} (km/s); only 'narrow' and 'broad' have defaults"
        )
    return DEFAULTS[key]


@dataclass
class _Lines:
    """The line table: labels, names, rest wavelengths and specs, in config order."""

    labels: list[str]
    names: list[str]
    rest: list[float]
    specs: list[LineSpec]

    def subset(self, keep: Sequence[bool]) -> _Lines:
        idx = [i for i, k in enumerate(keep) if k]
        return _Lines(*([x[i] for i in idx] for x in (self.labels, self.names, self.rest, self.specs)))


def _line_table(lines: Sequence[LineSpec]) -> _Lines:
    table = _Lines([], [], [], [])
    for spec in lines:
        wave = spec.wavelength or lookup_line(spec.name).wavelength
        label = spec.label or spec.name or f"line{wave:.1f}"
        if label in table.labels:
            raise ConfigError(f"line label {label!r} is used twice; give the second one label = '...'")
        table.labels.append(label), table.names.append(spec.name or label)
        table.rest.append(float(wave)), table.specs.append(spec)
    for spec in table.specs:
        if spec.tie and spec.tie not in table.labels:
            raise ConfigError(f"line {spec.label or spec.name!r} is tied to {spec.tie!r}, which is not a line label")
    return table


@dataclass
class _Pixels:
    """Fitted pixels of all spectra, concatenated, with their spectrum and region index."""

    low: np.ndarray
    high: np.ndarray
    flux: np.ndarray
    error: np.ndarray
    spec: np.ndarray
    region: np.ndarray
    kept: list[np.ndarray]


def _select_pixels(work: Sequence[Spectrum], names: Sequence[str], windows, z0: float) -> _Pixels:
    """Good pixels inside the continuum windows (NaN and zero-error pixels in the windows are counted, dropped)."""
    parts: dict[str, list] = {k: [] for k in ("low", "high", "flux", "error", "spec", "region")}
    kept = []
    for k, s in enumerate(work):
        a, b = s.low.value, s.high.value
        region = np.full(len(s), -1)
        for r, (wlo, whi) in enumerate(windows):
            region[(a >= wlo * (1 + z0)) & (b <= whi * (1 + z0))] = r
        inside = region >= 0
        finite = np.isfinite(s.flux.value) & np.isfinite(s.error.value)
        use = inside & s.good & finite & (s.error.value > 0)
        bad_nan, bad_other = int(np.sum(inside & ~finite)), int(np.sum(inside & finite & ~use))
        if bad_nan or bad_other:
            log.info("spectrum %s: %d NaN pixel(s) and %d masked or zero-error pixel(s) in the windows left out",
                     names[k], bad_nan, bad_other)  # fmt: skip
        kept.append(use)
        for key, v in (("low", a), ("high", b), ("flux", s.flux.value), ("error", s.error.value), ("region", region)):
            parts[key].append(v[use])
        parts["spec"].append(np.full(use.sum(), k))
    out = {k: np.concatenate(v) for k, v in parts.items()}
    if out["low"].size == 0:
        raise SpectrumError(f"no good pixels of the spectra fall in the continuum windows at z = {z0}")
    return _Pixels(**out, kept=kept)


def _covered_lines(table: _Lines, work: Sequence[Spectrum], names: Sequence[str], px: _Pixels, z0: float) -> _Lines:
    """Refuse lines outside every spectrum (named); drop, with a warning, lines that fall only on bad pixels."""
    obs = np.asarray(table.rest) * (1 + z0)
    ranges = [(float(s.low.value.min()), float(s.high.value.max())) for s in work]
    outside = [i for i, w in enumerate(obs) if not any(lo <= w <= hi for lo, hi in ranges)]
    if outside:
        what = ", ".join(f"{table.labels[i]} ({obs[i]:.1f} A)" for i in outside)
        span = "; ".join(f"{n} {lo:.1f}-{hi:.1f} A" for n, (lo, hi) in zip(names, ranges, strict=True))
        raise ConfigError(f"line(s) {what} at z = {z0:g} fall outside every spectrum ({span}); remove them "
                          "from [[lines]] or check fit.redshift")  # fmt: skip
    keep = [bool(np.any((px.low <= w) & (px.high >= w))) for w in obs]
    changed = True
    while changed:  # a line tied to a dropped line goes too
        changed = False
        for i, spec in enumerate(table.specs):
            if keep[i] and spec.tie and not keep[table.labels.index(spec.tie)]:
                keep[i], changed = False, True
    for i in np.flatnonzero(~np.asarray(keep)):
        log.warning("line %s (%.2f A at z=%.4f) falls only on masked pixels (or is tied to one that does); dropped",
                    table.labels[i], obs[i], z0)  # fmt: skip
    if not any(keep):
        raise SpectrumError(f"none of the lines {', '.join(table.labels)} falls on good pixels of the spectra")
    return table.subset(keep)


def _flux_roots(table: _Lines) -> tuple[list[str], list[int], list[float]]:
    """Free flux of each line: the root of its tie chain, and the product of ratios along it (signed)."""
    flux_sites, line_f, ratio = [], [], []
    for i, label in enumerate(table.labels):
        root, r, seen = label, 1.0, set()
        while table.specs[table.labels.index(root)].tie:
            if root in seen:
                raise ConfigError(f"line ties form a loop through {root!r}")
            seen.add(root)
            r *= table.specs[table.labels.index(root)].ratio
            root = table.specs[table.labels.index(root)].tie
        if root not in flux_sites:
            flux_sites.append(root)
        line_f.append(flux_sites.index(root)), ratio.append(-r if table.specs[i].absorption else r)
    return flux_sites, line_f, ratio


def _scales(table: _Lines, px: _Pixels, nregions: int, z0: float) -> tuple[np.ndarray, float]:
    """Continuum unit per region (|median| or scatter) and the line-flux unit (largest excess near a line)."""
    fl, lo, hi, ridx = px.flux, px.low, px.high, px.region
    cont_unit = np.asarray(
        [max(np.median(np.abs(fl[ridx == r])), np.std(fl[ridx == r]), 1e-30) for r in range(nregions)]
    )
    excess = []
    for w in np.asarray(table.rest) * (1 + z0):
        near = np.abs(0.5 * (lo + hi) - w) < w * 1000.0 / C_KMS + 2 * (hi - lo)
        if near.any():
            r = ridx[near][0]
            excess.append(abs(np.sum((fl[near] - np.median(fl[ridx == r])) * (hi - lo)[near])))
    line_unit = float(max(max(excess, default=0.0), 1e-30))
    if not line_unit > 1e-30:
        line_unit = float(np.median(px.error * (hi - lo)) * 10)
    return cont_unit, line_unit


def _group_priors(table: _Lines, groups: Sequence[GroupSpec], z0: float, add) -> tuple[list[str], list[str]]:
    """Redshift and width group priors (redshifts relative to ``args["z0"]``, see :class:`Plan`), then shapes."""
    from ._priors import DEFAULTS, make_prior
    from .config import SHAPES

    gdict = {(g.name, g.kind): g for g in groups}
    zgroups = list(dict.fromkeys(s.redshift for s in table.specs))
    wgroups = list(dict.fromkeys(s.width for s in table.specs))
    kinds = (("redshift", zgroups, "z", z0, "z0"), ("width", wgroups, "fwhm", 0.0, ""))
    for kind, names, prefix, shift, origin in kinds:
        other = "width" if kind == "redshift" else "redshift"
        for g in names:
            if (g, kind) not in gdict and (g, other) in gdict:
                raise ConfigError(f"group {g!r} is used as a {kind} group but declared kind = {other!r}")
            prior = _group_prior({g: gdict[g, kind]} if (g, kind) in gdict else {}, g, kind)
            add(f"{prefix}_{g}", make_prior(prior, shift=shift, what=f"{kind} group {g}", origin=origin))
    for g, k in dict.fromkeys((s.width, k) for s in table.specs for k in SHAPES.get(s.profile, ())):
        spec = gdict.get((g, k))
        prior = spec.prior if spec is not None and spec.prior.kind != "auto" else DEFAULTS[k]
        add(f"{k}_{g}", make_prior(prior, what=f"{k} of width group {g}"))
    return zgroups, wgroups


def _flux_priors(table: _Lines, flux_sites: list[str], line_unit: float, add) -> None:
    """Free fluxes in units of ``line_unit``: +-50 by default (from 0 for positive and absorption lines)."""
    from ._priors import make_prior

    for root in flux_sites:
        spec = table.specs[table.labels.index(root)]
        if spec.prior.kind == "auto":
            low = 0.0 if spec.positive or spec.absorption else -50.0
            add(f"flux_{root}", make_prior(PriorSpec("uniform", low=low, high=50.0), what=f"flux of {root}"))
        else:
            add(
                f"flux_{root}", make_prior(spec.prior, factor=1.0 / line_unit, what=f"flux of {root}", unit="line_unit")
            )


def _continuum_sets(continuum: ContinuumSection, windows) -> list[str]:
    """The continuum parameter set of each (used) window: its ``share`` name, or ``r<index>``."""
    if not continuum.share:
        return [f"r{r}" for r in range(len(windows))]
    if len(continuum.share) != len(continuum.regions):
        raise ConfigError(f"continuum.share has {len(continuum.share)} name(s) for {len(continuum.regions)} "
                          "continuum.regions; give one name per region ('' : its own)")  # fmt: skip
    names = {(min(r), max(r)): n for r, n in zip(continuum.regions, continuum.share, strict=True)}
    return [names[w] or f"r{r}" for r, w in enumerate(windows)]


def _ncont(continuum: ContinuumSection) -> int:
    """Free continuum parameters per set."""
    return {"polynomial": continuum.order + 1, "chebyshev": continuum.order + 1,
            "bspline": continuum.knots + 4}.get(continuum.form, 2)  # fmt: skip


def _continuum_priors(continuum: ContinuumSection, sets: list[str], add) -> None:
    from ._priors import make_prior

    wide = make_prior(PriorSpec("normal", loc=0.0, scale=100.0))
    for key in dict.fromkeys(sets):
        if continuum.form in ("polynomial", "chebyshev", "bspline"):
            for k in range(_ncont(continuum)):
                add(f"cont_{key}_c{k}", wide)
        elif continuum.form == "powerlaw":
            add(f"cont_{key}_norm", wide)
            add(f"cont_{key}_beta", make_prior(PriorSpec("normal", loc=0.0, scale=10.0)))
        else:
            add(f"cont_{key}_norm", wide)
            add(f"Tbb_{key}", make_prior(PriorSpec("loguniform", low=1000.0, high=1.0e5)))


def _calibration_priors(calibration, bindings, add) -> dict[str, list[str | None]]:
    from ._priors import DEFAULTS, make_prior

    cdict = {c.name: c for c in calibration}
    tokens: dict[str, list[str | None]] = {"rscale": [], "flux_scale": [], "pix_offset": []}
    done = set()
    for b in bindings:
        for kind in tokens:
            name = getattr(b, kind) or None
            tokens[kind].append(name)
            if name is None or (kind, name) in done:
                continue
            done.add((kind, name))
            spec = cdict.get(name, CalibrationSpec(name, kind))
            if spec.kind != kind:
                raise ConfigError(f"calibration token {name!r} is declared kind = {spec.kind!r} but used as {kind}")
            prior = spec.prior if spec.prior.kind != "auto" else DEFAULTS[kind]
            add(f"{kind}_{name}", make_prior(prior, what=f"calibration token {name}"))
    return tokens


def _resolution_tables(work, names, px: _Pixels) -> tuple[np.ndarray, np.ndarray]:
    """1/R on a grid of ``_NTAB`` wavelengths over each spectrum's fitted range."""
    tab_w, tab_inv = [], []
    for k, s in enumerate(work):
        sel = px.spec == k
        w = np.linspace(px.low[sel].min(), px.high[sel].max(), _NTAB) if sel.any() else np.ones(_NTAB)
        res = s.meta.get("resolution")
        inv = np.zeros(_NTAB) if res is None else 1.0 / np.asarray(res(w * u.AA), float)
        if not np.all(np.isfinite(inv) & (inv >= 0)):
            raise SpectrumError(f"spectrum {names[k]}: resolution curve gives invalid R in {w[0]:.1f}-{w[-1]:.1f} A")
        tab_w.append(w), tab_inv.append(inv)
    return np.asarray(tab_w), np.asarray(tab_inv)


def _check_counts(px: _Pixels, windows, sites: dict, nlines_per_region: list[int], continuum) -> None:
    """Every window needs more pixels than its continuum parameters, the fit more pixels than parameters."""
    ncont = _ncont(continuum)
    for r, (w0, w1) in enumerate(windows):
        n = int(np.sum(px.region == r))
        if n <= ncont + nlines_per_region[r]:
            raise SpectrumError(
                f"continuum window {w0:.1f}-{w1:.1f} A (rest) has {n} good pixel(s) for {ncont} continuum and "
                f"{nlines_per_region[r]} line parameter(s); widen continuum.width_kms or give continuum.regions"
            )
    if px.low.size <= len(sites):
        raise SpectrumError(f"{px.low.size} fitted pixels for {len(sites)} free parameters; widen the windows")


def build_model(
    spectra: Sequence[Spectrum],
    lines: Sequence[LineSpec],
    redshift: float,
    *,
    groups: Sequence[GroupSpec] = (),
    calibration: Sequence[CalibrationSpec] = (),
    continuum: ContinuumSection | None = None,
    bindings: Sequence[SpectrumSpec] | None = None,
    errors: ErrorsSection | None = None,
) -> LinesModel:
    """Build the NumPyro model of some lines in one or more spectra.

    Parameters
    ----------
    spectra : sequence of Spectrum
        Spectra with errors; ``meta['resolution']`` (a callable of wavelength Quantity -> R) sets the
        instrumental broadening (none: intrinsic widths only). ``meta['name']`` labels them.
    lines : sequence of LineSpec
        Line components.
    redshift : float
        Systemic redshift; redshift priors are relative to it and continuum windows are placed with it.
    groups : sequence of GroupSpec
        Priors of redshift and width groups ('z', 'narrow' and 'broad' have defaults).
    calibration : sequence of CalibrationSpec
        Priors of calibration tokens named by ``bindings``.
    continuum : ContinuumSection, optional
        Continuum form and windows (default: linear, +-4000 km/s around each line).
    bindings : sequence of SpectrumSpec, optional
        Per spectrum: names of its RScale, FluxScale and PixOffset tokens (default: none, all fixed).
    errors : ErrorsSection, optional
        Error rescaling per spectrum and window (default: none); the factors are in ``plan.error_scales``.

    Returns
    -------
    LinesModel
        ``model.model_fn`` and ``model.args`` for any NumPyro inference; see :func:`specola.lines.fit`.

    Raises
    ------
    ConfigError, SpectrumError
        Before anything is compiled: a line outside every spectrum, a prior referring to an unknown or
        circular parameter, a window with fewer pixels than parameters, spectra in incompatible units.

    Examples
    --------
    >>> from specola.io import read
    >>> from specola.data import data_path
    >>> s = read(data_path("spectra", "spec-1678-53433-0425.fits.gz"))
    >>> m = build_model([s], [LineSpec("Halpha"), LineSpec("[NII]6585")], redshift=0.0403)
    >>> sorted(m.plan.sites)[:3]
    ['cont_r0_c0', 'cont_r0_c1', 'flux_Halpha']
    """
    from ._jax import require_float64  # the first import sets JAX up (float64, compilation cache): see _jax

    require_float64()
    if not spectra:
        raise SpectrumError("build_model needs at least one spectrum")
    if not lines:
        raise ConfigError("no lines to fit: add [[lines]] tables (e.g. name = 'Halpha')")
    continuum = continuum or ContinuumSection()
    bindings = list(bindings) if bindings is not None else [SpectrumSpec() for _ in spectra]
    work, snames, unit = _working_spectra(spectra, bindings)
    z0 = float(redshift)
    all_lines = _line_table(lines)
    table, windows, px = _lines_in_windows(all_lines, work, snames, continuum, z0)
    error_scales = _rescale_errors(px, windows, snames, table.rest, z0, errors or ErrorsSection())
    cont_unit, line_unit = _scales(table, px, len(windows), z0)
    priors = _model_priors(table, windows, z0, line_unit, groups, calibration, continuum, bindings)
    _check_counts(px, windows, priors.sites, _lines_per_window(table, windows, z0), continuum)
    plan = _make_plan(table, windows, priors, continuum, snames, z0, unit, line_unit, cont_unit)
    plan.dropped = [lab for lab in all_lines.labels if lab not in table.labels]
    plan.error_scales = error_scales
    args = _model_args(work, snames, px, bindings, z0, line_unit, cont_unit)
    fitted = [w[m].replace(error=px.error[px.spec == k] * unit)
              for k, (w, m) in enumerate(zip(work, px.kept, strict=True))]  # fmt: skip
    return LinesModel(plan, args, fitted)


def _make_plan(table: _Lines, windows, priors: _Priors, continuum, snames, z0, unit, line_unit, cont_unit) -> Plan:
    """The static structure: line indices into the redshift, width and flux groups, windows, priors."""
    plan = Plan(
        z0=z0, flux_unit=unit, line_unit=line_unit, labels=table.labels, names=table.names,
        rest=np.asarray(table.rest), line_z=np.asarray([priors.zgroups.index(s.redshift) for s in table.specs]),
        line_w=np.asarray([priors.wgroups.index(s.width) for s in table.specs]),
        line_f=np.asarray(priors.line_f), ratio=np.asarray(priors.ratio, float),
        profile=np.asarray([s.profile for s in table.specs]), zgroups=priors.zgroups, wgroups=priors.wgroups,
        flux_sites=priors.flux_sites, regions=windows, cont_unit=cont_unit, form=continuum.form,
        cont_sets=priors.cont_sets, knots=continuum.knots, order=continuum.order, spectra=snames,
        tokens=priors.tokens, sites=priors.sites, fixed=priors.fixed, sample_order=priors.order,
    )  # fmt: skip
    plan.fixed_priors.update(priors.fixed_priors)
    return plan


def _working_spectra(spectra: Sequence[Spectrum], bindings: Sequence[SpectrumSpec]) -> tuple[list, list[str], Any]:
    """The spectra in A and the first one's f_lambda unit (:func:`working_unit`), their unique names, the unit."""
    if len(bindings) != len(spectra):
        raise ConfigError(f"got {len(bindings)} spectrum bindings for {len(spectra)} spectra")
    snames: list[str] = []
    for k, s in enumerate(spectra):
        name = s.meta.get("name") or bindings[k].name or f"spectrum{k}"
        snames.append(name if name not in snames else f"{name}_{k}")
    unit = working_unit(spectra[0])
    return [_prepare_spectrum(s, unit, n) for s, n in zip(spectra, snames, strict=True)], snames, unit


def _lines_in_windows(table: _Lines, work, names, continuum, z0: float) -> tuple[_Lines, list, _Pixels]:
    """The lines that fall on good pixels, the windows that hold pixels and those pixels (regions renumbered)."""
    all_windows = _region_windows(continuum, table.rest)
    px = _select_pixels(work, names, all_windows, z0)
    table = _covered_lines(table, work, names, px, z0)
    windows, px = _used_windows(all_windows, px)
    return table, windows, px


@dataclass
class _Priors:
    """Every parameter's prior as the builder declares them (:meth:`add`), and the indices they imply."""

    sites: dict[str, Any] = field(default_factory=dict)
    fixed: dict[str, float] = field(default_factory=dict)
    fixed_priors: dict[str, Any] = field(default_factory=dict)
    zgroups: list[str] = field(default_factory=list)
    wgroups: list[str] = field(default_factory=list)
    flux_sites: list[str] = field(default_factory=list)
    line_f: list[int] = field(default_factory=list)
    ratio: list[float] = field(default_factory=list)
    cont_sets: list[str] = field(default_factory=list)
    tokens: dict[str, list[str | None]] = field(default_factory=dict)
    order: list[str] = field(default_factory=list)

    def add(self, name: str, prior) -> None:
        """Declare a parameter: a free site, or (``kind = "fixed"``) a fixed value with its prior."""
        if prior.kind == "fixed":
            self.fixed[name], self.fixed_priors[name] = prior.bounds()[0], prior
        else:
            self.sites[name] = prior


def _model_priors(table, windows, z0, line_unit, groups, calibration, continuum, bindings) -> _Priors:
    """Priors of lines, continua and calibration tokens, in declaration order, and the sampling order."""
    from ._priors import order_sites

    p = _Priors()
    p.flux_sites, p.line_f, p.ratio = _flux_roots(table)
    p.zgroups, p.wgroups = _group_priors(table, groups, z0, p.add)
    _flux_priors(table, p.flux_sites, line_unit, p.add)
    p.cont_sets = _continuum_sets(continuum, windows)
    _continuum_priors(continuum, p.cont_sets, p.add)
    p.tokens = _calibration_priors(calibration, bindings, p.add)
    p.order = order_sites(p.sites, p.fixed)
    return p


def _lines_per_window(table: _Lines, windows, z0: float) -> list[int]:
    """Number of lines whose observed centre lies in each window."""
    obs = np.asarray(table.rest) * (1 + z0)
    return [sum(1 for w in obs if w0 * (1 + z0) <= w <= w1 * (1 + z0)) for w0, w1 in windows]


def _model_args(work, names, px: _Pixels, bindings, z0: float, line_unit: float, cont_unit: np.ndarray) -> dict:
    """The model's arrays: pixels, data, resolution tables (or pixel kernels), scales and ``z0``."""
    tab_w, tab_inv = _resolution_tables(work, names, px)
    args = {
        "low": px.low, "high": px.high, "flux": px.flux, "error": px.error, "spec": px.spec, "region": px.region,
        "tab_w": tab_w, "tab_inv": tab_inv, "line_unit": np.asarray(line_unit), "cont_unit": cont_unit,
        "mask": np.ones(px.low.size, bool), "z0": np.asarray(z0),
    }  # fmt: skip
    kern, with_kernel = kernel_args(work, names, px, bindings)  # DESI resolution matrix, tabulated LSF
    args["tab_inv"][with_kernel] = 0.0  # the kernel replaces the Gaussian LSF
    args.update(kern)
    return {k: _jnp(v) for k, v in args.items()}


def _rescale_errors(px: _Pixels, windows, names, rest, z0: float, cfg: ErrorsSection) -> list[dict]:
    """Scale the errors of each (spectrum, window) so a linear continuum fit away from the lines has chi2_nu = 1.

    Pixels within ``cfg.line_mask_kms`` of any line are left out; a window with fewer than ``cfg.min_pixels``
    unmasked pixels keeps its errors (logged). Returns one record per (spectrum, window): the pixels used,
    chi2_nu before scaling, the factor applied and the continuum coefficients (for the diagnostic figure).
    """
    if not cfg.rescale:
        return []
    centre = 0.5 * (px.low + px.high)
    obs = np.asarray(rest) * (1 + z0)
    masked = np.any(np.abs(centre[:, None] - obs) < obs * cfg.line_mask_kms / C_KMS, axis=1)
    records = []
    for k, name in enumerate(names):
        for r, (w0, w1) in enumerate(windows):
            sel = (px.spec == k) & (px.region == r)
            use = sel & ~masked
            rec = {"spectrum": name, "window": (w0, w1), "pixels": int(use.sum()), "chi2_nu": float("nan"),
                   "factor": 1.0, "coef": None, "mask_kms": cfg.line_mask_kms}  # fmt: skip
            if sel.any() and use.sum() >= max(cfg.min_pixels, 3):
                x, y, e = centre[use] / (0.5 * (w0 + w1) * (1 + z0)) - 1, px.flux[use], px.error[use]
                coef = np.polyfit(x, y, 1, w=1 / e)
                chi2_nu = float(np.sum(((y - np.polyval(coef, x)) / e) ** 2) / (use.sum() - 2))
                rec.update(chi2_nu=chi2_nu, factor=float(np.sqrt(chi2_nu)), coef=coef.tolist())
                px.error[sel] *= rec["factor"]
                log.info("spectrum %s, window %.0f-%.0f A: errors x %.3f (chi2_nu %.2f on %d continuum pixels)",
                         name, w0, w1, rec["factor"], chi2_nu, use.sum())  # fmt: skip
            elif sel.any():
                log.warning("spectrum %s, window %.0f-%.0f A: %d pixel(s) away from the lines (< errors.min_pixels = "
                            "%d); errors not rescaled", name, w0, w1, use.sum(), cfg.min_pixels)  # fmt: skip
            records.append(rec)
    return records


def _used_windows(windows, px: _Pixels) -> tuple[list, _Pixels]:
    """Keep the windows that hold pixels, renumbered."""
    used = sorted(set(px.region.tolist()))
    remap = {r: i for i, r in enumerate(used)}
    px.region = np.asarray([remap[r] for r in px.region])
    return [windows[r] for r in used], px


def _jnp(x: np.ndarray):
    from ._jax import device

    return device(x)


class LinesModel:
    """A built line model: ``model_fn(args)`` for NumPyro plus its static plan and fitted spectra.

    Attributes
    ----------
    plan : Plan
        Names, indices, priors and scales.
    args : dict
        Arrays: pixel edges ``low``/``high`` (A), ``flux``, ``error``, spectrum and region index per pixel,
        resolution tables, flux scales ``line_unit`` and ``cont_unit``, ``mask`` (pixels in the likelihood).
    padded : dict
        ``args`` with the pixel arrays padded to :func:`bucket` of the pixel count (masked), as the compiled
        functions take them.
    npix : int
        Number of fitted pixels (the first ``npix`` entries of the padded arrays).
    spectra : list of Spectrum
        The fitted pixels of each spectrum, in the working units (A, ``plan.flux_unit``).
    """

    def __init__(self, plan: Plan, args: dict, spectra: list[Spectrum]) -> None:
        self.plan, self.args, self.spectra = plan, args, spectra
        self.npix = int(args["flux"].size)
        self._padded: dict | None = None

    @property
    def padded(self) -> dict:
        """``args`` with every per-pixel array padded to :func:`bucket` (padding masked out of the likelihood)."""
        if self._padded is None:
            extra = bucket(self.npix) - self.npix
            fill = {"flux": 0.0, "error": 1.0, "mask": False, "spec": 0, "region": 0, "ev_spec": 0, "ev_region": 0,
                    "kern_w": 0.0, "kern_idx": 0}  # fmt: skip
            nev = int(np.size(self.args["ev_low"])) if "ev_low" in self.args else 0
            out = {}
            for k, v in self.args.items():
                v = np.asarray(v)
                n = extra if k in _PIXEL_KEYS or k in KERNEL_KEYS else bucket(nev) - nev if k in EVAL_KEYS else 0
                if n:  # edges repeat the last pixel, so padded model values stay finite
                    v = np.concatenate([v, np.full((n, *v.shape[1:]), fill.get(k, v[-1]), v.dtype)])
                out[k] = _jnp(v)
            self._padded = out
        return self._padded

    def __repr__(self) -> str:
        return (
            f"<LinesModel {len(self.plan.labels)} lines, {len(self.plan.sites)} free parameters, "
            f"{int(self.args['flux'].size)} pixels in {len(self.spectra)} spectra>"
        )

    def model_fn(self, args: dict) -> None:
        """The NumPyro model: priors of every parameter (in dependency order) and a Gaussian likelihood."""
        import numpyro
        import numpyro.distributions as dist

        params = self.prior_fn(args)
        mu = predict(self.plan, params, args)["total"]
        numpyro.sample("obs", dist.Normal(mu, args["error"]).mask(args["mask"]), obs=args["flux"])

    def prior_fn(self, args: dict) -> dict:
        """Sample every parameter from its prior, in dependency order (the model without the likelihood).

        ``args`` gives the priors' run-time shifts (``args["z0"]``: redshifts are absolute, their priors relative).
        """
        import numpyro

        params: dict = {}
        for name in self.plan.sample_order:
            params[name] = numpyro.sample(name, self.plan.distribution(name, params, args))
        return params

    def with_flux(self, flux: np.ndarray) -> LinesModel:
        """The same model (and compiled functions) with other data on the same pixels (e.g. a simulation)."""
        flux = np.asarray(flux, float)
        if flux.shape != self.args["flux"].shape:
            raise SpectrumError(f"flux must have shape {self.args['flux'].shape}, got {flux.shape}")
        args = dict(self.args)
        args["flux"] = _jnp(flux)
        spectra = []
        start = 0
        for s in self.spectra:
            spectra.append(s.replace(flux=flux[start : start + len(s)] * s.flux_unit))
            start += len(s)
        return LinesModel(self.plan, args, spectra)

    def predict(self, params: dict) -> dict:
        """Model components (``total``, ``continuum``, ``lines`` (npix, nlines)) for one parameter set, as NumPy."""
        out = predict(self.plan, {k: _jnp(np.asarray(v, float)) for k, v in params.items()}, self.args)
        return {k: np.asarray(v) for k, v in out.items()}


def predict(plan: Plan, params: dict, args: dict) -> dict:
    """Evaluate the model (JAX-traceable) for one parameter set; returns ``total``, ``continuum``, ``lines``."""
    import jax.numpy as jnp

    from ._profiles import FWHM_PER_SIGMA

    if "kern_w" in args:  # pixel-space kernels: the model on the evaluation grid, then the band matrix
        return convolved(plan, params, args, predict)
    v = lambda name: plan.value(params, name, args)

    def per_spec(kind, default):
        return jnp.stack([jnp.asarray(default if n is None else v(f"{kind}_{n}"), float) for n in plan.tokens[kind]])

    rscale, fscale, poff = per_spec("rscale", 1.0), per_spec("flux_scale", 1.0), per_spec("pix_offset", 0.0)
    spec, region, nspec = args["spec"], args["region"], len(plan.spectra)
    width = args["high"] - args["low"]  # d lambda / d pixel
    shift = choose(poff, spec, nspec) * width
    a = args["low"] - shift  # PixOffset > 0: the spectrum sits redward; its edges move blueward
    b = args["high"] - shift

    def per_line(prefix, names, index):  # each line's value of its group (static indices: no gather)
        values = [jnp.asarray(v(f"{prefix}_{n}"), float) for n in names]
        return jnp.stack([values[i] for i in index])

    z = per_line("z", plan.zgroups, plan.line_z)
    fwhm = per_line("fwhm", plan.wgroups, plan.line_w)
    flux = per_line("flux", plan.flux_sites, plan.line_f)
    flux = flux * plan.ratio * args["line_unit"]
    mu = plan.rest * (1.0 + z)
    inv_r = _on_grid(mu, args["tab_w"], args["tab_inv"])  # (nspec, nlines)
    sig_instr = mu * inv_r / rscale[:, None] / FWHM_PER_SIGMA  # (nspec, nlines)
    f_int = mu * fwhm / C_KMS  # intrinsic FWHM in A
    prof = _profiles(plan, v, a[:, None], b[:, None], mu, f_int, choose(sig_instr, spec, nspec))
    lines = prof * flux

    cont = _continuum(plan, v, a, b, region, args)
    scale = choose(fscale, spec, nspec)
    return {"total": scale * (cont + lines.sum(axis=1)), "continuum": scale * cont, "lines": scale[:, None] * lines}


def _on_grid(x, grid, table):
    """``np.interp(x, grid[k], table[k])`` for each row ``k`` of tables on uniform grids (the resolution tables).

    A uniform grid needs no search: ~10x smaller compiled code than ``jnp.interp``, whose binary search is a
    loop. Clamped to the end values outside the grid, as ``np.interp``; a degenerate grid gives its first value.
    """
    import jax.numpy as jnp

    n = table.shape[-1]
    lo, step = grid[:, :1], (grid[:, -1:] - grid[:, :1]) / (n - 1)
    t = jnp.where(step > 0, (x[None, :] - lo) / jnp.where(step > 0, step, 1.0), 0.0)
    i = jnp.clip(jnp.floor(t), 0, n - 2).astype(int)
    frac = jnp.clip(t - i, 0.0, 1.0)
    left, right = jnp.take_along_axis(table, i, axis=1), jnp.take_along_axis(table, i + 1, axis=1)
    return left + frac * (right - left)


def _profiles(plan: Plan, v, a, b, mu, f_int, sig_instr):
    """Pixel means ``(npix, nlines)`` of each line's profile seen through the Gaussian LSF ``sig_instr``.

    Each profile is evaluated only on its own lines (static column indices), which keeps the compiled graph
    small: an exact Laplace profile costs several special functions per pixel, a Voigt ``GL_NODES`` Faddeeva calls.
    """
    import jax.numpy as jnp

    from . import _profiles as P

    floor = 1e-6 * mu  # keeps widths positive where there is no instrumental broadening
    blocks, order = [], []
    for kind in dict.fromkeys(plan.profile.tolist()):
        idx = np.flatnonzero(plan.profile == kind)
        m, fl, si, fi = take(mu, idx), take(floor, idx), take(sig_instr, idx, axis=1), take(f_int, idx)
        si, fi = jnp.maximum(si, fl), jnp.maximum(fi, fl)

        def shape(name, idx=idx):
            return jnp.stack([jnp.asarray(v(f"{name}_{plan.wgroups[plan.line_w[i]]}"), float) for i in idx])

        if kind == "gaussian":
            blocks.append(P.gaussian_pixel(a, b, m, jnp.sqrt((fi / P.FWHM_PER_SIGMA) ** 2 + si**2)))
        elif kind in ("lorentzian", "voigt"):
            sg = si if kind == "lorentzian" else jnp.sqrt(si**2 + (m * shape("fwhmg") / C_KMS / P.FWHM_PER_SIGMA) ** 2)
            blocks.append(P.pixel_mean(P.voigt_density, a, b, m, sg, jnp.broadcast_to(0.5 * fi, sg.shape)))
        elif kind == "laplace":
            blocks.append(P.laplace_pixel(a, b, m, fi, si))
        elif kind == "skewgauss":
            om, alpha = (jnp.broadcast_to(x, si.shape) for x in (fi / P.FWHM_PER_SIGMA, shape("skew")))
            blocks.append(P.pixel_mean(P.skew_gauss_density, a, b, m, om, alpha, si))
        else:
            sg, h3, h4 = (jnp.broadcast_to(x, si.shape) for x in (fi / P.FWHM_PER_SIGMA, shape("h3"), shape("h4")))
            blocks.append(P.pixel_mean(P.gauss_hermite_density, a, b, m, sg, h3, h4, si))
        order.extend(idx.tolist())
    return take(jnp.concatenate(blocks, axis=1), np.argsort(order), axis=1)


def _continuum(plan: Plan, v, a, b, region, args: dict):
    """Pixel means of each pixel's region continuum (in the flux unit).

    Regions sharing a parameter set (``plan.cont_sets``) share one function: its reference wavelength, unit and
    span (Chebyshev, B-spline) are those of the set (mean reference, largest unit, union of the windows). The
    rest-frame windows are placed at ``args["z0"]`` and the units are ``args["cont_unit"]`` (from the data), so
    one compile serves any spectrum and redshift.
    """
    import jax.numpy as jnp

    from . import _profiles as P

    sets = plan.cont_sets or [f"r{r}" for r in range(len(plan.regions))]
    keys = list(dict.fromkeys(sets))
    member = np.asarray([keys.index(k) for k in sets])
    rest_span = np.asarray([[min(w0 for (w0, _), k in zip(plan.regions, sets, strict=True) if k == key),
                             max(w1 for (_, w1), k in zip(plan.regions, sets, strict=True) if k == key)]
                            for key in keys])  # fmt: skip
    centres = np.asarray([0.5 * (w0 + w1) for w0, w1 in plan.regions])
    rest_ref = np.asarray([np.mean(centres[member == i]) for i in range(len(keys))])
    cont_unit, z1 = jnp.asarray(args["cont_unit"]), 1 + args["z0"]
    unit_k = jnp.stack([jnp.max(take(cont_unit, np.flatnonzero(member == i))) for i in range(len(keys))])

    def per_pixel(values):  # one value per parameter set -> each pixel's (through its region's set)
        return choose(take(jnp.asarray(values), member), region, len(plan.regions))

    ref, cu = per_pixel(rest_ref) * z1, per_pixel(unit_k)
    lo, hi = per_pixel(rest_span[:, 0]) * z1, per_pixel(rest_span[:, 1]) * z1

    def par(name):
        return per_pixel(jnp.stack([jnp.asarray(v(f"cont_{k}_{name}"), float) for k in keys]))

    if plan.form == "powerlaw":
        return cu * par("norm") * P.powerlaw_pixel(a, b, ref, par("beta"))
    if plan.form == "blackbody":
        temperature = per_pixel(jnp.stack([jnp.asarray(v(f"Tbb_{k}"), float) for k in keys]))
        rest = per_pixel(rest_ref)
        return cu * par("norm") * P.pixel_mean(P.blackbody_ratio, a / z1, b / z1, 0.0, rest, temperature, nodes=4)
    if plan.form == "bspline":
        basis = P.bspline_basis(a, b, lo, hi, plan.knots)
        ncoef = plan.knots + 4
    else:
        ncoef = plan.order + 1
        basis = (P.chebyshev_basis(a, b, lo, hi, plan.order) if plan.form == "chebyshev"
                 else P.polynomial_basis(a, b, ref, plan.order))  # fmt: skip
    coef = jnp.stack([par(f"c{k}") for k in range(ncoef)], axis=-1)
    return cu * jnp.sum(basis * coef, axis=-1)
