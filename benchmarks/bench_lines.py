"""Line fitting speed: specola vs unite on the same DJA PRISM model, cold and warm caches, and many spectra.

1. End to end, one process each, NUTS 500 warm-up + 500 draws, one chain, on the bundled DJA PRISM spectrum of
   RUBIES-UDS-154183 (the demo's model: narrow Halpha, Hbeta, [OIII] doublet; broad Laplace Halpha and Hbeta;
   point-source PRISM R with free RScale and PixOffset): specola with an empty compilation cache (cold), specola
   with a warm persistent cache, and unite (if installed in a throwaway venv of Python >= 3.12, ``UNITE_PYTHON``
   or /work/peers/unite/bin/python) with the same lines, priors (positive fluxes) and continuum windows, NUTS with
   the dense mass matrix its tutorial recommends. The time NUTS takes depends on the chain (trees deepen where
   the broad Hbeta flux nears zero), so each of the three is run with seeds 0, 1 and 2 and the medians are
   compared. Printed per process: the wall time, when the model is built, when sampling starts (after the MAP
   and the sampler's set-up) and when its first 50 steps are done; and how long after the model is built a
   warm rerun starts sampling. The specola process ends as the ``specola`` program does
   (:func:`specola.cli.leave`); both run with Python's bytecode cache, as installed packages do.
2. Many spectra with one configuration, each on its own pixel grid (wavelengths stretched by up to 0.3%):
   3 separate fits (each compiling its own functions, as a loop over files did) vs ``fit_many`` over 1000
   (``--many=N``) simulated spectra on one compiled model (MAP + Laplace, batched: vmapped scans and Newton);
   ratio per spectrum. Both sides use the persistent compilation cache as a user has it (the separate fits
   after the first load their executables from it; fit_many's batched functions compile once per shape).

Run: PYTHONPATH=src python benchmarks/bench_lines.py [--skip-unite] [--skip-many | --many-only] [--many=N]
"""

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).parents[1]
PRISM = ROOT / "src/specola/data/spectra/rubies-uds31-v4_prism-clear_4233_154183.spec.fits.gz"
UNITE = os.environ.get("UNITE_PYTHON", "/work/peers/unite/bin/python")

SPECOLA_NUTS = """
import time; t0 = time.perf_counter()
import dataclasses, logging, sys
class Marks(logging.Handler):
    def emit(self, record):
        for prefix, key in (("NUTS: sampling starts", "sampling"), ("NUTS: first", "first-steps")):
            if record.getMessage().startswith(prefix):
                print(f"{key} {time.perf_counter() - t0:.2f} {time.process_time():.2f}", flush=True)
logging.getLogger("specola.lines.inference").addHandler(Marks())
logging.getLogger("specola.lines.inference").setLevel(logging.INFO)
from specola.lines import run
from specola.lines.demo import demo_config
cfg = demo_config("nuts")
cfg = dataclasses.replace(cfg, fit=dataclasses.replace(cfg.fit, num_warmup=500, num_samples=500, num_chains=1,
                                                      seed=SEED))
stage = sys.modules["specola.lines.run"]
build = stage.build_model
def timed(*a, **k):
    model = build(*a, **k)
    print(f"built {time.perf_counter() - t0:.2f} {time.process_time():.2f}", flush=True)
    return model
stage.build_model = timed
r = run(cfg, progress=False)
print(f"total {time.perf_counter() - t0:.2f}")
print("summary", r.summary())
from specola.cli import leave
leave(0)  # the exit of the specola program
"""

