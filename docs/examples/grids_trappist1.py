"""Pre-bin the bundled BT-Settl grid onto the TRAPPIST-1 NIRSpec/PRISM pixels and compare models with the data.

Makes docs/figures/grids_trappist1.png (or writes it into the folder given as first argument).
"""

import sys
import time
from pathlib import Path

import astropy.units as u
import numpy as np

from specola.data import data_path
from specola.grids import load_grid
from specola.io import read
from specola.plotting import figure, plot_spectrum


def main(folder: Path) -> Path:
    grid = load_grid(data_path("grids", "btsettl08_prism_trappist1.h5"))  # any supported format works here
    spectrum = read(data_path("spectra", "trappist1_nirspec_prism_outoftransit.csv"))
    print(grid)

    start = time.perf_counter()
    binned = grid.bin_to(spectrum)  # every model integrated into the 481 data pixels, once
    print(f"pre-binned {grid.present.sum()} models in {1e3 * (time.perf_counter() - start):.1f} ms")

    good = spectrum.good
    data = spectrum.flux.value
    err = spectrum.error.value
    fig, (top, bottom) = figure(2, 1, sharex=True, figsize=(7.0, 5.5))
    plot_spectrum(spectrum, ax=top, label="TRAPPIST-1 (NIRSpec/PRISM)")
    for teff in (2400.0, 2566.0, 2800.0):
        model = binned.at(teff, 5.2)  # microseconds per call
        # best dilution factor (R/d)^2 by weighted least squares on the unmasked pixels
        w = 1 / err[good] ** 2
        scale = np.sum(w * model[good] * data[good]) / np.sum(w * model[good] ** 2)
        chi2 = np.sum(w * (data[good] - scale * model[good]) ** 2)
        print(f"Teff {teff:.0f} K, logg 5.2: chi2 = {chi2:.0f} for {good.sum()} pixels")
        (line,) = top.plot(spectrum.wavelength.value, scale * model, label=f"BT-Settl {teff:.0f} K (chi2 {chi2:.0f})")
        resid = (data[good] - scale * model[good]) / err[good]
        bottom.plot(spectrum.wavelength.value[good], resid, ".", ms=2, color=line.get_color())
    top.legend()
    top.set_title("bundled BT-Settl08 grid pre-binned onto the data, logg = 5.2")
    bottom.axhline(0, color="k", lw=0.5)
    bottom.set_xlabel(f"wavelength [{spectrum.wave_unit.to_string()}]")
    bottom.set_ylabel("residual / sigma")
    bottom.set_xlim(0.5, 5.6)
    folder.mkdir(parents=True, exist_ok=True)
    output = folder / "grids_trappist1.png"
    fig.savefig(output)
    print(f"wrote {output}")
    assert binned.wave_unit == u.um
    return output


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).parents[1] / "figures")
