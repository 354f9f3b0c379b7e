"""Synthetic photometry, a sensitivity function and a template calibration: the figures of docs/fluxcal.md.

Run: ``PYTHONPATH=src python docs/examples/fluxcal_demo.py [OUTDIR]`` (default: ./fluxcal-example).
"""

import sys

import astropy.units as u
import numpy as np

from specola.fluxcal import (
    ab_minus_vega,
    demo,
    fit_sensitivity,
    load_extinction,
    read_calspec,
    standard_path,
    synthetic_magnitude,
    vega_spectrum,
)
from specola.fluxcal.qc import plot_sensitivity
from specola.fluxcal.simulate import observe, optical_throughput, perturbed, photon_sensitivity
from specola.runs import RunFolder

out = RunFolder(sys.argv[1] if len(sys.argv) > 1 else "fluxcal-example", overwrite=True)

# 1. synthetic photometry of CALSPEC Vega: AB magnitudes and AB - Vega offsets
for band in ("gaiadr2-G", "gaiadr2-BP", "gaiadr2-RP", "twomass-J", "twomass-H", "twomass-Ks"):
    ab = synthetic_magnitude(vega_spectrum(), band)
    print(f"{band:11s} Vega AB = {ab:+.3f}   AB - Vega = {ab_minus_vega(band):+.3f}")

# 2. a sensitivity function from a simulated observation of BD+17 4708 at airmass 1.4 (truth known)
rng = np.random.default_rng(1)
star = read_calspec(standard_path("bd_17d4708_stisnic_007"))
ext = load_extinction()
edges = np.arange(3600.0, 8800.0, 2.0)
obs = observe(perturbed(star, rng), edges, optical_throughput, 60.0, rng, airmass=1.4, extinction=ext,
              resolution=1000, telluric_depth=0.5)  # fmt: skip
sens = fit_sensitivity(obs, star, airmass=1.4, extinction=ext, resolution=1000)
w = sens.points["wavelength"]
truth = photon_sensitivity(w, optical_throughput(w))
out.save_figure("fluxcal_sensitivity.png", plot_sensitivity(sens, truth=truth))
inside = (w > sens.wave_range[0].value) & (w < sens.wave_range[1].value)
print("max |S_fit / S_true - 1| =", np.max(np.abs(sens(w[inside] * u.AA).value / truth[inside] - 1)))

# 3. the demo: both methods (CALSPEC reference, template + Gaia photometry) on a standard and a science exposure
result = demo(RunFolder(out.path / "demo" / "fluxcal", overwrite=True))
for name in ("qc_template.png", "qc_photometry.png"):
    (out.path / f"fluxcal_{name[3:]}").write_bytes((out.path / "demo" / "fluxcal" / "template" / name).read_bytes())
(out.path / "fluxcal_demo.png").write_bytes((out.path / "demo" / "fluxcal" / "fluxcal_demo.png").read_bytes())
print(result.template_fit.summary())
