"""The NumPyro line model: :func:`build_model` returns a :class:`LinesModel` with ``(model_fn, args)``.

The model of pixel ``i`` of spectrum ``s`` is

``f_i = FluxScale_s * [ C(a_i, b_i) + sum_l F_l * P_l(a_i, b_i) ]``

where ``[a_i, b_i]`` are the pixel edges shifted by ``PixOffset_s`` pixel widths, ``C`` is the pixel mean of
the continuum of the pixel's region, ``F_l`` the integrated flux of line ``l`` and ``P_l`` the exact pixel
mean of its unit-area profile: a Gaussian with ``sigma^2 = sigma_int^2 + sigma_instr^2``, ``sigma_int`` from
the intrinsic FWHM (km/s) and ``sigma_instr = lambda / (R_s(lambda) RScale_s 2.3548)`` (or a pseudo-Voigt for
Lorentzian lines). ``args`` holds only arrays (pixels, data, resolution tables), so one compiled log
density serves every data set on the same pixels (simulations, bootstrap).
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
from .config import CalibrationSpec, ContinuumSection, GroupSpec, LineSpec, PriorSpec, SpectrumSpec
from .linelist import line as lookup_line

__all__ = ["LinesModel", "Plan", "build_model", "enable_x64", "working_unit"]

log = logging.getLogger(__name__)

C_KMS = 299792.458
FLAM = u.Unit("erg / (s cm2 Angstrom)")
_NTAB = 64


def enable_x64() -> None:
    """Switch JAX to float64 (needed for redshifts and erf differences; done at model build time)."""
    import jax

    jax.config.update("jax_enable_x64", True)


def working_unit(spectrum: Spectrum) -> u.UnitBase:
    """The f_lambda unit a fit works in: the spectrum's own if it is f_lambda, else 1e-20 erg/s/cm2/A."""
    if spectrum.flux_unit.is_equivalent(FLAM):
        return spectrum.flux_unit
    return u.Unit(1e-20 * FLAM)


@dataclass
class Plan:
    """Static structure of a line model: names, indices, priors and scales (no data arrays)."""

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
    lorentz: np.ndarray
    zgroups: list[str]
    wgroups: list[str]
    flux_sites: list[str]
    regions: list[tuple[float, float]]
    region_ref: np.ndarray
    cont_unit: np.ndarray
    form: str
    order: int
    spectra: list[str]
    tokens: dict[str, list[str | None]]
    sites: dict[str, Any]
    fixed: dict[str, float]
    compiled: dict = field(default_factory=dict, repr=False)

    def value(self, params: dict, name: str):
        """A parameter's value: sampled, or fixed."""
        return params[name] if name in params else self.fixed[name]


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


def _prepare_spectrum(spectrum: Spectrum, unit: u.UnitBase) -> Spectrum:
    if spectrum.error is None:
        raise SpectrumError("line fitting needs flux errors; this spectrum has none")
    s = spectrum.to_wave_unit(u.AA)
    try:
        return s.to_flux_unit(unit)
    except SpectrumError as exc:
        raise SpectrumError(f"cannot fit a spectrum in {spectrum.flux_unit}: {exc}") from None


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


