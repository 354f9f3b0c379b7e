"""``specola coadd``: co-add spectra (HASP-compatible products by default, or specola's method).

``specola coadd [config.toml] -i INDIR -o OUTDIR`` with HASP's flags; every flag is a shorthand
for a config option, the work is :func:`specola.coadd.run_to_folder`.
"""

from __future__ import annotations

import argparse
from typing import Any

from ._stage import StageCommand, add_stage

__all__ = ["add_parser"]

#: flag -> (config option, value for a store_true flag or None to take the argument)
_FLAGS: dict[str, tuple[str, Any]] = {
    "indir": ("input.indir", None),
    "method": ("coadd.method", None),
    "threshold": ("hasp.threshold", None),
    "snrmax": ("hasp.snrmax", None),
    "no_keyword_filtering": ("hasp.keyword_filtering", False),
    "cross_program": ("hasp.cross_program", True),
    "grating_table": ("hasp.grating_table", None),
    "scale": ("scaling.enabled", True),
    "figures": ("coadd.figures", True),
}


def _flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("-i", "--indir", help="folder of *_x1d.fits / *_sx1.fits files (input.indir)")
    p.add_argument("--method", choices=("hasp", "resample"), help="co-addition method (coadd.method; default hasp)")
    p.add_argument("-t", "--threshold", type=float, help="flux-based filtering threshold (hasp.threshold)")
    p.add_argument("-s", "--snrmax", type=float, help="maximum S/N per pixel in flux-based filtering (hasp.snrmax)")
    p.add_argument("-k", "--no-keyword-filtering", action="store_true", help="disable keyword filtering (not PRISM)")
    p.add_argument("-x", "--cross-program", action="store_true", help="make cross-program products")
    p.add_argument("-g", "--grating-table", help="JSON grating priority table (hasp.grating_table)")
    p.add_argument("-n", "--target-name", help="target of cross-program products; the target to co-add otherwise")
    p.add_argument("--scale", action="store_true", help="scale exposures to a common flux first (scaling.enabled)")
    p.add_argument("--figures", action="store_true", help="also draw figures (coadd.figures)")


def _overrides(args: argparse.Namespace) -> dict[str, Any]:
    out = {}
    for name, (key, value) in _FLAGS.items():
        given = getattr(args, name)
        if given not in (None, False):
            out[key] = given if value is None else value
    if args.target_name:
        out["hasp.target_name"] = args.target_name
        out["input.target"] = args.target_name
    return out


COMMAND = StageCommand(
    name="coadd",
    help="co-add spectra: HASP-compatible products (default) or --method resample",
    description="Co-add multi-exposure, multi-grating spectra. The default (coadd.method = hasp) makes the "
    "HASP-compatible products of a folder of HST x1d/sx1 files, as swrapper -i INDIR -o OUTDIR does; "
    "--method resample selects specola's method.",
    config="specola.coadd.config:CoaddConfig",
    config_optional=True,
    output_help="output folder (default: coadd-output)",
    flags=_flags,
    overrides=_overrides,
)


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register ``specola coadd``."""
    add_stage(sub, COMMAND)
