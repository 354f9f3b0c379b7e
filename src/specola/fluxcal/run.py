"""The ``fluxcal`` stage: config -> :func:`run` -> :class:`FluxcalResult` -> run folder."""

from __future__ import annotations

import glob
import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import astropy.units as u
import numpy as np
from astropy.table import Table

from ..data import data_path
from ..errors import ConfigError, SpecolaError, SpectrumError
from ..grids import StellarGrid, load_grid
from ..io import read, write
from ..runs import RunFolder, run_stage
from ..spectrum import Spectrum
from .catalog import load_catalog, match_catalog, photometry_from_row
from .config import FluxcalConfig, StandardSection, TemplateSection
from .frames import Frame, calibrate_frame, read_frame
from .masks import mask_regions
from .photometry import FLAM
from .scaling import Photometry, template_sensitivity
from .sensitivity import TELLURIC_BANDS, Sensitivity, fit_sensitivity
from .standards import load_extinction, read_calspec, standard_path
from .template import TemplateFit, fit_template, prepare_templates
from .vectors import CalibrationVector, CombinedCalibration, apply_calibration, combine_vectors

__all__ = ["FluxcalResult", "bundled_grid_files", "run", "run_to_folder"]

log = logging.getLogger(__name__)


def bundled_grid_files() -> list[Path]:
    """The bundled Castelli-Kurucz 2004 subset (Teff 4500-6750 K, [M/H] = -1, -0.5, 0)."""
    return sorted(Path(p) for p in glob.glob(str(data_path("fluxcal", "ck04", "*", "*.fits.gz"))))


def _load_template_grid(t: TemplateSection) -> StellarGrid:
    """The template grid the config names (any format; the bundled CK04 subset by default)."""
    files = list(t.grid) or bundled_grid_files()
    options = {"wave_file": t.wave_file} if t.wave_file else {}
    return load_grid(files if len(files) > 1 else files[0], format=t.format or None, **options)


def _reference(st: StandardSection) -> Spectrum:
    if st.reference_file is not None:
        return read_calspec(st.reference_file)
    if not st.reference:
        raise ConfigError("standard.reference: give a bundled CALSPEC name or standard.reference_file (calspec method)")
    return read_calspec(standard_path(st.reference))


@dataclass(frozen=True, eq=False)
class StarCalibration:
    """One standard star of a multi-star run: its spectrum, template fit, sensitivity and photometry."""

    name: str
    observed: Spectrum
    fit: TemplateFit
    sensitivity: Sensitivity
    photometry: Photometry


