"""``specola.lines.demo``: narrow + broad Balmer lines and [OIII] in the bundled DJA NIRSpec PRISM spectrum.

RUBIES-UDS-154183 (DJA v4 extraction, z ~ 3.55), a broad-line object: Halpha and Hbeta each get a narrow
Gaussian and a broad Laplace (exponential-wing) component whose FWHM must exceed the narrow one by 150 km/s, as
in the unite NIRSpec tutorial; the resolution is the PRISM point-source curve with a free RScale and PixOffset.
"""

from __future__ import annotations

import logging

from ..data import data_path
from ..runs import RunFolder
from .config import (
    CalibrationSpec,
    ContinuumSection,
    FitSection,
    GroupSpec,
    LinesConfig,
    LineSpec,
    OutputSection,
    PriorSpec,
    SpectrumSpec,
)
from .result import LinesResult
from .run import run_to_folder

__all__ = ["demo", "demo_config"]

log = logging.getLogger(__name__)

#: Parameters of the demo's corner plot: redshift, widths, narrow and broad Halpha, the calibration tokens.
CORNER = ("z_z", "fwhm_narrow", "fwhm_broad", "flux_Halpha", "flux_Halpha_broad", "rscale_R", "pix_offset_po")


def demo_config(method: str = "laplace") -> LinesConfig:
    """The demo's configuration (see the module docstring).

    Examples
    --------
    >>> demo_config().lines[3].tie
    '[OIII]5008'
    """
    prism = data_path("spectra", "rubies-uds31-v4_prism-clear_4233_154183.spec.fits.gz")
    return LinesConfig(
        spectra=(
            SpectrumSpec(file=prism, name="prism", resolution="nirspec:prism:point", rscale="R", pix_offset="po"),
        ),
        lines=(
            LineSpec("Halpha"),
            LineSpec("Hbeta"),
            LineSpec("[OIII]5008"),
            LineSpec("[OIII]4960", tie="[OIII]5008", ratio=1 / 2.98),
            LineSpec("Halpha", label="Halpha_broad", width="broad", profile="laplace"),
            LineSpec("Hbeta", label="Hbeta_broad", width="broad", profile="laplace"),
        ),
        groups=(
            GroupSpec("z", "redshift", PriorSpec("uniform", low=-0.03, high=0.03)),
            GroupSpec("narrow", "width", PriorSpec("uniform", low=0.0, high=1000.0)),
            GroupSpec("broad", "width", PriorSpec("uniform", low="fwhm_narrow + 150", high=10000.0)),
        ),
        calibration=(
            CalibrationSpec("po", "pix_offset", PriorSpec("truncnormal", loc=0.0, scale=0.5, low=-2.0, high=2.0)),
        ),
        continuum=ContinuumSection(width_kms=15000.0),
        fit=FitSection(redshift=3.55, method=method, num_samples=2000),
        output=OutputSection(corner=CORNER),
    )


def demo(folder: RunFolder, method: str = "laplace") -> LinesResult:
    """Fit the DJA PRISM broad-line object and write tables, figures and ``run.json`` into ``folder``.

    Parameters
    ----------
    folder : RunFolder
        The stage's own output folder.
    method : str
        ``laplace`` (default, a few seconds after compilation) or ``nuts``.

    Returns
    -------
    LinesResult
    """
    result = run_to_folder(demo_config(method), folder.path, overwrite=folder.overwrite)
    t = {r["line"]: r for r in result.table()}
    broad, narrow = t["Halpha_broad"], t["Halpha"]
    share = (broad["flux_p50"] / (broad["flux_p50"] + narrow["flux_p50"])).value
    log.info("lines demo: z = %.4f, broad Halpha FWHM %.0f km/s, broad/total Halpha flux %.2f",
             narrow["z_p50"].value, broad["fwhm_p50"].value, share)  # fmt: skip
    return result
