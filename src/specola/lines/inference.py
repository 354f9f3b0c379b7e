"""Inference on a :class:`~specola.lines.model.LinesModel`: MAP, Laplace approximation and NUTS.

The log density, its gradient and Hessian are compiled once per model structure
(:meth:`~specola.lines.model.Plan.structure_key`, cached per process through
:func:`specola.batch.worker_cache`) and take the data arrays, padded to a length bucket, as arguments: every
spectrum of a configuration, whatever its pixel grid, reuses the compiled code (:func:`fit_many`). Across
processes, each function's trace is kept in the cache folder (:mod:`specola.lines._exported`) and its executable
in the persistent compilation cache, so a rerun of a known configuration runs none of their Python.
"""

from __future__ import annotations

import functools
import inspect
import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.optimize import minimize
from threadpoolctl import threadpool_limits

from ..errors import SpecolaError
from . import _coordinates as coordinates
from ._density import BOUNDED, constrain_point, unconstrain_point
from ._exported import PersistentJit
from .model import LinesModel

__all__ = ["Posterior", "compiled", "find_map", "fit", "fit_many"]

log = logging.getLogger(__name__)

# XLA options of every compiled function: without XLA's newer CPU fusion emitters the DJA PRISM model's gradient
# and NUTS steps compile ~30% faster and run as fast (a CPU-backend option)
_OPTIONS = {"xla_cpu_use_fusion_emitters": False}
_ONE_OFF = {**_OPTIONS, "xla_backend_optimization_level": 0}  # and of those called a few times per fit
_SCAN_CHUNK = 64  # starting-scan points per call of the compiled design matrix
#: Posterior draws a result evaluates its pointwise log-likelihood on (WAIC, PSIS-LOO).
LOG_LIKELIHOOD_DRAWS = 400


@dataclass
class Posterior:
    """Posterior draws of every free parameter, shape ``(chains, draws)``, plus the MAP and diagnostics."""

    samples: dict[str, np.ndarray]
    method: str
    map: dict[str, float]
    diagnostics: dict[str, Any] = field(default_factory=dict)

    def flat(self, name: str) -> np.ndarray:
        """All draws of one parameter, chains concatenated."""
        return np.asarray(self.samples[name]).reshape(-1)


