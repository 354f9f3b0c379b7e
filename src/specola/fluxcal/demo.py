"""Flux-calibrate simulated observations of the CALSPEC star BD+17 4708 with both methods."""

from __future__ import annotations

import logging

import astropy.units as u
import numpy as np

from ..io import write
from ..plotting import figure, plot_spectrum, wavelength_label
from ..runs import RunFolder, run_stage
from .config import FluxcalConfig, PhotometrySection, ScienceSection, StandardSection, TemplateSection
from .photometry import synthetic_magnitude
from .run import FluxcalResult, run
from .simulate import observe, optical_throughput, perturbed, photon_sensitivity
from .standards import load_extinction, read_calspec, standard_path

__all__ = ["demo"]

log = logging.getLogger(__name__)

SEED = 2024
GAIA = ("gaiadr2-G", "gaiadr2-BP", "gaiadr2-RP")


def demo(folder: RunFolder) -> FluxcalResult:
    """Simulate a standard and a science exposure, calibrate them (CALSPEC and template methods), plot.

    The standard is BD+17 4708 (CALSPEC ``bd_17d4708_stisnic_007``) observed at airmass 1.3 through a
    smooth throughput (R = 1000, 2 A pixels); the science target is the same star 10 times fainter at
    airmass 1.7. The template method uses Gaia DR2 magnitudes computed from the CALSPEC spectrum.

    Parameters
    ----------
    folder : RunFolder
        The stage's own output folder: ``inputs/``, one run folder per method (``calspec/``,
        ``template/``), ``fluxcal_demo.png`` and ``run.json``.

    Returns
    -------
    FluxcalResult
        The template-method run (the CALSPEC run is in ``calspec/``).
    """
    with folder.running("fluxcal", seed=SEED, demo="fluxcal") as final:
        results = _calibrate_both(folder)
        final["summary"] = "; ".join(f"{name}: {r.summary()}" for name, r in results.items())
    return results["template"]


def _calibrate_both(folder: RunFolder) -> dict[str, FluxcalResult]:
    """The demo's work: simulated inputs, both methods, the comparison figure."""
    rng = np.random.default_rng(SEED)
    star = read_calspec(standard_path("bd_17d4708_stisnic_007"))
    ext = load_extinction()
    edges = np.arange(3700.0, 8800.0, 2.0)
    std = observe(perturbed(star, rng), edges, optical_throughput, 60.0, rng, airmass=1.3, extinction=ext,
                  resolution=1000, telluric_depth=0.4)  # fmt: skip
    sci = observe(star.scale(0.1), edges, optical_throughput, 900.0, rng, airmass=1.7, extinction=ext,
                  resolution=1000, telluric_depth=0.4)  # fmt: skip
    inputs = folder.path / "inputs"
    write(std.replace(meta={"target": "BD+17 4708", "exptime": 60.0}), inputs / "standard.fits", overwrite=True)
    write(sci.replace(meta={"target": "science", "exptime": 900.0}), inputs / "science.fits", overwrite=True)
    mags = [synthetic_magnitude(star, b, "Vega") for b in GAIA]
    common = {
        "science": ScienceSection(files=(inputs / "science.fits",), exptime=900.0, airmass=1.7),
    }
    configs = {
        "calspec": FluxcalConfig(
            standard=StandardSection(file=inputs / "standard.fits", method="calspec",
                                     reference="bd_17d4708_stisnic_007", exptime=60.0, airmass=1.3),
            **common,
        ),
        "template": FluxcalConfig(
            standard=StandardSection(file=inputs / "standard.fits", method="template", exptime=60.0, airmass=1.3),
            template=TemplateSection(resolution=1000.0, logg=(3.5, 5.0)),
            photometry=PhotometrySection(bands=GAIA, magnitudes=tuple(mags), errors=(0.003, 0.003, 0.003)),
            **common,
        ),
    }  # fmt: skip
    results = {}
    fig, axes = figure(2, 1, sharex=True, figsize=(7.0, 5.5))
    truth = star.scale(0.1).convolve_to_resolution(1000)
    for name, config in configs.items():
        result = run_stage("fluxcal", config, lambda c=config: run(c), folder.path / name, seed=SEED)
        results[name] = result
        cal = result.calibrated["science"]
        plot_spectrum(cal, ax=axes[0], label=f"calibrated ({name})", errors=False)
        ref = truth.rebin(cal)
        w = cal.wavelength.to_value(u.AA)
        axes[1].plot(w, 100 * (cal.flux / ref.flux - 1).value, lw=0.5, label=name)
        log.info("fluxcal demo (%s): %s", name, result.summary())
    w = std.wavelength.to_value(u.AA)
    plot_spectrum(truth.rebin(std), ax=axes[0], label="truth (CALSPEC / 10)", errors=False, color="k", lw=0.6)
    axes[1].axhline(0, color="0.3", lw=0.6)
    axes[1].set_ylim(-10, 10)
    axes[1].set_ylabel("calibrated / truth − 1 [%]")
    axes[0].set_xlabel("")
    axes[1].set_xlabel(wavelength_label(u.AA))
    axes[1].legend()
    axes[0].set_title("BD+17 4708 (10x fainter) at airmass 1.7, calibrated with a standard at airmass 1.3")
    folder.save_figure("fluxcal_demo.png", fig)
    true_s = photon_sensitivity(w, optical_throughput(w))
    for name, result in results.items():
        inside = (w > result.sensitivity.wave_range[0].value) & (w < result.sensitivity.wave_range[1].value)
        ratio = result.sensitivity(w[inside] * u.AA).value / true_s[inside]
        log.info("%s sensitivity / truth: median %.4f, max |dev| %.4f", name, np.median(ratio),
                 np.max(np.abs(ratio - 1)))  # fmt: skip
    return results
