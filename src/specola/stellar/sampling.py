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
from .ensemble import Ensemble
from .likelihood import LogPosterior, _init_worker, _worker_call
from .moves import MOVES, emcee_moves

__all__ = [
    "MOVES",
    "SamplerOutput",
    "convergence",
    "find_start",
    "initial_ball",
    "rhat_groups",
    "run_dynesty",
    "run_emcee",
]

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
    from emcee.autocorr import auto_window

    moving = np.ptp(chain, axis=0).min(axis=1) > 0
    tau = np.full(chain.shape[2], np.inf)
    if moving.any() and chain.shape[0] > 2:
        n = chain.shape[0]
        x = chain[:, moving] - chain[:, moving].mean(axis=0)
        nfft = 1 << (2 * n - 1).bit_length()
        f = np.fft.rfft(x, n=nfft, axis=0)
        acf = np.fft.irfft(f * np.conj(f), n=nfft, axis=0)[:n]  # (n, walkers, ndim), as emcee's function_1d
        with np.errstate(invalid="ignore", divide="ignore"):
            acf = np.nan_to_num(acf / acf[0]).mean(axis=1)
        for k in range(chain.shape[2]):
            taus = 2.0 * np.cumsum(acf[:, k]) - 1.0
            tau[k] = taus[auto_window(taus, c)]
    return tau, int((~moving).sum())


