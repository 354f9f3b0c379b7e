"""``specola lines``: fit emission lines (JAX/NumPyro) to one or more spectra.

The work is :func:`specola.lines.run_to_folder`.
"""

from __future__ import annotations

import argparse

from ._stage import StageCommand, add_stage

__all__ = ["COMMAND", "add_parser"]

COMMAND = StageCommand(
    name="lines",
    help="fit emission lines (tied redshifts/widths/ratios, instrument resolution, NUTS, Laplace or SVI)",
    description="Fit emission lines to spectra as the TOML file describes (see examples/lines.toml). Override "
    "options with -section.key=value (e.g. -fit.method=laplace -fit.num_samples=2000, -fit.method=svi).",
    config="specola.lines.config:LinesConfig",
    output_help="run folder (default: lines-output)",
)


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register ``specola lines``."""
    add_stage(sub, COMMAND)
