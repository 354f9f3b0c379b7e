"""PriorSpec -> NumPyro distribution, with each parameter kind's default."""

from __future__ import annotations

import numpyro.distributions as dist

from ..errors import ConfigError
from .config import PriorSpec

#: Defaults for kinds of parameter (the flux default is scaled to the data, see model.build_model).
DEFAULTS = {
    "redshift": PriorSpec("uniform", low=-0.005, high=0.005),
    "narrow": PriorSpec("uniform", low=0.0, high=1000.0),
    "broad": PriorSpec("uniform", low=1000.0, high=10000.0),
    "rscale": PriorSpec("truncnormal", loc=1.0, scale=0.1, low=0.6, high=1.4),
    "flux_scale": PriorSpec("truncnormal", loc=1.0, scale=0.1, low=0.5, high=1.5),
    "pix_offset": PriorSpec("truncnormal", loc=0.0, scale=0.5, low=-2.0, high=2.0),
}


def distribution(spec: PriorSpec, shift: float = 0.0, factor: float = 1.0, what: str = "parameter"):
    """The NumPyro distribution of ``shift + factor * x`` with ``x ~ spec``, or a float for a fixed prior."""
    if factor <= 0:
        raise ConfigError(f"{what}: prior scale factor must be positive, got {factor}")
    lo, hi = shift + factor * spec.low, shift + factor * spec.high
    loc, scale = shift + factor * spec.loc, factor * spec.scale
    if spec.kind == "uniform":
        return dist.Uniform(lo, hi)
    if spec.kind == "normal":
        return dist.Normal(loc, scale)
    if spec.kind == "truncnormal":
        return dist.TruncatedNormal(loc, scale, low=lo, high=hi)
    if spec.kind == "fixed":
        return float(loc)
    raise ConfigError(f"{what}: prior kind {spec.kind!r} needs a default here; give uniform, normal or truncnormal")


def describe(d) -> str:
    """Short text form of a prior for tables and logs."""
    if isinstance(d, float):
        return f"fixed({d:.6g})"
    if isinstance(d, dist.Uniform):
        return f"uniform({float(d.low):.6g}, {float(d.high):.6g})"
    if isinstance(d, dist.Normal):
        return f"normal({float(d.loc):.6g}, {float(d.scale):.6g})"
    base = getattr(d, "base_dist", d)
    return (
        f"truncnormal({float(base.loc):.6g}, {float(base.scale):.6g}, "
        f"{float(d.support.lower_bound):.6g}, {float(d.support.upper_bound):.6g})"
    )