class _Compiled:
    """Jitted functions of one model structure."""

    def __init__(self, model: LinesModel) -> None:
        import jax
        import jax.numpy as jnp

        from ._density import density_functions
        from .model import predict

        plan = model.plan
        self.names = sorted(plan.sites)  # the order of the unconstrained vector
        self._plan = plan
        self.key = plan.structure_key()
        self.extra: dict = {}  # whitened model and samplers, shared by every model of this structure
        # NumPyro's potential_energy of model.model_fn, vectorised over the parameters (~2x fewer operations)
        potential, constrain = density_functions(plan, self.names)
        self.potential = potential
        self.gradient = jax.jit(jax.value_and_grad(potential))  # one trace per process: the MAP's and NUTS'
        self.reverse_potential = _through_gradient(self.gradient)  # what NUTS differentiates
        # the MAP calls it ~600 times: unoptimised, ~50 ms more per fit and ~0.5 s less compilation
        self.value_and_grad = self.jit(self.gradient, "value_and_grad", one_off=True)
        self.constrain_many = self.jit(jax.vmap(constrain, in_axes=(0, None)), "constrain", one_off=True)
        self.predict = self.jit(lambda p, args: predict(plan, p, args), "predict", one_off=True)
        total = lambda p, args: predict(plan, p, args)["total"]
        self.total_many = self.jit(jax.vmap(total, in_axes=(0, None)), "total_many", one_off=True)  # draws at once
        # the parameters the model is linear in: line fluxes and continuum coefficients (not a FluxScale token,
        # which multiplies them, nor a power law's index)
        fluxes = {f"flux_{f}" for f in plan.flux_sites}
        self.linear = [n for n in self.names if n in fluxes or (n.startswith("cont_") and not n.endswith("_beta"))]
        self.bounded_fluxes = [n for n in self.names if n in fluxes and plan.sites[n].kind in BOUNDED]

        def design(p, args):
            def f(x):
                q = dict(p)
                q.update({n: x[i] for i, n in enumerate(self.linear)})
                return predict(plan, q, args)["total"]

            return jax.jacfwd(f)(jnp.zeros(len(self.linear)))

        self.design = design  # traced inside fit_many's batched scans
        self.design_many = self.jit(jax.vmap(design, in_axes=(0, None)), "design_many", one_off=True)

    def jit(self, fn, name: str, *, one_off: bool = False) -> PersistentJit:
        """``jax.jit`` of a function of this structure, traced once per argument signature across processes.

        ``one_off``: a function whose run time per fit is small against its compile time (called up to ~1000
        times): compiled without XLA's backend optimisations (~25-50% less compile time on CPU; each call
        ~1.5-2x slower).
        """
        return PersistentJit(fn, name, self.key, _ONE_OFF if one_off else _OPTIONS)

    @property
    def traces(self) -> int:
        """Argument signatures (length buckets) of the log density compiled or loaded in this process: a test hook."""
        return self.value_and_grad.signatures

    def unconstrain(self, params: dict, args: dict | None = None) -> np.ndarray:
        """The unconstrained vector of one parameter set (each support given the values it depends on).

        ``args``: the model's arguments (their ``z0`` shifts the redshift supports); default: the plan's own.
        """
        return unconstrain_point(self._plan, self.names, params, args)

    def constrain(self, u, args: dict) -> dict:
        """The parameters of many unconstrained vectors ``(draws, n)`` (compiled; one compile for any bucket)."""
        return self.constrain_many(u, self._plan.prior_args(args))

    def prepare_results(self, num_draws: int, args: dict, stop: Callable[[], bool] = lambda: False) -> None:
        """Compile (or load) the functions a result of ``num_draws`` draws evaluates, one by one until ``stop()``.

        The draws' parameters, the model of one parameter set, and the models of the draws of its pointwise
        log-likelihood (``LOG_LIKELIHOOD_DRAWS``).
        """
        import jax

        f64 = lambda *shape: jax.ShapeDtypeStruct(shape, np.float64)
        work = [
            (self.constrain_many, (f64(num_draws, len(self.names)), self._plan.prior_args(args))),
            (self.predict, ({k: f64() for k in self.names}, args)),
            (self.total_many, ({k: f64(min(num_draws, LOG_LIKELIHOOD_DRAWS)) for k in self.names}, args)),
        ]
        for fn, placeholders in work:
            if stop():
                return
            fn.prepare(*placeholders)

    def constrain_point(self, u: np.ndarray, args: dict | None = None) -> dict[str, float]:
        """The parameters of one unconstrained vector (e.g. the MAP), on the host: nothing to compile."""
        return constrain_point(self._plan, self.names, u, args)


def _through_gradient(gradient):
    """A potential whose reverse-mode derivative is ``gradient``'s (a jitted ``value_and_grad``), not a new trace.

    Differentiating the potential again would trace its Python again (~0.5-0.7 s for the DJA PRISM model); this
    way the MAP and the NUTS steps share one trace, and XLA inlines it, so the compiled code is the same. For
    reverse mode only (not ``jacfwd``).
    """
    import jax

    @jax.custom_vjp
    def potential(u, args):
        return gradient(u, args)[0]

    def fwd(u, args):
        v, g = gradient(u, args)
        return v, (g, args)

    def bwd(res, ct):
        g, args = res
        return ct * g, jax.tree.map(_zero_cotangent, args)

    potential.defvjp(fwd, bwd)
    return potential


def _zero_cotangent(x):
    """The zero cotangent of an argument (``float0`` for integer and boolean arrays, as JAX requires)."""
    import jax
    import jax.numpy as jnp

    if jnp.issubdtype(x.dtype, jnp.inexact):
        return jnp.zeros_like(x)
    return np.zeros(x.shape, jax.dtypes.float0)


def compiled(model: LinesModel) -> _Compiled:
    """The compiled functions of a model, shared by every model of the same structure in this process.

    They take ``model.padded`` (arrays padded to a length bucket), so spectra with other pixel grids reuse them.
    """
    from ..batch import worker_cache

    if "fns" not in model.plan.compiled:
        key = ("specola.lines.compiled", model.plan.structure_key())
        model.plan.compiled["fns"] = worker_cache(key, lambda: _Compiled(model))
    return model.plan.compiled["fns"]


