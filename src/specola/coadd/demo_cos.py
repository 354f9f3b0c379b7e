"""Co-add the bundled COS G140L exposures with both methods and compare with CALCOS's x1dsum."""

from __future__ import annotations

import logging
import shutil
import tempfile
from pathlib import Path

import numpy as np

from ..data import data_path
from ..io import read
from ..runs import RunFolder
from .config import CoaddConfig, InputSection
from .hasp import run_hasp
from .plots import plot_coadd, plot_comparison
from .resampled import coadd, read_inputs

__all__ = ["demo"]

log = logging.getLogger(__name__)


def demo(run: RunFolder) -> dict[str, float]:
    """Co-add the COS set (specola's method and HASP mode) and plot both against the x1dsum.

    Parameters
    ----------
    run : RunFolder
        Where ``coadd_cos_vs_x1dsum.png`` and the products go.

    Returns
    -------
    dict
        Median ``|difference| / sigma`` of each co-add against the x1dsum (1150-2000 A).
    """
    folder = data_path("coadd", "cos_g140l")
    config = CoaddConfig(input=InputSection(indir=folder))
    spectra, _ = read_inputs(config)
    result = coadd(spectra, config)
    result.write(run, name="coadd_cos_resample")
    run.save_figure("coadd_cos_resample.png", plot_coadd(result))
    with tempfile.TemporaryDirectory() as tmp:
        for p in folder.glob("*_x1d.fits.gz"):
            shutil.copy(p, Path(tmp) / p.name)
        hasp = run_hasp(tmp)
        written = hasp.write(RunFolder(run.path / "hasp", overwrite=run.overwrite))
    hasp_spec = read(next(p for p in written if p.name.endswith("ldfd01_cspec.fits")))
    reference = read(folder / "ldfd01010_x1dsum.fits.gz")
    spectra = {"specola resample": result.spectrum, "HASP mode": hasp_spec}
    fig = plot_comparison(spectra, reference, 1150.0, 2000.0)
    fig.axes[0].set_title("COS G140L SWIFTJ1357.2-0933: co-adds vs CALCOS x1dsum")
    run.save_figure("coadd_cos_vs_x1dsum.png", fig)
    stats = {}
    for name, spec in spectra.items():
        part = spec.select(1150 * spec.wave_unit, 2000 * spec.wave_unit)
        ref = reference.rebin((part.low, part.high))
        ok = part.good & ref.good
        diff = (part.flux - ref.flux).value[ok] / np.hypot(part.error.value, ref.error.value)[ok]
        stats[name] = float(np.median(np.abs(diff)))
        log.info("%s vs x1dsum: median |diff|/sigma = %.3f", name, stats[name])
    return stats