UNITE_NUTS = """
import time; t0 = time.perf_counter()
import astropy.units as u, jax, numpy as np
from numpyro import infer
from unite import continuum, instrument, line, model, prior, spectrum
from unite.instrument import nirspec
rs = instrument.RScale(prior=prior.TruncatedNormal(low=0.6, high=1.4, loc=1.0, scale=0.1))
d = nirspec.PRISM(r_source="point", r_scale=rs,
                  pix_offset=instrument.PixOffset(prior=prior.TruncatedNormal(low=-2, high=2, loc=0.0, scale=0.5)))
s = spectrum.from_DJA(PATH, disperser=d)
spectra = spectrum.Spectra([s], redshift=3.55)
lc = line.LineConfiguration()
z = line.Redshift("z", prior=prior.Uniform(-0.03, 0.03))
fn = line.FWHM("narrow", prior=prior.Uniform(0, 1000))
fb = line.FWHM("broad", prior=prior.Uniform(fn + 150, 10000))
pos = lambda: line.Flux(prior=prior.Uniform(0, 10))  # positive, as specola's emission fluxes
lc.add_line("Ha", 6564.61 * u.AA, profile="Gaussian", redshift=z, fwhm_gauss=fn, flux=pos())
lc.add_line("Hb", 4862.68 * u.AA, profile="Gaussian", redshift=z, fwhm_gauss=fn, flux=pos())
lc.add_lines("OIII", [4960.295, 5008.24] * u.AA, profile="Gaussian", redshift=z, fwhm_gauss=fn, strength=[1.0, 2.98],
             flux=pos())
lc.add_lines(["Ha_broad", "Hb_broad"], [6564.61, 4862.68] * u.AA, profile="Exponential", redshift=z, fwhm_exp=fb,
             flux=[pos(), pos()])
cc = continuum.ContinuumConfiguration.from_lines(lc.centers, width=15_000 * u.km / u.s, form=continuum.Linear())
fl, fc = spectra.prepare(lc, cc)
spectra.compute_scales(fl, fc)
model_fn, model_args = model.ModelBuilder(fl, fc, spectra).build()
print(f"to-sampling {time.perf_counter() - t0:.2f}", flush=True)
kernel = infer.NUTS(model_fn, dense_mass=True)  # as the unite tutorial recommends
mcmc = infer.MCMC(kernel, num_warmup=500, num_samples=500, num_chains=1, progress_bar=False)
mcmc.run(jax.random.PRNGKey(SEED), model_args)
print(f"total {time.perf_counter() - t0:.2f}")
"""


def _process(python: str, code: str, env: dict) -> dict[str, float]:
    t0 = time.perf_counter()
    done = subprocess.run([python, "-c", code], capture_output=True, text=True, env=env, check=False)
    wall = time.perf_counter() - t0
    if done.returncode:
        raise RuntimeError(done.stderr[-2000:])
    out = {"wall": wall}
    for row in done.stdout.splitlines():
        key, *values = row.split(" ")
        if key in ("built", "sampling", "to-sampling", "first-steps", "total"):
            out[key] = float(values[0])
            if len(values) > 1:  # CPU time of the process: what a busy machine distorts least
                out[f"{key}-cpu"] = float(values[1])
    return out


SEEDS = (0, 1, 2)


