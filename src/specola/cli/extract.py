"""``specola extract``: 2-D frames and time-series cubes -> 1-D spectra."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

import numpy as np

from ..config import to_toml
from ._stage import add_config_stage

__all__ = ["add_parser", "run"]

log = logging.getLogger(__name__)


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register ``specola extract``."""
    add_config_stage(
        sub,
        "extract",
        run,
        help="extract spectra from a 2-D frame or a time-series cube (aperture + optimal)",
        description="Background, trace, aperture and optimal (Horne 1986) extraction of a FITS frame or cube. "
        "Override options with -section.key=value (e.g. -aperture.radius=5).",
        config_help="TOML configuration (see examples/extract.toml)",
        output_help="run folder (default: extract-<input stem>)",
    )


def run(args: argparse.Namespace) -> int:
    """Run the extraction described by ``args``."""
    from ..config import load_config
    from ..extract import ExtractConfig
    from ..extract import run as run_extract
    from ..runs import RunFolder

    config = load_config(ExtractConfig, args.config, args.overrides)
    if args.print_config:
        print(to_toml(config))
        return 0
    base = Path(args.config).parent
    stem = Path(config.input.file).name.split(".")[0] or "frames"
    folder = RunFolder(args.output or f"extract-{stem}", overwrite=args.overwrite)
    result = run_extract(config, base=base)
    folder.record(config, seed=None, stage="extract")
    written = result.write(folder)
    snr = float(np.nanmedian(np.where(result.mask, np.nan, result.snr)))
    print(
        f"extracted {result.flux.shape[0]} integration(s) x {result.flux.shape[1]} columns "
        f"({result.meta['method']}, median S/N {snr:.1f}); {len(written)} files in {folder.path}"
    )
    return 0