@dataclass
class FluxcalResult:
    """Everything one fluxcal run produced (``stars`` and ``combined`` in a multi-star run)."""

    config: FluxcalConfig
    sensitivity: Sensitivity
    standard: Spectrum
    template_fit: TemplateFit | None = None
    photometry: Photometry | None = None
    calibrated: dict[str, Spectrum] = field(default_factory=dict)
    stars: list[StarCalibration] = field(default_factory=list)
    combined: CombinedCalibration | None = None
    rejected: list[str] = field(default_factory=list)
    frames: dict[str, tuple[Frame, CalibrationVector]] = field(default_factory=dict)

    def summary(self) -> str:
        """One line: method, range, chi2, median error, template and warnings (what the CLI prints)."""
        d = self.report()
        lo, hi = d["wave_range_A"]
        n = len(d["calibrated"])
        line = (f"fluxcal ({d['method']}): sensitivity {lo:.0f}-{hi:.0f} A, chi2/ndof {d['chi2_per_ndof']:.2f}, "
                f"median error {100 * d['median_fractional_error']:.2f}%, {n} spectra calibrated")  # fmt: skip
        if self.template_fit is not None:
            line += f"; {self.template_fit.summary()}"
        return line + "".join(f"; WARNING: {w}" for w in d["warnings"] if w not in line)

    def report(self) -> dict[str, Any]:
        """JSON-friendly summary of the calibration (``summary.json``)."""
        s = self.sensitivity
        out: dict[str, Any] = {
            "method": self.config.standard.method,
            "wave_range_A": [float(x) for x in s.wave_range.value],
            "chi2_per_ndof": s.meta["chi2"] / max(s.meta["ndof"], 1),
            "n_clipped": s.meta["n_clipped"],
            "median_fractional_error": float(np.median(s.log_error(s.points["wavelength"][s.points["used"]] * u.AA))),
        }
        if self.template_fit is not None:
            f = self.template_fit
            out["template"] = {"params": f.params, "errors": f.errors, "at_grid_edge": list(f.at_edge),
                               "rv_kms": f.rv, "rv_error_kms": f.rv_error, "ebv": f.ebv, "ebv_error": f.ebv_error,
                               "teff_spectrum": f.meta.get("teff_spectrum"), "teff_colours": f.meta.get("teff_colours"),
                               "n_templates": f.meta.get("n_templates")}  # fmt: skip
            out["photometric_scale"] = {"scale": f.scale, "mag_error": f.photometry["dm_error"],
                                        "residuals_mag": f.photometry["residuals"]}  # fmt: skip
        fits = [s.fit for s in self.stars] or ([self.template_fit] if self.template_fit is not None else [])
        names = [s.name for s in self.stars] or [""]
        out["warnings"] = [
            f"{n + ': ' if n else ''}{f.tension}" for n, f in zip(names, fits, strict=False) if f.tension
        ]
        out["warnings"] += [f"rejected {r}" for r in self.rejected]
        if self.combined is not None:
            c = self.combined.summary
            out["stars"] = [{"name": s.name, "params": s.fit.params, "errors": s.fit.errors, "rv_kms": s.fit.rv,
                             "ebv": s.fit.ebv, "residuals_mag": s.fit.photometry["residuals"],
                             "tension": s.fit.tension} for s in self.stars]  # fmt: skip
            out["combined"] = {k: c[k] for k in ("method", "n_stars", "n_stars_used", "rms_scatter", "rejected_stars")}
            out["warnings"] += [f"vector of {k} rejected: {v}" for k, v in c["rejected_stars"].items()]
        out["calibrated"] = sorted(self.calibrated) + sorted(self.frames)
        return out

    def summary_text(self) -> str:
        """Human-readable summary: range, chi2, median error, template and warnings."""
        d = self.report()
        lo, hi = d["wave_range_A"]
        lines = [f"fluxcal ({d['method']}): sensitivity {lo:.0f}-{hi:.0f} A, chi2/ndof {d['chi2_per_ndof']:.2f}, "
                 f"median fractional error {100 * d['median_fractional_error']:.2f}%"]  # fmt: skip
        if self.template_fit is not None:
            lines.append(f"template: {self.template_fit.summary()}")
            res = ", ".join(f"{b} {1000 * r:+.0f}" for b, r in d["photometric_scale"]["residuals_mag"].items())
            lines.append(f"photometric residuals (synthetic - observed, mmag): {res}")
        for star in d.get("stars", []):
            lines.append(f"star {star['name']}: " + next(s.fit.summary() for s in self.stars if s.name == star["name"]))
        if "combined" in d:
            c = d["combined"]
            lines.append(f"combined ({c['method']}): {c['n_stars_used']} of {c['n_stars']} stars, "
                         f"rms scatter {100 * c['rms_scatter']:.2f}%")  # fmt: skip
        lines += [f"WARNING: {w}" for w in d["warnings"]]
        lines += [f"calibrated: {name}" for name in d["calibrated"]]
        return "\n".join(lines)

    def sensitivity_table(self) -> Table:
        """Sensitivity on the standard's pixels: wavelength, data, fit and its fractional error."""
        p = self.sensitivity.points
        lo, hi = self.sensitivity.spline.x_range
        w = p["wavelength"]
        inside = (w >= lo) & (w <= hi)
        fit = np.full(w.size, np.nan)
        err = np.full(w.size, np.nan)
        fit[inside] = self.sensitivity(w[inside] * u.AA).value
        err[inside] = self.sensitivity.log_error(w[inside] * u.AA)
        return Table(
            {"wavelength": w * u.AA, "data": p["sensitivity"], "data_error": p["error"], "used": p["used"],
             "sensitivity": fit, "fractional_error": err},
            meta={"unit": "(ct/s/A) / (erg/s/cm2/A)", "note": "above the atmosphere"},
        )  # fmt: skip

    def write(self, run: RunFolder) -> list[Path]:
        """Write the sensitivity table, calibrated spectra, summary and QC figures into ``run``."""
        from .qc import plot_photometry, plot_sensitivity, plot_template_fit, plot_vectors

        paths = [run.write("sensitivity.ecsv", lambda p: self.sensitivity_table().write(p, format="ascii.ecsv"))]
        paths.append(run.write_text("summary.json", json.dumps(self.report(), indent=2, default=float) + "\n"))
        paths.append(run.write_text("summary.txt", self.summary_text() + "\n"))
        for name, spec in self.calibrated.items():
            paths.append(write(spec, run.file(f"{name}_fluxcal.fits"), overwrite=True, config=self.config))
        for name, (frame, vector) in self.frames.items():
            paths.append(run.write(f"{name}_fluxcal.fits", lambda p, f=frame, v=vector: calibrate_frame(f, v, p)))
        if self.config.output.figures:
            paths.append(run.save_figure("qc_sensitivity.png", plot_sensitivity(self.sensitivity)))
            if self.stars:
                for s in self.stars:
                    paths.append(run.save_figure(f"qc_template_{s.name}.png", plot_template_fit(s.fit, s.observed)))
                    paths.append(run.save_figure(f"qc_photometry_{s.name}.png", plot_photometry(s.fit, s.photometry)))
                paths.append(run.save_figure("qc_vectors.png", plot_vectors(self.combined)))
            elif self.template_fit is not None:
                paths.append(run.save_figure("qc_template.png", plot_template_fit(self.template_fit, self.standard)))
                paths.append(run.save_figure("qc_photometry.png", plot_photometry(self.template_fit, self.photometry)))
        return paths


