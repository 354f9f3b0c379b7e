"""fluxcal performance targets (issue 9), each printed as a ratio measured in this run.

1. Synthetic photometry of 10,000 spectra through 5 filters: specola's Photometer vs speclite (target >= 10x
   over speclite vectorised).
2. One standard star through the template search (>= 100 templates, RV, joint colours): target < 2 s, printed
   against the time of one chi-square evaluation (what the search is made of).
3. Applying a calibration vector to 500 fibres x 4000 pixels: target < 0.1 s, printed as a ratio to a bare
   NumPy multiply of the same arrays.

Run: PYTHONPATH=src python benchmarks/bench_fluxcal.py
"""

import glob
import logging
import time

import numpy as np
import speclite.filters

from specola.data import data_path
from specola.fluxcal import Photometer
from specola.fluxcal.photometry import synthetic_magnitude
from specola.fluxcal.scaling import Photometry
from specola.fluxcal.simulate import observe, rippled_throughput
from specola.fluxcal.standards import read_calspec, standard_path
from specola.fluxcal.template import _Problem, fit_template, prepare_templates
from specola.fluxcal.vectors import CalibrationVector, apply_calibration
from specola.grids import load_grid

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


def template_search() -> None:
    logging.disable(logging.WARNING)
    grid = load_grid(sorted(glob.glob(str(data_path("fluxcal", "ck04", "*", "*.fits.gz")))), format="kurucz")
    star = read_calspec(standard_path("bd_17d4708_stisnic_007"))
    rng = np.random.default_rng(1)
    obs = observe(star, np.arange(3700.0, 9000.0, 2.0), rippled_throughput, 60.0, rng, resolution=1000)
    bands = ("gaiadr2-G", "gaiadr2-BP", "gaiadr2-RP")
    phot = Photometry(bands, [synthetic_magnitude(star, b, "Vega") for b in bands], [0.01] * 3, "Vega")
    t0 = time.perf_counter()
    templates = prepare_templates(grid, (3700, 9000), resolution=1000, max_rv=500, logg=(3.0, 5.0))
    t_prepare = time.perf_counter() - t0
    n_nodes = int(templates.grid.present.sum())
    t0 = time.perf_counter()
    fit = fit_template(obs, templates, phot, grid, max_rv=500)
    t_fit = time.perf_counter() - t0
    problem = _Problem(obs, templates, 400.0, (), 3.1)
    node = tuple(fit.params.values())
    t0 = time.perf_counter()
    for _ in range(50):
        problem.chi2(node, fit.rv, 0.0)
    t_eval = (time.perf_counter() - t0) / 50
    print(
        f"template search: {n_nodes} templates, RV, colours: {t_fit:.2f} s (target < 2 s, "
        f"ratio to target {t_fit / 2.0:.2f}) + {t_prepare:.2f} s binning the grid once; "
        f"= {t_fit / t_eval:.0f} chi-square evaluations of {1e3 * t_eval:.2f} ms"
    )


def apply_frame(n_fibre: int = 500, n_pix: int = 4000) -> None:
    rng = np.random.default_rng(2)
    counts = rng.uniform(100.0, 1000.0, (n_fibre, n_pix))
    var = counts.copy()
    vector = CalibrationVector(np.linspace(3700, 9000, n_pix), rng.uniform(1e-17, 2e-17, n_pix),
                               np.full(n_pix, 1e-38), np.zeros(n_pix, bool))  # fmt: skip
    best_ours = best_numpy = np.inf
    for _ in range(5):
        t0 = time.perf_counter()
        apply_calibration(counts, var, vector)
        best_ours = min(best_ours, time.perf_counter() - t0)
        t0 = time.perf_counter()
        _ = counts * vector.factor
        _ = var * vector.factor**2 + counts**2 * vector.variance
        best_numpy = min(best_numpy, time.perf_counter() - t0)
    print(
        f"apply to {n_fibre} x {n_pix} with variance: {best_ours * 1e3:.1f} ms (target < 100 ms), "
        f"ratio to bare NumPy {best_ours / best_numpy:.2f}"
    )


if __name__ == "__main__":
    main()
    template_search()
    apply_frame()
