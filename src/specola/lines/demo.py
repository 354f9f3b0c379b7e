"""``specola.lines.demo``: fit Halpha, [NII] and [SII] in the bundled SDSS starburst spectrum."""

from __future__ import annotations

import logging
from pathlib import Path

from ..data import data_path
from ..runs import RunFolder
from .config import FitSection, GroupSpec, LinesConfig, LineSpec, PriorSpec, SpectrumSpec
from .result import LinesResult
from .run import run_to_folder

__all__ = ["demo", "demo_config"]

log = logging.getLogger(__name__)


def demo_config(method: str = "laplace") -> LinesConfig:
    """The demo's configuration: SDSS spec-1678-53433-0425 (z = 0.0403), Halpha + [NII] (2.94:1) + [SII].

    Examples
    --------
    >>> demo_config().lines[2].tie
    '[NII]6585'
    """
    return LinesConfig(
        spectra=(SpectrumSpec(file=str(data_path("spectra", "spec-1678-53433-0425.fits.gz")), name="sdss"),),
        lines=(
            LineSpec("Halpha", positive=True),
            LineSpec("[NII]6585"),
            LineSpec("[NII]6550", tie="[NII]6585", ratio=1 / 2.94),
            LineSpec("[SII]6718"),
            LineSpec("[SII]6733"),
        ),
        groups=(GroupSpec("narrow", "width", PriorSpec("uniform", low=0.0, high=800.0)),),
        fit=FitSection(redshift=0.0403, method=method, num_samples=2000),
    )


def demo(run_folder: RunFolder | str | Path, overwrite: bool = False, method: str = "laplace") -> LinesResult:
    """Fit the SDSS Halpha region and write tables and figures into ``<run_folder>/lines``.

    Parameters
    ----------
    run_folder : RunFolder, str or Path
        Parent folder.
    overwrite : bool
        Reuse an existing folder (when a path is given).
    method : str
        ``laplace`` (default, a few seconds after compilation) or ``nuts``.

    Returns
    -------
    LinesResult
    """
    root = run_folder.path if isinstance(run_folder, RunFolder) else Path(run_folder)
    overwrite = run_folder.overwrite if isinstance(run_folder, RunFolder) else overwrite
    result = run_to_folder(demo_config(method), root / "lines", overwrite=overwrite)
    t = result.table()
    ha = t[list(t["line"]).index("Halpha")]
    nii = t[list(t["line"]).index("[NII]6585")]
    log.info("lines demo: z = %.5f, [NII]6585/Halpha = %.3f", ha["z_p50"].value,
             (nii["flux_p50"] / ha["flux_p50"]).value)  # fmt: skip
    return result
