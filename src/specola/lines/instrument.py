"""The instrument configuration of a line fit: spectra, their resolution and shared calibration tokens.

Calibration tokens are shared by name: two spectra naming the same ``rscale`` token share one RScale
parameter. ``print(InstrumentConfig(...))`` shows the token table; :meth:`InstrumentConfig.to_toml` and
:meth:`InstrumentConfig.from_toml` save and load it (the ``[[spectra]]`` and ``[[calibration]]`` tables of a
``specola lines`` configuration).
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

from ..config import from_dict, option, to_toml
from ..errors import ConfigError
from ._priors import DEFAULTS, make_prior
from .config import CalibrationSpec, SpectrumSpec

__all__ = ["InstrumentConfig"]

_KINDS = ("rscale", "flux_scale", "pix_offset")


def _label(spec: SpectrumSpec, index: int) -> str:
    """A spectrum's name in the table: its ``name``, else its file's stem (as :func:`~specola.lines.load_spectra`)."""
    if spec.name:
        return spec.name
    return Path(spec.file).name.split(".")[0] if spec.file is not None else f"spectra[{index}]"


@dataclass(frozen=True)
class InstrumentConfig:
    """Spectra (file, resolution, token names) and the priors of their calibration tokens.

    Examples
    --------
    >>> cfg = InstrumentConfig(
    ...     spectra=(SpectrumSpec(name="PRISM", resolution="nirspec:prism:point", rscale="a", pix_offset="p"),
    ...              SpectrumSpec(name="G395M", resolution="nirspec:g395m:point", rscale="a", flux_scale="f")),
    ... )
    >>> InstrumentConfig.from_toml(cfg.to_toml()) == cfg
    True
    """

    spectra: tuple[SpectrumSpec, ...] = option((), help="spectra ([[spectra]] tables)")
    calibration: tuple[CalibrationSpec, ...] = option((), help="calibration token priors ([[calibration]])")

    def __post_init__(self) -> None:
        for c in self.calibration:
            if not any(getattr(s, c.kind) == c.name for s in self.spectra):
                raise ConfigError(f"calibration token {c.name!r} ({c.kind}) is not used by any [[spectra]] table")

    def token_prior(self, kind: str, name: str) -> str:
        """Text of the prior of one token (the default where none is declared)."""
        spec = next((c for c in self.calibration if c.name == name and c.kind == kind), None)
        prior = spec.prior if spec is not None and spec.prior.kind != "auto" else DEFAULTS[kind]
        return make_prior(prior, what=f"calibration token {name}").describe()

    def __str__(self) -> str:
        rows = [("name", "resolution", *(f"{k}" for k in _KINDS))]
        for k, s in enumerate(self.spectra):
            rows.append((_label(s, k), s.resolution, *(getattr(s, kind) or "(fixed)" for kind in _KINDS)))
        widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
        fmt = lambda r: "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip()
        out = [f"InstrumentConfig: {len(self.spectra)} spectra", fmt(rows[0]), fmt(tuple("-" * w for w in widths))]
        out += [fmt(r) for r in rows[1:]]
        for kind in _KINDS:
            names = list(dict.fromkeys(getattr(s, kind) for s in self.spectra if getattr(s, kind)))
            if names:
                out.append(f"{kind}:")
                out += [f"  {n:<12s} {self.token_prior(kind, n)}" for n in names]
        return "\n".join(out)

    def to_toml(self) -> str:
        """The ``[[spectra]]`` and ``[[calibration]]`` tables as TOML text."""
        return to_toml(self)

    @classmethod
    def from_toml(cls, text: str) -> InstrumentConfig:
        """Read TOML text (e.g. from :meth:`to_toml` or a ``specola lines`` config; other sections ignored)."""
        data = tomllib.loads(text)
        return from_dict(cls, {k: data[k] for k in ("spectra", "calibration") if k in data})
