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
from ..spectrum import Spectrum
from .config import CoaddConfig, InputSection
from .hasp import run_hasp
from .plots import plot_coadd, plot_comparison
from .resampled import CoaddResult, coadd, read_inputs

__all__ = ["demo"]

log = logging.getLogger(__name__)


def demo(folder: RunFolder) -> CoaddResult:
    """Co-add the COS set (specola's method and HASP mode) and plot both against the x1dsum.

    The median ``|difference| / sigma`` of each co-add against the x1dsum (1150-2000 A) is logged and
    recorded in ``run.json`` as ``x1dsum_median_pull``.

    Parameters
    ----------
    folder : RunFolder
        The stage's own output folder: products, figures, ``hasp/`` and ``run.json``.

    Returns
    -------
    CoaddResult
        specola's resampled co-add.
    """
    inputs = data_path("coadd", "cos_g140l")
    config = CoaddConfig(input=InputSection(indir=inputs))
    with folder.running("coadd", config) as final:
        spectra, _ = read_inputs(config)
        result = coadd(spectra, config)
        result.write(folder, name="coadd_cos_resample")
        folder.save_figure("coadd_cos_resample.png", plot_coadd(result))
        hasp_spec = _hasp_mode(inputs, folder.subfolder("hasp"))
        reference = read(inputs / "ldfd01010_x1dsum.fits.gz")
        coadds = {"specola resample": result.spectrum, "HASP mode": hasp_spec}
        fig = plot_comparison(coadds, reference, 1150.0, 2000.0)
        fig.axes[0].set_title("COS G140L SWIFTJ1357.2-0933: co-adds vs CALCOS x1dsum")
        folder.save_figure("coadd_cos_vs_x1dsum.png", fig)
        final.update(summary=result.summary(), x1dsum_median_pull=_median_pulls(coadds, reference))
    return result


def _hasp_mode(inputs: Path, folder: RunFolder) -> Spectrum:
    """Run HASP mode on a copy of the x1d files (the x1dsum stays out) and read its cspec product."""
    with tempfile.TemporaryDirectory() as tmp:
        for p in inputs.glob("*_x1d.fits.gz"):
            shutil.copy(p, Path(tmp) / p.name)
        written = run_hasp(tmp).write(folder)
    return read(next(p for p in written if p.name.endswith("ldfd01_cspec.fits")))


def _median_pulls(coadds: dict[str, Spectrum], reference: Spectrum) -> dict[str, float]:
    """Median ``|difference| / sigma`` of each co-add against ``reference`` over 1150-2000 A."""
    stats = {}
    for name, spec in coadds.items():
        part = spec.select(1150 * spec.wave_unit, 2000 * spec.wave_unit)
        ref = reference.rebin((part.low, part.high))
        ok = part.good & ref.good
        diff = (part.flux - ref.flux).value[ok] / np.hypot(part.error.value, ref.error.value)[ok]
        stats[name] = float(np.median(np.abs(diff)))
        log.info("%s vs x1dsum: median |diff|/sigma = %.3f", name, stats[name])
    return stats