def _median(runs: list[dict[str, float]]) -> dict[str, float]:
    """The run of median wall time."""
    return sorted(runs, key=lambda r: r["wall"])[len(runs) // 2]


def _show(name: str, runs: list[dict[str, float]]) -> None:
    r = _median(runs)
    walls = ", ".join(f"{x['wall']:.1f}" for x in runs)
    print(f"  specola {name} cache: {r['wall']:6.1f} s median (seeds {SEEDS}: {walls} s; median run: model built "
          f"after {r['built']:.1f} s, sampling starts after {r['sampling']:.1f} s, first 50 steps done after "
          f"{r['first-steps']:.1f} s)")  # fmt: skip


def end_to_end(skip_unite: bool) -> None:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPATH"] = str(ROOT / "src")
    code = lambda template, seed: template.replace("SEED", str(seed))
    cold = []
    for seed in SEEDS:
        with tempfile.TemporaryDirectory() as cache:
            cold.append(_process(sys.executable, code(SPECOLA_NUTS, seed), {**env, "SPECOLA_CACHE_DIR": cache}))
    with tempfile.TemporaryDirectory() as cache:
        env["SPECOLA_CACHE_DIR"] = cache
        _process(sys.executable, code(SPECOLA_NUTS, 0), env)  # fills the cache
        warm = [_process(sys.executable, code(SPECOLA_NUTS, seed), env) for seed in SEEDS]
    start = min(r["sampling"] - r["built"] for r in warm)
    start_cpu = min(r["sampling-cpu"] - r["built-cpu"] for r in warm)
    print("DJA PRISM, NUTS 500 + 500, one chain, whole process:")
    _show("cold", cold)
    _show("warm", warm)
    print(f"  warm: sampling starts {start:.2f} s after the model is built ({start_cpu:.2f} s of CPU; best of "
          f"{len(warm)}; cold: {min(r['sampling'] - r['built'] for r in cold):.2f} s)")  # fmt: skip
    if skip_unite or not Path(UNITE).exists():
        print(f"  unite: not run ({'--skip-unite' if skip_unite else UNITE + ' missing'})")
        return
    peer_env = {**env, "PYTHONPATH": ""}
    try:
        peers = [_process(UNITE, code(UNITE_NUTS, seed).replace("PATH", repr(str(PRISM))), peer_env) for seed in SEEDS]
    except RuntimeError as exc:
        print(f"  unite failed: {str(exc).splitlines()[-1]}")
        return
    peer = _median(peers)
    walls = ", ".join(f"{x['wall']:.1f}" for x in peers)
    print(f"  unite:              {peer['wall']:6.1f} s median (seeds {SEEDS}: {walls} s; model built after "
          f"{peer['to-sampling']:.1f} s)")  # fmt: skip
    print(
        f"  ratio unite / specola (medians): cold {peer['wall'] / _median(cold)['wall']:.1f}x, "
        f"warm {peer['wall'] / _median(warm)['wall']:.1f}x"
    )


def many_spectra(n_separate: int, n_shared: int) -> None:
    from specola.lines import build_model, fit, fit_many, load_spectra, simulate
    from specola.lines.demo import demo_config
    from specola.lines.inference import _Compiled

    cfg = demo_config()
    spectra, bindings = load_spectra(cfg)
    kw = dict(groups=cfg.groups, calibration=cfg.calibration, continuum=cfg.continuum, bindings=bindings)
    truth = fit(build_model(spectra, cfg.lines, 3.55, **kw), "map").map
    rng = np.random.default_rng(0)

    def survey_spectrum():  # another pixel grid: wavelengths stretched by up to 0.3%
        out = []
        for s in spectra:
            f = 1 + rng.uniform(-3e-3, 3e-3)
            out.append(s.replace(low=s.low * f, high=s.high * f))
        m = build_model(out, cfg.lines, 3.55, **kw)
        return simulate(m, truth, rng)

    models = [survey_spectrum() for _ in range(n_separate + n_shared)]
    sizes = sorted({m.npix for m in models})
    t0 = time.perf_counter()
    for m in models[:n_separate]:  # what a loop over files did: a new compilation per spectrum
        m.plan.compiled["fns"] = _Compiled(m)
        fit(m, "laplace", num_samples=500)
    t_sep = (time.perf_counter() - t0) / n_separate
    t0 = time.perf_counter()
    fit_many(models[n_separate:], "laplace", num_samples=500, progress=False)  # the first one compiles
    t_shared = (time.perf_counter() - t0) / n_shared
    print(f"many spectra, one configuration, {len(sizes)} pixel grids ({sizes[0]}-{sizes[-1]} fitted pixels), "
          "MAP + Laplace (model building not timed):")  # fmt: skip
    print(f"  separate compiled models: {t_sep:.3f} s per spectrum ({n_separate} spectra)")
    print(f"  fit_many, one compile:    {t_shared:.3f} s per spectrum ({n_shared} spectra, compile included)")
    print(f"  ratio per spectrum: {t_sep / t_shared:.1f}x; 1000 spectra: {t_shared:.2f} ks vs {t_sep:.2f} ks")


if __name__ == "__main__":
    if "--many-only" not in sys.argv:
        end_to_end("--skip-unite" in sys.argv)
    many = [int(a.split("=")[1]) for a in sys.argv if a.startswith("--many=")]
    if "--skip-many" not in sys.argv:
        many_spectra(3, many[0] if many else 1000)
