"""Unconstrained sampling coordinates of the stellar parameters (an exact change of variables).

Each fitted parameter ``x`` with (conditional) prior support ``[lo, hi]`` is sampled as
``z = logit((x - lo) / (hi - lo))``. The bounds of ``deltaTspot``, ``deltaTfac`` and ``dlogg_het``
depend on the photosphere, so in the physical parameters the prior is a funnel (e.g. with
``logg_phot`` at the grid edge, ``dlogg_het`` is squeezed into a sliver); in ``z`` every
parameter ranges over the whole real line, the hard walls where covering fractions and
temperature offsets pile up become smooth tails, and the funnel disappears. The posterior
density in ``z`` is the physical posterior times the Jacobian
``prod_i (hi_i - lo_i) u_i (1 - u_i)``, so samples mapped back to the physical parameters follow
exactly the same posterior; nothing about the model or the priors changes.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.special import expit, logit

from .likelihood import LogPosterior, finish
from .parameters import DEPENDENT
from .priors import ParameterSpace

__all__ = ["LINEAR", "ReparametrisedPosterior", "SamplingCoordinates"]

#: Parameters sampled as they are (not through the logit) by :class:`ReparametrisedPosterior`: the
#: temperature offsets. Their posterior ridge with the covering fraction (``ffac * DeltaT**~3`` nearly
#: constant) often runs into the grid edge (``Tfac -> Teff_max``); the logit maps that wall to an
#: exponential tail along which the ridge bends, and the ensemble mixes slowly: on an exact-model
#: injection with Tfac 50 K below the grid edge (7 parameters) the acceptance drops to 0.04 and tau grows
#: past 200 steps with the chain's length, against 0.17 and ~25 steps with the offsets left linear
#: (tests/stellar/test_injection.py). The conditional prior of an offset is then applied as a density.
LINEAR = frozenset({"deltaTspot", "deltaTfac"})

_EDGE = 1e-9  # unit coordinates are kept this far from 0 and 1 when mapping physical values to z


class SamplingCoordinates:
    """Map fitted parameters to unconstrained coordinates and back.

    Parameters
    ----------
    space : ParameterSpace
        Fitted parameters and priors.
    """

    def __init__(self, space: ParameterSpace, transformed: frozenset[str] | None = None) -> None:
        self.space = space
        self.names = list(space.names)
        #: parameters sampled as logit of their (conditional) interval; the others are sampled as they are
        self.transformed = frozenset(self.names) if transformed is None else frozenset(transformed) & set(self.names)
        self._logit = np.array([n in self.transformed for n in self.names])
        index = {n: i for i, n in enumerate(self.names)}
        self._order = list(space._eval)  # photosphere before the parameters whose bounds depend on it
        t0, t1 = space.teff_range
        g0, g1 = space.logg_range
        # per parameter: (prior low, prior high, parent column or None, fixed parent value, grid lower, grid upper)
        self._spec = []
        for name in self.names:
            p = space.priors[name]
            parent = DEPENDENT.get(name)
            # the grid side(s) of a dependent parameter: spots stay above Teff_min, faculae below Teff_max
            lower, upper = {"deltaTspot": (t0, math.inf), "deltaTfac": (-math.inf, t1)}.get(
                name, (g0, g1) if parent else (-math.inf, math.inf)
            )
            column = index.get(parent) if parent else None
            fixed = float(space.fixed[parent]) if parent else 0.0
            self._spec.append((float(p.low), float(p.high), parent is not None, column, fixed, lower, upper))
        # independent columns map with constant bounds in one array expression; dependent ones follow their parent
        logit = self._logit
        self._dependent = [i for i in self._order if self._spec[i][2] and logit[i]]
        self._low = np.array([sp[0] for sp in self._spec])
        self._width = np.array([0.0 if sp[2] else sp[1] - sp[0] for sp in self._spec])
        self._log_width = float(
            sum(math.log(sp[1] - sp[0]) for i, sp in enumerate(self._spec) if logit[i] and not sp[2])
        )
        # columns whose prior density is not cancelled by the Jacobian: Gaussian priors, and every identity column
        self._density = [i for i, n in enumerate(self.names) if space.priors[n].kind == "gaussian" or not logit[i]]
        self._identity_order = [i for i in self._order if not logit[i]]

    @property
    def ndim(self) -> int:
        """Number of fitted parameters."""
        return len(self.names)

    def _bounds(self, i: int, theta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        low, high, dependent, column, fixed, lower, upper = self._spec[i]
        n = theta.shape[0]
        lo, hi = np.full(n, low), np.full(n, high)
        if dependent:
            parent = theta[:, column] if column is not None else np.full(n, fixed)
            lo = np.maximum(lo, lower - parent)
            hi = np.minimum(hi, upper - parent)
        return lo, hi

    def to_sampling(self, theta: np.ndarray) -> np.ndarray:
        """Unconstrained coordinates of physical vectors ``(n, ndim)`` (or one vector).

        Values on (or beyond) a bound are mapped slightly inside it.
        """
        theta = np.asarray(theta, float)
        t = np.atleast_2d(theta)
        z = np.empty_like(t)
        for i in range(self.ndim):
            lo, hi = self._bounds(i, t)
            with np.errstate(divide="ignore", invalid="ignore"):
                u = np.where(hi > lo, (t[:, i] - lo) / (hi - lo), 0.5)
            z[:, i] = logit(np.clip(u, _EDGE, 1.0 - _EDGE)) if self._logit[i] else t[:, i]
        return z.reshape(theta.shape)

    def from_sampling(self, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Physical vectors and ``ln |d theta / d z|`` for unconstrained coordinates ``(n, ndim)``.

        Returns
        -------
        (ndarray, ndarray)
            ``theta`` with the shape of ``z``, and the log Jacobian (``-inf`` where a conditional
            interval is empty, i.e. outside the prior).
        """
        z = np.asarray(z, float)
        zz = np.atleast_2d(z)
        u = expit(zz)
        # ln u + ln(1 - u) = -softplus(-z) - softplus(z) = -|z| - 2 ln(1 + exp(-|z|)), accurate for large |z|
        a = np.abs(zz[:, self._logit])
        log_jac = self._log_width - (a + 2.0 * np.log1p(np.exp(-a))).sum(axis=1)
        theta = np.where(self._logit, self._low + u * self._width, zz)
        for i in self._dependent:
            lo, hi = self._bounds(i, theta)
            width = hi - lo
            theta[:, i] = lo + u[:, i] * width
            with np.errstate(divide="ignore", invalid="ignore"):
                log_jac += np.where(width > 0, np.log(np.where(width > 0, width, 1.0)), -np.inf)
        return theta.reshape(z.shape), log_jac if z.ndim > 1 else log_jac[0]

    def log_prior_density(self, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Physical vectors and the log prior density *in z* (prior times Jacobian) of ``z`` ``(n, ndim)``.

        Fused: a uniform prior on ``[lo, hi]`` times the Jacobian ``(hi - lo) u (1 - u)`` is ``u (1 - u)``,
        so no bound is checked or width taken except for Gaussian priors (their density times ``hi - lo``)
        and for the empty conditional intervals (``-inf``).
        """
        u = expit(z)
        a = np.abs(z[:, self._logit])
        lp = -(a + 2.0 * np.log1p(np.exp(-a))).sum(axis=1)
        theta = np.where(self._logit, self._low + u * self._width, z)
        for i in self._dependent:
            lo, hi = self._bounds(i, theta)
            theta[:, i] = lo + u[:, i] * (hi - lo)
            lp[~(hi > lo)] = -np.inf
        for i in self._density:
            lo, hi = self._bounds(i, theta)
            with np.errstate(divide="ignore", invalid="ignore"):
                jac = np.log(hi - lo) if self._logit[i] else 0.0
                lp += self.space.priors[self.names[i]].log_density_many(theta[:, i], lo, hi) + jac
        return theta, lp


class ReparametrisedPosterior:
    """The posterior density in :class:`SamplingCoordinates` (picklable, like :class:`LogPosterior`).

    Parameters
    ----------
    posterior : LogPosterior
        The physical posterior.
    """

    def __init__(self, posterior: LogPosterior) -> None:
        self.posterior = posterior
        self.coords = SamplingCoordinates(posterior.space, frozenset(posterior.space.names) - LINEAR)

    @property
    def ndim(self) -> int:
        """Number of fitted parameters."""
        return self.coords.ndim

    def batch(self, z: np.ndarray) -> np.ndarray:
        """``(log posterior in z, log likelihood)`` for many vectors, shape ``(n, 2)``."""
        post = self.posterior
        with np.errstate(all="ignore"):
            theta, lp = self.coords.log_prior_density(np.atleast_2d(np.asarray(z, float)))
            return finish(lp, post.log_likelihood_base(post.base_values(theta)))

    def with_blob(self, z: np.ndarray) -> tuple[float, float]:
        """``(log posterior in z, log likelihood)`` of one vector."""
        lp, ll = self.batch(z)[0]
        return float(lp), float(ll)

    def __call__(self, z: np.ndarray) -> float:
        """Log posterior density in z of one vector."""
        return self.with_blob(z)[0]
