"""``specola coadd``: co-add spectra (HASP-compatible by default on a folder, or specola's method)."""

from __future__ import annotations

import argparse
import logging

from ..coadd import CoaddConfig, run, run_hasp
from ..config import apply_overrides, from_dict, load_config, to_dict

__all__ = ["add_parser", "run_command"]

log = logging.getLogger(__name__)


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register ``specola coadd``."""
    p = sub.add_parser(
        "coadd",
        help="co-add spectra: HASP-compatible products (default) or --method resample",
        description="Co-add multi-exposure, multi-grating spectra. On a folder of HST x1d/sx1 files the default is "
        "the HASP-compatible mode; --method resample (or coadd.method in a config) selects specola's method.",
    )
    p.add_argument("-i", "--indir", help="folder of *_x1d.fits / *_sx1.fits files")
    p.add_argument("-o", "--outdir", help="output folder (default: ./coadd-output)")
    p.add_argument("-c", "--config", help="TOML configuration file")
    p.add_argument("--method", choices=("hasp", "resample"), help="co-addition method")
    p.add_argument("-t", "--threshold", type=float, help="flux-based filtering threshold (default -50)")
    p.add_argument("-s", "--snrmax", type=float, help="maximum S/N per pixel in flux-based filtering (default 20)")
    p.add_argument("-k", "--no-keyword-filtering", action="store_true", help="disable keyword filtering (not PRISM)")
    p.add_argument("-x", "--cross-program", action="store_true", help="make cross-program products")
    p.add_argument("-g", "--grating-table", help="JSON grating priority table (default: shipped with specola)")
    p.add_argument("-n", "--target-name", help="target name (cross-program products; target to co-add otherwise)")
    p.add_argument("--overwrite", action="store_true", help="replace existing outputs")
    p.set_defaults(func=run_command, takes_overrides=True)


def _config(args: argparse.Namespace) -> CoaddConfig:
    config = load_config(CoaddConfig, args.config, args.overrides)
    flags = {}
    if args.indir:
        flags["input.indir"] = args.indir
    if args.threshold is not None:
        flags["hasp.threshold"] = args.threshold
    if args.snrmax is not None:
        flags["hasp.snrmax"] = args.snrmax
    if args.no_keyword_filtering:
        flags["hasp.keyword_filtering"] = False
    if args.cross_program:
        flags["hasp.cross_program"] = True
    if args.grating_table:
        flags["hasp.grating_table"] = args.grating_table
    if args.target_name:
        flags["hasp.target_name"] = args.target_name
        flags["input.target"] = args.target_name
    if args.method:
        flags["coadd.method"] = args.method
    elif not args.config and "coadd.method" not in args.overrides:
        flags["coadd.method"] = "hasp"  # the HASP drop-in: a bare folder on the command line
    data = apply_overrides(CoaddConfig, to_dict(config), flags)
    return from_dict(CoaddConfig, data)


def run_command(args: argparse.Namespace) -> int:
    """Run the co-addition the arguments describe."""
    config = _config(args)
    outdir = args.outdir or "coadd-output"
    if config.coadd.method == "hasp":
        h = config.hasp
        result = run_hasp(
            config.input.indir or ".",
            threshold=h.threshold,
            snrmax=h.snrmax,
            keyword_filtering=h.keyword_filtering,
            cross_program=h.cross_program,
            grating_table=h.grating_table or None,
            target_name=h.target_name or None,
        )
        paths = result.write(outdir, overwrite=args.overwrite)
        for r in result.rejected:
            log.info("rejected %s (%s): scaled median %.3g", r.file, r.segment, r.scaled_median)
        log.info("wrote %d product(s) to %s", len(paths), outdir)
        return 0
    result = run(config, outdir, overwrite=args.overwrite)
    for r in result.rejected:
        log.info("rejected %s: %s", r["segment"], r["reason"])
    log.info("co-add of %d setting(s) written to %s", len(result.settings), outdir)
    return 0
