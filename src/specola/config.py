"""Typed, validated run configurations read from TOML and command-line overrides.

A stage's configuration is a frozen dataclass whose fields are *sections*,
each itself a frozen dataclass of typed options with defaults. Options may
carry validation metadata made with :func:`option`::

    @dataclass(frozen=True)
    class Sampling:
        nsteps: int = option(3000, minimum=1, help="MCMC steps per walker")
        method: str = option("emcee", choices=("emcee", "dynesty"))

An unknown key, a wrong type or an out-of-range value raises
:class:`~specola.errors.ConfigError` naming the key, what was received and
what is allowed (with the nearest valid key for typos), before any work.
"""

from __future__ import annotations

import dataclasses
import difflib
import tomllib
import types
import typing
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

import tomli_w

from .errors import ConfigError, FileFormatError

__all__ = [
    "OptionInfo",
    "apply_overrides",
    "describe_config",
    "from_dict",
    "load_config",
    "markdown_table",
    "option",
    "options",
    "parse_overrides",
    "read_toml",
    "resolve_paths",
    "to_dict",
    "to_toml",
]

T = TypeVar("T")


def option(
    default: Any,
    *,
    choices: Iterable[Any] | None = None,
    minimum: float | None = None,
    maximum: float | None = None,
    help: str = "",
) -> Any:
    """Declare a configuration option with a default and validation rules.

    Parameters
    ----------
    default : object
        Default value (lists become tuples so configs stay immutable).
    choices : iterable, optional
        Allowed values.
    minimum, maximum : float, optional
        Inclusive bounds for numbers (applied element-wise to sequences).
    help : str
        One line describing the option (shown by ``specola <stage> --help-config``).

    Returns
    -------
    dataclasses.Field
    """
    meta = {
        "choices": None if choices is None else tuple(choices),
        "minimum": minimum,
        "maximum": maximum,
        "help": help,
    }
    if isinstance(default, list):
        default = tuple(default)
    return dataclasses.field(default=default, metadata=meta)


def _type_name(tp: Any) -> str:
    return getattr(tp, "__name__", str(tp).replace("typing.", ""))


def _coerce(value: Any, tp: Any, key: str) -> Any:
    """Check ``value`` against the annotation ``tp`` and return the normalised value."""
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        errors = []
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _coerce(value, arg, key)
            except ConfigError as exc:
                errors.append(str(exc))
        raise ConfigError(f"{key}: expected {' or '.join(_type_name(a) for a in args)}, got {value!r}")
    if tp is typing.Any:
        return value
    if origin in (tuple, list, Sequence) or tp in (tuple, list):
        if isinstance(value, str) or not isinstance(value, Sequence):
            raise ConfigError(f"{key}: expected a list, got {value!r}")
        if args and len(args) == 2 and args[1] is Ellipsis:
            return tuple(_coerce(v, args[0], f"{key}[{i}]") for i, v in enumerate(value))
        if args:
            if len(args) != len(value):
                raise ConfigError(f"{key}: expected a list of {len(args)} values, got {value!r}")
            return tuple(_coerce(v, a, f"{key}[{i}]") for i, (a, v) in enumerate(zip(args, value, strict=True)))
        return tuple(value)
    if tp is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, int) and value in (0, 1):
            return bool(value)
        raise ConfigError(f"{key}: expected true or false, got {value!r}")
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            if isinstance(value, float) and value.is_integer():
                return int(value)
            raise ConfigError(f"{key}: expected an integer, got {value!r}")
        return value
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(f"{key}: expected a number, got {value!r}")
        return float(value)
    if tp is str:
        if not isinstance(value, str):
            raise ConfigError(f"{key}: expected a string, got {value!r}")
        return value
    if tp is Path:
        if not isinstance(value, str | Path):
            raise ConfigError(f"{key}: expected a path string, got {value!r}")
        return Path(value)
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        if not isinstance(value, Mapping):
            raise ConfigError(f"{key}: expected a table of options, got {value!r}")
        return from_dict(tp, value, prefix=f"{key}.")
    raise ConfigError(f"{key}: unsupported option type {_type_name(tp)}")  # pragma: no cover


