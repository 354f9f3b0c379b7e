"""specola's co-addition of spectra from any instrument: ``coadd(spectra) -> CoaddResult``."""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from astropy.io import fits

from ..errors import FileFormatError, SpecolaError, SpectrumError
from ..io import read_all
from ..runs import RunFolder
from ..spectrum import Spectrum
from ._hasp_inputs import find_inputs
from .combine import combine_segments, to_spectrum
from .config import CoaddConfig
from .grid import choose_grid
from .reject import Decision
from .scaling import ScaleReport, scale_exposures
from .stitching import stitch

__all__ = ["CoaddResult", "coadd", "folder_inputs", "read_inputs", "write_fits"]

log = logging.getLogger(__name__)


@dataclass
class CoaddResult:
    """A co-add, its per-setting parts, and every decision taken.

    Attributes
    ----------
    spectrum : Spectrum
        The final co-add (stitched when there are several settings). ``meta`` holds
        ``n_exposures``, ``eff_exptime`` (s), ``dq``, ``snr`` and ``decisions``.
    settings : dict
        Setting (e.g. ``"COS/G140L"``) -> its single-setting co-add.
    decisions : list of Decision
        Every rejection, flag and scaling, per exposure and segment/order, with the
        factor and the reason (the ``REJECTION`` table of the product).
    skipped : dict
        Input -> reason it was not used.
    scaling : dict
        Setting -> :class:`ScaleReport` when scaling was on.
    config : CoaddConfig
    """

    spectrum: Spectrum
    settings: dict[str, Spectrum]
    decisions: list[Decision] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)
    scaling: dict[str, ScaleReport] = field(default_factory=dict)
    config: CoaddConfig = field(default_factory=CoaddConfig)

    def report(self) -> dict[str, Any]:
        """JSON-serialisable summary of decisions."""
        return {
            "settings": list(self.settings),
            "decisions": [dataclasses.asdict(d) for d in self.decisions],
            "skipped": self.skipped,
            "clipped_pixels": {k: v.meta.get("clipped", {}) for k, v in self.settings.items()},
            "scaling": {k: dataclasses.asdict(v) for k, v in self.scaling.items()},
            "stitch_factors": self.spectrum.meta.get("stitch_factors", {}),
        }

    @property
    def rejected(self) -> list[Decision]:
        """The decisions that removed data (exposures or segments rejected)."""
        return [d for d in self.decisions if d.action == "rejected"]

    def summary(self) -> str:
        """One line: settings, exposures kept, decisions."""
        meta = self.spectrum.meta
        counts = {a: sum(d.action == a for d in self.decisions) for a in ("rejected", "flagged", "scaled")}
        told = ", ".join(f"{n} {a}" for a, n in counts.items() if n) or "nothing rejected"
        return (
            f"co-add of {meta.get('target') or 'the inputs'}: {len(self.settings)} setting(s), "
            f"up to {int(np.max(meta['n_exposures']))} exposure(s) per pixel, {told}"
        )

    def write(self, run: RunFolder, name: str | None = None) -> list[Path]:
        """Write ``<name>.fits`` (one per setting too when stitched), ``<name>_report.json``, figures.

        ``name`` defaults to ``specola_<target>``; the figure only with ``coadd.figures``.
        """
        if name is None:
            name = "specola_" + str(self.spectrum.meta.get("target") or "coadd").lower().replace(" ", "_")
        paths = [run.write(f"{name}.fits", lambda p: write_fits(self.spectrum, p, self.decisions))]
        if len(self.settings) > 1:
            for setting, spec in self.settings.items():
                tag = setting.replace("/", "_").lower()
                mine = [d for d in self.decisions if d.setting == setting]
                paths.append(run.write(f"{name}_{tag}.fits", lambda p, s=spec, m=mine: write_fits(s, p, m)))
        paths.append(run.write_text(f"{name}_report.json", json.dumps(self.report(), indent=2, default=str) + "\n"))
        if self.config.coadd.figures:
            from .plots import figures

            paths += [run.save_figure(fname, fig) for fname, fig in figures(self).items()]
        return paths


