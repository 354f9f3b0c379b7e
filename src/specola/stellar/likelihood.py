"""Gaussian likelihood and posterior of the stellar retrieval as small picklable callables.

With an error inflation factor ``s`` the per-pixel standard deviation is
``s * sigma_i`` and the log likelihood keeps its normalisation::

    ln L = -0.5 * sum(r_i**2 / (s sigma_i)**2) - N ln s - sum ln sigma_i - N/2 ln(2 pi)

(without the ``-N ln s`` term the inflation would run to its upper bound).
"""

from __future__ import annotations

import logging
import math
from bisect import bisect_right

import numpy as np

from ..errors import SpectrumError
from .model import BinnedModel, Components
from .parameters import BASE, by_name
from .priors import ParameterSpace

__all__ = ["LogPosterior"]

log = logging.getLogger(__name__)

_HALF_LOG_2PI = 0.5 * math.log(2 * math.pi)
_LN10 = math.log(10.0)


_BASE = BASE
#: Grids with at most this many nodes (+1) evaluate the chi square densely (see ``log_likelihood_base``).
DENSE_NODES = 48
_DEP_CODE = {"deltaTspot": 1, "deltaTfac": 2, "dlogg_het": 3}


class LogPosterior:
    """Log posterior (and log likelihood) of a spectrum under the three-component model.

    The model is linear in the grid's node spectra (``m = w @ N``, with ``w`` the
    interpolation weights scaled by the covering fractions and Fscale), so the chi
    square is a quadratic form in ``w``::

        chi2 = d' C^-1 d - 2 w . (N C^-1 d) + w' (N C^-1 N') w

    whose matrices are precomputed once. A call costs a few microseconds whatever
    the number of pixels; :meth:`batch` evaluates many walkers at once. The object
    holds only small arrays and pickles cheaply.

    Parameters
    ----------
    model : BinnedModel
        Model on the data's pixels (same length as ``flux``).
    flux, error : ndarray
        Data and 1-sigma errors (plain floats, the model's flux unit).
    good : ndarray of bool
        Pixels used in the fit.
    space : ParameterSpace
        Fitted parameters and priors.
    """

    def __init__(
        self, model: BinnedModel, flux: np.ndarray, error: np.ndarray, good: np.ndarray, space: ParameterSpace
    ) -> None:
        flux, error = np.asarray(flux, float), np.asarray(error, float)
        with np.errstate(invalid="ignore"):
            valid = np.isfinite(flux) & np.isfinite(error) & (error > 0)
        good = np.asarray(good, bool) & valid
        #: pixels left out of the fit for a NaN flux or a NaN / zero / negative error
        self.n_dropped = int((~valid).sum())
        if self.n_dropped:
            log.warning("%d pixel(s) with NaN flux or NaN/zero/negative error are not fitted", self.n_dropped)
        if not good.any():
            raise SpectrumError("no valid pixel left to fit (all masked, NaN or with zero error)")
        self.model = model
        self.good = good
        self.nodes = np.ascontiguousarray(model.nodes[:, good])
        self.flux = flux[good]
        self.inv_err = 1.0 / error[good]
        self.n = int(good.sum())
        self.norm = -float(np.sum(np.log(error[good]))) - self.n * _HALF_LOG_2PI
        self.space = space
        # quadratic form of the chi square in the node weights
        scaled = self.nodes * self.inv_err
        dw = self.flux * self.inv_err
        self._c = float(dw @ dw)
        self._b = scaled @ dw
        self._a = scaled @ scaled.T
        n = self._b.size
        self._m = np.empty((n + 1, n + 1))  # [[A, -b], [-b', c]]: chi2 = [w, 1] M [w, 1]'
        self._m[:n, :n], self._m[:n, n], self._m[n, :n], self._m[n, n] = self._a, -self._b, -self._b, self._c
        self._m_flat = self._m.ravel()
        self._compile()

    def _compile(self) -> None:
        sp = self.space
        self._fixed = [float(sp.fixed[k]) for k in _BASE]
        self._setters = []
        for ti, name in enumerate(sp.names):
            base = by_name(name).base
            self._setters.append((ti, _BASE.index(base), base != name))
        self._terms = []
        for ti in sp._eval:
            name = sp.names[ti]
            prior = sp.priors[name]
            dep = _DEP_CODE.get(name, 0)
            const = prior.log_density(prior.low if prior.kind == "uniform" else prior.mean, prior.low, prior.high)
            self._terms.append((ti, prior, prior.kind == "uniform", prior.low, prior.high, const, dep))
        # independent uniform priors: one box check over their columns and one constant
        box = [t for t in self._terms if t[2] and not t[6]]
        self._box_cols = np.array([t[0] for t in box], np.intp)
        self._box_lo = np.array([t[3] for t in box])
        self._box_hi = np.array([t[4] for t in box])
        self._box_const = float(sum(t[5] for t in box))
        self._other_terms = [t for t in self._terms if not (t[2] and not t[6])]
        self._dominant = sp.photosphere_dominant
        self._teff = sp.teff_range
        self._logg = sp.logg_range
        m = self.model
        self._tl, self._gl, self._ng, self._nn = m._teff_list, m._logg_list, m.n_logg, m.n_nodes
        self._teff_axis, self._logg_axis = m.teff, m.logg
        self._teff_step, self._logg_step = _uniform_step(m.teff), _uniform_step(m.logg)

    @property
    def ndim(self) -> int:
        """Number of fitted parameters."""
        return self.space.ndim

    @staticmethod
    def components(v: dict[str, float]) -> Components:
        """Physical components from a dict of parameter values (see :meth:`ParameterSpace.values`)."""
        return Components(
            v["Tphot"],
            v["Tphot"] + v["deltaTspot"],
            v["Tphot"] + v["deltaTfac"],
            v["fspot"],
            v["ffac"],
            v["logg_phot"],
            v["logg_phot"] + v["dlogg_het"],
            10.0 ** v["logFscale"],
        )

    # ------------------------------------------------------------------ fast scalar path
    def _add(self, w: list[float], teff: float, logg: float, scale: float) -> bool:
        tl, gl = self._tl, self._gl
        if not (tl[0] <= teff <= tl[-1] and gl[0] <= logg <= gl[-1]):
            return False
        nt, ng = len(tl), self._ng
        if nt > 1:
            i = min(max(bisect_right(tl, teff) - 1, 0), nt - 2)
            t = (teff - tl[i]) / (tl[i + 1] - tl[i])
            di = ng
        else:
            i, t, di = 0, 0.0, 0
        if ng > 1:
            j = min(max(bisect_right(gl, logg) - 1, 0), ng - 2)
            s = (logg - gl[j]) / (gl[j + 1] - gl[j])
            dj = 1
        else:
            j, s, dj = 0, 0.0, 0
        k = i * ng + j
        a, b = scale * (1.0 - t), scale * t
        w[k] += a * (1.0 - s)
        w[k + dj] += a * s
        w[k + di] += b * (1.0 - s)
        w[k + di + dj] += b * s
        return True

    def with_blob(self, theta: np.ndarray) -> tuple[float, float]:
        """``(log posterior, log likelihood)`` of one fitted vector (both ``-inf`` outside the prior)."""
        x = theta.tolist() if isinstance(theta, np.ndarray) else list(theta)
        v = self._fixed[:]
        for ti, bi, is_log in self._setters:
            v[bi] = 10.0 ** x[ti] if is_log else x[ti]
        fspot, ffac, tphot, dts, dtf, gphot, dg, logf, loge = v
        lp = 0.0
        for ti, prior, uniform, lo, hi, const, dep in self._terms:
            val = x[ti]
            if dep:
                if dep == 1:
                    lo = max(lo, self._teff[0] - tphot)
                elif dep == 2:
                    hi = min(hi, self._teff[1] - tphot)
                else:
                    lo, hi = max(lo, self._logg[0] - gphot), min(hi, self._logg[1] - gphot)
                lp += prior.log_density(val, lo, hi)
                if lp == -math.inf:
                    return -math.inf, -math.inf
            elif lo <= val <= hi:
                lp += const if uniform else const - 0.5 * ((val - prior.mean) / prior.std) ** 2
            else:
                return -math.inf, -math.inf
        if fspot + ffac > 1.0 or (self._dominant and 1.0 - fspot - ffac < max(fspot, ffac)):
            return -math.inf, -math.inf
        fscale = 10.0**logf
        w = [0.0] * self._nn + [1.0]
        ok = self._add(w, tphot, gphot, fscale * (1.0 - fspot - ffac))
        if fspot != 0.0:
            ok = ok and self._add(w, tphot + dts, gphot + dg, fscale * fspot)
        if ffac != 0.0:
            ok = ok and self._add(w, tphot + dtf, gphot + dg, fscale * ffac)
        if not ok:
            return -math.inf, -math.inf
        wa = np.array(w)
        chi2 = float(wa.dot(self._m.dot(wa)))
        log_infl = loge * _LN10
        ll = -0.5 * chi2 * math.exp(-2.0 * log_infl) - self.n * log_infl + self.norm
        return lp + ll, ll

    def __call__(self, theta: np.ndarray) -> float:
        """Log posterior of one fitted vector."""
        return self.with_blob(theta)[0]

    def log_likelihood(self, theta: np.ndarray) -> float:
        """Log likelihood of a fitted vector (``-inf`` where the prior is zero)."""
        return self.with_blob(theta)[1]

    # ------------------------------------------------------------------ spectra and vectorised path
    def model_flux(self, theta: np.ndarray, all_pixels: bool = False) -> np.ndarray:
        """Model at the fitted pixels (or at every pixel of the data with ``all_pixels``)."""
        c = self.components(self.space.values(theta))
        w = self.model.node_weights(c)
        return w @ (self.model.nodes if all_pixels else self.nodes)

    def node_weights_many(self, thetas: np.ndarray) -> np.ndarray:
        """Node weights of many fitted vectors (inside the prior), shape ``(n, n_nodes)``."""
        vals = [self.space.values(t) for t in np.atleast_2d(thetas)]
        col = lambda key: np.array([v[key] for v in vals])
        tphot, gphot = col("Tphot"), col("logg_phot")
        return self.model.weights_many(
            tphot,
            tphot + col("deltaTspot"),
            tphot + col("deltaTfac"),
            col("fspot"),
            col("ffac"),
            gphot,
            gphot + col("dlogg_het"),
            10.0 ** col("logFscale"),
        )

    def models_many(self, thetas: np.ndarray, all_pixels: bool = True) -> np.ndarray:
        """Model spectra of many fitted vectors, shape ``(n, n_pixels)``."""
        return self.node_weights_many(thetas) @ (self.model.nodes if all_pixels else self.nodes)

    def batch(self, thetas: np.ndarray) -> np.ndarray:
        """``(log posterior, log likelihood)`` for many vectors at once; shape ``(n, 2)`` (emcee's ``vectorize``).

        One NumPy pass over all walkers: the priors as array expressions, the 12 bilinear corner
        weights of the three components per walker, and the chi square as one gather of the
        ``13 x 13`` block of the precomputed quadratic form at those corners (plus the constant term).
        """
        x = np.atleast_2d(np.asarray(thetas, float))
        with np.errstate(all="ignore"):
            v = self.base_values(x)
            return finish(self._log_prior(x, v), self.log_likelihood_base(v))

    def base_values(self, x: np.ndarray) -> np.ndarray:
        """Base parameters (rows in :data:`BASE` order) of fitted vectors ``x`` ``(n, ndim)``: shape ``(9, n)``."""
        n = x.shape[0]
        v = np.repeat(np.asarray(self._fixed, float)[:, None], n, axis=1)
        for ti, bi, is_log in self._setters:
            v[bi] = 10.0 ** x[:, ti] if is_log else x[:, ti]
        return v

    def _log_prior(self, x: np.ndarray, v: np.ndarray) -> np.ndarray:
        tphot, gphot = v[2], v[5]
        xb = x[:, self._box_cols]
        inside = np.all((xb >= self._box_lo) & (xb <= self._box_hi), axis=1)
        lp = np.where(inside, self._box_const, -np.inf)
        for ti, prior, uniform, lo, hi, const, dep in self._other_terms:
            val = x[:, ti]
            if not dep:  # Gaussian
                lp += np.where((val >= lo) & (val <= hi), const - 0.5 * ((val - prior.mean) / prior.std) ** 2, -np.inf)
                continue
            if dep == 1:
                lo = np.maximum(lo, self._teff[0] - tphot)
            elif dep == 2:
                hi = np.minimum(hi, self._teff[1] - tphot)
            else:
                lo, hi = np.maximum(lo, self._logg[0] - gphot), np.minimum(hi, self._logg[1] - gphot)
            if uniform:
                ok = (val >= lo) & (val <= hi) & (hi > lo)
                lp += np.where(ok, -np.log(np.where(ok, hi - lo, 1.0)), -np.inf)
            else:
                lp += prior.log_density_many(val, np.broadcast_to(lo, val.shape), np.broadcast_to(hi, val.shape))
        return lp

    def log_likelihood_base(self, v: np.ndarray) -> np.ndarray:
        """Log likelihood of base parameter rows ``v`` (see :meth:`base_values`).

        ``-inf`` where the covering fractions are not allowed or a component with non-zero weight is off the grid.

        One NumPy pass over all walkers: the 12 bilinear corner weights of the three components per walker,
        and the chi square as one gather of the ``13 x 13`` block of the precomputed quadratic form at those
        corners (plus the constant term); on grids of at most :data:`DENSE_NODES` nodes the weights are
        scattered into a dense ``(n, nodes + 1)`` matrix instead and the form applied by one matrix product
        (the same sum, ~3x faster there).
        """
        fspot, ffac, tphot, dts, dtf, gphot, dg, logf, loge = v
        n = tphot.size
        fphot = 1.0 - fspot - ffac
        forbidden = fphot < 0.0
        if self._dominant:
            forbidden |= fphot < np.maximum(fspot, ffac)
        fscale = 10.0**logf
        gh = gphot + dg
        teff = np.concatenate([tphot, tphot + dts, tphot + dtf])
        logg = np.concatenate([gphot, gh, gh])
        scale = np.concatenate([fscale * fphot, fscale * fspot, fscale * ffac])
        k, wt, inside = self._corners(teff, logg)
        # a component with zero weight may sit off the grid
        forbidden |= ~(inside | (scale == 0.0)).reshape(3, n).all(axis=0)
        idx = np.empty((n, 13), np.intp)
        w = np.empty((n, 13))
        idx[:, :12] = k.reshape(3, n, 4).transpose(1, 0, 2).reshape(n, 12)
        w[:, :12] = (wt * scale[:, None]).reshape(3, n, 4).transpose(1, 0, 2).reshape(n, 12)
        idx[:, 12], w[:, 12] = self._nn, 1.0
        size = self._m.shape[0]
        if size <= DENSE_NODES:
            # small grid: dense weights over all nodes (one bincount) and one BLAS product with the form
            dense = np.bincount(
                (idx + size * np.arange(n)[:, None]).ravel(), weights=w.ravel(), minlength=n * size
            ).reshape(n, size)
            chi2 = np.einsum("na,na->n", dense @ self._m, dense)
        else:
            block = self._m_flat[idx[:, :, None] * size + idx[:, None, :]]  # (n, 13, 13) gather
            chi2 = np.einsum("ni,ni->n", np.matmul(block, w[:, :, None])[:, :, 0], w)
        log_infl = loge * _LN10
        ll = -0.5 * chi2 * np.exp(-2.0 * log_infl) - self.n * log_infl + self.norm
        ll[forbidden] = -np.inf
        return ll

    def _corners(self, teff: np.ndarray, logg: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Node indices ``(n, 4)``, bilinear weights ``(n, 4)`` and on-grid flags of (teff, logg) pairs."""
        ta, ga = self._teff_axis, self._logg_axis
        inside = (teff >= ta[0]) & (teff <= ta[-1]) & (logg >= ga[0]) & (logg <= ga[-1])
        i, t, di = _cell(ta, teff, self._teff_step)
        di *= self._ng
        j, s, dj = _cell(ga, logg, self._logg_step)
        k = i * self._ng + j
        k = np.column_stack([k, k + dj, k + di, k + di + dj])
        wt = np.column_stack([(1 - t) * (1 - s), (1 - t) * s, t * (1 - s), t * s])
        return k, np.where(inside[:, None], wt, 0.0), inside

    def chi2(self, theta: np.ndarray) -> float:
        """Chi-square of the model with the data errors (no inflation)."""
        r = (self.flux - self.model_flux(theta)) * self.inv_err
        return float(r @ r)


def finish(log_prior: np.ndarray, log_like: np.ndarray) -> np.ndarray:
    """``(log posterior, log likelihood)`` rows, both ``-inf`` wherever either is not finite."""
    out = np.empty((log_like.size, 2))
    out[:, 0] = log_prior + log_like
    out[:, 1] = log_like
    out[~np.isfinite(out[:, 0])] = -np.inf
    return out


def _uniform_step(axis: np.ndarray) -> float | None:
    """The step of an evenly spaced axis (None if uneven or a single node)."""
    if axis.size < 2:
        return None
    d = np.diff(axis)
    return float(d[0]) if np.allclose(d, d[0], rtol=1e-9, atol=0.0) else None


def _cell(axis: np.ndarray, x: np.ndarray, step: float | None = None) -> tuple[np.ndarray, np.ndarray, int]:
    """Lower node index, fractional position and index step of ``x`` on a sorted axis (clipped to it).

    On an evenly spaced axis (``step``) the cell is found by arithmetic instead of a binary search.
    """
    if axis.size == 1:
        return np.zeros(x.size, np.intp), np.zeros(x.size), 0
    if step is not None:
        f = (x - axis[0]) * (1.0 / step)  # NaN / off-axis values: clipped here, zero weight in _corners
        i = np.fmax(np.fmin(f, axis.size - 2), 0).astype(np.intp)  # fmin/fmax map NaN to the bound
        return i, np.clip(f - i, 0.0, 1.0), 1
    i = np.clip(np.searchsorted(axis, x, side="right") - 1, 0, axis.size - 2)
    frac = np.clip((x - axis[i]) / (axis[i + 1] - axis[i]), 0.0, 1.0)
    return i, np.where(np.isfinite(frac), frac, 0.0), 1


# Module global used by worker processes so the posterior is sent once per worker, not once per call.
_WORKER_POSTERIOR: LogPosterior | None = None


def _init_worker(posterior: LogPosterior) -> None:
    global _WORKER_POSTERIOR
    _WORKER_POSTERIOR = posterior


def _worker_call(theta: np.ndarray) -> tuple[float, float]:
    assert _WORKER_POSTERIOR is not None, "worker not initialised"
    return _WORKER_POSTERIOR.with_blob(theta)
