"""Synthetic photometry of 10,000 spectra through 5 filters: specola's Photometer vs speclite, same run.

Run: PYTHONPATH=src python benchmarks/bench_fluxcal.py
"""

import time

import numpy as np
import speclite.filters

from specola.fluxcal import Photometer

BANDS = ["sdss2010-u", "sdss2010-g", "sdss2010-r", "sdss2010-i", "sdss2010-z"]


def main(n_spec: int = 10_000, n_pix: int = 4000) -> None:
    rng = np.random.default_rng(0)
    edges = np.linspace(2900.0, 11500.0, n_pix + 1)
    wave = 0.5 * (edges[1:] + edges[:-1])
    flux = 1e-17 * (wave / 5000.0) ** rng.uniform(-3, 1, (n_spec, 1)) * (1 + 0.05 * rng.normal(size=(n_spec, n_pix)))

    t0 = time.perf_counter()
    phot = Photometer.from_edges(edges, BANDS)
    t_build = time.perf_counter() - t0
    t0 = time.perf_counter()
    ours = phot.magnitudes(flux)
    t_ours = time.perf_counter() - t0

    filters = speclite.filters.load_filters(*BANDS)
    t0 = time.perf_counter()
    table = filters.get_ab_magnitudes(flux, wave)
    t_speclite = time.perf_counter() - t0
    theirs = np.column_stack([np.asarray(table[b]) for b in BANDS])

    t0 = time.perf_counter()
    n_loop = 200
    for i in range(n_loop):
        filters.get_ab_magnitudes(flux[i], wave)
    t_loop = (time.perf_counter() - t0) * n_spec / n_loop

    print(f"{n_spec} spectra x {n_pix} pixels x {len(BANDS)} filters")
    print(f"specola Photometer: {t_ours:.3f} s (+ {t_build:.3f} s to build the weights once)")
    print(f"speclite vectorised: {t_speclite:.3f} s   ratio speclite/specola = {t_speclite / t_ours:.1f}")
    print(f"speclite per-spectrum loop (extrapolated from {n_loop}): {t_loop:.1f} s   ratio = {t_loop / t_ours:.0f}")
    print(f"max |specola - speclite| = {np.max(np.abs(ours - theirs)):.2e} mag")


if __name__ == "__main__":
    main()
