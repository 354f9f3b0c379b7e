"""Priors of the line model: PriorSpec -> :class:`Prior`, with bounds that may be expressions of other parameters.

A bound or location written as a string (``low = "fwhm_narrow + 150"``) is parsed by :func:`parse_expression`, a
small grammar of numbers, parameter names, ``+ - * /`` and parentheses (an AST walk; nothing is evaluated as
Python). Names are other parameters' site names, in the units of the config (km/s for widths, relative redshift,
the flux unit times Angstrom for fluxes). :func:`order_sites` sorts parameters so every one comes after those its
prior refers to, and rejects unknown names and cycles by name.
"""

from __future__ import annotations

import ast
import math
import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace

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
    "fwhmg": PriorSpec("uniform", low=0.0, high=1000.0),
    "skew": PriorSpec("uniform", low=-10.0, high=10.0),
    "h3": PriorSpec("uniform", low=-0.3, high=0.3),
    "h4": PriorSpec("uniform", low=-0.3, high=0.3),
}

_OPS = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv}


@dataclass(frozen=True)
class Expression:
    """A parsed arithmetic expression of parameter names; ``fn(values)`` evaluates it."""

    text: str
    names: frozenset[str]
    fn: Callable[[Mapping[str, float]], float] = field(compare=False, repr=False)

    def __str__(self) -> str:
        return f"({self.text})"


def parse_expression(text: str, what: str = "prior") -> Expression:
    """Parse ``text`` (numbers, names, ``+ - * /``, parentheses) into an :class:`Expression`.

    Examples
    --------
    >>> e = parse_expression("fwhm_narrow + 150")
    >>> sorted(e.names), e.fn({"fwhm_narrow": 200.0})
    (['fwhm_narrow'], 350.0)
    """
    try:
        tree = ast.parse(text.strip(), mode="eval").body
    except SyntaxError:
        raise ConfigError(f"{what}: cannot parse {text!r}; use numbers, parameter names, + - * / and ()") from None
    names: set[str] = set()

    def build(node: ast.AST) -> Callable[[Mapping[str, float]], float]:
        if isinstance(node, ast.Constant) and isinstance(node.value, int | float) and not isinstance(node.value, bool):
            value = float(node.value)
            return lambda v: value
        if isinstance(node, ast.Name):
            names.add(node.id)
            return lambda v, n=node.id: v[n]
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
            inner = build(node.operand)
            return (lambda v: -inner(v)) if isinstance(node.op, ast.USub) else inner
        if isinstance(node, ast.BinOp) and type(node.op) in _OPS:
            left, right, op = build(node.left), build(node.right), _OPS[type(node.op)]
            return lambda v: op(left(v), right(v))
        raise ConfigError(
            f"{what}: {ast.unparse(node)!r} is not allowed in {text!r}; use numbers, parameter names, + - * / and ()"
        )

    fn = build(tree)
    return Expression(text.strip(), frozenset(names), fn)


def _value(x: float | str, what: str) -> float | Expression:
    return parse_expression(x, what) if isinstance(x, str) else float(x)


