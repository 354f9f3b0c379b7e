"""``specola fluxcal``: counts -> physical flux from a standard star (CALSPEC reference or template fit)."""

from __future__ import annotations

import argparse

from ._stage import StageCommand, add_stage

__all__ = ["COMMAND", "add_parser"]

COMMAND = StageCommand(
    name="fluxcal",
    help="flux-calibrate spectra with a standard star (CALSPEC reference or template + photometry)",
    description="Fit a sensitivity function from an observed standard star and apply it to science spectra. "
    "Override options with -section.key=value (e.g. -standard.airmass=1.3 -sensitivity.knot_spacing=200).",
    config="specola.fluxcal.config:FluxcalConfig",
    output_help="run folder (default: fluxcal-output)",
)


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register ``specola fluxcal``."""
    add_stage(sub, COMMAND)