def _template_calibration(observed: Spectrum, phot: Photometry, config: FluxcalConfig, grid, templates, exptime,
                          airmass, extinction, extra) -> tuple[TemplateFit, Sensitivity]:  # fmt: skip
    t, sc = config.template, config.sensitivity
    fit = fit_template(observed, templates, phot, grid, knot_spacing=t.knot_spacing, max_rv=t.max_rv,
                       ebv=t.ebv, fit_ebv=t.fit_ebv, max_ebv=t.max_ebv, r_v=t.r_v, tension_sigma=t.tension_sigma,
                       teff_systematic=t.teff_systematic, mask=TELLURIC_BANDS + extra)  # fmt: skip
    log.info("template (%s): %s", phot.star, fit.summary())
    sens = template_sensitivity(
        observed, fit, exptime=exptime, airmass=airmass, extinction=extinction, knot_spacing=sc.knot_spacing,
        line_half_width_kms=sc.line_half_width_kms, clip=sc.clip, model_error=t.model_error, extra_mask=extra,
    )  # fmt: skip
    return fit, sens


def _templates(config: FluxcalConfig, grid: StellarGrid, spectra: list[Spectrum]):
    t = config.template
    lo = min(s.low[0].to_value(u.AA, u.spectral()) for s in spectra)
    hi = max(s.high[-1].to_value(u.AA, u.spectral()) for s in spectra)
    ranges = {"Teff": t.teff, "logg": t.logg}
    if "[M/H]" in grid.axes:
        ranges["M_H"] = t.metallicity
    return prepare_templates(grid, (lo, hi), resolution=t.resolution or None, max_rv=t.max_rv, **ranges)


