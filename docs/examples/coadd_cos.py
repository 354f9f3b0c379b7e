"""Co-add the bundled COS G140L exposures three ways and make the figures of docs/coadd.md.

Run: ``PYTHONPATH=src python docs/examples/coadd_cos.py [OUTDIR]`` (default: ./coadd-example).
"""

import sys

import numpy as np

from specola.coadd import CoaddConfig, coadd, read_inputs, run_hasp
from specola.coadd.config import InputSection, ScalingSection
from specola.coadd.plots import plot_coadd, plot_comparison, plot_inputs, plot_snr_gain
from specola.data import data_path
from specola.io import read
from specola.runs import RunFolder

out = RunFolder(sys.argv[1] if len(sys.argv) > 1 else "coadd-example", overwrite=True)
folder = data_path("coadd", "cos_g140l")

# 1. specola's method on Spectrum objects (one per segment and exposure)
config = CoaddConfig(input=InputSection(indir=folder))
spectra, skipped = read_inputs(config)
result = coadd(spectra, config)
print(result.summary(), "| clipped pixels:", result.spectrum.meta["clipped"])
result.write(out, name="cos_resample")
out.save_figure("coadd_cos_resample.png", plot_coadd(result))
blue, red = 1150 * spectra[0].wave_unit, 1900 * spectra[0].wave_unit  # the red end is noise only
window = [s.select(blue, red) for s in spectra]
out.save_figure("coadd_inputs.png", plot_inputs(window, result.spectrum.select(blue, red)))

# 2. the same exposures scaled to the brightest one first, and the S/N gain it brings
scaled = coadd(spectra, CoaddConfig(input=config.input, scaling=ScalingSection(enabled=True)))
print("scale factors:", scaled.scaling["COS/G140L"].factors)
out.save_figure("coadd_snr_gain.png", plot_snr_gain(result.spectrum, scaled.spectrum))

# 3. HASP-compatible products (what `specola coadd -i FOLDER -o OUTDIR` writes)
hasp = run_hasp(folder)
paths = hasp.write(RunFolder(out.path / "hasp", overwrite=True))
visit = read(next(p for p in paths if p.name.endswith("ldfd01_cspec.fits")))

# both against CALCOS's own FP-POS combination
x1dsum = read(folder / "ldfd01010_x1dsum.fits.gz")
fig = plot_comparison({"specola": result.spectrum, "HASP mode": visit}, x1dsum, 1250.0, 1350.0)
out.save_figure("coadd_vs_x1dsum.png", fig)
eff = result.spectrum.meta["eff_exptime"]
print(f"effective exposure time: {eff.max():.1f} s; median S/N {np.median(result.spectrum.meta['snr']):.2f}")
