"""Grid benchmarks: pre-binning the bundled grid onto the TRAPPIST-1 PRISM pixels (< 1 s) and one
(Teff, logg) interpolation on the pre-binned grid (< 20 microseconds).

Run: ``PYTHONPATH=src python benchmarks/bench_grids.py``
"""

from __future__ import annotations

import time
import timeit

from specola.data import data_path
from specola.grids import load_grid
from specola.io import read

TARGET_BIN_S = 1.0
TARGET_AT_US = 20.0


def run(repeat: int = 5, number: int = 20000) -> dict[str, float]:
    grid = load_grid(data_path("grids", "btsettl08_prism_trappist1.h5"))
    spectrum = read(data_path("spectra", "trappist1_nirspec_prism_outoftransit.csv"))
    bin_times = []
    for _ in range(repeat):
        start = time.perf_counter()
        binned = grid.bin_to(spectrum)
        bin_times.append(time.perf_counter() - start)
    conv_start = time.perf_counter()
    grid.bin_to(spectrum, resolution=100.0)
    conv_time = time.perf_counter() - conv_start
    timer = timeit.Timer(lambda: binned.at(2566.0, 5.21))
    at_us = min(timer.repeat(repeat=repeat, number=number)) / number * 1e6
    return {"bin_s": min(bin_times), "bin_conv_s": conv_time, "at_us": at_us}


def main() -> None:
    result = run()
    print(
        f"pre-binning 32 BT-Settl models onto 481 TRAPPIST-1 PRISM pixels: {result['bin_s'] * 1e3:.2f} ms "
        f"(target < {TARGET_BIN_S * 1e3:.0f} ms); with R=100 convolution first: {result['bin_conv_s'] * 1e3:.2f} ms"
    )
    print(
        f"StellarGrid.at(Teff, logg) on the pre-binned grid: {result['at_us']:.2f} us per call "
        f"(target < {TARGET_AT_US:.0f} us)"
    )


if __name__ == "__main__":
    main()
