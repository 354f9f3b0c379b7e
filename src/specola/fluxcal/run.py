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
from ..errors import ConfigError, SpectrumError
from ..grids import StellarGrid, load_grid
from ..io import read, write
from ..runs import RunFolder, run_stage
from ..spectrum import Spectrum
from .config import FluxcalConfig, StandardSection, TemplateSection
from .scaling import Photometry, template_sensitivity
from .sensitivity import Sensitivity, fit_sensitivity
from .standards import load_extinction, read_calspec, standard_path
from .template import TemplateFit, fit_template, prepare_templates

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


def _read_spectrum(path: Path) -> Spectrum:
    spec = read(path)
    if not np.any(np.isfinite(spec.flux.value) & spec.good):
        raise SpectrumError(f"{path}: every pixel is NaN or masked; nothing to calibrate")
    return spec


def _reference(st: StandardSection) -> Spectrum:
    if st.reference_file is not None:
        return read_calspec(st.reference_file)
    if not st.reference:
        raise ConfigError("standard.reference: give a bundled CALSPEC name or standard.reference_file (calspec method)")
    return read_calspec(standard_path(st.reference))


@dataclass
class FluxcalResult:
    """Everything one fluxcal run produced."""

    config: FluxcalConfig
    sensitivity: Sensitivity
    standard: Spectrum
    template_fit: TemplateFit | None = None
    photometry: Photometry | None = None
    calibrated: dict[str, Spectrum] = field(default_factory=dict)

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
        out["warnings"] = (
            [self.template_fit.tension] if self.template_fit is not None and self.template_fit.tension else []
        )
        out["calibrated"] = sorted(self.calibrated)
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
        from .qc import plot_photometry, plot_sensitivity, plot_template_fit

        paths = [run.write("sensitivity.ecsv", lambda p: self.sensitivity_table().write(p, format="ascii.ecsv"))]
        paths.append(run.write_text("summary.json", json.dumps(self.report(), indent=2, default=float) + "\n"))
        paths.append(run.write_text("summary.txt", self.summary_text() + "\n"))
        for name, spec in self.calibrated.items():
            paths.append(write(spec, run.file(f"{name}_fluxcal.fits"), overwrite=True, config=self.config))
        if self.config.output.figures:
            paths.append(run.save_figure("qc_sensitivity.png", plot_sensitivity(self.sensitivity)))
            if self.template_fit is not None:
                paths.append(run.save_figure("qc_template.png", plot_template_fit(self.template_fit, self.standard)))
                paths.append(run.save_figure("qc_photometry.png", plot_photometry(self.template_fit, self.photometry)))
        return paths


def run(config: FluxcalConfig) -> FluxcalResult:
    """Fit a sensitivity from the standard star and calibrate the science spectra (computes only, writes nothing).

    Parameters
    ----------
    config : FluxcalConfig
        Paths absolute or relative to the working directory (:func:`specola.config.load_config` resolves
        those of a TOML file against its folder).

    Returns
    -------
    FluxcalResult
    """
    st, sc = config.standard, config.sensitivity
    if not st.file:
        raise ConfigError("standard.file: give the observed standard-star spectrum (counts)")
    observed = _read_spectrum(Path(st.file))
    exptime = st.exptime or None
    extinction = load_extinction(sc.extinction)
    fit = phot = None
    if st.method == "calspec":
        reference = _reference(st)
        sens = fit_sensitivity(observed, reference, exptime=exptime, airmass=st.airmass, extinction=extinction,
                               knot_spacing=sc.knot_spacing, line_half_width_kms=sc.line_half_width_kms,
                               resolution=sc.resolution or None, clip=sc.clip)  # fmt: skip
    else:
        t, pc = config.template, config.photometry
        grid = _load_template_grid(t)
        phot = Photometry(pc.bands, pc.magnitudes, pc.errors, pc.system, star=Path(st.file).name)
        w = observed.wavelength.to_value(u.AA)
        ranges = {"Teff": t.teff, "logg": t.logg}
        if "[M/H]" in grid.axes:
            ranges["M_H"] = t.metallicity
        templates = prepare_templates(grid, (w[0], w[-1]), resolution=t.resolution or None, max_rv=t.max_rv,
                                      **ranges)  # fmt: skip
        fit = fit_template(observed, templates, phot, grid, knot_spacing=t.knot_spacing, max_rv=t.max_rv,
                           ebv=t.ebv, fit_ebv=t.fit_ebv, max_ebv=t.max_ebv, r_v=t.r_v,
                           tension_sigma=t.tension_sigma, teff_systematic=t.teff_systematic)  # fmt: skip
        log.info("template: %s", fit.summary())
        sens = template_sensitivity(
            observed, fit, exptime=exptime, airmass=st.airmass, extinction=extinction,
            knot_spacing=sc.knot_spacing, line_half_width_kms=sc.line_half_width_kms, clip=sc.clip,
            model_error=t.model_error,
        )  # fmt: skip
    calibrated = {}
    for path in config.science.files:
        spec = _read_spectrum(path)
        calibrated[path.name.split(".")[0]] = sens.calibrate(
            spec, exptime=config.science.exptime or None, airmass=config.science.airmass, extinction=extinction
        )
    return FluxcalResult(config, sens, observed, fit, phot, calibrated)


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
