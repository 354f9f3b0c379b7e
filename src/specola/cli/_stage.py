"""The command-line shape shared by stages run from a TOML config."""

from __future__ import annotations

import argparse
from collections.abc import Callable

__all__ = ["add_config_stage"]


def add_config_stage(
    sub: argparse._SubParsersAction,
    name: str,
    func: Callable[[argparse.Namespace], int],
    help: str,
    description: str,
    config_help: str,
    output_help: str,
    output_default: str | None = None,
    config_optional: bool = False,
) -> argparse.ArgumentParser:
    """Register ``specola NAME config.toml [-o OUT] [--overwrite] [--print-config] [-section.key=value ...]``.

    Returns
    -------
    argparse.ArgumentParser
        The stage's parser, for stage-specific options.
    """
    p = sub.add_parser(name, help=help, description=description)
    p.add_argument("config", nargs="?" if config_optional else None, help=config_help)
    p.add_argument("-o", "--output", default=output_default, help=output_help)
    p.add_argument("--overwrite", action="store_true", help="reuse an existing run folder")
    p.add_argument("--print-config", action="store_true", help="print the resolved configuration and stop")
    p.set_defaults(func=func, takes_overrides=True)
    return p