def _position(spec: Spectrum, k: int, positions: tuple[float, ...], path: Path) -> tuple[float, float]:
    if positions:
        if len(positions) != 2 * len(positions) // 2 or 2 * k + 1 >= len(positions):
            raise ConfigError(f"standards.positions needs RA, Dec for every file (file {k + 1}: {path.name})")
        return positions[2 * k], positions[2 * k + 1]
    meta = {str(key).lower(): v for key, v in spec.meta.items()}
    for ra_key, dec_key in (("ra", "dec"), ("ra_targ", "dec_targ"), ("objra", "objdec")):
        if ra_key in meta and dec_key in meta:
            return float(meta[ra_key]), float(meta[dec_key])
    raise ConfigError(f"{path}: no RA/Dec in the file's meta; give standards.positions")


def _many_standards(config: FluxcalConfig, extinction, extra) -> tuple[list[StarCalibration], list[str]]:
    """Template calibration of every standard in ``[standards]`` matched to the catalogue by position."""
    ss = config.standards
    if ss.catalog is None:
        raise ConfigError("standards.catalog: give the Refcat2-layout catalogue the standards are matched to")
    table = load_catalog(ss.catalog)
    spectra = [read(Path(f)) for f in ss.files]
    grid = _load_template_grid(config.template)
    templates = _templates(config, grid, spectra)
    stars, rejected = [], []
    for k, (path, spec) in enumerate(zip(ss.files, spectra, strict=True)):
        name = Path(path).name.split(".")[0]
        try:
            ra, dec = _position(spec, k, ss.positions, Path(path))
            row = table[match_catalog(table, ra, dec, ss.tolerance_arcsec, name=name)]
            phot = photometry_from_row(row, ss.bands, name=name)
            fit, sens = _template_calibration(spec, phot, config, grid, templates, ss.exptime or None, ss.airmass,
                                              extinction, extra)  # fmt: skip
        except SpecolaError as exc:
            log.warning("standard %s rejected: %s", name, exc)
            rejected.append(f"{name}: {exc}")
            continue
        stars.append(StarCalibration(name, spec, fit, sens, phot))
    if not stars:
        raise SpectrumError(f"no standard star could be calibrated: {'; '.join(rejected)}")
    return stars, rejected


def run(config: FluxcalConfig) -> FluxcalResult:
    """Fit a sensitivity from the standard star(s) and calibrate the science spectra (computes only, writes nothing).

    With ``[standards]`` files (template method) every star is matched to the catalogue by sky position,
    fitted, turned into a calibration vector for the science exposure, and the vectors are combined
    (:func:`~specola.fluxcal.vectors.combine_vectors`); stars that fail are rejected with their reason.

    Parameters
    ----------
    config : FluxcalConfig
        Paths absolute or relative to the working directory (:func:`specola.config.load_config` resolves
        those of a TOML file against its folder).

    Returns
    -------
    FluxcalResult
    """
    st, sc, sci = config.standard, config.sensitivity, config.science
    extinction = load_extinction(sc.extinction)
    mk = config.masks
    extra = mask_regions(mk.names, mk.files, mk.ranges)
    if config.standards.files:
        stars, rejected = _many_standards(config, extinction, extra)
        science = {Path(p).name.split(".")[0]: read(p) for p in sci.files}
        reference = next(iter(science.values()), stars[0].observed)
        exptime = sci.exptime or reference.meta.get("exptime")
        vectors = [s.sensitivity.vector(reference, exptime=exptime if science else config.standards.exptime or None,
                                        airmass=sci.airmass if science else config.standards.airmass,
                                        extinction=extinction, meta={"star_name": s.name}) for s in stars]  # fmt: skip
        cb = config.combine
        combined = combine_vectors(vectors, cb.method, cb.clip, cb.smooth_window, cb.max_rejected_fraction)
        calibrated = {name: _apply(spec, combined.vector) for name, spec in science.items()}
        first = stars[0]
        frames = _frames(config, [s.sensitivity for s in stars], extinction)
        return FluxcalResult(config, first.sensitivity, first.observed, first.fit, first.photometry, calibrated,
                             stars=stars, combined=combined, rejected=rejected, frames=frames)  # fmt: skip
    if not st.file:
        raise ConfigError("standard.file: give the observed standard-star spectrum (counts), or [standards] files")
    observed = read(Path(st.file))
    exptime = st.exptime or None
    fit = phot = None
    if st.method == "calspec":
        sens = fit_sensitivity(observed, _reference(st), exptime=exptime, airmass=st.airmass, extinction=extinction,
                               knot_spacing=sc.knot_spacing, line_half_width_kms=sc.line_half_width_kms,
                               resolution=sc.resolution or None, clip=sc.clip, extra_mask=extra)  # fmt: skip
    else:
        pc = config.photometry
        grid = _load_template_grid(config.template)
        phot = Photometry(pc.bands, pc.magnitudes, pc.errors, pc.system, star=Path(st.file).name)
        fit, sens = _template_calibration(observed, phot, config, grid, _templates(config, grid, [observed]),
                                          exptime, st.airmass, extinction, extra)  # fmt: skip
    calibrated = {}
    for path in sci.files:
        spec = read(path)
        calibrated[path.name.split(".")[0]] = sens.calibrate(
            spec, exptime=sci.exptime or None, airmass=sci.airmass, extinction=extinction
        )
    return FluxcalResult(config, sens, observed, fit, phot, calibrated, frames=_frames(config, [sens], extinction))