def _check_rules(value: Any, meta: Mapping[str, Any], key: str) -> None:
    choices = meta.get("choices")
    if choices is not None:
        items = value if isinstance(value, tuple) else (value,)
        for item in items:
            if item not in choices:
                raise ConfigError(f"{key}: {item!r} is not allowed; choose one of {', '.join(map(repr, choices))}")
    lo, hi = meta.get("minimum"), meta.get("maximum")
    numbers = [v for v in (value if isinstance(value, tuple) else (value,)) if isinstance(v, int | float)]
    for v in numbers:
        if (lo is not None and v < lo) or (hi is not None and v > hi):
            rng = f"[{'-inf' if lo is None else lo}, {'inf' if hi is None else hi}]"
            raise ConfigError(f"{key}: {v!r} is out of range; allowed {rng}")


def _unknown(key: str, name: str, valid: Iterable[str]) -> ConfigError:
    valid = sorted(valid)
    near = difflib.get_close_matches(name, valid, n=1)
    hint = f"; did you mean '{near[0]}'?" if near else f"; valid keys: {', '.join(valid)}"
    return ConfigError(f"unknown option '{key}'{hint}")


def from_dict(cls: type[T], data: Mapping[str, Any], prefix: str = "") -> T:
    """Build a config dataclass from a (nested) mapping, validating every key.

    Parameters
    ----------
    cls : type
        A frozen dataclass whose fields are options or nested sections.
    data : mapping
        Values read from TOML; missing keys keep their defaults.
    prefix : str
        Dotted prefix used in error messages.

    Returns
    -------
    cls instance

    Raises
    ------
    ConfigError
        On an unknown key, a wrong type or an out-of-range value.
    """
    fields = {f.name: f for f in dataclasses.fields(cls)}
    hints = typing.get_type_hints(cls)
    kwargs = {}
    for name, value in data.items():
        if name not in fields:
            raise _unknown(prefix + name, name, fields)
        coerced = _coerce(value, hints[name], prefix + name)
        _check_rules(coerced, fields[name].metadata, prefix + name)
        kwargs[name] = coerced
    try:
        return cls(**kwargs)
    except ConfigError:
        raise
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{prefix.rstrip('.') or cls.__name__}: {exc}") from None


def to_dict(config: Any) -> dict[str, Any]:
    """Nested plain-dict form of a config (paths as strings, tuples as lists, None dropped)."""

    def plain(v):
        if dataclasses.is_dataclass(v):
            return {f.name: plain(getattr(v, f.name)) for f in dataclasses.fields(v) if getattr(v, f.name) is not None}
        if isinstance(v, tuple | list):
            return [plain(x) for x in v]
        if isinstance(v, Path):
            return str(v)
        return v

    return plain(config)


def to_toml(config: Any) -> str:
    """TOML text of a config; ``from_dict(type(c), tomllib.loads(to_toml(c))) == c``."""
    return tomli_w.dumps(to_dict(config))


def _parse_value(text: str) -> Any:
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


def parse_overrides(args: Sequence[str]) -> dict[str, Any]:
    """Parse ``-section.key=value`` / ``-key=value`` arguments (values in TOML syntax).

    Examples
    --------
    >>> parse_overrides(["-fitspot=0", "-sampling.nsteps=100", "--label=run a"])
    {'fitspot': 0, 'sampling.nsteps': 100, 'label': 'run a'}
    """
    out = {}
    for arg in args:
        body = arg.lstrip("-")
        if not arg.startswith("-") or "=" not in body:
            raise ConfigError(f"cannot read override {arg!r}: write it as -key=value or -section.key=value")
        key, _, text = body.partition("=")
        out[key.strip()] = _parse_value(text.strip())
    return out


def _option_paths(cls: type, prefix: str = "") -> dict[str, tuple[str, ...]]:
    """Every option of a config class as dotted name -> path tuple."""
    paths = {}
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        tp = hints[f.name]
        if isinstance(tp, type) and dataclasses.is_dataclass(tp):
            for sub, path in _option_paths(tp, f"{prefix}{f.name}.").items():
                paths[sub] = (f.name, *path)
        else:
            paths[prefix + f.name] = (f.name,)
    return paths


