"""emcee proposal mixtures for the stellar retrieval (``sampling.moves``)."""

from __future__ import annotations

import numpy as np
from emcee.moves import DEMove, DESnookerMove
from emcee.moves.red_blue import RedBlueMove

from ..errors import ConfigError

__all__ = ["MOVES", "GaussianKDEMove", "emcee_moves"]

#: Names accepted by :func:`emcee_moves`.
MOVES = ("kde+de", "de+snooker", "stretch")


class GaussianKDEMove(RedBlueMove):
    """Independence proposal from a Gaussian kernel density estimate of the complementary walkers.

    The same proposal as emcee's ``KDEMove`` (Scott's bandwidth ``n ** (-1 / (d + 4))`` times the
    ensemble covariance), with the kernel sums done on whitened coordinates in a few small array
    operations (scipy's ``gaussian_kde`` costs several milliseconds per half step).
    The Metropolis-Hastings factor ``ln g(x) - ln g(q)`` keeps detailed balance.
    """

    def get_proposal(self, s: np.ndarray, c: list[np.ndarray], random: np.random.RandomState):
        """Proposals for the walkers ``s`` from the kernel density of the walkers ``c``."""
        centres = np.concatenate(c, axis=0)
        n, d = centres.shape
        bandwidth = n ** (-1.0 / (d + 4))
        cov = np.atleast_2d(np.cov(centres, rowvar=False)) * bandwidth**2
        cov += np.eye(d) * 1e-12 * max(float(np.trace(cov)) / d, 1e-300)
        chol = np.linalg.cholesky(cov)
        pick = random.randint(n, size=len(s))
        q = centres[pick] + random.randn(len(s), d) @ chol.T
        white = np.linalg.inv(chol).T
        cw = centres @ white
        density = self._log_density(np.concatenate([s, q]) @ white, cw)  # current and proposed in one pass
        return q, density[: len(s)] - density[len(s) :]

    @staticmethod
    def _log_density(xw: np.ndarray, cw: np.ndarray) -> np.ndarray:
        """Kernel density at whitened points, up to a constant (which cancels in the factor)."""
        d2 = np.sum(xw**2, axis=1)[:, None] + np.sum(cw**2, axis=1)[None, :] - 2.0 * (xw @ cw.T)
        e = -0.5 * np.maximum(d2, 0.0)
        top = e.max(axis=1)
        return top + np.log(np.exp(e - top[:, None]).sum(axis=1))


def emcee_moves(name: str) -> list | None:
    """Emcee proposal mixture for ``sampling.moves``.

    ``"kde+de"`` (default): half the steps draw from a Gaussian kernel density estimate of the
    other half of the ensemble (:class:`GaussianKDEMove`, which crosses curved and elongated
    regions in one jump), half are differential-evolution moves; ``"de+snooker"``: differential
    evolution (80%) and its snooker variant (20%); ``"stretch"``: emcee's default (and the peer's)
    stretch move, which mixes slowly in 9 dimensions (its autocorrelation time on a 9-D Gaussian
    is already ~55 steps).

    Returns
    -------
    list or None
        ``[(move, weight), ...]`` for ``emcee.EnsembleSampler(moves=...)`` (None = emcee's default).
    """
    if name == "stretch":
        return None
    if name == "de+snooker":
        return [(DEMove(), 0.8), (DESnookerMove(), 0.2)]
    if name == "kde+de":
        return [(GaussianKDEMove(), 0.5), (DEMove(), 0.5)]
    raise ConfigError(f"sampling.moves = {name!r}; choose one of {', '.join(MOVES)}")
