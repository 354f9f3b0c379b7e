"""``specola coadd``: co-add spectra (HASP-compatible products by default, or specola's method).

The flags are shorthands for config options; the work is :func:`specola.coadd.run_to_folder`.
"""

from __future__ import annotations

import argparse
import logging

__all__ = ["add_parser", "run_command"]

log = logging.getLogger(__name__)

#: flag -> config option it sets (store flags set True/False, see ``_FLAG_VALUES``)
_FLAGS = {
    "indir": "input.indir",
    "method": "coadd.method",
    "threshold": "hasp.threshold",
    "snrmax": "hasp.snrmax",
    "no_keyword_filtering": "hasp.keyword_filtering",
    "cross_program": "hasp.cross_program",
    "grating_table": "hasp.grating_table",
    "scale": "scaling.enabled",
    "figures": "coadd.figures",
}
_FLAG_VALUES = {"no_keyword_filtering": False, "cross_program": True, "scale": True, "figures": True}


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register ``specola coadd``."""
    p = sub.add_parser(
        "coadd",
        help="co-add spectra: HASP-compatible products (default) or --method resample",
        description="Co-add multi-exposure, multi-grating spectra. The default (coadd.method = hasp) makes the "
        "HASP-compatible products of a folder of HST x1d/sx1 files; --method resample selects specola's method.",
    )
    p.add_argument("-i", "--indir", help="folder of *_x1d.fits / *_sx1.fits files (input.indir)")
    p.add_argument("-o", "--outdir", help="output folder (default: ./coadd-output)")
    p.add_argument("-c", "--config", help="TOML configuration file")
    p.add_argument("--method", choices=("hasp", "resample"), help="co-addition method (coadd.method)")
    p.add_argument("-t", "--threshold", type=float, help="flux-based filtering threshold (hasp.threshold)")
    p.add_argument("-s", "--snrmax", type=float, help="maximum S/N per pixel in flux-based filtering (hasp.snrmax)")
    p.add_argument("-k", "--no-keyword-filtering", action="store_true", help="disable keyword filtering (not PRISM)")
    p.add_argument("-x", "--cross-program", action="store_true", help="make cross-program products")
    p.add_argument("-g", "--grating-table", help="JSON grating priority table (hasp.grating_table)")
    p.add_argument("-n", "--target-name", help="target name (cross-program products; target to co-add otherwise)")
    p.add_argument("--scale", action="store_true", help="scale exposures to a common flux first (scaling.enabled)")
    p.add_argument("--figures", action="store_true", help="also draw figures (coadd.figures)")
    p.add_argument("--overwrite", action="store_true", help="replace existing outputs")
    p.set_defaults(func=run_command, takes_overrides=True)


def _config(args: argparse.Namespace):
    from ..coadd.config import CoaddConfig
    from ..config import apply_overrides, from_dict, load_config, to_dict

    config = load_config(CoaddConfig, args.config, args.overrides)
    flags = {}
    for name, key in _FLAGS.items():
        value = getattr(args, name)
        if value not in (None, False):
            flags[key] = _FLAG_VALUES.get(name, value)
    if args.target_name:
        flags["hasp.target_name"] = args.target_name
        flags["input.target"] = args.target_name
    return from_dict(CoaddConfig, apply_overrides(CoaddConfig, to_dict(config), flags))


def run_command(args: argparse.Namespace) -> int:
    """Run the co-addition the arguments describe."""
    from ..coadd.run import run_to_folder

    result = run_to_folder(_config(args), args.outdir, overwrite=args.overwrite)
    log.info("%s; written to %s", result.summary(), args.outdir or "coadd-output")
    return 0