def apply_overrides(cls: type, data: Mapping[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    """Merge overrides into raw config data; bare keys must name exactly one option.

    Parameters
    ----------
    cls : type
        The config dataclass (used to resolve bare keys to sections).
    data : mapping
        Raw nested data read from TOML.
    overrides : mapping
        ``{"section.key": value}`` or ``{"key": value}``.

    Returns
    -------
    dict
        A new nested dict.
    """
    merged = {k: dict(v) if isinstance(v, Mapping) else v for k, v in data.items()}
    paths = _option_paths(cls)
    for key, value in overrides.items():
        if key in paths:
            path = paths[key]
        else:
            matches = [p for name, p in paths.items() if name.rsplit(".", 1)[-1] == key]
            if len(matches) > 1:
                names = ", ".join(".".join(m) for m in matches)
                raise ConfigError(f"override '{key}' is ambiguous; write one of {names}")
            if not matches:
                raise _unknown(key, key, [*paths, *(n.rsplit(".", 1)[-1] for n in paths)])
            path = matches[0]
        node = merged
        for part in path[:-1]:
            node = node.setdefault(part, {})
        node[path[-1]] = value
    return merged


def load_config(cls: type[T], path: str | Path | None = None, overrides: Mapping[str, Any] | None = None) -> T:
    """Read a TOML file (optional), apply overrides, and validate into ``cls``.

    Relative paths are resolved here, once, for every stage: options typed
    ``Path`` (or ``Path | None``, ``tuple[Path, ...]``) written in the file are
    relative to the file's folder; those given as overrides (the command line)
    are relative to the working directory.

    Parameters
    ----------
    cls : type
        The stage's config dataclass.
    path : str or Path, optional
        TOML file; None starts from the defaults.
    overrides : mapping, optional
        Values from the command line (see :func:`parse_overrides`).

    Returns
    -------
    cls instance
    """
    data = {} if path is None else resolve_paths(cls, read_toml(path), Path(path).resolve().parent)
    merged = apply_overrides(cls, data, overrides or {})
    return from_dict(cls, resolve_paths(cls, merged, Path.cwd()))


def _is_path_type(tp: Any) -> bool:
    if tp is Path:
        return True
    args = typing.get_args(tp)
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        return any(_is_path_type(a) for a in args if a is not type(None))
    if typing.get_origin(tp) in (tuple, list, Sequence):
        return bool(args) and _is_path_type(args[0])
    return False


def resolve_paths(cls: type, data: Mapping[str, Any], base: Path) -> dict[str, Any]:
    """Raw config data with every relative ``Path``-typed option made absolute against ``base``.

    Parameters
    ----------
    cls : type
        The config dataclass that says which options are paths.
    data : mapping
        Raw nested data (as read from TOML); unknown keys are left for :func:`from_dict` to report.
    base : Path
        Folder that relative paths are relative to.

    Returns
    -------
    dict
        A new nested dict.

    Examples
    --------
    >>> import dataclasses
    >>> @dataclasses.dataclass(frozen=True)
    ... class Inputs:
    ...     file: Path = option(Path("a.fits"))
    >>> resolve_paths(Inputs, {"file": "data/x.fits"}, Path("/runs"))
    {'file': '/runs/data/x.fits'}
    """
    hints = typing.get_type_hints(cls)
    out = dict(data)
    for f in dataclasses.fields(cls):
        if f.name not in out:
            continue
        tp, value = hints[f.name], out[f.name]
        item = typing.get_args(tp)[0] if typing.get_origin(tp) in (tuple, list) and typing.get_args(tp) else None
        if isinstance(tp, type) and dataclasses.is_dataclass(tp) and isinstance(value, Mapping):
            out[f.name] = resolve_paths(tp, value, base)
        elif isinstance(item, type) and dataclasses.is_dataclass(item) and isinstance(value, list | tuple):
            out[f.name] = [resolve_paths(item, v, base) if isinstance(v, Mapping) else v for v in value]  # [[tables]]
        elif _is_path_type(tp):
            out[f.name] = _absolute(value, base)
    return out


def _absolute(value: Any, base: Path) -> Any:
    if isinstance(value, str | Path) and str(value):
        path = Path(value).expanduser()
        return str(path if path.is_absolute() else base / path)
    if isinstance(value, list | tuple):
        return [_absolute(v, base) for v in value]
    return value


@dataclasses.dataclass(frozen=True)
class OptionInfo:
    """One option of a config class, as ``--help-config`` shows it."""

    key: str
    default: Any
    type: str
    help: str
    choices: tuple[Any, ...] | None = None
    minimum: float | None = None
    maximum: float | None = None

    @property
    def rules(self) -> str:
        """Choices and bounds in words, e.g. ``"choices: 'a', 'b'"`` or ``">= 1"``."""
        parts = []
        if self.choices is not None:
            parts.append("choices: " + ", ".join(_toml_value(c) for c in self.choices))
        if self.minimum is not None:
            parts.append(f">= {self.minimum:g}")
        if self.maximum is not None:
            parts.append(f"<= {self.maximum:g}")
        return "; ".join(parts)


def options(cls: type, prefix: str = "") -> list[OptionInfo]:
    """Every option of a config class, in declaration order, with its default, help and rules.

    Parameters
    ----------
    cls : type
        A config dataclass (sections nest).
    prefix : str
        Dotted prefix for the keys.

    Returns
    -------
    list of OptionInfo
    """
    hints = typing.get_type_hints(cls)
    out = []
    for f in dataclasses.fields(cls):
        tp = hints[f.name]
        if isinstance(tp, type) and dataclasses.is_dataclass(tp):
            out.extend(options(tp, f"{prefix}{f.name}."))
            continue
        if f.default is not dataclasses.MISSING:
            default = f.default
        elif f.default_factory is not dataclasses.MISSING:
            default = f.default_factory()
        else:
            default = None
        meta = f.metadata
        out.append(
            OptionInfo(
                key=prefix + f.name,
                default=default,
                type=_type_name(tp),
                help=meta.get("help", ""),
                choices=meta.get("choices"),
                minimum=meta.get("minimum"),
                maximum=meta.get("maximum"),
            )
        )
    return out


def _toml_value(value: Any) -> str:
    """A value in TOML syntax on one line (``--help-config`` and the guides' tables)."""
    if value is None:
        return "(unset)"
    if isinstance(value, Path):
        value = str(value)
    if dataclasses.is_dataclass(value):
        value = to_dict(value)
    if isinstance(value, tuple | list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{k} = {_toml_value(v)}" for k, v in value.items()) + "}"
    try:
        return tomli_w.dumps({"v": value}).strip().removeprefix("v = ")
    except TypeError:
        return repr(value)


def describe_config(cls: type) -> str:
    """Every option as ``section.key = default  # help [choices, bounds]``, one per line.

    Examples
    --------
    >>> import dataclasses
    >>> @dataclasses.dataclass(frozen=True)
    ... class Fit:
    ...     method: str = option("nuts", choices=("nuts", "map"), help="inference method")
    ...     num_samples: int = option(1000, minimum=1, help="draws per chain")
    >>> print(describe_config(Fit))
    method = "nuts"  # inference method [choices: "nuts", "map"]
    num_samples = 1000  # draws per chain [>= 1]
    """
    lines = []
    for o in options(cls):
        rules = f" [{o.rules}]" if o.rules else ""
        lines.append(f"{o.key} = {_toml_value(o.default)}  # {o.help or '(no help written)'}{rules}")
    return "\n".join(lines)


def markdown_table(cls: type) -> str:
    """The options of ``cls`` as a Markdown table (key, default, meaning, allowed) for the user guides."""

    def cell(text: str) -> str:
        return text.replace("|", "\\|")

    rows = ["| option | default | meaning | allowed |", "|---|---|---|---|"]
    for o in options(cls):
        rows.append(f"| `{o.key}` | `{cell(_toml_value(o.default))}` | {cell(o.help)} | {cell(o.rules)} |")
    return "\n".join(rows)


def read_toml(path: str | Path) -> dict[str, Any]:
    """Read a TOML file, naming the file in any error.

    Raises
    ------
    FileFormatError
        The file does not exist.
    ConfigError
        The file is not valid TOML.
    """
    path = Path(path)
    try:
        return tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise FileFormatError(f"{path}: config file not found") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc})") from None
