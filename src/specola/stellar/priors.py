"""Parameters and priors of the stellar retrieval.

Fitted parameters (names as in the peer tool, so results stay comparable):

=============  ==================================================  ==============================
name           meaning                                             default prior
=============  ==================================================  ==============================
fspot          spot covering fraction                              U(0, 0.9)
log_fspot      log10 fspot (log-uniform prior on the fraction)     U(-5, 0)
ffac           faculae covering fraction                           U(0, 0.9)
log_ffac       log10 ffac                                          U(-5, 0)
Tphot          photosphere temperature [K]                         U(grid Teff range)
deltaTspot     Tspot - Tphot [K]                                   U(Teff_min - Tphot, -100)
deltaTfac      Tfac - Tphot [K]                                    U(100, Teff_max - Tphot)
logg_phot      photosphere log g                                   U(grid logg range)
dlogg_het      logg_het - logg_phot                                U(logg_min - logg_phot, 0)
logFscale      log10 of the flux scale                             U(guess - 1, guess + 1)
logErrInfl     log10 of the error inflation factor                 U(0, log10 50)
=============  ==================================================  ==============================

Bounds of ``deltaTspot``, ``deltaTfac`` and ``dlogg_het`` depend on ``Tphot``
and ``logg_phot`` (the components must stay inside the grid). Their priors are
*conditional*: uniform (or truncated Gaussian) on the allowed interval given the
photosphere, normalised for every photosphere, so emcee's log prior and
dynesty's prior transform describe exactly the same prior. A user interval that
reaches outside the grid raises :class:`~specola.errors.ConfigError`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from scipy.special import ndtr, ndtri

from ..errors import ConfigError
from .parameters import DEPENDENT, ORDER

__all__ = ["ORDER", "ParameterSpace", "Prior"]

_DEPENDENT = DEPENDENT
_LOG_2PI = math.log(2 * math.pi)


@dataclass(frozen=True)
class Prior:
    """A uniform or truncated-Gaussian prior on ``[low, high]``.

    Parameters
    ----------
    kind : {"uniform", "gaussian"}
        Shape of the density.
    low, high : float
        Support (for conditional parameters, the widest support; the interval
        given the photosphere is intersected with it).
    mean, std : float
        Gaussian parameters (ignored for uniform).
    """

    kind: str
    low: float
    high: float
    mean: float = 0.0
    std: float = 1.0

    def log_density(self, x: float, low: float, high: float) -> float:
        """Normalised log density at ``x`` of the prior restricted to ``[low, high]``."""
        if not low <= x <= high or not high > low:
            return -math.inf
        if self.kind == "uniform":
            return -math.log(high - low)
        z = (x - self.mean) / self.std
        mass = ndtr((high - self.mean) / self.std) - ndtr((low - self.mean) / self.std)
        if mass <= 0:
            return -math.inf
        return -0.5 * z * z - math.log(self.std) - 0.5 * _LOG_2PI - math.log(mass)

    def log_density_many(self, x: np.ndarray, low: np.ndarray, high: np.ndarray) -> np.ndarray:
        """:meth:`log_density` for arrays (``-inf`` outside ``[low, high]`` or where the interval is empty)."""
        ok = (x >= low) & (x <= high) & (high > low)
        if self.kind == "uniform":
            with np.errstate(divide="ignore", invalid="ignore"):
                value = -np.log(np.where(ok, high - low, 1.0))
        else:
            mass = ndtr((high - self.mean) / self.std) - ndtr((low - self.mean) / self.std)
            ok &= mass > 0
            z = (x - self.mean) / self.std
            value = -0.5 * z * z - math.log(self.std) - 0.5 * _LOG_2PI - np.log(np.where(ok, mass, 1.0))
        return np.where(ok, value, -np.inf)

    def transform(self, u: float, low: float, high: float) -> float:
        """Map a unit-cube coordinate to the prior restricted to ``[low, high]`` (inverse CDF)."""
        if self.kind == "uniform":
            return low + u * (high - low)
        a, b = ndtr((low - self.mean) / self.std), ndtr((high - self.mean) / self.std)
        x = self.mean + self.std * float(ndtri(a + u * (b - a)))
        return min(max(x, low), high)


class ParameterSpace:
    """Fitted parameters, their priors, and the fixed values of the others.

    Parameters
    ----------
    fitted : sequence of str
        Names of the fitted parameters (any order; stored in :data:`ORDER`).
    fixed : mapping
        Values of every base parameter (``fspot, ffac, Tphot, deltaTspot, deltaTfac,
        logg_phot, dlogg_het, logFscale, logErrInfl``), used when not fitted and as
        starting values when fitted.
    priors : mapping of str to Prior
        One prior per fitted parameter.
    teff_range, logg_range : (float, float)
        Grid axes limits (the conditional bounds keep every component on the grid).
    photosphere_dominant : bool
        Require ``1 - fspot - ffac >= max(fspot, ffac)``: the photosphere is the component covering
        most of the disk. Without it the three components can swap roles (a large "faculae" fraction
        playing the photosphere), which makes the posterior multimodal.
    """

    def __init__(
        self,
        fitted: list[str],
        fixed: Mapping[str, float],
        priors: Mapping[str, Prior],
        teff_range: tuple[float, float],
        logg_range: tuple[float, float],
        photosphere_dominant: bool = False,
    ) -> None:
        unknown = set(fitted) - set(ORDER)
        if unknown:
            raise ConfigError(f"unknown fitted parameter(s) {sorted(unknown)}; known: {', '.join(ORDER)}")
        self.names = [n for n in ORDER if n in fitted]
        self.fixed = dict(fixed)
        for n in ("log_fspot", "log_ffac"):
            if n in self.names:
                self.fixed[n] = math.log10(max(self.fixed[n[4:]], 1e-300))
        self.priors = {n: priors[n] for n in self.names}
        self.teff_range = tuple(map(float, teff_range))
        self.logg_range = tuple(map(float, logg_range))
        self.photosphere_dominant = bool(photosphere_dominant)
        # evaluation order: photosphere before the parameters whose bounds depend on it
        self._eval = sorted(range(len(self.names)), key=lambda i: self.names[i] in _DEPENDENT)
        self._frac_names = [n for n in self.names if n in ("fspot", "log_fspot", "ffac", "log_ffac")]

    @property
    def ndim(self) -> int:
        """Number of fitted parameters."""
        return len(self.names)

    def bounds(self, name: str, values: Mapping[str, float]) -> tuple[float, float]:
        """Allowed interval of ``name`` given the (photosphere) values already set."""
        p = self.priors[name]
        t0, t1 = self.teff_range
        g0, g1 = self.logg_range
        if name == "deltaTspot":
            return max(p.low, t0 - values["Tphot"]), p.high
        if name == "deltaTfac":
            return p.low, min(p.high, t1 - values["Tphot"])
        if name == "dlogg_het":
            return max(p.low, g0 - values["logg_phot"]), min(p.high, g1 - values["logg_phot"])
        return p.low, p.high

    def values(self, theta: np.ndarray) -> dict[str, float]:
        """Every base parameter's value for a fitted vector (fixed ones filled in)."""
        v = dict(self.fixed)
        for name, x in zip(self.names, theta, strict=True):
            v[name] = float(x)
        if "log_fspot" in self.names:
            v["fspot"] = 10.0 ** v["log_fspot"]
        if "log_ffac" in self.names:
            v["ffac"] = 10.0 ** v["log_ffac"]
        return v

    def log_prior(self, theta: np.ndarray) -> float:
        """Normalised log prior density.

        ``-inf`` outside the support, when fspot + ffac > 1, or when the photosphere is not dominant
        and :attr:`photosphere_dominant` is set.
        """
        return self.log_prior_values(self.values(theta))

    def log_prior_values(self, v: Mapping[str, float]) -> float:
        """:meth:`log_prior` from a dict of values (see :meth:`values`)."""
        lp = 0.0
        for i in self._eval:
            name = self.names[i]
            lo, hi = self.bounds(name, v)
            lp += self.priors[name].log_density(v[name], lo, hi)
            if lp == -math.inf:
                return lp
        if not self.fractions_allowed(v["fspot"], v["ffac"]):
            return -math.inf
        return lp

    def fractions_allowed(self, fspot: float, ffac: float) -> bool:
        """Whether the covering fractions are allowed (fspot + ffac <= 1, and photosphere dominance if set)."""
        if self.photosphere_dominant:
            return 1.0 - fspot - ffac >= max(fspot, ffac)
        return fspot + ffac <= 1.0

    def transform(self, u: np.ndarray) -> np.ndarray:
        """Map the unit cube onto the prior (for nested sampling); see :meth:`log_prior`."""
        v = dict(self.fixed)
        theta = np.empty(self.ndim)
        for i in self._eval:
            name = self.names[i]
            lo, hi = self.bounds(name, v)
            theta[i] = v[name] = self.priors[name].transform(float(u[i]), lo, hi)
        return theta

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """Draw ``n`` vectors from the prior (rejecting forbidden covering fractions)."""
        out = []
        while len(out) < n:
            theta = self.transform(rng.random(self.ndim))
            if np.isfinite(self.log_prior(theta)):
                out.append(theta)
        return np.array(out).reshape(n, self.ndim)

    def max_fraction(self, name: str) -> float:
        """Largest value ``fspot`` or ``ffac`` can take under the prior."""
        if name in self.names:
            return self.priors[name].high
        if f"log_{name}" in self.names:
            return 10.0 ** self.priors[f"log_{name}"].high
        return self.fixed[name]

    def allowed_fraction(self, rng: np.random.Generator, n: int = 20000) -> float:
        """Fraction of the prior box where the prior is not zero (used to normalise the evidence).

        The box loses mass where fspot + ffac > 1 (or the photosphere is not dominant), and where the
        photosphere leaves no room on the grid for the heterogeneities (e.g. Tphot < Teff_min + min_delta_t
        with spots fitted).
        """
        fs, ff = self.max_fraction("fspot"), self.max_fraction("ffac")
        fractions = fs + ff > 1.0 or (self.photosphere_dominant and not self.fractions_allowed(fs, ff))
        t0, t1 = self.teff_range
        edge = False
        if "Tphot" in self.names:
            lo, hi = self.priors["Tphot"].low, self.priors["Tphot"].high
            edge = ("deltaTspot" in self.names and lo + self.priors["deltaTspot"].high < t0) or (
                "deltaTfac" in self.names and hi + self.priors["deltaTfac"].low > t1
            )
        if not (fractions or edge):
            return 1.0
        ok = sum(np.isfinite(self.log_prior(self.transform(u))) for u in rng.random((n, self.ndim)))
        return max(int(ok), 1) / n

    def start(self) -> np.ndarray:
        """Starting vector from the fixed/default values."""
        return np.array([self.fixed[n] for n in self.names], float)

    def validate_defaults(self) -> None:
        """Check that the fixed components lie on the grid, naming the option to change."""
        v = self.fixed
        t0, t1 = self.teff_range
        g0, g1 = self.logg_range
        checks = [
            ("Tphot", v["Tphot"], t0, t1, "star.teff"),
            ("Tspot", v["Tphot"] + v["deltaTspot"], t0, t1, "star.delta_tspot"),
            ("Tfac", v["Tphot"] + v["deltaTfac"], t0, t1, "star.delta_tfac"),
            ("logg_phot", v["logg_phot"], g0, g1, "star.logg_phot_value (or star.logg)"),
            ("logg_het", v["logg_phot"] + v["dlogg_het"], g0, g1, "star.logg_phot_value"),
        ]
        used = {
            "Tspot": v["fspot"] > 0 or "fspot" in self.names or "log_fspot" in self.names,
            "Tfac": v["ffac"] > 0 or "ffac" in self.names or "log_ffac" in self.names,
        }
        for name, x, lo, hi, opt in checks:
            if used.get(name, True) and not lo <= x <= hi:
                raise ConfigError(
                    f"the starting {name} = {x:g} is outside the grid ({lo:g} to {hi:g}); change {opt} "
                    "or use a grid that covers it"
                )
        if not self.fractions_allowed(v["fspot"], v["ffac"]):
            extra = " or set priors.photosphere_dominant = false" if self.photosphere_dominant else ""
            raise ConfigError(
                f"the starting covering fractions fspot = {v['fspot']:g}, ffac = {v['ffac']:g} are not allowed; "
                f"change star.fspot_start / star.ffac_start{extra}"
            )