def _frames(config: FluxcalConfig, sensitivities: list[Sensitivity], extinction) -> dict:
    """Each ``[science] frames`` file with the (combined) calibration vector for its exposure."""
    sci, cb = config.science, config.combine
    out = {}
    for path in sci.frames:
        frame = read_frame(path)
        exptime = sci.exptime or frame.header.get("EXPTIME")
        airmass = sci.airmass or float(frame.header.get("AIRMASS", 0.0))
        pixels = frame.pixels()
        vectors = [s.vector(pixels, exptime=exptime, airmass=airmass, extinction=extinction,
                            meta={"star_name": f"star {k}"}) for k, s in enumerate(sensitivities)]  # fmt: skip
        vector = vectors[0] if len(vectors) == 1 else combine_vectors(vectors, cb.method, cb.clip, cb.smooth_window,
                                                                      cb.max_rejected_fraction).vector  # fmt: skip
        out[Path(path).name.split(".")[0]] = (frame, vector)
    return out


def _apply(spec: Spectrum, vector: CalibrationVector) -> Spectrum:
    """A spectrum on the vector's pixels times the vector, as f_lambda with errors."""
    if len(spec) != vector.factor.size or not np.allclose(spec.wavelength.to_value(u.AA), vector.wavelength):
        raise SpectrumError("science spectra must share the pixels of the first one (the combined vector's grid)")
    var = None if spec.error is None else spec.error.value**2
    flux, var, header = apply_calibration(spec.flux.value, var, vector)
    bad = spec.mask | ~np.isfinite(flux)
    meta = dict(spec.meta, **{k: v for k, v in header.items() if k != "HISTORY"})
    return spec.replace(flux=np.where(bad, 0.0, flux) * FLAM, error=None if var is None else np.sqrt(var) * FLAM,
                        mask=bad, meta=meta)  # fmt: skip


def run_to_folder(config: FluxcalConfig, output: str | Path | None = None, *, overwrite: bool = False) -> FluxcalResult:
    """Run the stage and write everything (plus ``config.toml`` and ``run.json``) into ``output``.

    Parameters
    ----------
    config : FluxcalConfig
    output : str or Path, optional
        Run folder (default ``fluxcal-output``), checked before any work.
    overwrite : bool
        Replace an earlier run there.

    Returns
    -------
    FluxcalResult
    """
    return run_stage("fluxcal", config, lambda: run(config), output or "fluxcal-output", overwrite=overwrite)
