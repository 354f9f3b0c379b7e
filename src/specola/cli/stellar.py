"""``specola stellar``: photosphere + spots + faculae retrieval of a stellar spectrum."""

from __future__ import annotations

import argparse
import dataclasses
import logging
from pathlib import Path

from ..config import to_toml
from ..runs import RunFolder
from ._stage import add_config_stage

__all__ = ["add_parser", "run"]

log = logging.getLogger(__name__)


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register ``specola stellar``."""
    p = add_config_stage(
        sub,
        "stellar",
        run,
        help="fit photosphere + spots + faculae models to a stellar spectrum",
        description="Stellar retrieval (specola's counterpart of stctm/exotune). Accepts specola's or the peer's "
        "TOML layout; override options with -section.key=value, -key=value or peer names (-fitspot=0).",
        config_help="TOML configuration (default: all defaults, bundled TRAPPIST-1 data)",
        output_help="run folder (default: inputs.output_dir / automatic name)",
        config_optional=True,
    )
    p.add_argument("--compare", action="store_true", help="fit photosphere, +spots, +faculae, +both and compare")


def run(args: argparse.Namespace) -> int:
    """Run the retrieval described by ``args``."""
    from ..stellar import load_stellar_config, run_to_folder
    from ..stellar.compare import compare
    from ..stellar.run import run_folder_name
    from ..stellar.setup import prepare

    config = load_stellar_config(args.config, args.overrides)
    if args.quiet:
        config = dataclasses.replace(config, sampling=dataclasses.replace(config.sampling, progress=False))
    if args.print_config:
        print(to_toml(config))
        return 0
    if args.compare:
        setup = prepare(config)
        label = setup.grid_label
        folder = (
            Path(args.output)
            if args.output
            else Path(config.inputs.output_dir) / ("compare_" + run_folder_name(config, label).removeprefix("fit_"))
        )
        run_folder = RunFolder(folder, overwrite=args.overwrite)
        result = compare(config, setup=setup)
        run_folder.record(config, seed=config.sampling.seed, stage="stellar-compare")
        result.write(run_folder)
        print(result.table())
        print(f"preferred model: {result.preferred}; results in {run_folder.path}")
        return 0
    result = run_to_folder(config, args.output, args.overwrite)
    if result.sampler is not None:
        t = result.best_fit()
        print(t["parameter", "median", "err_minus", "err_plus", "max_likelihood"])
    print(result.summary())
    print(f"results in {result.extra['run_folder']}")
    return 0
