"""Line fitting: compiled JAX log density + gradient vs the same model in NumPy/SciPy; a full NUTS fit.

Model: Halpha + [NII] doublet (tied 2.94) + [SII] doublet + linear continuum in the bundled SDSS starburst
(234 pixels, 8 free parameters). The NumPy version integrates the same profiles over pixel edges with
scipy.special.erf and takes its gradient by finite differences (scipy.optimize.approx_fprime), as one
would without automatic differentiation.

Run: PYTHONPATH=src python benchmarks/bench_lines.py
"""

import time

import numpy as np
from scipy.optimize import approx_fprime
from scipy.special import erf
from scipy.stats import norm

from specola.data import data_path
from specola.io import read
from specola.lines import GroupSpec, LineSpec, PriorSpec, build_model, compiled, fit

LINES = [LineSpec("Halpha"), LineSpec("[NII]6585"), LineSpec("[NII]6550", tie="[NII]6585", ratio=1 / 2.94),
         LineSpec("[SII]6718"), LineSpec("[SII]6733")]  # fmt: skip
GROUPS = [GroupSpec("narrow", "width", PriorSpec("uniform", low=0.0, high=800.0))]


def numpy_log_density(theta, names, model):
    """Log posterior (constrained parameters, flat priors inside bounds) in NumPy/SciPy."""
    plan, a = model.plan, {k: np.asarray(v) for k, v in model.args.items()}
    p = dict(zip(names, theta, strict=True))
    lo, hi = a["low"], a["high"]
    z = p["z_z"]
    mu = plan.rest * (1 + z)
    inv_r = np.interp(mu, a["tab_w"][0], a["tab_inv"][0])
    sig = np.sqrt((mu * p["fwhm_narrow"] / 299792.458) ** 2 + (mu * inv_r) ** 2) / 2.3548200450309493
    flux = np.array([p[f"flux_{f}"] for f in plan.flux_sites])[plan.line_f] * plan.ratio * plan.line_unit
    s = np.sqrt(2) * sig
    prof = 0.5 * (erf((hi[:, None] - mu) / s) - erf((lo[:, None] - mu) / s)) / (hi - lo)[:, None]
    t0, t1 = lo / plan.region_ref[0] - 1, hi / plan.region_ref[0] - 1
    cont = plan.cont_unit[0] * (p["cont_r0_c0"] + p["cont_r0_c1"] * 0.5 * (t0 + t1))
    model_flux = cont + prof @ flux
    lp = norm.logpdf(a["flux"], model_flux, a["error"]).sum()
    return lp + norm.logpdf(p["cont_r0_c0"], 0, 100) + norm.logpdf(p["cont_r0_c1"], 0, 100)


def main(n_calls: int = 2000) -> None:
    model = build_model([read(data_path("spectra", "spec-1678-53433-0425.fits.gz"))], LINES, 0.0403, groups=GROUPS)
    fns = compiled(model)
    t0 = time.perf_counter()
    post = fit(model, "map")
    t_compile = time.perf_counter() - t0
    u = fns.unconstrain(post.map)
    t0 = time.perf_counter()
    for _ in range(n_calls):
        _, g = fns.value_and_grad(u, model.args)
    g.block_until_ready()
    t_jax = (time.perf_counter() - t0) / n_calls

    names = sorted(model.plan.sites)
    theta = np.array([post.map[n] for n in names])
    n_np = max(20, n_calls // 20)
    t0 = time.perf_counter()
    for _ in range(n_np):
        numpy_log_density(theta, names, model)
        approx_fprime(theta, numpy_log_density, 1e-7 * np.maximum(1, np.abs(theta)), names, model)
    t_np = (time.perf_counter() - t0) / n_np
    print(f"log density + gradient, {model.args['flux'].size} pixels, {len(names)} parameters")
    print(f"  JAX (first MAP fit incl. compilation {t_compile:.2f} s): {1e6 * t_jax:8.1f} us per call")
    print(f"  NumPy/SciPy (finite-difference gradient): {1e6 * t_np:8.1f} us per call")
    print(f"  ratio NumPy / JAX: {t_np / t_jax:.1f}x")

    t0 = time.perf_counter()
    nuts = fit(model, "nuts", num_warmup=300, num_samples=500, num_chains=2, progress=False)
    t_nuts = time.perf_counter() - t0
    print(f"full NUTS fit (MAP + 2 chains x (300 warm-up + 500 draws), incl. compilation): {t_nuts:.1f} s; "
          f"divergences {nuts.diagnostics['divergences']}, r_hat max {nuts.diagnostics['r_hat_max']:.3f}, "
          f"n_eff min {nuts.diagnostics['n_eff_min']:.0f}")  # fmt: skip
    t0 = time.perf_counter()
    fit(model, "nuts", num_warmup=300, num_samples=500, num_chains=2, progress=False, seed=1)
    print(f"  again (already compiled): {time.perf_counter() - t0:.1f} s")
    t0 = time.perf_counter()
    fit(model, "laplace", num_samples=2000)
    print(f"MAP + Laplace (compiled): {time.perf_counter() - t0:.2f} s")


if __name__ == "__main__":
    main()
