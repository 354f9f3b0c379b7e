"""``specola demo``: specola's main job on bundled real data, no network needed."""

from __future__ import annotations

import argparse
import importlib
import logging
from pathlib import Path

import numpy as np

from ..data import data_path
from ..io import read_all
from ..plotting import PALETTE, figure, plot_spectrum, spectrum_limits
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

#: The stages whose ``demo(folder)`` the demo runs, in this order.
STAGES = ("stellar", "coadd", "fluxcal", "extract", "lines")


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register ``specola demo``."""
    p = sub.add_parser("demo", help="run specola on bundled data (writes ./specola-demo/)")
    p.add_argument("-o", "--output", default="specola-demo", help="output folder (default: specola-demo)")
    p.add_argument("--overwrite", action="store_true", help="replace an earlier demo in the output folder")
    p.add_argument(
        "--gallery", metavar="DIR", help="also write DIR/gallery.md with the figures copied (docs: DIR=docs)"
    )
    p.set_defaults(func=run)


def _quiet_pixels(spectrum) -> np.ndarray:
    """Flux of the good pixels whose error is not far above the median (sky-line residuals are out)."""
    flux = np.where(spectrum.good, spectrum.flux.value, np.nan)
    if spectrum.error is None:
        return flux
    err = np.where(spectrum.good, spectrum.error.value, np.nan)
    return np.where(err <= 3 * np.nanmedian(err), flux, np.nan)


def _binned_for_display(spectrum, pixels: int = 10):
    """The spectrum averaged over ``pixels`` pixels, when its per-pixel S/N is too low to see the object."""
    if spectrum.error is None or len(spectrum.flux) < 4 * pixels:
        return None
    snr = np.nanmedian(np.abs(spectrum.flux.value[spectrum.good]) / spectrum.error.value[spectrum.good])
    if not snr < 5:
        return None
    edges = np.append(spectrum.low.value[::pixels], spectrum.high.value[-1]) * spectrum.wave_unit
    return spectrum.rebin(edges)


def plot_bundled_spectra(run: RunFolder) -> list[Path]:
    """Read every bundled spectrum and save one figure per file.

    Faint spectra are drawn per pixel (light) and averaged over 10 pixels (bold), with the y-range set by the
    averaged, quiet pixels of every arm.
    """
    written = []
    for name in SPECTRA:
        spectra = read_all(data_path("spectra", name))
        fig, ax = figure()
        shown = []
        for colour, spectrum in zip(PALETTE, spectra, strict=False):
            binned = _binned_for_display(spectrum)
            arm = spectrum.meta.get("arm")
            if binned is None:
                plot_spectrum(spectrum, ax=ax, label=arm, robust_ylim=False, color=colour)
                shown.append(_quiet_pixels(spectrum))
            else:
                plot_spectrum(spectrum, ax=ax, errors=False, robust_ylim=False, alpha=0.2, label="", color=colour)
                label = f"{arm or ''} (10-pixel mean)".strip()
                plot_spectrum(binned, ax=ax, label=label, robust_ylim=False, color=colour)
                shown.append(_quiet_pixels(binned))
        # sky-line residuals (DESI 7600 A, > 9300 A) and cosmic rays never set the scale; lines stay in view
        ax.set_ylim(*spectrum_limits(shown))
        ax.set_title(name)
        stem = name.split(".")[0]
        written.append(run.save_figure(f"spectrum_{stem}.png", fig))
        log.info("read %s: %d spectrum(s), plotted", name, len(spectra))
    return written


def _stage_demos(folder: RunFolder) -> None:
    """Each stage's ``demo(folder)``, in the sub-folder of its name (each records its own ``run.json``)."""
    for stage in STAGES:
        result = importlib.import_module(f"specola.{stage}").demo(folder.subfolder(stage))
        log.info("%s: %s", stage, result.summary())


def run(args: argparse.Namespace) -> int:
    """Run every demo step into the output folder, then write its gallery."""
    from ._gallery import write_gallery

    folder = RunFolder(args.output, overwrite=args.overwrite)
    folder.start("demo")
    try:
        plot_bundled_spectra(folder.subfolder("spectra"))
        _stage_demos(folder)
        gallery = write_gallery(folder.path, folder.path / "gallery.md")
        if args.gallery:
            write_gallery(
                folder.path, Path(args.gallery) / "gallery.md", copy_to=Path(args.gallery) / "figures" / "gallery"
            )
    except BaseException as exc:
        folder.finish(error=exc)
        raise
    folder.finish(summary=f"{len(gallery)} figures; see gallery.md")
    print(f"demo outputs in {folder.path}; every figure, with what to look for, in {folder.path / 'gallery.md'}")
    return 0
