"""``specola demo``: specola's main job on bundled real data, no network needed."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from ..data import data_path
from ..io import read_all
from ..plotting import figure, plot_spectrum
from ..runs import RunFolder

__all__ = ["add_parser", "run"]

log = logging.getLogger(__name__)

#: Bundled spectra the demo reads and plots.
SPECTRA = (
    "trappist1_nirspec_prism_outoftransit.csv",
    "rubies-uds31-v4_prism-clear_4233_154183.spec.fits.gz",
    "spec-1678-53433-0425.fits.gz",
    "desi-spectra-af558177.fits.gz",
)


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register ``specola demo``."""
    p = sub.add_parser("demo", help="run specola on bundled data (writes ./specola-demo/)")
    p.add_argument("-o", "--output", default="specola-demo", help="output folder (default: specola-demo)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing output folder's files")
    p.set_defaults(func=run)


def plot_bundled_spectra(run: RunFolder) -> list[Path]:
    """Read every bundled spectrum and save one figure per file."""
    written = []
    for name in SPECTRA:
        spectra = read_all(data_path("spectra", name))
        fig, ax = figure()
        for spectrum in spectra:
            plot_spectrum(spectrum, ax=ax, label=spectrum.meta.get("arm"))
        ax.set_title(name)
        stem = name.split(".")[0]
        written.append(run.save_figure(f"spectrum_{stem}.png", fig))
        log.info("read %s: %d spectrum(s), plotted", name, len(spectra))
    return written


def run(args: argparse.Namespace) -> int:
    """Run every demo step into the output folder."""
    folder = RunFolder(args.output, overwrite=args.overwrite)
    folder.record(seed=None, demo=True)
    from ..stellar.demo import demo as stellar_demo

    result = stellar_demo(folder.path / "stellar", overwrite=args.overwrite, progress=not args.quiet)
    log.info("stellar retrieval: %s", result.extra["run_folder"])
    plot_bundled_spectra(folder)
    from ..coadd import demo as coadd_demo

    coadd_demo(folder)
    from ..fluxcal import demo as fluxcal_demo

    fluxcal_demo(folder)
    from ..extract import demo as extract_demo

    extract_demo(RunFolder(folder.path / "extract", overwrite=args.overwrite))
    from ..lines import demo as lines_demo

    lines_demo(folder)
    log.info("demo outputs in %s", folder.path)
    return 0
