"""Inference on a :class:`~specola.lines.model.LinesModel`: MAP, Laplace approximation and NUTS.

The log density, its gradient and Hessian are compiled once per model structure (cached on the
model's plan) and take the data arrays as arguments, so refitting other data on the same pixels
(simulations) reuses the compiled code.
"""

from __future__ import annotations

import logging
import sys
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.optimize import minimize

from ..errors import SpecolaError
from .model import LinesModel, enable_x64

__all__ = ["Posterior", "compiled", "find_map", "fit"]

log = logging.getLogger(__name__)


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
        from jax.flatten_util import ravel_pytree
        from numpyro.distributions.transforms import biject_to
        from numpyro.infer.util import potential_energy

        from .model import predict

        plan = model.plan
        self.names = sorted(plan.sites)  # ravel_pytree's order
        self.transforms = {n: biject_to(d.support) for n, d in plan.sites.items()}
        _, self.unravel = ravel_pytree({n: jnp.zeros(()) for n in self.names})
        unravel, fn = self.unravel, model.model_fn

        def potential(u, args):
            return potential_energy(fn, (args,), {}, unravel(u))

        def constrain(u):
            d = unravel(u)
            return {n: self.transforms[n](d[n]) for n in self.names}

        self.value_and_grad = jax.jit(jax.value_and_grad(potential))
        self.constrain = jax.jit(jax.vmap(constrain))
        self.predict = jax.jit(lambda p, args: predict(plan, p, args))
        self.linear = [n for n in self.names if n.startswith("flux_") or n.startswith("cont_")]
        self.linear = [n for n in self.linear if not n.endswith("_beta")]

        def design(p, args):
            def f(x):
                q = dict(p)
                q.update({n: x[i] for i, n in enumerate(self.linear)})
                return predict(plan, q, args)["total"]

            return jax.jacfwd(f)(jnp.zeros(len(self.linear)))

        self.design = jax.jit(design)

    def unconstrain(self, params: dict) -> np.ndarray:
        return np.asarray([float(self.transforms[n].inv(params[n])) for n in self.names])


def compiled(model: LinesModel) -> _Compiled:
    """The compiled functions of a model (built on first use, shared by :meth:`LinesModel.with_flux` copies)."""
    enable_x64()
    if "fns" not in model.plan.compiled:
        model.plan.compiled["fns"] = _Compiled(model)
    return model.plan.compiled["fns"]


def _centre(d) -> float:
    sup = d.support
    lo, hi = getattr(sup, "lower_bound", -np.inf), getattr(sup, "upper_bound", np.inf)
    loc = float(getattr(getattr(d, "base_dist", d), "loc", 0.5 * (float(lo) + float(hi))))
    return float(np.clip(loc, float(lo), float(hi)))


def _range(d) -> tuple[float, float]:
    """Scan range of a parameter: its bounds, or +-3 sigma of an unbounded prior."""
    sup = d.support
    lo, hi = float(getattr(sup, "lower_bound", -np.inf)), float(getattr(sup, "upper_bound", np.inf))
    if np.isfinite(lo) and np.isfinite(hi):
        return lo, hi
    base = getattr(d, "base_dist", d)
    loc, scale = float(getattr(base, "loc", 0.0)), float(getattr(base, "scale", 1.0))
    return max(lo, loc - 3 * scale), min(hi, loc + 3 * scale)


def _inside(d, x: float) -> float:
    sup = d.support
    lo, hi = float(getattr(sup, "lower_bound", -np.inf)), float(getattr(sup, "upper_bound", np.inf))
    pad = 1e-3 * (hi - lo) if np.isfinite(hi - lo) else 0.0
    return float(np.clip(x, lo + pad, hi - pad))


def _initial(model: LinesModel, fns: _Compiled) -> dict[str, float]:
    """Starting point: prior centres, then scans of redshift and width with linear least squares for the rest."""
    plan, args = model.plan, model.args
    p = {n: _centre(d) for n, d in plan.sites.items()}
    err = np.asarray(args["error"])
    y = np.asarray(args["flux"]) / err

    def solve(q):
        a = np.asarray(fns.design(q, args)) / err[:, None]
        x, *_ = np.linalg.lstsq(a, y, rcond=None)
        chi2 = float(np.sum((a @ x - y) ** 2))
        return chi2, {n: _inside(plan.sites[n], x[i]) for i, n in enumerate(fns.linear)}

    scans = [n for n in plan.sites if n.startswith(("z_", "fwhm_"))]
    for _ in range(2):
        for n in scans:
            d = plan.sites[n]
            lo, hi = _range(d)
            grid = np.linspace(lo, hi, 41 if n.startswith("z_") else 12)[1:-1]
            best = (np.inf, p[n])
            for g in grid:
                chi2, _ = solve({**p, n: g})
                best = min(best, (chi2, g))
            p[n] = float(best[1])
    p.update(solve(p)[1])
    return p


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
    args = model.args
    start = init or _initial(model, fns)
    u0 = fns.unconstrain(start)

    def f(u):
        v, g = fns.value_and_grad(u, args)
        return float(v), np.asarray(g, float)

    res = minimize(f, u0, jac=True, method="L-BFGS-B", options={"maxiter": 5000, "ftol": 1e-13, "gtol": 1e-8})
    if not np.all(np.isfinite(res.x)):
        raise SpecolaError("MAP optimisation failed (non-finite parameters); check priors and data")
    params = {n: float(np.asarray(fns.constrain(res.x[None])[n])[0]) for n in fns.names}
    return params, res.x


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
        gp = np.asarray(fns.value_and_grad(u + e, model.args)[1])
        gm = np.asarray(fns.value_and_grad(u - e, model.args)[1])
        cols.append((gp - gm) / (2 * step[j]))
    h = np.stack(cols, axis=1)
    return 0.5 * (h + h.T)


