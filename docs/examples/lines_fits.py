"""Line fits of the bundled SDSS starburst and the DJA PRISM spectrum: the figures of docs/lines.md.

Run: ``PYTHONPATH=src python docs/examples/lines_fits.py [OUTDIR]`` (default: ./lines-example).
"""

import sys

import numpy as np

from specola.data import data_path
from specola.io import read
from specola.lines import (
    GroupSpec,
    LineSpec,
    LinesResult,
    PriorSpec,
    build_model,
    fit,
    run,
)
from specola.lines.demo import demo_config
from specola.lines.plots import plot_corner, plot_fit
from specola.runs import RunFolder

out = RunFolder(sys.argv[1] if len(sys.argv) > 1 else "lines-example", overwrite=True)

# 1. SDSS starburst, z = 0.0403: Halpha + [NII] (fixed 2.94 ratio) + [SII]; R(lambda) from wdisp
sdss = read(data_path("spectra", "spec-1678-53433-0425.fits.gz"))
sdss = sdss.replace(meta={**sdss.meta, "name": "sdss"})
lines = [
    LineSpec("Halpha", positive=True),
    LineSpec("[NII]6585"),
    LineSpec("[NII]6550", tie="[NII]6585", ratio=1 / 2.94),
    LineSpec("[SII]6718"),
    LineSpec("[SII]6733"),
]
groups = [GroupSpec("narrow", "width", PriorSpec("uniform", low=0.0, high=800.0))]
model = build_model([sdss], lines, redshift=0.0403, groups=groups)
result = LinesResult(model, fit(model, "nuts", num_warmup=300, num_samples=500, num_chains=2))
print(result.posterior.diagnostics)
t = result.table()
t[["line", "flux_p16", "flux_p50", "flux_p84", "fwhm_p50", "ew_p50", "velocity_p50"]].pprint(max_width=200)
ratio = t["flux_p50"][1] / t["flux_p50"][0]
print(f"[NII]6585/Halpha = {ratio:.3f}, z = {t['z_p50'][0]:.6f}")
out.save_figure("lines_sdss_fit.png", plot_fit(result))
out.save_figure("lines_sdss_corner.png", plot_corner(result))

# 2. DJA NIRSpec PRISM, RUBIES 154183 (z = 3.55): narrow + broad Balmer lines, point-source R, shared RScale
#    and a pixel offset (PRISM wavelength zero points are uncertain by a fraction of a pixel): the demo
result = run(demo_config("laplace"))  # the demo's configuration: Laplace broad wings, broad > narrow + 150 km/s
print(result.model.plan.table())
print(result.summary())
t = result.table()
t[["line", "flux_p16", "flux_p50", "flux_p84", "fwhm_p50", "ew_p50"]].pprint(max_width=200)
p = result.parameters()
p[np.isin(p["parameter"], ["z_z", "rscale_R", "pix_offset_po", "fwhm_broad"])].pprint(max_width=200)
out.save_figure("lines_prism_fit.png", plot_fit(result))
