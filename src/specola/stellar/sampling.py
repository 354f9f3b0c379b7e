"""Samplers: emcee (affine-invariant MCMC) and dynesty (nested sampling, Bayesian evidence)."""

from __future__ import annotations

import logging
import math
import multiprocessing
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.optimize import minimize

from ..errors import ConfigError
from .coords import ReparametrisedPosterior
from .likelihood import LogPosterior, _init_worker, _worker_call
from .moves import MOVES, emcee_moves

__all__ = ["MOVES", "SamplerOutput", "find_start", "initial_ball", "run_dynesty", "run_emcee"]

log = logging.getLogger(__name__)


@dataclass
class SamplerOutput:
    """Posterior samples and diagnostics of one sampler run.

    Attributes
    ----------
    method : str
        ``"emcee"`` or ``"dynesty"``.
    samples : ndarray
        Posterior samples after burn-in, shape ``(n, ndim)`` (equal weights).
    lnprob, lnlike : ndarray
        Log posterior and log likelihood of each sample.
    chain, chain_lnprob : ndarray or None
        Full emcee chain ``(nsteps, nwalkers, ndim)`` and its log posterior.
    burnin : int
        Steps discarded (emcee).
    diagnostics : dict
        Acceptance fractions and autocorrelation times (emcee) or run statistics (dynesty).
    log_evidence, log_evidence_error : float or None
        ln Z and its uncertainty (dynesty).
    """

    method: str
    samples: np.ndarray
    lnprob: np.ndarray
    lnlike: np.ndarray
    chain: np.ndarray | None = None
    chain_lnprob: np.ndarray | None = None
    burnin: int = 0
    diagnostics: dict[str, Any] = field(default_factory=dict)
    log_evidence: float | None = None
    log_evidence_error: float | None = None


def find_start(posterior: LogPosterior, start: np.ndarray, rng: np.random.Generator, n_random: int = 200) -> np.ndarray:
    """Maximum a posteriori estimate by Nelder-Mead from the default and the best random prior draws.

    Parameters
    ----------
    posterior : LogPosterior
        The target.
    start : ndarray
        Default starting vector (used if every optimisation fails).
    rng : numpy Generator
        Random numbers for the prior draws.
    n_random : int
        Prior draws screened for starting points.

    Returns
    -------
    ndarray
    """
    space = posterior.space
    candidates = [start, *space.sample(n_random, rng)]
    values = np.array([posterior(c) for c in candidates])
    order = np.argsort(-values)[:3]
    best, best_val = start, posterior(start)
    neg = lambda t: -v if np.isfinite(v := posterior(t)) else 1e300
    opts = {"maxiter": 3000, "xatol": 1e-8, "fatol": 1e-9}
    for i in order:
        if not np.isfinite(values[i]):
            continue
        res = minimize(neg, candidates[i], method="Nelder-Mead", options=opts)
        if -res.fun > best_val:
            best, best_val = res.x, -res.fun
    if np.isfinite(best_val):  # restart once from the best point (Nelder-Mead stalls in narrow valleys)
        res = minimize(neg, best, method="Nelder-Mead", options=opts)
        if -res.fun > best_val:
            best, best_val = res.x, -res.fun
    if not np.isfinite(best_val):
        raise ConfigError("no starting point with a finite posterior was found; check the priors and star.* defaults")
    return np.asarray(best, float)


def initial_ball(
    posterior: LogPosterior, centre: np.ndarray, nwalkers: int, rng: np.random.Generator, scale: float = 1e-3
) -> np.ndarray:
    """Walkers in a small ball around ``centre``, every one with a finite posterior.

    The ball's size per parameter is ``scale`` times the prior width; walkers
    falling outside the prior are redrawn, closer to ``centre`` each time.

    Returns
    -------
    ndarray
        Shape ``(nwalkers, ndim)``.

    Raises
    ------
    ConfigError
        When ``centre`` itself is outside the prior.
    """
    space = posterior.space
    width = np.array([space.priors[n].high - space.priors[n].low for n in space.names], float)
    width = np.where(np.isfinite(width) & (width > 0), width, 1.0)
    return _ball(posterior, centre, scale * width, nwalkers, rng)


def _ball(fn, centre: np.ndarray, scale: np.ndarray, nwalkers: int, rng: np.random.Generator) -> np.ndarray:
    """Gaussian ball of ``nwalkers`` around ``centre`` where ``fn`` is finite (shrinking redraws)."""
    if not np.isfinite(fn(centre)):
        raise ConfigError("the starting point is outside the prior; check star.* defaults and priors.*")
    p0 = np.empty((nwalkers, centre.size))
    for k in range(nwalkers):
        s = 1.0
        for _ in range(200):
            trial = centre + s * scale * rng.standard_normal(centre.size)
            if np.isfinite(fn(trial)):
                break
            s *= 0.8
        else:
            trial = centre
        p0[k] = trial
    return p0


