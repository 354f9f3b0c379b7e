"""``specola fluxcal``: counts -> physical flux from a standard star (CALSPEC reference or template fit)."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from ..config import to_toml
from ._stage import add_config_stage

__all__ = ["add_parser", "run"]

log = logging.getLogger(__name__)


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register ``specola fluxcal``."""
    add_config_stage(
        sub,
        "fluxcal",
        run,
        help="flux-calibrate spectra with a standard star (CALSPEC reference or template + photometry)",
        description="Fit a sensitivity function from an observed standard star and apply it to science spectra. "
        "Override options with -section.key=value (e.g. -standard.airmass=1.3 -sensitivity.knot_spacing=200).",
        config_help="TOML configuration (see examples/fluxcal.toml)",
        output_help="run folder (default: fluxcal-output)",
        output_default="fluxcal-output",
    )


def run(args: argparse.Namespace) -> int:
    """Run the flux calibration the arguments describe."""
    from ..config import load_config
    from ..fluxcal import FluxcalConfig, run_to_folder

    config = load_config(FluxcalConfig, args.config, args.overrides)
    if args.print_config:
        print(to_toml(config))
        return 0
    result = run_to_folder(config, args.output, overwrite=args.overwrite, base=Path(args.config).parent)
    summary = result.summary()
    print(f"sensitivity {summary['wave_range_A'][0]:.0f}-{summary['wave_range_A'][1]:.0f} A, "
          f"chi2/ndof {summary['chi2_per_ndof']:.2f}; results in {args.output}")  # fmt: skip
    for warning in summary["warnings"]:
        print(f"WARNING: {warning}")
    return 0
