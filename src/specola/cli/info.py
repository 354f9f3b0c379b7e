"""``specola info``: versions, registered formats, and a quick look at a spectrum file."""

from __future__ import annotations

import argparse
import importlib.metadata

from .._version import __version__
from ..io import formats, read_all

__all__ = ["add_parser"]

_PACKAGES = (
    "numpy",
    "scipy",
    "astropy",
    "specutils",
    "h5py",
    "emcee",
    "dynesty",
    "matplotlib",
    "jax",
    "numpyro",
    "dask",
)


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register ``specola info``."""
    p = sub.add_parser("info", help="versions, formats, or a summary of spectrum files")
    p.add_argument("files", nargs="*", help="spectrum files to summarise")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Print versions and formats, or one line per spectrum in each file."""
    if not args.files:
        print(f"specola {__version__}")
        for name in _PACKAGES:
            try:
                print(f"  {name:<11} {importlib.metadata.version(name)}")
            except importlib.metadata.PackageNotFoundError:
                print(f"  {name:<11} (not installed)")
        print("formats:")
        for name, text in formats().items():
            print(f"  {name:<10} {text}")
        return 0
    for path in args.files:
        for spectrum in read_all(path):
            print(f"{path}: {spectrum!r}")
    return 0
