"""The Spectrum model in five steps: read, select, convert units, rebin, convolve.

Makes docs/figures/spectrum_tour.png (or writes into the folder given as first argument).
"""

import sys
from pathlib import Path

import astropy.units as u
import numpy as np

from specola.data import data_path
from specola.io import read
from specola.plotting import figure, plot_spectrum

out = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).parents[1] / "figures"
out.mkdir(parents=True, exist_ok=True)

# 1. read: the format (the stellar peer's 'basic' CSV) is sniffed from the content
spec = read(data_path("spectra", "trappist1_nirspec_prism_outoftransit.csv"))
print(spec)

# 2. select a wavelength range and drop masked (NaN) pixels
spec = spec.select(0.6 * u.um, 5.4 * u.um).apply_mask()

# 3. convert f_lambda to f_nu (errors follow)
spec_mjy = spec.to_flux_unit(u.mJy)

# 4. flux-conserving rebin onto 40 log-spaced bins; variances propagate
coarse = spec_mjy.rebin(np.geomspace(0.6, 5.4, 41) * u.um)

# 5. degrade to R = 15 with a Gaussian line-spread function
smooth = spec_mjy.convolve_to_resolution(15.0)

fig, ax = figure()
plot_spectrum(spec_mjy, ax=ax, label="NIRSpec PRISM")
plot_spectrum(coarse, ax=ax, label="rebinned (40 log bins)")
plot_spectrum(smooth, ax=ax, label="convolved to R = 15", errors=False, lw=1.8)
ax.set_title("TRAPPIST-1 out of transit")
fig.savefig(out / "spectrum_tour.png", dpi=120)
print(f"{len(coarse)} rebinned pixels, median S/N {np.nanmedian(coarse.flux / coarse.error):.0f}")