def write_fits(spectrum: Spectrum, path: Path, decisions: Sequence[Decision] = ()) -> None:
    """SCI one-row vector table (HASP's columns plus ``WAVE_LOW``, ``WAVE_HIGH``, ``N_EXPOSURES``, ``DQ``).

    A ``REJECTION`` table lists ``decisions``: setting, exposure, segment, action, factor,
    significance and reason.
    """
    meta = spectrum.meta
    n = str(len(spectrum))
    arrays = [
        ("WAVELENGTH", "D", spectrum.wavelength.value, str(spectrum.wave_unit)),
        ("WAVE_LOW", "D", spectrum.low.value, str(spectrum.wave_unit)),
        ("WAVE_HIGH", "D", spectrum.high.value, str(spectrum.wave_unit)),
        ("FLUX", "E", spectrum.flux.value, str(spectrum.flux_unit)),
        ("ERROR", "E", spectrum.error.value, str(spectrum.flux_unit)),
        ("SNR", "E", meta.get("snr", np.zeros(len(spectrum))), None),
        ("EFF_EXPTIME", "E", meta.get("eff_exptime", np.zeros(len(spectrum))), "s"),
        ("N_EXPOSURES", "J", meta.get("n_exposures", np.zeros(len(spectrum))), None),
        ("DQ", "K", meta.get("dq", np.zeros(len(spectrum))), None),
        ("MASK", "L", spectrum.mask, None),
    ]
    cols = [fits.Column(name=c, format=n + f, unit=unit) for c, f, _, unit in arrays]
    sci = fits.BinTableHDU.from_columns(cols, nrows=1, name="SCI")
    for c, _, values, _ in arrays:
        sci.data[c] = values
    head = fits.Header()
    head["ORIGIN"] = "specola"
    head["METHOD"] = ("resample", "specola flux-conserving co-addition")
    head["TARGNAME"] = str(meta.get("target", ""))
    rtab = fits.BinTableHDU.from_columns(
        [
            fits.Column(name="SETTING", format="A24", array=[d.setting for d in decisions]),
            fits.Column(name="EXPOSURE", format="A64", array=[d.exposure for d in decisions]),
            fits.Column(name="SEGMENT", format="A16", array=[d.segment for d in decisions]),
            fits.Column(name="ACTION", format="A8", array=[d.action for d in decisions]),
            fits.Column(name="FACTOR", format="D", array=[d.factor for d in decisions]),
            fits.Column(name="SIGNIFICANCE", format="D", array=[d.significance for d in decisions]),
            fits.Column(name="REASON", format="A200", array=[d.reason for d in decisions]),
        ],
        name="REJECTION",
    )
    fits.HDUList([fits.PrimaryHDU(header=head), sci, rtab]).writeto(path, overwrite=True)


def _setting(s: Spectrum) -> str:
    inst, grating = s.meta.get("instrument"), s.meta.get("grating")
    return f"{inst}/{grating}" if inst and grating else str(s.meta.get("setting", "all"))


