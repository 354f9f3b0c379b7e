"""The one table of the stellar model's parameters; name lists, orderings and labels are derived from it.

Each row is a parameter that can be fitted: the ``fit.*`` switch that fits it (and the switches of which one
must also be on: no spot temperature without spots), the base parameter it sets
(``log_fspot`` sets ``fspot``), the photosphere parameter its bounds follow (``deltaTspot`` stays on the
grid given ``Tphot``), the physical component quantity it makes vary (for figures), the option its default
prior bound and its fixed value come from, and its axis label. Fitted vectors are ordered as the table.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["BASE", "DEPENDENT", "ORDER", "PARAMETERS", "Parameter", "by_name"]


@dataclass(frozen=True)
class Parameter:
    """One row of :data:`PARAMETERS`."""

    name: str
    switch: str
    base: str
    label: str
    bound: str
    fixed: str
    component: str | None = None
    parent: str | None = None
    requires: tuple[str, ...] = ()


PARAMETERS = (
    Parameter("logErrInfl", "error_inflation", "logErrInfl", r"$\log_{10}$ err. infl.",
              "[0, log10 priors.error_inflation_max]", "0 (no inflation)"),
    Parameter("fspot", "spots", "fspot", r"$f_{\rm spot}$", "[0, priors.fraction_max]", "star.fspot_start", "fspot"),
    Parameter("log_fspot", "spots", "fspot", r"$\log_{10} f_{\rm spot}$", "priors.log_fraction_range",
              "star.fspot_start", "fspot"),
    Parameter("ffac", "faculae", "ffac", r"$f_{\rm fac}$", "[0, priors.fraction_max]", "star.ffac_start", "ffac"),
    Parameter("log_ffac", "faculae", "ffac", r"$\log_{10} f_{\rm fac}$", "priors.log_fraction_range",
              "star.ffac_start", "ffac"),
    Parameter("Tphot", "tphot", "Tphot", r"$T_{\rm phot}$ [K]", "grid Teff range", "star.teff", "Tphot"),
    Parameter("deltaTspot", "het_temperatures", "deltaTspot", r"$\Delta T_{\rm spot}$ [K]",
              "[Teff_min - Tphot, -priors.min_delta_t]", "star.delta_tspot", "Tspot", "Tphot", ("spots",)),
    Parameter("deltaTfac", "het_temperatures", "deltaTfac", r"$\Delta T_{\rm fac}$ [K]",
              "[priors.min_delta_t, Teff_max - Tphot]", "star.delta_tfac", "Tfac", "Tphot", ("faculae",)),
    Parameter("logFscale", "fscale", "logFscale", r"$\log_{10} F_{\rm scale}$",
              "guess +- priors.log_fscale_halfwidth", "log10 of the Fscale guess"),
    Parameter("logg_phot", "logg_phot", "logg_phot", r"$\log g_{\rm phot}$", "grid logg range",
              "star.logg_phot_value or star.logg", "logg_phot"),
    Parameter("dlogg_het", "logg_het", "dlogg_het", r"$\Delta \log g_{\rm het}$", "[logg_min - logg_phot, 0]",
              "0", "logg_het", "logg_phot", ("spots", "faculae")),
)  # fmt: skip

#: Fitted parameter names in the order of fitted vectors.
ORDER = tuple(p.name for p in PARAMETERS)
#: Base parameters (what the model needs), in the order the likelihood unpacks them.
BASE = ("fspot", "ffac", "Tphot", "deltaTspot", "deltaTfac", "logg_phot", "dlogg_het", "logFscale", "logErrInfl")
#: Parameters whose prior bounds follow a photosphere parameter.
DEPENDENT = {p.name: p.parent for p in PARAMETERS if p.parent}


def by_name(name: str) -> Parameter:
    """The row of ``name``."""
    for p in PARAMETERS:
        if p.name == name:
            return p
    raise KeyError(name)