def build_model(
    spectra: Sequence[Spectrum],
    lines: Sequence[LineSpec],
    redshift: float,
    *,
    groups: Sequence[GroupSpec] = (),
    calibration: Sequence[CalibrationSpec] = (),
    continuum: ContinuumSection | None = None,
    bindings: Sequence[SpectrumSpec] | None = None,
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

    Returns
    -------
    LinesModel
        ``model.model_fn`` and ``model.args`` for any NumPyro inference; see :func:`specola.lines.fit`.

    Examples
    --------
    >>> from specola.io import read
    >>> from specola.data import data_path
    >>> s = read(data_path("spectra", "spec-1678-53433-0425.fits.gz"))
    >>> m = build_model([s], [LineSpec("Halpha"), LineSpec("[NII]6585")], redshift=0.0403)
    >>> sorted(m.plan.sites)[:3]
    ['cont_r0_c0', 'cont_r0_c1', 'flux_Halpha']
    """
    from ._priors import DEFAULTS, distribution

    enable_x64()
    if not spectra:
        raise SpectrumError("build_model needs at least one spectrum")
    if not lines:
        raise ConfigError("no lines to fit: add [[lines]] tables (e.g. name = 'Halpha')")
    continuum = continuum or ContinuumSection()
    bindings = list(bindings) if bindings is not None else [SpectrumSpec() for _ in spectra]
    if len(bindings) != len(spectra):
        raise ConfigError(f"got {len(bindings)} spectrum bindings for {len(spectra)} spectra")
    unit = working_unit(spectra[0])
    work = [_prepare_spectrum(s, unit) for s in spectra]
    z0 = float(redshift)

    # -- lines
    labels, names, rest, specs = [], [], [], []
    for spec in lines:
        wave = spec.wavelength or lookup_line(spec.name).wavelength
        label = spec.label or spec.name or f"line{wave:.1f}"
        if label in labels:
            raise ConfigError(f"line label {label!r} is used twice; give the second one label = '...'")
        labels.append(label), names.append(spec.name or label), rest.append(float(wave)), specs.append(spec)
    windows = _region_windows(continuum, rest)

    # -- pixels in windows
    lo, hi, fl, er, sidx, ridx, kept = [], [], [], [], [], [], []
    for k, s in enumerate(work):
        a, b = s.low.value, s.high.value
        region = np.full(len(s), -1)
        for r, (wlo, whi) in enumerate(windows):
            region[(a >= wlo * (1 + z0)) & (b <= whi * (1 + z0))] = r
        use = (region >= 0) & s.good & (s.error.value > 0)
        kept.append(use)
        lo.append(a[use]), hi.append(b[use]), fl.append(s.flux.value[use]), er.append(s.error.value[use])
        sidx.append(np.full(use.sum(), k)), ridx.append(region[use])
    lo, hi, fl, er = map(np.concatenate, (lo, hi, fl, er))
    sidx, ridx = np.concatenate(sidx), np.concatenate(ridx)
    if lo.size == 0:
        raise SpectrumError(f"no good pixels of the spectra fall in the continuum windows at z = {z0}")

    # -- drop lines no pixel covers (and the lines tied to them)
    obs = np.asarray(rest) * (1 + z0)
    covered = [bool(np.any((lo <= w) & (hi >= w))) for w in obs]
    keep = list(covered)
    changed = True
    while changed:
        changed = False
        for i, spec in enumerate(specs):
            if keep[i] and spec.tie and (spec.tie not in labels or not keep[labels.index(spec.tie)]):
                if spec.tie not in labels:
                    raise ConfigError(f"line {labels[i]!r} is tied to {spec.tie!r}, which is not a line label")
                keep[i], changed = False, True
    for i in np.flatnonzero(~np.asarray(keep)):
        log.warning("line %s (%.2f A at z=%.4f) is not covered by the fitted pixels; dropped", labels[i], obs[i], z0)
    if not any(keep):
        raise SpectrumError("none of the lines falls on good pixels of the spectra")
    idx = [i for i in range(len(keep)) if keep[i]]
    labels, names, specs = [labels[i] for i in idx], [names[i] for i in idx], [specs[i] for i in idx]
    rest = np.asarray([r for r, k in zip(rest, keep, strict=True) if k])

    # -- used regions only
    used = sorted(set(ridx.tolist()))
    remap = {r: i for i, r in enumerate(used)}
    ridx = np.asarray([remap[r] for r in ridx])
    windows = [windows[r] for r in used]
    region_ref = np.asarray([0.5 * (w0 + w1) * (1 + z0) for w0, w1 in windows])
    cont_unit = np.asarray(
        [max(np.median(np.abs(fl[ridx == r])), np.std(fl[ridx == r]), 1e-30) for r in range(len(windows))]
    )

    # -- line flux unit: the largest excess above the window median near a line
    excess = []
    for w in rest * (1 + z0):
        near = np.abs(0.5 * (lo + hi) - w) < w * 1000.0 / C_KMS + 2 * (hi - lo)
        if near.any():
            r = ridx[near][0]
            excess.append(abs(np.sum((fl[near] - np.median(fl[ridx == r])) * (hi - lo)[near])))
    line_unit = float(max(max(excess, default=0.0), 1e-30))
    if not line_unit > 1e-30:
        line_unit = float(np.median(er * (hi - lo)) * 10)

    # -- parameters
    gdict = {g.name: g for g in groups}
    sites: dict[str, Any] = {}
    fixed: dict[str, float] = {}

    def add(name, d):
        if isinstance(d, float):
            fixed[name] = d
        else:
            sites[name] = d

    zgroups = list(dict.fromkeys(s.redshift for s in specs))
    wgroups = list(dict.fromkeys(s.width for s in specs))
    for g in zgroups:
        if g in gdict and gdict[g].kind != "redshift":
            raise ConfigError(f"group {g!r} is used as a redshift group but declared kind = {gdict[g].kind!r}")
        add(f"z_{g}", distribution(_group_prior(gdict, g, "redshift"), shift=z0, what=f"redshift group {g}"))
    for g in wgroups:
        if g in gdict and gdict[g].kind != "width":
            raise ConfigError(f"group {g!r} is used as a width group but declared kind = {gdict[g].kind!r}")
        add(f"fwhm_{g}", distribution(_group_prior(gdict, g, "width"), what=f"width group {g}"))
    flux_sites, line_f, ratio = [], [], []
    for label in labels:
        root, r = label, 1.0
        seen = set()
        while specs[labels.index(root)].tie:
            if root in seen:
                raise ConfigError(f"line ties form a loop through {root!r}")
            seen.add(root)
            r *= specs[labels.index(root)].ratio
            root = specs[labels.index(root)].tie
        if root not in flux_sites:
            flux_sites.append(root)
        line_f.append(flux_sites.index(root)), ratio.append(r)
    for root in flux_sites:
        spec = specs[labels.index(root)]
        prior = spec.prior
        if prior.kind == "auto":
            prior = PriorSpec("uniform", low=0.0 if spec.positive else -50.0, high=50.0)
            add(f"flux_{root}", distribution(prior, what=f"flux of {root}"))
        else:
            add(f"flux_{root}", distribution(prior, factor=1.0 / line_unit, what=f"flux of {root}"))
    for r in range(len(windows)):
        if continuum.form == "polynomial":
            for k in range(continuum.order + 1):
                add(f"cont_r{r}_c{k}", distribution(PriorSpec("normal", loc=0.0, scale=100.0)))
        else:
            add(f"cont_r{r}_norm", distribution(PriorSpec("normal", loc=0.0, scale=100.0)))
            add(f"cont_r{r}_beta", distribution(PriorSpec("normal", loc=0.0, scale=10.0)))
    cdict = {c.name: c for c in calibration}
    tokens: dict[str, list[str | None]] = {"rscale": [], "flux_scale": [], "pix_offset": []}
    for b in bindings:
        for kind in tokens:
            name = getattr(b, kind) or None
            tokens[kind].append(name)
            if name is None:
                continue
            spec = cdict.get(name, CalibrationSpec(name, kind))
            if spec.kind != kind:
                raise ConfigError(f"calibration token {name!r} is declared kind = {spec.kind!r} but used as {kind}")
            prior = spec.prior if spec.prior.kind != "auto" else DEFAULTS[kind]
            add(f"{kind}_{name}", distribution(prior, what=f"calibration token {name}"))

    # -- resolution tables (1/R) per spectrum over its fitted range
    tab_w, tab_inv, snames = [], [], []
    for k, s in enumerate(work):
        name = s.meta.get("name") or bindings[k].name or f"spectrum{k}"
        snames.append(name if name not in snames else f"{name}_{k}")
        w = np.linspace(lo[sidx == k].min(), hi[sidx == k].max(), _NTAB) if np.any(sidx == k) else np.ones(_NTAB)
        res = s.meta.get("resolution")
        inv = np.zeros(_NTAB) if res is None else 1.0 / np.asarray(res(w * u.AA), float)
        if not np.all(np.isfinite(inv) & (inv >= 0)):
            raise SpectrumError(f"spectrum {snames[-1]}: resolution curve gives invalid R in {w[0]:.1f}-{w[-1]:.1f} A")
        tab_w.append(w), tab_inv.append(inv)

    plan = Plan(
        z0=z0, flux_unit=unit, line_unit=line_unit, labels=labels, names=names, rest=rest,
        line_z=np.asarray([zgroups.index(s.redshift) for s in specs]),
        line_w=np.asarray([wgroups.index(s.width) for s in specs]),
        line_f=np.asarray(line_f), ratio=np.asarray(ratio, float),
        lorentz=np.asarray([s.profile == "lorentzian" for s in specs]),
        zgroups=zgroups, wgroups=wgroups, flux_sites=flux_sites, regions=windows, region_ref=region_ref,
        cont_unit=cont_unit, form=continuum.form, order=continuum.order, spectra=snames, tokens=tokens,
        sites=sites, fixed=fixed,
    )  # fmt: skip
    args = {
        "low": lo, "high": hi, "flux": fl, "error": er, "spec": sidx, "region": ridx,
        "tab_w": np.asarray(tab_w), "tab_inv": np.asarray(tab_inv),
    }  # fmt: skip
    fitted = [w[m] for w, m in zip(work, kept, strict=True)]
    return LinesModel(plan, {k: _jnp(v) for k, v in args.items()}, fitted)


def _jnp(x: np.ndarray):
    import jax.numpy as jnp

    return jnp.asarray(x)


class LinesModel:
    """A built line model: ``model_fn(args)`` for NumPyro plus its static plan and fitted spectra.

    Attributes
    ----------
    plan : Plan
        Names, indices, priors and scales.
    args : dict
        Arrays: pixel edges ``low``/``high`` (A), ``flux``, ``error``, spectrum and region index per pixel,
        resolution tables.
    spectra : list of Spectrum
        The fitted pixels of each spectrum, in the working units (A, ``plan.flux_unit``).
    """

    def __init__(self, plan: Plan, args: dict, spectra: list[Spectrum]) -> None:
        self.plan, self.args, self.spectra = plan, args, spectra

    def __repr__(self) -> str:
        return (
            f"<LinesModel {len(self.plan.labels)} lines, {len(self.plan.sites)} free parameters, "
            f"{int(self.args['flux'].size)} pixels in {len(self.spectra)} spectra>"
        )

    def model_fn(self, args: dict) -> None:
        """The NumPyro model: priors of every parameter and a Gaussian likelihood of ``args['flux']``."""
        import numpyro
        import numpyro.distributions as dist

        params = {name: numpyro.sample(name, d) for name, d in self.plan.sites.items()}
        mu = predict(self.plan, params, args)["total"]
        numpyro.sample("obs", dist.Normal(mu, args["error"]), obs=args["flux"])

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

    from ._profiles import FWHM_PER_SIGMA, gaussian_pixel, polynomial_basis, powerlaw_pixel, pseudo_voigt_pixel

    v = lambda name: plan.value(params, name)
    nspec = len(plan.spectra)

    def per_spec(kind, default):
        return jnp.stack([jnp.asarray(default if n is None else v(f"{kind}_{n}"), float) for n in plan.tokens[kind]])

    rscale, fscale, poff = per_spec("rscale", 1.0), per_spec("flux_scale", 1.0), per_spec("pix_offset", 0.0)
    spec, region = args["spec"], args["region"]
    width = args["high"] - args["low"]
    a = args["low"] + poff[spec] * width
    b = args["high"] + poff[spec] * width

    z = jnp.stack([jnp.asarray(v(f"z_{g}"), float) for g in plan.zgroups])[plan.line_z]
    fwhm = jnp.stack([jnp.asarray(v(f"fwhm_{g}"), float) for g in plan.wgroups])[plan.line_w]
    flux = jnp.stack([jnp.asarray(v(f"flux_{f}"), float) for f in plan.flux_sites])[plan.line_f]
    flux = flux * plan.ratio * plan.line_unit
    mu = plan.rest * (1.0 + z)
    inv_r = jnp.stack([jnp.interp(mu, args["tab_w"][k], args["tab_inv"][k]) for k in range(nspec)])
    sig_instr = mu * inv_r / rscale[:, None] / FWHM_PER_SIGMA  # (nspec, nlines)
    f_int = mu * fwhm / 299792.458  # intrinsic FWHM in A
    gauss_int = jnp.where(plan.lorentz, 0.0, f_int / FWHM_PER_SIGMA)
    sigma = jnp.sqrt(gauss_int**2 + sig_instr**2)[spec]  # (npix, nlines)
    if plan.lorentz.any():
        sig_g = jnp.maximum(sigma, 1e-6 * mu)
        prof = jnp.where(
            plan.lorentz,
            pseudo_voigt_pixel(a[:, None], b[:, None], mu, sig_g, f_int),
            gaussian_pixel(a[:, None], b[:, None], mu, sigma),
        )
    else:
        prof = gaussian_pixel(a[:, None], b[:, None], mu, sigma)
    lines = prof * flux

    ref = jnp.asarray(plan.region_ref)[region]
    cu = jnp.asarray(plan.cont_unit)[region]
    nreg = len(plan.regions)
    if plan.form == "polynomial":
        coef = jnp.stack(
            [jnp.stack([jnp.asarray(v(f"cont_r{r}_c{k}"), float) for k in range(plan.order + 1)]) for r in range(nreg)]
        )
        cont = cu * jnp.sum(polynomial_basis(a, b, ref, plan.order) * coef[region], axis=-1)
    else:
        norm = jnp.stack([jnp.asarray(v(f"cont_r{r}_norm"), float) for r in range(nreg)])[region]
        beta = jnp.stack([jnp.asarray(v(f"cont_r{r}_beta"), float) for r in range(nreg)])[region]
        cont = cu * norm * powerlaw_pixel(a, b, ref, beta)
    scale = fscale[spec]
    return {"total": scale * (cont + lines.sum(axis=1)), "continuum": scale * cont, "lines": scale[:, None] * lines}