def rhat_groups(chain: np.ndarray, n_groups: int = 4) -> np.ndarray:
    """Gelman-Rubin R-hat per parameter across ``n_groups`` disjoint groups of walkers.

    Each group's samples (all its walkers, every step of ``chain``) are one "chain"; R-hat compares the
    spread of the group means with the spread inside the groups (1 = the groups agree).

    Parameters
    ----------
    chain : ndarray
        Post-burn-in chain ``(nsteps, nwalkers, ndim)``.
    n_groups : int
        Number of walker groups (at least 2 walkers each).

    Returns
    -------
    ndarray
        R-hat per parameter (NaN when there are too few walkers).
    """
    nsteps, nwalkers, ndim = chain.shape
    n_groups = min(n_groups, nwalkers // 2)
    if n_groups < 2 or nsteps < 2:
        return np.full(ndim, np.nan)
    groups = np.array_split(np.arange(nwalkers), n_groups)
    means = np.array([chain[:, g].reshape(-1, ndim).mean(axis=0) for g in groups])
    within = np.array([chain[:, g].reshape(-1, ndim).var(axis=0, ddof=1) for g in groups]).mean(axis=0)
    n = nsteps * min(len(g) for g in groups)
    between_over_n = means.var(axis=0, ddof=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.sqrt(((n - 1) / n * within + between_over_n) / within)


#: Convergence rules: post-burn-in steps per autocorrelation time (emcee's rule) and the largest R-hat.
TAU_FACTOR = 50.0
RHAT_MAX = 1.01
#: First chunk (steps) and growth of ``sampling.nsteps = "auto"`` runs.
AUTO_FIRST_STEPS = 2000


def convergence(
    chain: np.ndarray, zchain: np.ndarray | None, burnin: int, acceptance: np.ndarray, names: list[str]
) -> dict[str, Any]:
    """Autocorrelation times, R-hat and the convergence verdict of an emcee chain.

    tau is estimated on the post-burn-in chain and compared with that chain's own length
    (``(nsteps - burnin) / tau >= 50``); R-hat across four groups of walkers must stay below 1.01
    and no walker may be stuck.

    Returns
    -------
    dict
        Diagnostics, with ``verdict`` = ``{"converged": bool, "checks": [{check, value, threshold, passed}]}``.
    """
    kept = chain.shape[0] - burnin
    post = chain[burnin:]
    tau, stuck = autocorr_time(post)
    tau_z = autocorr_time(zchain[burnin:])[0] if zchain is not None else tau
    tau_max = float(max(np.max(tau), np.max(tau_z)))
    rhat = rhat_groups(post)
    rhat_max = float(np.nanmax(rhat)) if np.any(np.isfinite(rhat)) else math.inf
    ratio = kept / tau_max if tau_max > 0 else math.inf
    checks = [
        {"check": "post-burn-in steps / tau_max", "value": ratio, "threshold": f">= {TAU_FACTOR:g}"},
        {"check": "R-hat max (4 walker groups)", "value": rhat_max, "threshold": f"< {RHAT_MAX:g}"},
        {"check": "stuck walkers", "value": stuck, "threshold": "== 0"},
    ]
    passed = (ratio >= TAU_FACTOR, rhat_max < RHAT_MAX, stuck == 0)
    for row, ok in zip(checks, passed, strict=True):
        row["passed"] = bool(ok)
    nwalkers = chain.shape[1]
    return {
        "nsteps": int(chain.shape[0]),
        "burnin": int(burnin),
        "acceptance_mean": float(acceptance.mean()),
        "acceptance_min": float(acceptance.min()),
        "acceptance_max": float(acceptance.max()),
        "autocorr_time": {n: float(t) for n, t in zip(names, tau, strict=True)},
        "autocorr_time_sampling_coordinates": {n: float(t) for n, t in zip(names, tau_z, strict=True)},
        "autocorr_time_max": tau_max,
        "nsteps_post_burnin_over_tau": float(ratio),
        "rhat": {n: float(r) for n, r in zip(names, rhat, strict=True)},
        "effective_samples": float(kept * nwalkers / tau_max) if tau_max > 0 else float(kept * nwalkers),
        "stuck_walkers": stuck,
        "verdict": {"converged": bool(all(passed)), "checks": checks},
    }


def _n_walkers(ndim: int, per_dim: int) -> int:
    n = max(per_dim * ndim, 2 * ndim + 2)
    return n + (n % 2)


def run_emcee(
    posterior: LogPosterior,
    start: np.ndarray,
    nsteps: int | str,
    burnin_fraction: float,
    walkers_per_dim: int,
    seed: int,
    ncpu: int = 1,
    progress: bool = True,
    p0: np.ndarray | None = None,
    moves: str = "kde+de",
    engine: str = "numpy",
    unconstrained: bool = True,
    nsteps_max: int = 20000,
) -> SamplerOutput:
    """Sample the posterior with emcee.

    Parameters
    ----------
    posterior : LogPosterior
        The target (all walkers evaluated in one vectorised call in-process, or per walker in ``ncpu``
        workers that receive the posterior once through a pool initializer).
    start : ndarray
        Centre of the initial ball.
    nsteps : int or "auto"
        Steps per walker; ``"auto"`` runs :data:`AUTO_FIRST_STEPS`, then extends the chain until the
        convergence verdict (:func:`convergence`) holds or ``nsteps_max`` is reached.
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
    engine : {"numpy", "emcee"}
        In-process ensemble loop: :class:`specola.stellar.ensemble.Ensemble` (the same algorithm and
        moves, vectorised) or emcee's ``EnsembleSampler``; worker processes (``ncpu > 1``) always use emcee.
    unconstrained : bool
        Sample in the unconstrained coordinates of :mod:`specola.stellar.coords` (an exact change of
        variables; the returned chain is in the physical parameters).
    nsteps_max : int
        Cap of an ``"auto"`` run.

    Returns
    -------
    SamplerOutput
        The diagnostics hold autocorrelation times (physical and sampling coordinates), R-hat and the verdict.
    """
    import emcee

    rng = np.random.default_rng(seed)
    ndim = posterior.ndim
    target = ReparametrisedPosterior(posterior) if unconstrained else posterior
    coords = target.coords if unconstrained else None
    if p0 is not None:
        if not np.all(np.isfinite(posterior.batch(p0)[:, 0])):
            raise ConfigError("every initial walker must lie inside the prior")
        z0 = coords.to_sampling(p0) if coords else np.asarray(p0, float)
    elif coords:
        z0 = _ball(target, coords.to_sampling(start), np.full(ndim, 1e-3), _n_walkers(ndim, walkers_per_dim), rng)
    else:
        z0 = initial_ball(posterior, start, _n_walkers(ndim, walkers_per_dim), rng)
    nwalkers = len(z0)
    state = emcee.State(z0, random_state=np.random.RandomState(seed).get_state())
    kwargs = {"progress": progress, "progress_kwargs": {"disable": None if progress else True}}
    proposal = emcee_moves(moves)
    names = posterior.space.names
    auto = nsteps == "auto"

    def diagnose(sampler: Any) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
        zchain = sampler.get_chain()
        lnprob = sampler.get_log_prob()
        if coords:
            flat, log_jac = coords.from_sampling(zchain.reshape(-1, ndim))
            chain = flat.reshape(zchain.shape)
            lnprob = lnprob - log_jac.reshape(lnprob.shape)  # back to the physical posterior density
        else:
            chain = zchain
        total = chain.shape[0]
        burnin = min(int(burnin_fraction * total), total - 1)
        diag = convergence(chain, zchain if coords else None, burnin, sampler.acceptance_fraction, names)
        return chain, lnprob, diag

    def drive(sampler: Any) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
        sampler.run_mcmc(state, min(AUTO_FIRST_STEPS, nsteps_max) if auto else int(nsteps), **kwargs)
        chain, lnprob, diag = diagnose(sampler)
        while auto and not diag["verdict"]["converged"] and chain.shape[0] < nsteps_max:
            # enough steps for 50 tau after burn-in, with a margin; at least 50% more than now
            need = TAU_FACTOR * diag["autocorr_time_max"] / max(1.0 - burnin_fraction, 0.01) * 1.2
            more = int(min(max(need - chain.shape[0], 0.5 * chain.shape[0]), nsteps_max - chain.shape[0]))
            log.info("nsteps = auto: not converged after %d steps; running %d more", chain.shape[0], more)
            sampler.run_mcmc(None, more, **kwargs)
            chain, lnprob, diag = diagnose(sampler)
        return chain, lnprob, diag

    if ncpu > 1:
        ctx = multiprocessing.get_context("fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn")
        with ctx.Pool(ncpu, initializer=_init_worker, initargs=(target,)) as pool:
            sampler = emcee.EnsembleSampler(nwalkers, ndim, _worker_call, pool=pool, moves=proposal, blobs_dtype=float)
            chain, lnprob, diag = drive(sampler)
    elif engine == "numpy":
        chain, lnprob, diag = drive(sampler := Ensemble(target.batch, z0, moves, seed))
    else:
        sampler = emcee.EnsembleSampler(nwalkers, ndim, target.batch, vectorize=True, moves=proposal, blobs_dtype=float)
        sampler.random_state = state.random_state
        chain, lnprob, diag = drive(sampler)
    lnlike = np.asarray(sampler.get_blobs())
    burnin = diag["burnin"]
    diagnostics = {
        "nwalkers": nwalkers,
        "nsteps_requested": nsteps,
        **diag,
        "moves": moves,
        "engine": engine if ncpu == 1 else "emcee",
        "sampling_coordinates": (
            "unconstrained (logit of the conditional prior interval"
            + (f"; {', '.join(sorted(set(names) - coords.transformed))} as they are)" if coords else ")")
        )
        if coords
        else "physical",
        "ncpu": ncpu,
        "seed": seed,
    }
    if diagnostics["acceptance_mean"] < 0.05:
        log.warning("low mean acceptance fraction %.3f: the chain may be stuck", diagnostics["acceptance_mean"])
    if not diag["verdict"]["converged"]:
        failed = "; ".join(
            f"{c['check']} = {c['value']:.3g} (needs {c['threshold']})"
            for c in diag["verdict"]["checks"]
            if not c["passed"]
        )
        log.warning(
            "emcee has not converged: %s; run longer (sampling.nsteps, or \"auto\") or use sampler = 'dynesty' "
            "(see diagnostics.json)",
            failed,
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
