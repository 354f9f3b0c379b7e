"""MAP + Laplace of many models of one structure at once: the per-spectrum steps of :func:`fit`, vmapped.

Models are grouped by structure and padded argument shapes; each group is fitted in segments of up to
``_SEGMENT`` batches of ``slots`` models (a power of two up to ``_CHUNK``; the last segment repeats its last
model), so a structure compiles a few batched functions whatever the number of spectra. Each step follows the
single-spectrum path:

* start (:mod:`specola.lines._start`, the algorithm of :func:`fit`): the points of a batch of spectra go
  through one compiled call per ``_BLOCK`` points, the bounded solve an exact active-set method
  (:func:`_box_lsq`);
* MAP: Newton in unconstrained space with the exact Hessian in a trust region (``_Kernels.newton``) instead
  of L-BFGS-B: the same optimum, to a Newton decrement of ``_DECREMENT``; ``slots`` models are optimised at a
  time and a slot whose model has converged takes the next one, so a batch does not wait for its slowest model;
* Laplace: the Gaussian with the inverse Hessian at the MAP, drawn with the same normal deviates as :func:`fit`.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Sequence

import numpy as np

from ..errors import SpecolaError
from ._exported import PersistentJit
from ._start import best_point, starts
from .model import LinesModel

log = logging.getLogger(__name__)

_CHUNK = 128  # most models per batch (scans, Newton slots, Laplace draws)
_SEGMENT = 8  # models per Newton call: up to this many batches (the last segment repeats its last model)
_DECREMENT = 1e-12  # Newton decrement g' H^-1 g at which the MAP is converged (log-density units)
_DECREMENT_OK = 1e-6  # a MAP off by more (~1e-3 sigma) is reported as not converged
_MAX_NEWTON = 200
_RADIUS = 2.0  # the Newton steps' first trust radius, in posterior sigmas (|H| at the step's start)
_RADIUS_MIN = 1e-8  # a radius below which no step lowers the potential: stalled
_BLOCK = 10  # scan points per compiled call: every scan pads its points to a multiple
_UNROLL = 12  # unknowns up to which the bounded solve's normal equations are solved by an unrolled Cholesky


def fit_batched(models: Sequence[LinesModel], method: str, num_samples: int, seed: int, progress: bool | None):
    """MAP (``method="map"``) or MAP + Laplace of every model, in order; see :func:`~specola.lines.fit_many`."""
    from tqdm.auto import tqdm

    from .inference import compiled

    groups: dict[tuple, list[int]] = {}
    for i, m in enumerate(models):
        shapes = tuple((k, np.shape(v), str(np.asarray(v).dtype)) for k, v in sorted(m.padded.items()))
        groups.setdefault((m.plan.structure_key(), shapes), []).append(i)
    out: list = [None] * len(models)
    disable = None if progress is None else not progress
    with tqdm(total=len(models), desc="lines", disable=disable) as bar:
        for idx in groups.values():
            slots = min(_CHUNK, 1 << (len(idx) - 1).bit_length())
            size = min(_SEGMENT * slots, -(-len(idx) // slots) * slots)
            for k in range(0, len(idx), size):
                part = idx[k : k + size]
                segment = [models[i] for i in part] + [models[part[-1]]] * (size - len(part))  # repeat the last
                posts = _fit_segment(segment, compiled(segment[0]), slots, method, num_samples, seed)
                for i, post in zip(part, posts, strict=False):
                    out[i] = post
                bar.update(len(part))
    return out


def _fit_segment(models: list[LinesModel], fns, slots: int, method: str, num_samples: int, seed: int) -> list:
    """Start, MAP and Laplace of models of one structure and shape (a multiple of ``slots`` of them)."""
    from .inference import Posterior

    kern = _kernels(fns)
    args = _stack([m.padded for m in models])
    starts = []
    for j in range(0, len(models), slots):  # the scans in batches of ``slots`` (memory)
        starts += _starts(models[j : j + slots], fns, kern, {k: v[j : j + slots] for k, v in args.items()})
    u0 = np.stack([fns.unconstrain(p, m.padded) for p, m in zip(starts, models, strict=True)])
    u, hess, steps, dec = (np.asarray(x) for x in kern.newton(u0, args, slots))
    converged = dec < _DECREMENT_OK
    if not np.all(np.isfinite(u)):
        bad = np.flatnonzero(~np.all(np.isfinite(u), axis=1))
        raise SpecolaError(f"MAP optimisation failed (non-finite parameters) for model(s) {bad.tolist()} of a batch; "
                           "check priors and data")  # fmt: skip
    if not np.all(converged):
        log.warning("MAP: %d of %d spectra did not converge (Newton decrement > %g after %d steps)",
                    int(np.sum(~converged)), len(models), _DECREMENT_OK, int(steps.max()))  # fmt: skip
    maps = [fns.constrain_point(u[k], m.padded) for k, m in enumerate(models)]  # supports: each model's z0
    if method == "map":
        return [Posterior({n: np.full((1, 1), v) for n, v in p.items()}, "map", p, {"seed": seed}) for p in maps]
    posts = []
    for j in range(0, len(models), slots):
        samples, bad = _laplace(fns, models[j : j + slots], u[j : j + slots], hess[j : j + slots], num_samples, seed)
        if np.any(bad):
            log.warning("Laplace: %d of %d spectra have a Hessian with non-positive eigenvalue(s) at the MAP (a "
                        "parameter at a bound?)", int(np.sum(bad > 0)), slots)  # fmt: skip
        posts += [Posterior({n: samples[n][k][None, :] for n in fns.names}, "laplace", maps[j + k],
                            {"seed": seed, "hessian_nonpositive": int(bad[k]), "newton_steps": int(steps[j + k])})
                  for k in range(slots)]  # fmt: skip
    return posts


def _laplace(fns, models, u: np.ndarray, hess: np.ndarray, num_samples: int, seed: int) -> tuple[dict, np.ndarray]:
    """Draws ``(spectra, num_samples)`` per parameter and the count of non-positive Hessian eigenvalues."""
    from .inference import laplace_draws

    draws, bad = laplace_draws(u, hess, num_samples, seed)
    out = [fns.constrain(d, m.padded) for d, m in zip(draws, models, strict=True)]
    return {n: np.stack([np.asarray(o[n], float) for o in out]) for n in fns.names}, bad


def _stack(padded: list[dict]) -> dict:
    from ._jax import device

    return {k: device(np.stack([np.asarray(p[k]) for p in padded])) for k in padded[0]}


# --------------------------------------------------------------------------- start: scans with bounded least squares


def _starts(chunk: list[LinesModel], fns, kern, args) -> list[dict[str, float]]:
    """The start (:mod:`specola.lines._start`) of every model of the chunk, each scan one batched call."""
    plans = [m.plan for m in chunk]
    return starts(plans, fns.linear, lambda ps, names, pts: _scan(kern, fns, plans, ps, names, pts, args))


def _scan(kern, fns, plans, ps, names: tuple, pts: np.ndarray, args) -> tuple[np.ndarray, np.ndarray]:
    """Chi2-best point index per model and the linear solution at every point, ``pts`` (models, points, names)."""
    nmod, npts = pts.shape[:2]
    q = {n: np.repeat(np.asarray([p[n] for p in ps], float)[:, None], npts, axis=1) for n in fns.names}
    for j, n in enumerate(names):
        q[n] = pts[:, :, j]
    lo, hi = np.empty((2, nmod, npts, len(fns.linear)))
    varies = any(plans[0].sites[n].names & set(names) for n in fns.linear)
    for k, (plan, p) in enumerate(zip(plans, ps, strict=True)):
        for j in range(npts if varies else 1):
            cv = plan.config_values({**p, **{n: q[n][k, j] for n in names}})
            lo[k, j:], hi[k, j:] = np.transpose([plan.sites[n].bounds(cv) for n in fns.linear])
    pad = -npts % _BLOCK  # the last point repeated: one compiled shape for every scan
    q, lo, hi = ({k: _pad(v, pad) for k, v in q.items()}, _pad(lo, pad), _pad(hi, pad))
    cut = lambda x, j: x[:, j : j + _BLOCK]
    blocks = [kern.scan({k: cut(v, j) for k, v in q.items()}, args, cut(lo, j), cut(hi, j))
              for j in range(0, npts + pad, _BLOCK)]  # fmt: skip
    chi2, x = (np.concatenate([np.asarray(b[i]) for b in blocks], axis=1)[:, :npts] for i in (0, 1))
    return best_point(chi2), x


def _pad(x: np.ndarray, n: int) -> np.ndarray:
    return np.concatenate([x, np.repeat(x[:, -1:], n, axis=1)], axis=1)


def _box_lsq(a, y, lo, hi):
    """``argmin |a x - y|`` subject to ``lo <= x <= hi`` by a primal active-set method (BVLS), JAX-traceable.

    Columns are scaled to unit norm first; each step solves the normal equations of the free variables with the
    others held at their bounds, moves as far toward that solution as the bounds allow (fixing the blocking
    variable), and once the solution is feasible frees the bound variable whose gradient most wants to leave.
    """
    import jax
    import jax.numpy as jnp

    n = a.shape[1]
    s = jnp.sqrt(jnp.sum(a * a, axis=0))
    s = jnp.where(s > 1e-300, s, 1.0)
    a = a / s
    h, b, lo, hi = a.T @ a + 1e-13 * jnp.eye(n), a.T @ y, lo * s, hi * s
    tol = 1e-11 * (1.0 + jnp.max(jnp.abs(b)))

    def free_solution(fixed, x):
        m = jnp.where(fixed[:, None] | fixed[None, :], 0.0, h) + jnp.diag(fixed.astype(h.dtype))
        rhs = jnp.where(fixed, x, b - h @ jnp.where(fixed, x, 0.0))
        return _spd_solve(m, rhs)

    def body(state):
        x, fixed, k, _ = state
        xs = free_solution(fixed, x)
        below, above = ~fixed & (xs < lo), ~fixed & (xs > hi)
        d = xs - x
        safe = jnp.where(d != 0, d, 1.0)
        alpha = jnp.where(below, (lo - x) / safe, jnp.where(above, (hi - x) / safe, jnp.inf))
        j = jnp.argmin(alpha)
        step = jnp.clip(x + jnp.clip(alpha[j], 0.0, 1.0) * d, lo, hi)
        step = step.at[j].set(jnp.where(below[j], lo[j], hi[j]))
        g = h @ xs - b
        want = jnp.where(fixed & (x <= lo), -g, jnp.where(fixed & (x >= hi), g, -jnp.inf))
        r = jnp.argmax(want)
        feasible = ~jnp.any(below | above)
        done = feasible & (want[r] <= tol)
        x = jnp.where(feasible, xs, step)
        fixed = jnp.where(feasible, fixed.at[r].set(fixed[r] & done), fixed.at[j].set(True))
        return x, fixed, k + 1, done

    x0 = jnp.clip(jnp.zeros(n), lo, hi)
    state = (x0, jnp.zeros(n, bool), 0, False)
    x = jax.lax.while_loop(lambda st: ~st[3] & (st[2] < 4 * n + 10), body, state)[0]
    return x / s


def _spd_solve(m, rhs):
    """``m^-1 rhs`` for a small symmetric positive-definite ``m``, by a Cholesky unrolled into element-wise operations.

    Vmapped over a scan's points it takes half the time of ``jnp.linalg.solve`` (one LAPACK call per matrix) on
    the DJA PRISM model's 9 unknowns; its graph grows as ``n^3 / 6``, so beyond ``_UNROLL`` unknowns LU is used.
    """
    import jax.numpy as jnp

    n = m.shape[0]
    if n > _UNROLL:
        return jnp.linalg.solve(m, rhs)
    low = [[None] * n for _ in range(n)]
    for j in range(n):
        low[j][j] = jnp.sqrt(m[j, j] - sum(low[j][k] ** 2 for k in range(j)))
        for i in range(j + 1, n):
            low[i][j] = (m[i, j] - sum(low[i][k] * low[j][k] for k in range(j))) / low[j][j]
    y = []
    for i in range(n):
        y.append((rhs[i] - sum(low[i][k] * y[k] for k in range(i))) / low[i][i])
    x = [None] * n
    for i in reversed(range(n)):
        x[i] = (y[i] - sum(low[k][i] * x[k] for k in range(i + 1, n))) / low[i][i]
    return jnp.stack(x)


# --------------------------------------------------------------------------- compiled kernels


class _Kernels:
    """Batched, jitted scan and Newton functions of one structure (cached in ``fns.extra``)."""

    def __init__(self, fns) -> None:
        import jax
        import jax.numpy as jnp

        potential = fns.potential

        def point(q, args, lo, hi):
            mask = args["mask"].astype(float)
            a = fns.design(q, args) * (mask / args["error"])[:, None]
            y = args["flux"] / args["error"] * mask
            x = _box_lsq(a, y, lo, hi)
            return jnp.sum((a @ x - y) ** 2), x

        def step(st, args):  # one Newton step of one model; from f = inf, g = 0 it evaluates the start
            u, f, g, w, v, h, radius, k, _ = st
            curv = jnp.abs(w) + 1e-12 * jnp.max(jnp.abs(w))
            z = -(v.T @ g) / curv  # the Newton step in H's eigenvectors (|curvature| where it is not positive)
            length = jnp.sqrt(jnp.sum(curv * z**2))  # in posterior sigmas
            capped = length > radius
            d = v @ (z * jnp.where(capped, radius / jnp.where(capped, length, 1.0), 1.0))
            hn, (fn, gn) = jax.jacfwd(lambda x: _with_grad(potential, x, args), has_aux=True)(u + d)
            ok = jnp.isfinite(fn) & (fn <= f)
            wn, vn = jnp.linalg.eigh(0.5 * (hn + hn.T))
            pick = lambda new, old: jnp.where(ok, new, old)
            u, f, g, w, v, h = (pick(*x) for x in ((u + d, u), (fn, f), (gn, g), (wn, w), (vn, v), (hn, h)))
            done = (ok & (_decrement(g, w, v) < _DECREMENT)) | (radius < _RADIUS_MIN) | (k + 1 >= _MAX_NEWTON)
            # a trust region: an accepted step at its limit doubles it, a rejected one halves the step's length
            radius = jnp.where(ok, jnp.where(capped, 2.0 * radius, radius), 0.5 * jnp.minimum(radius, length))
            return u, f, g, w, v, h, radius, k + 1, done

        def newton(u0, args, slots):
            """Every model's optimum: ``slots`` models at a time, each slot taking the next model when done."""
            nq, n = u0.shape
            eye = jnp.broadcast_to(jnp.eye(n), (slots, n, n))

            def fresh(i):
                return (u0[i], jnp.full(slots, jnp.inf), jnp.zeros((slots, n)), jnp.ones((slots, n)), eye, eye,
                        jnp.full(slots, _RADIUS), jnp.zeros(slots, int), jnp.zeros(slots, bool))  # fmt: skip

            def body(carry):
                st, idx, nxt, out = carry
                st = jax.vmap(step)(st, jax.tree.map(lambda x: x[jnp.minimum(idx, nq - 1)], args))
                u, _, g, w, v, h, _, k, done = st
                write = done & (idx < nq)
                at = jnp.where(write, idx, nq)  # out of range: dropped
                dec = jax.vmap(_decrement)(g, w, v)
                out = tuple(o.at[at].set(x, mode="drop") for o, x in zip(out, (u, h, k, dec), strict=True))
                new = jnp.where(write, nxt + jnp.cumsum(write) - 1, idx)
                restart = fresh(jnp.minimum(new, nq - 1))
                keep = lambda a, b: jnp.where(write.reshape((-1,) + (1,) * (a.ndim - 1)), b, a)
                return jax.tree.map(keep, st, restart), new, nxt + jnp.sum(write), out

            idx = jnp.arange(slots)
            out = (jnp.zeros((nq, n)), jnp.zeros((nq, n, n)), jnp.zeros(nq, int), jnp.zeros(nq))
            carry = (fresh(idx), idx, jnp.asarray(slots), out)
            return jax.lax.while_loop(lambda c: jnp.any(c[1] < nq), body, carry)[3]

        # kept on disk like the single-spectrum functions (PersistentJit): a process that loads them from the
        # cache does not trace them (~4 s of Python for these two: vmapped scans, a loop of vmapped Hessians)
        self.scan = PersistentJit(jax.vmap(jax.vmap(point, in_axes=(0, None, 0, 0))), "batched_scan", fns.key)
        self._newton, self._fns, self._newtons = newton, fns, {}

    def newton(self, u0, args: dict, slots: int):
        """Every model's optimum, ``slots`` models at a time (one compiled function per number of slots)."""
        if slots not in self._newtons:
            fn = functools.partial(self._newton, slots=slots)
            self._newtons[slots] = PersistentJit(fn, f"batched_newton_{slots}", self._fns.key)
        return self._newtons[slots](u0, args)


def _with_grad(potential, u, args):
    import jax

    f, g = jax.value_and_grad(potential)(u, args)
    return g, (f, g)


def _decrement(g, w, v):
    """Newton decrement ``g' H^-1 g`` from the eigen-decomposition ``w, v`` of H (inf unless H > 0)."""
    import jax.numpy as jnp

    return jnp.where(jnp.all(w > 0), jnp.sum((v.T @ g) ** 2 / jnp.where(w > 0, w, 1.0)), jnp.inf)


def _kernels(fns) -> _Kernels:
    if "batched" not in fns.extra:
        fns.extra["batched"] = _Kernels(fns)
    return fns.extra["batched"]
