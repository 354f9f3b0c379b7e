"""``specola extract``: 2-D frames and time-series cubes -> 1-D spectra."""

from __future__ import annotations

import argparse

from ._stage import StageCommand, add_stage

__all__ = ["COMMAND", "add_parser"]

COMMAND = StageCommand(
    name="extract",
    help="extract spectra from a 2-D frame or a time-series cube (aperture + optimal)",
    description="Background, trace, aperture and optimal (Horne 1986) extraction of a FITS frame or cube. "
    "Override options with -section.key=value (e.g. -aperture.radius=5).",
    config="specola.extract.config:ExtractConfig",
    output_help="run folder (default: extract-<input stem>)",
)


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register ``specola extract``."""
    add_stage(sub, COMMAND)