def _laplace(model: LinesModel, u_map: np.ndarray, num_samples: int, seed: int) -> tuple[dict, dict]:
    fns = compiled(model)
    h = hessian(model, u_map)
    w, v = np.linalg.eigh(h)
    bad = int(np.sum(w <= 0))
    if bad:
        log.warning("Laplace: Hessian has %d non-positive eigenvalue(s) at the MAP (a parameter at a bound?)", bad)
    w = np.where(w > 0, w, np.max(np.abs(w)) * 1e-12 + 1e-300)
    rng = np.random.default_rng(seed)
    z = rng.standard_normal((num_samples, len(u_map)))
    draws = u_map + (z / np.sqrt(w)) @ v.T
    out = fns.constrain(draws)
    return {n: np.asarray(out[n], float)[None, :] for n in fns.names}, {"hessian_nonpositive": bad}


def fit(
    model: LinesModel,
    method: str = "nuts",
    *,
    num_warmup: int = 300,
    num_samples: int = 500,
    num_chains: int = 2,
    seed: int = 0,
    progress: bool | None = None,
) -> Posterior:
    """Fit a line model: NUTS (default) or MAP + Laplace approximation.

    Parameters
    ----------
    model : LinesModel
        From :func:`specola.lines.build_model`.
    method : {"nuts", "laplace", "map"}
        NUTS sampling started at the MAP; a Gaussian approximation in unconstrained space at the MAP; or
        the MAP alone (one "draw").
    num_warmup, num_samples, num_chains : int
        NUTS settings (``num_samples`` is also the number of Laplace draws).
    seed : int
        Random seed.
    progress : bool, optional
        NUTS progress bar (default: only on a terminal).

    Returns
    -------
    Posterior
    """
    if method not in ("nuts", "laplace", "map"):
        raise SpecolaError(f"fit method must be 'nuts', 'laplace' or 'map', got {method!r}")
    params, u_map = find_map(model)
    if method == "map":
        return Posterior({n: np.full((1, 1), v) for n, v in params.items()}, "map", params)
    if method == "laplace":
        samples, diag = _laplace(model, u_map, num_samples, seed)
        return Posterior(samples, "laplace", params, diag)
    return _nuts(model, params, u_map, num_warmup, num_samples, num_chains, seed, progress)


def _nuts(model, params, u_map, num_warmup, num_samples, num_chains, seed, progress) -> Posterior:
    """NUTS in coordinates whitened by the Laplace approximation: ``u = u_map + L w``.

    The posterior of ``w`` is close to a unit normal, so short warm-up suffices; the whitening
    arrays travel in the model arguments, so the sampler compiles once per model structure.
    """
    import jax
    import jax.numpy as jnp
    import numpyro
    import numpyro.distributions as dist
    from numpyro.diagnostics import summary
    from numpyro.infer import MCMC, NUTS
    from numpyro.infer.util import potential_energy

    fns = compiled(model)
    n = len(u_map)
    key = ("mcmc", num_warmup, num_samples, num_chains)
    if key not in model.plan.compiled:
        fn, unravel = model.model_fn, fns.unravel

        def whitened(wargs):
            w = numpyro.sample("w", dist.ImproperUniform(dist.constraints.real_vector, (), (n,)))
            u = wargs["u_map"] + wargs["chol"] @ w
            with numpyro.handlers.block():  # the inner model's sites stay out of this trace
                pe = potential_energy(fn, (wargs["data"],), {}, unravel(u))
            numpyro.factor("log_density", -pe)

        kernel = NUTS(whitened, target_accept_prob=0.85, max_tree_depth=8)
        model.plan.compiled[key] = MCMC(
            kernel,
            num_warmup=num_warmup,
            num_samples=num_samples,
            num_chains=num_chains,
            chain_method="sequential",
            progress_bar=sys.stderr.isatty() if progress is None else progress,
            jit_model_args=True,
        )
    mcmc = model.plan.compiled[key]
    h = hessian(model, u_map)
    w_, v_ = np.linalg.eigh(h)
    w_ = np.where(w_ > 0, w_, np.max(np.abs(w_)) * 1e-8 + 1e-300)
    chol = v_ / np.sqrt(w_)  # covariance = chol @ chol.T
    rng = np.random.default_rng(seed)
    w0 = 0.1 * rng.standard_normal((num_chains, n))
    init = {"w": jnp.asarray(w0 if num_chains > 1 else w0[0])}
    wargs = {"u_map": jnp.asarray(u_map), "chol": jnp.asarray(chol), "data": model.args}
    mcmc.run(jax.random.PRNGKey(seed), wargs, init_params=init, extra_fields=("diverging",))
    w = np.asarray(mcmc.get_samples(group_by_chain=True)["w"], float)  # (chains, draws, n)
    u = u_map + w @ chol.T
    flat = fns.constrain(u.reshape(-1, n))
    samples = {name: np.asarray(flat[name], float).reshape(u.shape[:2]) for name in fns.names}
    stats = summary(samples, group_by_chain=True)
    div = int(np.asarray(mcmc.get_extra_fields()["diverging"]).sum())
    diag = {
        "divergences": div,
        "r_hat_max": float(np.nanmax([s["r_hat"] for s in stats.values()])) if num_chains > 1 else float("nan"),
        "n_eff_min": float(np.nanmin([s["n_eff"] for s in stats.values()])),
    }
    if div:
        log.warning("NUTS: %d divergent transitions; consider tighter priors or more warm-up", div)
    return Posterior(samples, "nuts", params, diag)
