"""The command-line shape shared by every stage run from a TOML config.

A stage's CLI module declares one :class:`StageCommand` and calls :func:`add_stage`; the rest is here:
``specola STAGE config.toml [-o OUT] [--overwrite] [--print-config] [--help-config] [-section.key=value ...]``
loads the config (relative paths resolved against the TOML's folder), calls the stage's
``run_to_folder(config, output, overwrite=...)`` and prints the result's one-line summary.
Nothing heavy is imported until the command runs: the stage module is named, not imported.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

__all__ = ["StageCommand", "add_stage", "config_class", "load_stage_config", "stage_command"]


@dataclasses.dataclass(frozen=True)
class StageCommand:
    """How one stage appears on the command line.

    Parameters
    ----------
    name : str
        Subcommand and stage name (``"extract"``).
    help, description : str
        Shown by ``specola --help`` and ``specola NAME --help``.
    config : str
        ``"module:ClassName"`` of the stage's config dataclass; the module must be light (no matplotlib/jax).
    loader : str, optional
        ``"module:function"`` taking ``(path, overrides)`` and returning the config, for stages that read more
        than specola's own TOML layout (stellar reads the peer's too); default :func:`specola.config.load_config`.
    config_optional : bool
        Whether the TOML file may be left out (all defaults).
    output_help : str
        Help for ``-o/--output`` (default: ``run_to_folder``'s own choice).
    flags : callable, optional
        ``flags(parser)`` adds stage-specific shorthand options.
    overrides : callable, optional
        ``overrides(args) -> {"section.key": value}`` turns those shorthands into config overrides.
    """

    name: str
    help: str
    description: str
    config: str
    loader: str | None = None
    config_optional: bool = False
    output_help: str = "run folder (default: chosen by the stage)"
    flags: Callable[[argparse.ArgumentParser], None] | None = None
    overrides: Callable[[argparse.Namespace], Mapping[str, Any]] | None = None


def _load(ref: str) -> Any:
    module, _, attr = ref.partition(":")
    return getattr(importlib.import_module(module), attr)


def stage_command(name: str) -> StageCommand:
    """The :class:`StageCommand` of a stage (declared once, in ``specola.cli.<name>``)."""
    return importlib.import_module(f"specola.cli.{name}").COMMAND


def config_class(command: StageCommand) -> type:
    """The stage's config dataclass."""
    return _load(command.config)


def load_stage_config(command: StageCommand, path: str | Path | None, overrides: Mapping[str, Any]) -> Any:
    """The stage's config from a TOML file (optional) and overrides, validated."""
    if command.loader:
        return _load(command.loader)(path, dict(overrides))
    from ..config import load_config

    return load_config(config_class(command), path, overrides)


def add_stage(sub: argparse._SubParsersAction, command: StageCommand) -> argparse.ArgumentParser:
    """Register the stage's subcommand.

    Returns
    -------
    argparse.ArgumentParser
        The stage's parser.
    """
    p = sub.add_parser(command.name, help=command.help, description=command.description)
    p.add_argument(
        "config",
        nargs="?",
        help="TOML configuration" + (" (optional: defaults otherwise)" if command.config_optional else ""),
    )
    p.add_argument("-o", "--output", help=command.output_help)
    p.add_argument("--overwrite", action="store_true", help="replace an earlier run in the output folder")
    p.add_argument("--print-config", action="store_true", help="print the resolved configuration and stop")
    p.add_argument(
        "--help-config", action="store_true", help="list every option with its default, meaning and allowed values"
    )
    if command.flags is not None:
        command.flags(p)
    p.set_defaults(func=lambda args: _run(command, args), takes_overrides=True)
    return p


def _run(command: StageCommand, args: argparse.Namespace) -> int:
    from ..config import describe_config, to_toml
    from ..errors import ConfigError

    if args.help_config:
        print(describe_config(config_class(command)))
        return 0
    if args.config is None and not command.config_optional:
        raise ConfigError(
            f"specola {command.name} needs a TOML configuration file "
            f"(see examples/{command.name}.toml, or --help-config for every option)"
        )
    overrides = dict(args.overrides)
    if command.overrides is not None:
        overrides.update(command.overrides(args))
    config = load_stage_config(command, args.config, overrides)
    if args.print_config:
        print(to_toml(config))
        return 0
    stage = importlib.import_module(f"specola.{command.name}")
    result = stage.run_to_folder(config, args.output, overwrite=args.overwrite)
    print(result.summary())
    return 0
