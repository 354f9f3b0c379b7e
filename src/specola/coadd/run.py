"""The coadd stage: :func:`run` computes what a config asks, :func:`run_to_folder` also writes it.

The HASP-compatible mode needs only numpy and astropy.io.fits; specola's method (and
its scipy and Spectrum machinery) is imported only when it runs, so that
``specola coadd -i DIR -o OUT`` starts fast.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import ConfigError
from ..runs import run_stage
from .config import CoaddConfig
from .hasp import HaspResult, run_hasp

if TYPE_CHECKING:
    from .resampled import CoaddResult

__all__ = ["run", "run_to_folder"]


def run(config: CoaddConfig) -> CoaddResult | HaspResult:
    """Co-add what the config names with its method; computes only, writes nothing.

    Parameters
    ----------
    config : CoaddConfig
        ``coadd.method = "hasp"`` (the default) makes HASP-compatible products of the
        folder ``input.indir``; ``"resample"`` runs specola's method on ``input.indir``
        or ``input.files``.

    Returns
    -------
    CoaddResult or HaspResult
        Both have ``write(folder)`` and ``summary()``.
    """
    if config.coadd.method == "hasp":
        if config.input.files or config.input.indir is None:
            raise ConfigError("coadd.method = 'hasp' needs input.indir (a folder of HST x1d/sx1 files), not files")
        result = run_hasp(config.input.indir, config.hasp, config.scaling)
        result.figures = config.coadd.figures
        return result
    from .resampled import coadd, read_inputs

    spectra, skipped = read_inputs(config)
    result = coadd(spectra, config)
    result.skipped.update(skipped)
    return result


def run_to_folder(
    config: CoaddConfig, output: str | Path | None = None, *, overwrite: bool = False
) -> CoaddResult | HaspResult:
    """Co-add and write the products (and, with ``coadd.figures``, figures), ``config.toml`` and ``run.json``.

    Parameters
    ----------
    config : CoaddConfig
    output : str or Path, optional
        Run folder (default ``coadd-output``); refused when it holds an earlier run unless
        ``overwrite`` (checked before computing).
    overwrite : bool
        Replace an earlier run in ``output``.

    Returns
    -------
    CoaddResult or HaspResult
    """
    return run_stage("coadd", config, lambda: run(config), output or "coadd-output", overwrite=overwrite)