def _initial(model: LinesModel, fns: _Compiled) -> dict[str, float]:
    """Starting point (:mod:`specola.lines._start`), each scan point solved by scipy's bounded least squares."""
    from scipy.optimize import lsq_linear

    from ._start import best_point, starts

    plan, args, npix = model.plan, model.padded, model.npix
    err = np.asarray(model.args["error"])
    y = np.asarray(model.args["flux"]) / err

    def solve(q, a):
        values = plan.config_values(q)
        lo, hi = np.transpose([plan.sites[n].bounds(values) for n in fns.linear])
        x = lsq_linear(a, y, bounds=(lo, hi), method="bvls").x
        return float(np.sum((a @ x - y) ** 2)), x

    def scan(ps, names, points):
        qs = [{**ps[0], **dict(zip(names, pt, strict=True))} for pt in points[0]]
        designs = []
        for j in range(0, len(qs), _SCAN_CHUNK):  # one call per chunk of points, padded: one signature
            chunk = qs[j : j + _SCAN_CHUNK]
            chunk += chunk[-1:] * (_SCAN_CHUNK - len(chunk))
            batch = {n: np.asarray([q[n] for q in chunk], np.float64) for n in fns.names}
            designs.append(np.asarray(fns.design_many(batch, args))[:, :npix] / err[:, None])
        a = np.concatenate(designs)
        chi2, x = zip(*(solve(q, a[k]) for k, q in enumerate(qs)), strict=True)
        return best_point(np.asarray(chi2))[None], np.asarray(x)[None]

    return starts([plan], fns.linear, scan)[0]


def find_map(model: LinesModel, init: dict[str, float] | None = None) -> tuple[dict[str, float], np.ndarray]:
    """Maximum a posteriori parameters and the unconstrained optimum vector.

    Parameters
    ----------
    model : LinesModel
        The model (its ``args`` hold the data).
    init : dict, optional
        Starting values (default: prior centres refined by redshift/width scans and linear least squares).

    Returns
    -------
    (dict, ndarray)
        MAP values by site name, and the optimum in unconstrained space.
    """
    fns = compiled(model)
    args = model.padded
    start = init or _initial(model, fns)
    u0 = fns.unconstrain(start, args)
    value_and_grad = fns.value_and_grad.executable(u0, args)
    scale = _preconditioner(hessian(model, u0))  # u = u0 + scale @ x

    def f(x):
        v, g = value_and_grad(u0 + scale @ x, args)
        return float(v), scale.T @ np.asarray(g, float)

    res = minimize(f, np.zeros(u0.size), jac=True, method="L-BFGS-B",
                   options={"maxiter": 5000, "ftol": 1e-13, "gtol": 1e-8})  # fmt: skip
    u = u0 + scale @ res.x
    if not np.all(np.isfinite(u)):
        raise SpecolaError("MAP optimisation failed (non-finite parameters); check priors and data")
    return fns.constrain_point(u, args), u


def _preconditioner(h: np.ndarray) -> np.ndarray:
    """``S`` with ``S^T |h| S = 1``: the principal directions of ``h`` scaled by their curvature (``|w|^-1/2``).

    The MAP's L-BFGS runs in ``x`` with ``u = u0 + S x``, a problem of unit scales: on the DJA PRISM demo (a
    redshift known to 1e-4 of its prior, fluxes to 10-100%) it converges in ~65 iterations instead of ~530, to a
    lower optimum. The whitening of NUTS and SVI (:func:`_whitened`) is ``S`` of the Hessian at the MAP. A
    negative curvature counts by its magnitude, one below 1e-10 of the largest as that floor (a very wide
    direction); a Hessian that is not finite gives no scaling.
    """
    if not np.all(np.isfinite(h)):
        return np.eye(len(h))
    w, v = np.linalg.eigh(h)
    w = np.abs(w)
    return v / np.sqrt(np.maximum(w, 1e-10 * np.max(w, initial=1e-300)))


def hessian(model: LinesModel, u: np.ndarray) -> np.ndarray:
    """Hessian of the potential in unconstrained space by central differences of the compiled gradient.

    Costs ``2 n`` gradient calls and no extra compilation (a JAX Hessian would compile a second graph).
    """
    fns = compiled(model)
    step = 1e-5 * np.maximum(1.0, np.abs(u))
    cols = []
    for j in range(len(u)):
        e = np.zeros_like(u)
        e[j] = step[j]
        gp = np.asarray(fns.value_and_grad(u + e, model.padded)[1])
        gm = np.asarray(fns.value_and_grad(u - e, model.padded)[1])
        cols.append((gp - gm) / (2 * step[j]))
    h = np.stack(cols, axis=1)
    return 0.5 * (h + h.T)


