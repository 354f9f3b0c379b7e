"""``specola bosz``: fetch a BOSZ-2024 sub-grid from MAST for template flux calibration."""

from __future__ import annotations

import argparse

__all__ = ["add_parser", "run"]


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register ``specola bosz``."""
    p = sub.add_parser(
        "bosz",
        help="download a BOSZ-2024 sub-grid (F/G/K standards) from MAST; --dry-run lists URLs and sizes",
        description="Download BOSZ-2024 resampled spectra for the fluxcal template method "
        "(default: Teff 5000-8000/250, log g 3.5-5/0.5, [M/H] -1..+0.5/0.25, R = 10000).",
    )
    p.add_argument("-o", "--output", default="bosz2024", help="folder (default: ./bosz2024)")
    p.add_argument("--resolution", type=int, default=10000, help="resolving power of the resampled files")
    p.add_argument("--teff", type=float, nargs=3, default=(5000.0, 8000.0, 250.0), metavar=("LO", "HI", "STEP"))
    p.add_argument("--logg", type=float, nargs=3, default=(3.5, 5.0, 0.5), metavar=("LO", "HI", "STEP"))
    p.add_argument("--mh", type=float, nargs=3, default=(-1.0, 0.5, 0.25), metavar=("LO", "HI", "STEP"))
    p.add_argument("--checksums", help="sha256sum-style file to verify the downloads against")
    p.add_argument("--dry-run", action="store_true", help="list URLs and estimated sizes, download nothing")
    p.add_argument("--force", action="store_true", help="download files that already exist again")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """List or download the sub-grid."""
    from ..fluxcal.download import bosz_subgrid, download, read_checksums

    files = bosz_subgrid(tuple(args.teff), tuple(args.logg), tuple(args.mh), args.resolution)
    if args.dry_run:
        for f in files:
            print(f"{f.url}  ~{f.size / 1e6:.1f} MB  -> {args.output}/{f.path}")
        print(f"{len(files)} files, ~{sum(f.size for f in files) / 1e6:.0f} MB (estimated)")
        return 0
    checksums = read_checksums(args.checksums) if args.checksums else None
    paths = download(files, args.output, checksums=checksums, force=args.force)
    print(f"{len(paths)} files in {args.output}")
    return 0
