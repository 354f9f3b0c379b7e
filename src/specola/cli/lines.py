"""``specola lines``: fit emission lines (JAX/NumPyro) to one or more spectra."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from ..config import to_toml
from ._stage import add_config_stage

__all__ = ["add_parser", "run"]

log = logging.getLogger(__name__)


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register ``specola lines``."""
    add_config_stage(
        sub,
        "lines",
        run,
        help="fit emission lines (tied redshifts/widths/ratios, instrument resolution, NUTS or Laplace)",
        description="Fit emission lines to spectra as the TOML file describes. Override options with "
        "-section.key=value (e.g. -fit.method=laplace -fit.num_samples=2000).",
        config_help="TOML configuration (see examples/lines.toml)",
        output_help="run folder (default: lines-output)",
        output_default="lines-output",
    )


def run(args: argparse.Namespace) -> int:
    """Run the line fit the arguments describe."""
    from ..config import load_config
    from ..lines import LinesConfig, run_to_folder

    config = load_config(LinesConfig, args.config, args.overrides)
    if args.print_config:
        print(to_toml(config))
        return 0
    result = run_to_folder(config, args.output, overwrite=args.overwrite, base=Path(args.config).parent)
    t = result.table()
    for row in t:
        print(f"{row['line']:>14s}  flux {row['flux_p50'].value:.4g} "
              f"(+{(row['flux_p84'] - row['flux_p50']).value:.2g} -{(row['flux_p50'] - row['flux_p16']).value:.2g}) "
              f"{t['flux_p50'].unit}  FWHM {row['fwhm_p50'].value:.0f} km/s  z {row['z_p50'].value:.6f}")  # fmt: skip
    print(result.summary())
    print(f"results in {args.output}")
    return 0
