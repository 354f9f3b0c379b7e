"""``specola stellar``: photosphere + spots + faculae retrieval of a stellar spectrum."""

from __future__ import annotations

import argparse
from typing import Any

from ._stage import StageCommand, add_stage

__all__ = ["COMMAND", "add_parser"]


def _flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--compare", action="store_true", help="fit photosphere, +spots, +faculae, +both and compare")


def _overrides(args: argparse.Namespace) -> dict[str, Any]:
    return {"inputs.compare_models": True} if args.compare else {}


COMMAND = StageCommand(
    name="stellar",
    help="fit photosphere + spots + faculae models to a stellar spectrum",
    description="Stellar retrieval (specola's counterpart of stctm/exotune). Accepts specola's or the peer's "
    "TOML layout; override options with -section.key=value, -key=value or peer names (-fitspot=0).",
    config="specola.stellar.config:StellarConfig",
    loader="specola.stellar.config:load_stellar_config",
    config_optional=True,
    output_help="run folder (default: inputs.output_dir / automatic name)",
    flags=_flags,
    overrides=_overrides,
)


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register ``specola stellar``."""
    add_stage(sub, COMMAND)
