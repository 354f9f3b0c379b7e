"""The ``lines`` stage: config -> :func:`run` -> :class:`LinesResult` -> run folder."""

from __future__ import annotations

import logging
from pathlib import Path

from ..errors import ConfigError, SpecolaError
from ..instruments import DISPERSERS, Constant, NIRSpec, TabulatedLSF
from ..io import read_all
from ..runs import run_stage
from ..spectrum import Spectrum
from .config import LinesConfig, SpectrumSpec
from .inference import fit
from .linelist import line
from .model import build_model
from .result import LinesResult

__all__ = ["load_spectra", "resolution_from_text", "run", "run_to_folder"]

log = logging.getLogger(__name__)

DISPERSERS_SUFFIX = tuple(f":{d}" for d in DISPERSERS)


#: Keys of a table file's meta that may carry a constant resolving power (``resolution = "file"``).
R_KEYS = ("resolution", "r", "resolving_power", "specres")


def _file_resolution(spectrum: Spectrum, path: Path | None, where: str):
    """The resolution a file carries: the reader's curve, a number in the spectrum's meta, or an ECSV meta R."""
    res = spectrum.meta.get("resolution")
    if callable(res):
        return res
    if res is None and path is not None and path.name.lower().endswith((".ecsv", ".ecsv.gz")):
        from astropy.table import Table

        meta = {str(k).lower(): v for k, v in Table.read(path, format="ascii.ecsv").meta.items()}
        res = next((meta[k] for k in R_KEYS if k in meta), None)
    if isinstance(res, int | float) and not isinstance(res, bool):
        return Constant(float(res))
    if res is None:
        raise ConfigError(
            f"{where}: {path or 'the file'} carries no resolution (meta keys {', '.join(R_KEYS)}); "
            "give 'constant:R', 'nirspec:prism' or 'none'"
        )
    raise ConfigError(f"{where}: the file's resolution {res!r} is not a number; give 'constant:R'")


def _lsf_from_text(text: str, where: str) -> TabulatedLSF:
    """``PATH`` or ``PATH:DISPERSER`` (a NIRSpec disperser supplies the dispersion the table lacks)."""
    path, _, disperser = text.rpartition(":") if text.lower().endswith(DISPERSERS_SUFFIX) else (text, "", "")
    try:
        return TabulatedLSF.read(Path(path).expanduser(), disperser.lower() or None)
    except SpecolaError as exc:
        raise ConfigError(f"{where}: {exc}") from None


def resolution_from_text(text: str, spectrum: Spectrum, where: str = "resolution", path: Path | None = None):
    """The resolution named by a config string (``file``, ``none``, ``constant:R``, ``nirspec:...``, ``lsf:...``).

    Forms: ``file``, ``none``, ``constant:R``, ``nirspec:DISPERSER[:point]``, ``lsf:PATH[:DISPERSER]``.

    ``file`` takes what the reader attached (SDSS wdisp, DESI: the resolution matrix, applied to the model as a
    band matrix; DJA), or a constant R from the file's meta (an ECSV header key ``R``, ``resolution`` or
    ``resolving_power``). ``lsf:PATH`` reads a tabulated line-spread function
    (:class:`~specola.instruments.TabulatedLSF`, applied as a pixel-space kernel; a NIRSpec disperser name
    supplies the dispersion when the table has none). Relative paths are taken from the working folder.
    """
    if text.strip().lower().startswith("lsf:"):
        return _lsf_from_text(text.strip()[4:], where)
    parts = text.strip().lower().split(":")
    if parts[0] == "file":
        return _file_resolution(spectrum, path, where)
    if parts[0] == "none":
        return None
    try:
        if parts[0] == "constant" and len(parts) == 2:
            return Constant(float(parts[1]))
        if parts[0] == "nirspec" and len(parts) in (2, 3):
            return NIRSpec(parts[1], source=parts[2] if len(parts) == 3 else "uniform")
    except (ValueError, Exception) as exc:
        raise ConfigError(f"{where}: {exc}") from None
    raise ConfigError(
        f"{where}: cannot read {text!r}; use file, none, constant:R, nirspec:DISPERSER[:point] or lsf:PATH[:DISPERSER]"
    )


def load_spectra(config: LinesConfig) -> tuple[list[Spectrum], list[SpectrumSpec]]:
    """Read every ``[[spectra]]`` file; each spectrum gets its resolution curve and a unique ``meta['name']``."""
    if not config.spectra:
        raise ConfigError("no spectra: add [[spectra]] tables with file = '...'")
    spectra, bindings = [], []
    for i, spec in enumerate(config.spectra):
        if spec.file is None:
            raise ConfigError(f"spectra[{i}].file is not given")
        path = Path(spec.file).expanduser()
        found = read_all(path)
        for k, s in enumerate(found):
            name = spec.name or path.name.split(".")[0]
            if len(found) > 1:
                name = f"{name}_{s.meta.get('arm', k)}"
            res = resolution_from_text(spec.resolution, s, f"spectra[{i}].resolution", path)
            spectra.append(s.replace(meta={**s.meta, "resolution": res, "name": name}))
            bindings.append(spec)
    return spectra, bindings


def run(config: LinesConfig, progress: bool | None = None) -> LinesResult:
    """Fit the configured lines to the configured spectra (computes only, writes nothing).

    Parameters
    ----------
    config : LinesConfig
        The resolved configuration (file paths as given; :func:`specola.config.load_config` resolves
        relative ones against the TOML's folder).
    progress : bool, optional
        NUTS progress bar (default: on a terminal).

    Returns
    -------
    LinesResult
    """
    for spec in config.lines:  # unknown names fail before any file is read
        if not spec.wavelength:
            line(spec.name)
    spectra, bindings = load_spectra(config)
    z0 = config.fit.redshift or spectra[0].meta.get("redshift")
    if z0 is None:
        raise ConfigError("fit.redshift: the files carry no redshift; give the systemic redshift")
    model = build_model(
        spectra, config.lines, float(z0), groups=config.groups, calibration=config.calibration,
        continuum=config.continuum, bindings=bindings, errors=config.errors,
    )  # fmt: skip
    log.info("lines: %s\n%s", model, model.plan.table())
    unknown = [n for n in config.output.corner if n not in model.plan.sites]
    if unknown:
        raise ConfigError(f"output.corner: {', '.join(unknown)} is not a free parameter of this model; "
                          f"free: {', '.join(model.plan.sample_order)}")  # fmt: skip
    f = config.fit
    posterior = fit(model, f.method, num_warmup=f.num_warmup, num_samples=f.num_samples,
                    num_chains=f.num_chains, seed=f.seed, svi_guide=f.svi_guide, svi_steps=f.svi_steps,
                    svi_learning_rate=f.svi_learning_rate, progress=progress)  # fmt: skip
    return LinesResult(model, posterior, config)


def run_to_folder(config: LinesConfig, output: str | Path | None = None, *, overwrite: bool = False) -> LinesResult:
    """:func:`run`, then write tables, figures, ``config.toml`` and ``run.json`` into ``output``.

    Parameters
    ----------
    config : LinesConfig
    output : str or Path, optional
        Run folder (default ``lines-output``), checked before any work.
    overwrite : bool
        Replace an earlier run there.

    Returns
    -------
    LinesResult
    """
    return run_stage("lines", config, lambda: run(config), output or "lines-output", overwrite=overwrite,
                     seed=config.fit.seed)  # fmt: skip