def coadd(spectra: Sequence[Spectrum], config: CoaddConfig | None = None) -> CoaddResult:
    """Co-add spectra with specola's method (the default for Spectrum objects of any instrument).

    Segments are grouped by setting (``meta['instrument']/meta['grating']``), each
    setting co-added on its own grid, and settings stitched where they overlap.

    Parameters
    ----------
    spectra : sequence of Spectrum
        Inputs with errors (one per segment/order/exposure); ``meta['exposure']``
        groups segments of one exposure and ``meta['exptime']`` gives weights.
    config : CoaddConfig, optional
        Options (default: :class:`CoaddConfig()`).

    Returns
    -------
    CoaddResult

    Examples
    --------
    >>>     >>> a = Spectrum.from_edges(np.arange(11.0) * u.AA, np.ones(10) * u.Jy, error=np.full(10, 0.1) * u.Jy,
    ...                         meta={"exposure": "a", "exptime": 100.0})
    >>> b = a.replace(meta={"exposure": "b", "exptime": 300.0})
    >>> result = coadd([a, b])
    >>> float(result.spectrum.meta["eff_exptime"][3])
    400.0
    """
    config = config or CoaddConfig()
    if not spectra:
        raise SpectrumError("no spectra to co-add")
    wave_unit, flux_unit = spectra[0].wave_unit, spectra[0].flux_unit
    groups: dict[str, list[Spectrum]] = {}
    for s in spectra:
        if not s.flux_unit.is_equivalent(flux_unit):
            raise SpectrumError(f"flux units differ ({s.flux_unit} vs {flux_unit}); convert before co-adding")
        groups.setdefault(_setting(s), []).append(s.to_wave_unit(wave_unit).to_flux_unit(flux_unit))
    settings, scaling, decisions = {}, {}, []
    for setting, segs in groups.items():
        if config.scaling.enabled:
            segs, scaling[setting] = scale_exposures(
                segs, config.scaling.reference, config.scaling.method, config.scaling.degree
            )
            decisions += [
                Decision(e, "all", "scaled", f, 0.0, f"scaled to {scaling[setting].reference} ([scaling])", setting)
                for e, f in scaling[setting].factors.items()
            ]
        step = config.grid.step if config.grid.step > 0 else None
        edges, kind = choose_grid(segs, config.grid.kind, step, config.grid.pixel_scale)
        combined = combine_segments(segs, edges, config.coadd, config.reject)
        meta = {"setting": setting, "grid": kind, "target": segs[0].meta.get("target", "")}
        settings[setting] = to_spectrum(combined, wave_unit, flux_unit, meta)
        decisions += [dataclasses.replace(d, setting=setting) for d in combined.decisions]
        log.info("%s: %d segments on a %s grid of %d pixels", setting, len(segs), kind, len(edges) - 1)
    if len(settings) == 1:
        final = next(iter(settings.values()))
    else:
        final, _ = stitch(list(settings.values()), scale_overlap=config.stitch.scale_overlap)
        final.meta["target"] = next(iter(settings.values())).meta.get("target", "")
    return CoaddResult(final, settings, decisions, {}, scaling, config)


def read_inputs(config: CoaddConfig) -> tuple[list[Spectrum], dict[str, str]]:
    """Read the configured files (or folder), returning spectra and ``{file: reason}`` for skipped ones."""
    inp = config.input
    if inp.files:
        paths = list(inp.files)
    elif inp.indir is not None:
        paths = folder_inputs(inp.indir)
    else:
        raise FileFormatError("no input: give input.indir (-i FOLDER) or input.files")
    spectra, skipped = [], {}
    for path in paths:
        try:
            segs = read_all(path)
        except SpecolaError as exc:
            skipped[str(path)] = str(exc)
            continue
        if segs and segs[0].meta.get("format") == "hst_x1d":
            missing = [k.upper() for k in ("targname", "instrume", "opt_elem") if segs[0].meta.get(k) in (None, "")]
            if missing:
                skipped[str(path)] = f"primary header lacks required keyword(s) {', '.join(missing)}"
                continue
        bad = [s for s in segs if s.meta.get("exptime", 1.0) is not None and float(s.meta.get("exptime", 1.0)) <= 0]
        if bad:
            skipped[str(path)] = f"zero exposure time in {len(bad)} segment(s)"
            segs = [s for s in segs if s not in bad]
        spectra += segs
    targets = sorted({str(s.meta.get("target", "")) for s in spectra})
    if inp.target:
        spectra = [s for s in spectra if s.meta.get("target") == inp.target]
        if not spectra:
            raise SpecolaError(f"target {inp.target!r} not among the inputs' targets {targets}")
    elif len(targets) > 1:
        raise SpecolaError(
            f"the inputs hold {len(targets)} targets ({', '.join(targets)}); co-add one at a time with "
            "-n TARGET (input.target)"
        )
    for path, why in skipped.items():
        log.warning("skipping %s: %s", path, why)
    if not spectra:
        raise FileFormatError("no usable inputs: " + "; ".join(f"{Path(p).name}: {w}" for p, w in skipped.items()))
    return spectra, skipped


def folder_inputs(indir: Path) -> list[Path]:
    """The x1d/sx1 files of ``indir``; raises when the folder is missing or holds none."""
    if not indir.is_dir():
        raise FileFormatError(f"{indir}: input folder not found (input.indir)")
    paths = find_inputs(indir)
    if not paths:
        raise FileFormatError(f"{indir}: no *_x1d.fits or *_sx1.fits files (gzipped allowed) to co-add")
    return paths