def autocorr_time(chain: np.ndarray, c: float = 5.0) -> tuple[np.ndarray, int]:
    """Integrated autocorrelation time per parameter (Sokal's window, as in emcee).

    The autocorrelation function is averaged over walkers that moved (a walker
    stuck at one position has no defined autocorrelation); their number is returned.

    Parameters
    ----------
    chain : ndarray
        Shape ``(nsteps, nwalkers, ndim)``.
    c : float
        Window constant.

    Returns
    -------
    (ndarray, int)
        tau per parameter, number of stuck walkers.
    """
    from emcee.autocorr import auto_window, function_1d

    moving = np.ptp(chain, axis=0).min(axis=1) > 0
    tau = np.full(chain.shape[2], np.inf)
    if moving.any() and chain.shape[0] > 2:
        for k in range(chain.shape[2]):
            f = np.mean([function_1d(chain[:, w, k]) for w in np.flatnonzero(moving)], axis=0)
            taus = 2.0 * np.cumsum(f) - 1.0
            tau[k] = taus[auto_window(taus, c)]
    return tau, int((~moving).sum())


def _n_walkers(ndim: int, per_dim: int) -> int:
    n = max(per_dim * ndim, 2 * ndim + 2)
    return n + (n % 2)


def run_emcee(
    posterior: LogPosterior,
    start: np.ndarray,
    nsteps: int,
    burnin_fraction: float,
    walkers_per_dim: int,
    seed: int,
    ncpu: int = 1,
    progress: bool = True,
    p0: np.ndarray | None = None,
    moves: str = "kde+de",
    unconstrained: bool = True,
) -> SamplerOutput:
    """Sample the posterior with emcee.

    Parameters
    ----------
    posterior : LogPosterior
        The target (evaluated vectorised in-process, or per walker in ``ncpu`` workers
        that receive the posterior once through a pool initializer).
    start : ndarray
        Centre of the initial ball.
    nsteps : int
        Steps per walker.
    burnin_fraction : float
        Fraction of steps discarded.
    walkers_per_dim : int
        Walkers per fitted parameter.
    seed : int
        Seed of the initial ball and of emcee's moves.
    ncpu : int
        Worker processes (1 = vectorised in this process).
    progress : bool
        Show a tqdm bar (silent off a terminal).
    p0 : ndarray, optional
        Initial walker positions ``(nwalkers, ndim)`` (e.g. prior draws) instead of a ball around ``start``.
    moves : str
        Proposal mixture, one of :data:`MOVES` (see :func:`emcee_moves`).
    unconstrained : bool
        Sample in the unconstrained coordinates of :mod:`specola.stellar.coords` (an exact change of
        variables; the returned chain is in the physical parameters).

    Returns
    -------
    SamplerOutput
        The diagnostics hold the autocorrelation times of the physical parameters and of the sampling
        coordinates; the chain counts as converged when ``nsteps > 50 tau`` for the largest of both.
    """
    import emcee

    rng = np.random.default_rng(seed)
    ndim = posterior.ndim
    target = ReparametrisedPosterior(posterior) if unconstrained else posterior
    coords = target.coords if unconstrained else None
    if p0 is not None:
        if not np.all(np.isfinite([posterior(p) for p in p0])):
            raise ConfigError("every initial walker must lie inside the prior")
        z0 = coords.to_sampling(p0) if coords else np.asarray(p0, float)
    elif coords:
        centre = coords.to_sampling(start)
        z0 = _ball(target, centre, np.full(ndim, 1e-3), _n_walkers(ndim, walkers_per_dim), rng)
    else:
        z0 = initial_ball(posterior, start, _n_walkers(ndim, walkers_per_dim), rng)
    nwalkers = len(z0)
    state = emcee.State(z0, random_state=np.random.RandomState(seed).get_state())
    kwargs = {"progress": progress, "progress_kwargs": {"disable": None if progress else True}}
    proposal = emcee_moves(moves)
    if ncpu > 1:
        ctx = multiprocessing.get_context("fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn")
        with ctx.Pool(ncpu, initializer=_init_worker, initargs=(target,)) as pool:
            sampler = emcee.EnsembleSampler(nwalkers, ndim, _worker_call, pool=pool, moves=proposal, blobs_dtype=float)
            sampler.run_mcmc(state, nsteps, **kwargs)
    else:
        sampler = emcee.EnsembleSampler(nwalkers, ndim, target.batch, vectorize=True, moves=proposal, blobs_dtype=float)
        sampler.random_state = state.random_state
        sampler.run_mcmc(state, nsteps, **kwargs)
    zchain = sampler.get_chain()
    lnprob = sampler.get_log_prob()
    lnlike = np.asarray(sampler.get_blobs())
    if coords:
        flat, log_jac = coords.from_sampling(zchain.reshape(-1, ndim))
        chain = flat.reshape(zchain.shape)
        lnprob = lnprob - log_jac.reshape(lnprob.shape)  # back to the physical posterior density
    else:
        chain = zchain
    burnin = min(int(burnin_fraction * nsteps), nsteps - 1)
    names = posterior.space.names
    tau, stuck = autocorr_time(chain[burnin:])
    tau_z = autocorr_time(zchain[burnin:])[0] if coords else tau
    tau_max = float(max(np.max(tau), np.max(tau_z)))
    acc = sampler.acceptance_fraction
    kept = nsteps - burnin
    diagnostics = {
        "nwalkers": nwalkers,
        "nsteps": nsteps,
        "burnin": burnin,
        "moves": moves,
        "sampling_coordinates": "unconstrained (logit of the conditional prior interval)" if coords else "physical",
        "acceptance_mean": float(acc.mean()),
        "acceptance_min": float(acc.min()),
        "acceptance_max": float(acc.max()),
        "autocorr_time": {n: float(t) for n, t in zip(names, tau, strict=True)},
        "autocorr_time_sampling_coordinates": {n: float(t) for n, t in zip(names, tau_z, strict=True)},
        "autocorr_time_max": tau_max,
        "nsteps_over_tau": float(nsteps / tau_max) if tau_max > 0 else math.inf,
        "converged_nsteps_gt_50tau": bool(nsteps > 50 * tau_max),
        "effective_samples": float(kept * nwalkers / tau_max) if tau_max > 0 else float(kept * nwalkers),
        "stuck_walkers": stuck,
        "ncpu": ncpu,
        "seed": seed,
    }
    if diagnostics["acceptance_mean"] < 0.05:
        log.warning("low mean acceptance fraction %.3f: the chain may be stuck", diagnostics["acceptance_mean"])
    if not diagnostics["converged_nsteps_gt_50tau"]:
        log.warning(
            "emcee has not converged: autocorrelation time %.0f steps, nsteps / tau = %.1f < 50; run longer "
            "(sampling.nsteps) or use sampler = 'dynesty' (see diagnostics.json)",
            tau_max,
            diagnostics["nsteps_over_tau"],
        )
    return SamplerOutput(
        "emcee",
        chain[burnin:].reshape(-1, ndim),
        lnprob[burnin:].ravel(),
        lnlike[burnin:].ravel(),
        chain,
        lnprob,
        burnin,
        diagnostics,
    )


