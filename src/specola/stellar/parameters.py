"""The one table of the stellar model's parameters; name lists, orderings and labels are derived from it.

Each row is a parameter that can be fitted: the ``fit.*`` switch that fits it (and the switches of which one
must also be on: no spot temperature without spots), the base parameter it sets
(``log_fspot`` sets ``fspot``), the photosphere parameter its bounds follow (``deltaTspot`` stays on the
grid given ``Tphot``), the physical component quantity it makes vary (for figures), its default prior
bound and its fixed value (functions of the configuration, see :class:`Context`), and its axis label.
Fitted vectors are ordered as the table. :data:`DERIVED` is the table of the physical quantities
reported for every sample, each a function of the base parameters.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["BASE", "DEPENDENT", "DERIVED", "ORDER", "PARAMETERS", "Context", "Derived", "Parameter", "by_name"]


@dataclass(frozen=True)
class Context:
    """What default bounds and fixed values are computed from.

    Attributes
    ----------
    config : StellarConfig
        The run's configuration (``priors``, ``star``, ``fit``).
    teff_range, logg_range : (float, float)
        The grid's axes limits.
    log_fscale : float
        log10 of the flux-scale guess.
    """

    config: Any
    teff_range: tuple[float, float]
    logg_range: tuple[float, float]
    log_fscale: float

    @property
    def logg_phot(self) -> float:
        """The photosphere's logg when it is not fitted (``star.logg_phot_source``)."""
        s = self.config.star
        return s.logg if s.logg_phot_source == "star" else s.logg_phot_value


@dataclass(frozen=True)
class Parameter:
    """One row of :data:`PARAMETERS`."""

    name: str
    switch: str
    base: str
    label: str
    bound: Callable[[Context], tuple[float, float]]
    fixed: Callable[[Context], float]
    component: str | None = None
    parent: str | None = None
    requires: tuple[str, ...] = ()


_pr = lambda c: c.config.priors
_st = lambda c: c.config.star
_t0 = lambda c: c.teff_range[0]
_t1 = lambda c: c.teff_range[1]

PARAMETERS = (
    Parameter("logErrInfl", "error_inflation", "logErrInfl", r"$\log_{10}$ err. infl.",
              lambda c: (0.0, math.log10(_pr(c).error_inflation_max)), lambda c: 0.0),
    Parameter("fspot", "spots", "fspot", r"$f_{\rm spot}$", lambda c: (0.0, _pr(c).fraction_max),
              lambda c: _st(c).fspot_start if c.config.fit.spots else 0.0, "fspot"),
    Parameter("log_fspot", "spots", "fspot", r"$\log_{10} f_{\rm spot}$",
              lambda c: tuple(_pr(c).log_fraction_range), lambda c: _st(c).fspot_start, "fspot"),
    Parameter("ffac", "faculae", "ffac", r"$f_{\rm fac}$", lambda c: (0.0, _pr(c).fraction_max),
              lambda c: _st(c).ffac_start if c.config.fit.faculae else 0.0, "ffac"),
    Parameter("log_ffac", "faculae", "ffac", r"$\log_{10} f_{\rm fac}$",
              lambda c: tuple(_pr(c).log_fraction_range), lambda c: _st(c).ffac_start, "ffac"),
    Parameter("Tphot", "tphot", "Tphot", r"$T_{\rm phot}$ [K]", lambda c: c.teff_range, lambda c: _st(c).teff,
              "Tphot"),
    Parameter("deltaTspot", "het_temperatures", "deltaTspot", r"$\Delta T_{\rm spot}$ [K]",
              lambda c: (_t0(c) - _t1(c), -_pr(c).min_delta_t), lambda c: _st(c).delta_tspot, "Tspot", "Tphot",
              ("spots",)),
    Parameter("deltaTfac", "het_temperatures", "deltaTfac", r"$\Delta T_{\rm fac}$ [K]",
              lambda c: (_pr(c).min_delta_t, _t1(c) - _t0(c)), lambda c: _st(c).delta_tfac, "Tfac", "Tphot",
              ("faculae",)),
    Parameter("logFscale", "fscale", "logFscale", r"$\log_{10} F_{\rm scale}$",
              lambda c: (c.log_fscale - _pr(c).log_fscale_halfwidth, c.log_fscale + _pr(c).log_fscale_halfwidth),
              lambda c: c.log_fscale),
    Parameter("logg_phot", "logg_phot", "logg_phot", r"$\log g_{\rm phot}$", lambda c: c.logg_range,
              lambda c: c.logg_phot, "logg_phot"),
    Parameter("dlogg_het", "logg_het", "dlogg_het", r"$\Delta \log g_{\rm het}$",
              lambda c: (c.logg_range[0] - c.logg_range[1], 0.0), lambda c: 0.0, "logg_het", "logg_phot",
              ("spots", "faculae")),
)  # fmt: skip

#: Fitted parameter names in the order of fitted vectors.
ORDER = tuple(p.name for p in PARAMETERS)
#: Base parameters (what the model needs), in the order the likelihood unpacks them.
BASE = ("fspot", "ffac", "Tphot", "deltaTspot", "deltaTfac", "logg_phot", "dlogg_het", "logFscale", "logErrInfl")
#: Parameters whose prior bounds follow a photosphere parameter.
DEPENDENT = {p.name: p.parent for p in PARAMETERS if p.parent}


@dataclass(frozen=True)
class Derived:
    """One row of :data:`DERIVED`: a physical quantity, its form in the base parameters, its grid axis."""

    name: str
    form: Callable[[Mapping[str, Any]], Any]
    axis: str | None = None


#: Physical quantities of every sample (after the fitted names), from the base parameters.
DERIVED = (
    Derived("fspot", lambda v: v["fspot"]),
    Derived("ffac", lambda v: v["ffac"]),
    Derived("Tphot", lambda v: v["Tphot"], "Teff"),
    Derived("Tspot", lambda v: v["Tphot"] + v["deltaTspot"], "Teff"),
    Derived("Tfac", lambda v: v["Tphot"] + v["deltaTfac"], "Teff"),
    Derived("logg_phot", lambda v: v["logg_phot"], "logg"),
    Derived("logg_het", lambda v: v["logg_phot"] + v["dlogg_het"], "logg"),
    Derived("Fscale", lambda v: 10.0 ** v["logFscale"]),
    Derived("errInfl", lambda v: 10.0 ** v["logErrInfl"]),
)


def by_name(name: str) -> Parameter:
    """The row of ``name``."""
    for p in PARAMETERS:
        if p.name == name:
            return p
    raise KeyError(name)