def laplace_draws(u: np.ndarray, h: np.ndarray, num_samples: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Draws of the Gaussian with mean ``u`` and precision ``h`` (both with any leading batch axes).

    Returns the draws ``(..., num_samples, n)`` and the count of non-positive eigenvalues of ``h`` per batch
    entry (replaced by a tiny positive value: a very wide direction). Every batch entry uses the same normal
    deviates of ``seed``, so one spectrum gets the same draws alone (:func:`fit`) as in a batch (:func:`fit_many`).
    """
    w, v = np.linalg.eigh(0.5 * (h + np.swapaxes(h, -1, -2)))
    bad = np.sum(w <= 0, axis=-1)
    w = np.where(w > 0, w, np.max(np.abs(w), axis=-1, keepdims=True) * 1e-12 + 1e-300)
    z = np.random.default_rng(seed).standard_normal((num_samples, u.shape[-1]))
    return u[..., None, :] + np.einsum("sj,...j,...ij->...si", z, 1 / np.sqrt(w), v), bad


def _laplace(model: LinesModel, u_map: np.ndarray, num_samples: int, seed: int) -> tuple[dict, dict]:
    fns = compiled(model)
    draws, bad = laplace_draws(u_map, hessian(model, u_map), num_samples, seed)
    if bad:
        log.warning("Laplace: Hessian has %d non-positive eigenvalue(s) at the MAP (a parameter at a bound?)", bad)
    out = fns.constrain(draws, model.padded)
    return {n: np.asarray(out[n], float)[None, :] for n in fns.names}, {"hessian_nonpositive": int(bad)}


_METHODS = ("nuts", "laplace", "svi", "map")


def fit(
    model: LinesModel,
    method: str = "nuts",
    *,
    num_warmup: int | None = None,
    num_samples: int | None = None,
    num_chains: int | None = None,
    seed: int | None = None,
    svi_guide: str | None = None,
    svi_steps: int | None = None,
    svi_learning_rate: float | None = None,
    progress: bool | None = None,
) -> Posterior:
    """Fit a line model: NUTS (default), MAP + Laplace approximation, SVI with an autoguide, or the MAP.

    Parameters
    ----------
    model : LinesModel
        From :func:`specola.lines.build_model`.
    method : {"nuts", "laplace", "svi", "map"}
        NUTS sampling started at the MAP; a Gaussian approximation in unconstrained space at the MAP; SVI
        (NumPyro autoguide, started at the MAP, so narrow and broad components do not start cancelling); or
        the MAP alone (one "draw").
    num_warmup, num_samples, num_chains, seed, svi_guide, svi_steps, svi_learning_rate
        Settings; None takes the default of :class:`~specola.lines.config.FitSection` (``num_samples`` is also
        the number of Laplace and SVI draws).
    progress : bool, optional
        NUTS progress bar (default: only on a terminal).

    Returns
    -------
    Posterior
        Draws ``(chains, draws)`` per parameter; ``diagnostics`` holds the seed, and for NUTS split-chain R-hat,
        effective sample size and divergences (each warned on when poor).
    """
    from .config import FitSection

    if method not in _METHODS:
        raise SpecolaError(f"fit method must be one of {', '.join(_METHODS)}, got {method!r}")
    d = FitSection()
    pick = lambda x, default: default if x is None else x
    num_samples, seed = pick(num_samples, d.num_samples), pick(seed, d.seed)
    warmup, chains = pick(num_warmup, d.num_warmup), pick(num_chains, d.num_chains)
    if method == "nuts":
        _prepare_nuts(model, warmup, chains * num_samples)
    with threadpool_limits(limits=1, user_api="blas"):  # tiny matrices: BLAS threads only contend (10x slower)
        params, u_map = find_map(model)
        if method == "laplace":
            samples, diag = _laplace(model, u_map, num_samples, seed)
            return Posterior(samples, "laplace", params, {"seed": seed, **diag})
    if method == "map":
        return Posterior({n: np.full((1, 1), v) for n, v in params.items()}, "map", params, {"seed": seed})
    if method == "svi":
        guide, steps = pick(svi_guide, d.svi_guide), pick(svi_steps, d.svi_steps)
        lr = pick(svi_learning_rate, d.svi_learning_rate)
        return _svi(model, params, u_map, guide, steps, lr, num_samples, seed)
    return _nuts(model, params, u_map, warmup, num_samples, chains, seed, progress)


def fit_many(
    models: Sequence[LinesModel], method: str = "laplace", *, progress: bool | None = None, **settings: Any
) -> list[Posterior]:
    """Fit many models of one configuration (e.g. a survey's spectra) on one set of compiled functions.

    Models of the same structure (:meth:`~specola.lines.model.Plan.structure_key`: same lines, priors and
    rest-frame windows) share their compiled log density, whatever their pixel grids and redshifts, so only
    the first model of each length bucket compiles. MAP and MAP + Laplace fit the models of one structure and
    bucket together, in batches through vmapped functions (the same start, optimum and approximation as
    :func:`fit`); NUTS and SVI fit them one after the other.

    Parameters
    ----------
    models : sequence of LinesModel
        From :func:`specola.lines.build_model`, one per spectrum (or set of spectra).
    method : {"laplace", "map", "nuts", "svi"}
        As in :func:`fit` (default the quick MAP + Laplace approximation).
    progress : bool, optional
        Progress bar over the models, or batches of models (default: only on a terminal).
    **settings
        Passed to :func:`fit` (``num_samples``, ``seed``, ...).

    Returns
    -------
    list of Posterior
        One per model, in order (batched fits also record ``newton_steps`` in ``diagnostics``).
    """
    from tqdm.auto import tqdm

    from ._batched import fit_batched
    from .config import FitSection

    if method not in _METHODS:
        raise SpecolaError(f"fit method must be one of {', '.join(_METHODS)}, got {method!r}")
    inspect.signature(fit).bind(None, method, **settings)  # unknown settings fail as in fit
    structures = len({m.plan.structure_key() for m in models})
    if structures > 1:
        log.info("fit_many: %d models of %d structures (each structure compiles once)", len(models), structures)
    disable = None if progress is None else not progress
    if method in ("laplace", "map"):
        d = FitSection()
        pick = lambda key, default: default if settings.get(key) is None else settings[key]
        return fit_batched(models, method, pick("num_samples", d.num_samples), pick("seed", d.seed), progress)
    return [fit(m, method, progress=False, **settings) for m in tqdm(models, desc="lines", disable=disable)]


def _whitened(model: LinesModel, u_map: np.ndarray) -> tuple[Any, dict]:
    """The model in coordinates ``w`` whitened by the Laplace approximation, and its args.

    ``u = to_u(v0 + L w)`` (:mod:`specola.lines._coordinates`: a bounded flux is sampled in a coordinate that
    is linear in it, others in ``u``), with ``L L^T`` the inverse of the Hessian in ``v`` at the MAP. The
    posterior of ``w`` is close to a unit normal whatever the parameters' own scales (a redshift known to
    1e-6, a flux to 10%), so NUTS needs little warm-up and SVI's step size means the same for every parameter.
    """
    import numpyro
    import numpyro.distributions as dist

    from ._jax import device

    fns = compiled(model)
    n = len(u_map)
    if "whitened" not in fns.extra:
        potential = fns.potential

        def whitened(wargs):
            w = numpyro.sample("w", dist.ImproperUniform(dist.constraints.real_vector, (), (n,)))
            numpyro.factor("log_density", -_whitened_potential(potential, w, wargs))

        fns.extra["whitened"] = whitened
    h = hessian(model, u_map)
    sd_u = np.sqrt(np.sum(_preconditioner(h) ** 2, axis=1))  # the Laplace widths
    sign, q = coordinates.flux_coordinates(u_map, sd_u, np.isin(fns.names, fns.bounded_fluxes))
    v0 = coordinates.from_u(u_map, sign, q)
    jac = coordinates.jacobian(v0, sign, q)
    # the Hessian in v: J H J, the gradient in u being zero at the MAP (the Jacobian term's own curvature is left
    # out: it would only rescale the whitening, and could make it indefinite)
    chol = _preconditioner(jac[:, None] * h * jac[None, :])
    wargs = {"v0": device(v0), "chol": device(chol), "sign": device(sign), "q": device(q), "data": model.padded}
    return fns.extra["whitened"], wargs


def _whitened_potential(potential, w, wa: dict):
    """The potential of the whitened coordinates ``w`` (JAX), given the args of :func:`_whitened`."""
    import jax.numpy as jnp

    v = wa["v0"] + wa["chol"] @ w
    u = coordinates.to_u(v, wa["sign"], wa["q"], jnp)
    return potential(u, wa["data"]) - jnp.sum(coordinates.log_jacobian(v, wa["sign"], wa["q"], jnp))


def _from_whitened(model: LinesModel, w: np.ndarray, wargs: dict) -> dict[str, np.ndarray]:
    """Constrained draws ``(chains, draws)`` per parameter from whitened draws ``(chains, draws, n)``."""
    fns = compiled(model)
    v = np.asarray(wargs["v0"]) + w @ np.asarray(wargs["chol"]).T
    u = coordinates.to_u(v, np.asarray(wargs["sign"]), np.asarray(wargs["q"]))
    flat = fns.constrain(u.reshape(-1, u.shape[-1]), wargs["data"])
    return {name: np.asarray(flat[name], float).reshape(u.shape[:2]) for name in fns.names}


def _svi(model, params, u_map, guide_name, steps, lr, num_samples, seed) -> Posterior:
    """Stochastic variational inference with a NumPyro autoguide in whitened coordinates, started at the MAP."""
    import jax
    import jax.numpy as jnp
    from numpyro import optim
    from numpyro.infer import SVI, Trace_ELBO, autoguide, init_to_value

    guides = {"normal": autoguide.AutoNormal, "multivariate": autoguide.AutoMultivariateNormal,
              "lowrank": autoguide.AutoLowRankMultivariateNormal, "delta": autoguide.AutoDelta}  # fmt: skip
    fn, wargs = _whitened(model, u_map)
    init = init_to_value(values={"w": jnp.zeros(len(u_map))})
    kwargs = {} if guide_name == "delta" else {"init_scale": 0.1}
    guide = guides[guide_name](fn, init_loc_fn=init, **kwargs)
    svi = SVI(fn, guide, optim.Adam(lr), loss=Trace_ELBO())
    out = svi.run(jax.random.PRNGKey(seed), steps, wargs, progress_bar=False)
    draws = guide.sample_posterior(jax.random.PRNGKey(seed + 1), out.params, sample_shape=(num_samples,))
    samples = _from_whitened(model, np.asarray(draws["w"], float)[None], wargs)
    losses = np.asarray(out.losses, float)
    tail = losses[-max(1, steps // 10) :]
    diag = {"seed": seed, "guide": guide_name, "steps": steps, "final_loss": float(tail.mean()),
            "loss_trend": float(tail[-1] - tail[0])}  # fmt: skip
    if not np.all(np.isfinite(losses[-10:])):
        raise SpecolaError("SVI diverged (non-finite ELBO); lower fit.svi_learning_rate")
    return Posterior(samples, "svi", params, diag | {"losses": losses})


def _chain_diagnostics(samples: dict[str, np.ndarray], divergences: int) -> dict[str, Any]:
    """Split-chain R-hat (defined for a single chain too), minimum bulk ESS and divergences, warned on."""
    from numpyro.diagnostics import effective_sample_size, split_gelman_rubin

    chains, draws = next(iter(samples.values())).shape
    r_hat = {n: float(split_gelman_rubin(v)) for n, v in samples.items()} if draws >= 4 else {}
    ess = {n: float(effective_sample_size(v)) for n, v in samples.items()}
    worst_r = max(r_hat, key=r_hat.get) if r_hat else None
    worst_e = min(ess, key=ess.get)
    diag = {
        "divergences": divergences,
        "r_hat_max": r_hat[worst_r] if worst_r else float("nan"),
        "r_hat_method": f"split R-hat over {chains} chain(s) x 2 halves" if r_hat else "too few draws (< 4)",
        "n_eff_min": ess[worst_e],
        "warnings": [],
    }
    if not r_hat:
        diag["warnings"].append(f"R-hat cannot be computed from {draws} draws per chain")
    elif diag["r_hat_max"] > 1.01:
        diag["warnings"].append(f"R-hat {diag['r_hat_max']:.3f} > 1.01 for {worst_r}: chains have not converged")
    if ess[worst_e] < min(100.0, 0.1 * chains * draws) or ess[worst_e] < 50:
        diag["warnings"].append(f"low effective sample size {ess[worst_e]:.0f} of {chains * draws} draws for {worst_e}")
    if divergences:
        diag["warnings"].append(f"{divergences} divergent transitions; consider tighter priors or more warm-up")
    for text in diag["warnings"]:
        log.warning("NUTS: %s", text)
    return diag


_CHUNK = 50  # NUTS steps per compiled call: progress is reported between calls


def _nuts_kernels(fns: _Compiled, num_warmup: int) -> tuple[Any, Any]:
    """``init(w0, pe, grad, ids, wargs)`` and ``advance(state, wargs)`` (``_CHUNK`` NUTS steps) of one structure.

    ``init`` takes the whitened potential and its gradient at ``w0`` (from the MAP's compiled gradient, see
    :func:`_whitened_start`), so its executable holds no gradient of its own and compiles in a fraction of
    the time; ``ids`` is ``(seed, chain)``, the chain's random key made inside it. The potential is generated
    from the model arguments (data, MAP and whitening), so nothing but the model structure and ``num_warmup``
    is compiled in: reruns and other spectra of the configuration load the same functions from the cache
    folder without tracing (:class:`~specola.lines._exported.PersistentJit`). The
    sampler state travels as the flat list of its arrays (an exported function's outputs are plain pytrees).
    No host callbacks (progress bars) live inside the compiled code.
    """
    key = ("nuts", num_warmup)
    if key in fns.extra:
        return fns.extra[key]
    import jax

    potential = fns.reverse_potential

    def kernels(w0, pe, grad, rng, wargs):  # runs only while tracing: a warm run need not import NumPyro here
        from numpyro.infer.hmc import hmc
        from numpyro.infer.util import ParamInfo

        def gen(wa):
            return lambda w: _whitened_potential(potential, w, wa)

        init_kernel, sample_kernel = hmc(potential_fn_gen=gen, algo="NUTS")
        state = init_kernel(ParamInfo(w0, pe, grad), num_warmup, target_accept_prob=0.85, max_tree_depth=8,
                            model_args=(wargs,), rng_key=rng)  # fmt: skip
        return state, sample_kernel

    def start(w0, pe, grad, ids, wargs):  # the chain's key from (seed, chain): no random function compiled apart
        return kernels(w0, pe, grad, jax.random.fold_in(jax.random.PRNGKey(ids[0]), ids[1]), wargs)[0]

    def init(w0, pe, grad, ids, wargs):
        return jax.tree.leaves(start(w0, pe, grad, ids, wargs))

    def advance(leaves, wargs):
        like = _init_like(jax.ShapeDtypeStruct(wargs["v0"].shape, wargs["v0"].dtype), wargs)
        tree = jax.tree.structure(jax.eval_shape(start, *like))
        s = jax.tree.unflatten(tree, leaves)
        _, sample_kernel = kernels(s.z, s.potential_energy, s.z_grad, s.rng_key, wargs)  # sets the warm-up schedule

        def body(s, _):
            s = sample_kernel(s, model_args=(wargs,))
            return s, (s.z, s.diverging)

        s, out = jax.lax.scan(body, s, None, length=_CHUNK)
        return jax.tree.leaves(s), out

    fns.extra[key] = (
        fns.jit(init, f"nuts_init_{num_warmup}", one_off=True),
        fns.jit(advance, f"nuts_advance_{num_warmup}"),
    )
    return fns.extra[key]


def _prepare_nuts(model: LinesModel, num_warmup: int, num_draws: int) -> None:
    """Compile (or load) the NUTS kernels of this model in a thread, while the caller finds the MAP.

    XLA compiles without holding the GIL, so on two cores the sampler's set-up and steps compile beside the
    MAP's own functions, and the result's functions (:meth:`_Compiled.prepare_results`) beside the sampling.
    Their arguments are known before the MAP: only its shapes enter them. A call of a function being prepared
    waits for it; a failure here is only logged (the caller's thread then compiles what is missing).
    """
    import jax

    fns = compiled(model)
    init, advance = _nuts_kernels(fns, num_warmup)

    def work():
        try:
            n = len(fns.names)
            vec = jax.ShapeDtypeStruct((n,), np.float64)
            like = _init_like(vec, {"v0": vec, "chol": jax.ShapeDtypeStruct((n, n), np.float64), "sign": vec,
                                    "q": vec, "data": model.padded})  # fmt: skip
            state = init.eval_shape(*like)
            if not advance.stored(state, like[-1]):  # traced here first, the MAP's set-up reuses the trace
                jax.eval_shape(fns.gradient, vec, model.padded)
            init.prepare(*like)  # small, and first: the caller's would wait behind the sampler's compilation
            advance.prepare(state, like[-1])
            fns.prepare_results(num_draws, model.padded)
            import numpyro.diagnostics  # noqa: F401  (for the chain diagnostics, imported beside the sampling)
        except Exception as exc:  # the sampler compiles in the caller's thread instead
            log.debug("NUTS kernels not prepared ahead: %s", exc)

    threading.Thread(target=work, name="specola-nuts-compile", daemon=True).start()


def _init_like(vec: Any, wargs: dict) -> tuple:
    """Placeholders of the arguments of the NUTS ``init`` (``w0, pe, grad, ids, wargs``) for a vector ``vec``."""
    import jax

    return vec, jax.ShapeDtypeStruct((), vec.dtype), vec, jax.ShapeDtypeStruct((2,), np.int64), wargs


def _whitened_start(fns: _Compiled, w0: np.ndarray, wargs: dict) -> tuple:
    """``w0``, the whitened potential there and its gradient, from the compiled gradient of the potential."""
    from ._jax import device

    chol, sign, q = (np.asarray(wargs[k]) for k in ("chol", "sign", "q"))
    v = np.asarray(wargs["v0"]) + chol @ w0
    pe, grad = fns.value_and_grad(device(coordinates.to_u(v, sign, q)), wargs["data"])
    pe_v = float(pe) - float(np.sum(coordinates.log_jacobian(v, sign, q)))
    grad_v = coordinates.jacobian(v, sign, q) * np.asarray(grad) - coordinates.log_jacobian_slope(v, sign, q)
    return device(w0), device(np.float64(pe_v)), device(chol.T @ grad_v)


def _nuts(model, params, u_map, num_warmup, num_samples, num_chains, seed, progress) -> Posterior:
    """NUTS in whitened coordinates (see :func:`_whitened`), chains one after the other.

    Each chain runs as compiled chunks of ``_CHUNK`` steps (:func:`_nuts_kernels`), with the progress bar
    updated between chunks; the draws are the steps after ``num_warmup``.
    """
    from tqdm.auto import tqdm

    from ._jax import device

    fns = compiled(model)
    _, wargs = _whitened(model, u_map)
    init, advance = _nuts_kernels(fns, num_warmup)
    rng = np.random.default_rng(seed)
    w0 = 0.1 * rng.standard_normal((num_chains, len(u_map)))
    total = num_warmup + num_samples
    nchunks = -(-total // _CHUNK)
    disable = None if progress is None else not progress  # None: a terminal only, and TQDM_DISABLE (-q) holds
    draws, div = [], 0
    t0 = time.perf_counter()
    for c in range(num_chains):
        state = init(*_whitened_start(fns, w0[c], wargs), device(np.asarray([seed, c], np.int64)), wargs)
        if c == 0:
            # while the thread still compiles the sampler, the result's functions here (else beside the sampling)
            ready = functools.partial(advance.ready, state, wargs)
            fns.prepare_results(num_chains * num_samples, model.padded, stop=ready)
            advance.prepare(state, wargs)
            t1 = time.perf_counter()
            log.info("NUTS: sampling starts, %.2f s after the MAP (sampler set up)", t1 - t0)
        zs, ds = [], []
        for k in tqdm(range(nchunks), desc=f"NUTS chain {c + 1}/{num_chains}", disable=disable, unit="chunk"):
            state, (z, d) = advance(state, wargs)
            zs.append(np.asarray(z))
            ds.append(np.asarray(d))
            if c == 0 and k == 0:
                log.info("NUTS: first %d steps done %.2f s after sampling started", _CHUNK, time.perf_counter() - t1)
        draws.append(np.concatenate(zs)[num_warmup:total])
        div += int(np.concatenate(ds)[num_warmup:total].sum())
    samples = _from_whitened(model, np.stack(draws), wargs)
    diag = {"seed": seed, "num_warmup": num_warmup, **_chain_diagnostics(samples, div)}
    return Posterior(samples, "nuts", params, diag)