class _Finite:
    """dynesty wants finite log likelihoods: map -inf (forbidden region) to a huge negative number."""

    def __init__(self, posterior: LogPosterior) -> None:
        self.posterior = posterior

    def __call__(self, theta: np.ndarray) -> float:
        value = self.posterior.log_likelihood(theta)
        return value if math.isfinite(value) else -1e300


def run_dynesty(
    posterior: LogPosterior, nlive: int, dlogz: float, seed: int, ncpu: int = 1, progress: bool = True
) -> SamplerOutput:
    """Nested sampling with dynesty: posterior samples and the Bayesian evidence.

    The evidence is corrected for the part of the prior box where fspot + ffac > 1
    (excluded from the prior), so ln Z is that of the normalised prior.

    Returns
    -------
    SamplerOutput
    """
    import dynesty

    rng = np.random.default_rng(seed)
    space = posterior.space
    loglike = _Finite(posterior)
    kwargs = {"nlive": nlive, "rstate": rng, "bound": "multi", "sample": "rwalk"}
    run_kwargs = {"dlogz": dlogz, "print_progress": bool(progress) and _isatty()}
    if ncpu > 1:
        with dynesty.pool.Pool(ncpu, loglike, space.transform) as pool:
            sampler = dynesty.NestedSampler(pool.loglike, pool.prior_transform, space.ndim, pool=pool, **kwargs)
            sampler.run_nested(**run_kwargs)
    else:
        sampler = dynesty.NestedSampler(loglike, space.transform, space.ndim, **kwargs)
        sampler.run_nested(**run_kwargs)
    res = sampler.results
    frac = space.allowed_fraction(np.random.default_rng(seed + 1))
    samples = res.samples_equal(rng)
    pairs = np.array([posterior.with_blob(t) for t in samples])
    logz = float(res.logz[-1]) - math.log(frac)
    diagnostics = {
        "nlive": nlive,
        "niter": int(res.niter),
        "ncall": int(np.sum(res.ncall)),
        "efficiency": float(res.eff),
        "information_nats": float(res.information[-1]),
        "prior_fraction_allowed": frac,
        "seed": seed,
        "ncpu": ncpu,
    }
    return SamplerOutput(
        "dynesty",
        samples,
        pairs[:, 0],
        pairs[:, 1],
        diagnostics=diagnostics,
        log_evidence=logz,
        log_evidence_error=float(res.logzerr[-1]),
    )


def _isatty() -> bool:
    import sys

    return sys.stderr.isatty()
