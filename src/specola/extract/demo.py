"""Extract the bundled (simulated) JWST MIRI LRS time-series cube."""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

from ..data import data_path
from ..runs import RunFolder, run_stage
from .config import BackgroundSection, ExtractConfig, InputSection, OutputSection, TraceSection
from .run import ExtractResult, run

__all__ = ["MIRI_FILE", "demo", "miri_config"]

log = logging.getLogger(__name__)

#: The bundled MIRI LRS slitless calints cube (see data/frames/PROVENANCE.txt).
MIRI_FILE = "miri_lrs_slitless_sim_4ints_calints.fits"


def miri_config(**sections: Any) -> ExtractConfig:
    """The configuration the demo uses for the MIRI cube (sections may be replaced)."""
    base = dict(
        input=InputSection(file=data_path("frames", MIRI_FILE), columns=(140, 390)),
        trace=TraceSection(guess=37.0, degree=1, bin_columns=10),
        # a second, fainter trace 9 rows above the star must stay out of the sky windows
        background=BackgroundSection(inner=12, outer=30),
        output=OutputSection(name="extract_miri"),
    )
    base.update(sections)
    return ExtractConfig(**base)


def demo(folder: RunFolder) -> ExtractResult:
    """Extract the MIRI cube and write its products, figures and ``run.json`` into ``folder``.

    Parameters
    ----------
    folder : RunFolder
        The stage's own output folder.

    Returns
    -------
    ExtractResult
    """
    config = miri_config()
    result = run_stage("extract", config, lambda: run(config), folder.path, overwrite=folder.overwrite)
    white = np.nansum(np.where(result.mask, np.nan, result.flux), axis=1)
    log.info("extract: MIRI white-light scatter %.2e (relative)", float(np.std(white) / np.mean(white)))
    return result