@dataclass(frozen=True)
class Prior:
    """A prior in the model's units: ``shift + factor * x`` with ``x`` drawn from the config's :class:`PriorSpec`.

    Bounds and locations may be :class:`Expression` objects of other parameters (in config units);
    :meth:`distribution` evaluates them with the values of those parameters.

    ``origin`` names the model argument that holds the shift at run time (``"z0"``, the systemic redshift, for
    redshift priors) and ``unit`` the one in whose units the parameter is (``"line_unit"``, the data's flux
    scale, for flux priors in physical units: ``factor = 1 / args[unit]``). Compiled code takes both from the
    arguments (:meth:`bind`), so they are not compiled in and models of other spectra and redshifts share one
    compile (:meth:`structure`); ``shift`` and ``factor`` keep this model's values, for bounds, starting
    points and tables on the host.
    """

    kind: str
    low: float | Expression
    high: float | Expression
    loc: float | Expression
    scale: float
    shift: float = 0.0
    factor: float = 1.0
    origin: str = ""
    unit: str = ""

    @property
    def runtime(self) -> bool:
        """Whether the shift or factor comes from the model arguments at run time."""
        return bool(self.origin or self.unit)

    def bind(self, args: Mapping | None) -> Prior:
        """The prior with the shift and factor of these model arguments (numbers or traced arrays; None: as is)."""
        if args is None or not self.runtime:
            return self
        shift = args[self.origin] if self.origin else self.shift
        return replace(self, shift=shift, factor=1.0 / args[self.unit] if self.unit else self.factor)

    def structure(self) -> str:
        """What compiled code bakes in of this prior: its repr, less the shift and factor from the arguments."""
        return repr(replace(self, shift=0.0 if self.origin else self.shift, factor=1.0 if self.unit else self.factor))

    @property
    def names(self) -> frozenset[str]:
        """Parameters this prior depends on."""
        used = {"uniform": (self.low, self.high), "loguniform": (self.low, self.high), "normal": (self.loc,),
                "truncnormal": (self.loc, self.low, self.high), "fixed": (self.loc,)}[self.kind]  # fmt: skip
        return frozenset().union(*(x.names for x in used if isinstance(x, Expression)))

    def _eval(self, x: float | Expression, values: Mapping[str, float] | None) -> float:
        if isinstance(x, Expression):
            if values is None:
                raise ConfigError(f"prior bound {x} depends on other parameters; give their values")
            return self.shift + self.factor * x.fn(values)
        return self.shift + self.factor * x

    def bounds(self, values: Mapping[str, float] | None = None) -> tuple[float, float]:
        """Support ``(low, high)`` in model units (infinite where unbounded)."""
        if self.kind in ("uniform", "loguniform", "truncnormal"):
            return self._eval(self.low, values), self._eval(self.high, values)
        if self.kind == "fixed":
            v = self._eval(self.loc, values)
            return v, v
        return -math.inf, math.inf

    def location(self, values: Mapping[str, float] | None = None) -> float:
        """The location in model units: the mean of a (truncated) normal prior, the value of a fixed one."""
        return self._eval(self.loc, values)

    def distribution(self, values: Mapping[str, float] | None = None):
        """The NumPyro distribution (JAX-traceable in ``values``)."""
        import numpyro.distributions as dist

        lo, hi = self.bounds(values)
        if self.kind == "uniform":
            return dist.Uniform(lo, hi)
        if self.kind == "loguniform":
            return dist.LogUniform(lo, hi)
        loc, scale = self.location(values), self.factor * self.scale
        if self.kind == "normal":
            return dist.Normal(loc, scale)
        return dist.TruncatedNormal(loc, scale, low=lo, high=hi)

    def centre(self, values: Mapping[str, float] | None = None) -> float:
        """A starting value well inside the support."""
        lo, hi = self.bounds(values)
        if self.kind == "loguniform":
            return math.sqrt(lo * hi)
        if self.kind in ("normal", "truncnormal", "fixed"):
            return min(max(self.location(values), lo), hi)
        return 0.5 * (lo + hi)

    def describe(self) -> str:
        """Short text form for tables and logs (config units)."""
        f = lambda x: str(x) if isinstance(x, Expression) else f"{x:.6g}"
        if self.kind in ("uniform", "loguniform"):
            text = f"{self.kind}({f(self.low)}, {f(self.high)})"
        elif self.kind == "normal":
            text = f"normal({f(self.loc)}, {self.scale:.6g})"
        elif self.kind == "truncnormal":
            text = f"truncnormal({f(self.loc)}, {self.scale:.6g}, {f(self.low)}, {f(self.high)})"
        else:
            text = f"fixed({f(self.loc)})"
        if self.shift or self.factor != 1.0:
            text += f" [model = {self.shift:.6g} + {self.factor:.6g} x]"
        return text


def make_prior(
    spec: PriorSpec,
    shift: float = 0.0,
    factor: float = 1.0,
    what: str = "parameter",
    origin: str = "",
    unit: str = "",
) -> Prior:
    """A :class:`Prior` from a config table (``kind = "auto"`` must be resolved by the caller).

    ``origin`` and ``unit`` name the model arguments that hold ``shift`` and ``1 / factor`` at run time (see
    :class:`Prior`).
    """
    if spec.kind == "auto":
        raise ConfigError(f"{what}: prior kind 'auto' has no default here; give uniform, normal or truncnormal")
    if factor <= 0:
        raise ConfigError(f"{what}: prior scale factor must be positive, got {factor}")
    low, high, loc = (_value(x, f"{what} prior {k}") for k, x in (("low", spec.low), ("high", spec.high),
                                                                   ("loc", spec.loc)))  # fmt: skip
    if spec.kind == "fixed" and isinstance(loc, Expression):
        raise ConfigError(f"{what}: a fixed prior needs a number as loc, got {spec.loc!r}")
    if spec.kind == "loguniform" and isinstance(low, float) and not low > 0:
        raise ConfigError(f"{what}: loguniform prior needs low > 0, got {spec.low}")
    return Prior(spec.kind, low, high, loc, float(spec.scale), shift, factor, origin, unit)


def order_sites(priors: Mapping[str, Prior], fixed: Mapping[str, float]) -> list[str]:
    """Site names sorted so each comes after the parameters its prior refers to.

    Raises
    ------
    ConfigError
        A prior refers to an unknown parameter, or priors refer to each other in a cycle (both named).
    """
    known = set(priors) | set(fixed)
    for name, p in priors.items():
        unknown = sorted(p.names - known)
        if unknown:
            raise ConfigError(
                f"prior of {name} refers to unknown parameter(s) {', '.join(unknown)}; "
                f"known: {', '.join(sorted(known))}"
            )
    order: list[str] = []
    state: dict[str, int] = {}

    def visit(name: str, path: list[str]) -> None:
        if state.get(name) == 2 or name in fixed:
            return
        if state.get(name) == 1:
            cycle = [*path[path.index(name) :], name]
            raise ConfigError(f"priors refer to each other in a cycle: {' -> '.join(cycle)}")
        state[name] = 1
        for dep in sorted(priors[name].names):
            visit(dep, [*path, name])
        state[name] = 2
        order.append(name)

    for name in priors:
        visit(name, [])
    return order
