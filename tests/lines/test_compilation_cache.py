"""The persistent JAX compilation cache in the user's cache folder: a rerun of a fit compiles nothing."""

import os
import subprocess
import sys
from pathlib import Path

SRC = str(Path(__file__).parents[2] / "src")

# A MAP fit of Halpha in a fresh process; prints how many executables came from / missed the persistent cache.
SCRIPT = """
import logging
counts = {"hit": 0, "miss": 0}
class Count(logging.Handler):
    def emit(self, record):
        text = record.getMessage().lower()
        counts["hit"] += "persistent compilation cache hit" in text
        counts["miss"] += "persistent compilation cache miss" in text
for name in ("jax._src.compiler", "jax._src.compilation_cache"):
    logging.getLogger(name).setLevel(logging.DEBUG)
    logging.getLogger(name).addHandler(Count())
import astropy.units as u
import numpy as np
from specola.lines import LineSpec, build_model, fit
from specola.spectrum import Spectrum
unit = u.Unit("1e-17 erg / (s cm2 Angstrom)")
edges = np.arange(6450.0, 6680.0, 1.0)
flux = 10 + 80 * np.exp(-0.5 * ((edges[:-1] - 6564.6) / 2.0) ** 2)
s = Spectrum(edges[:-1] * u.AA, edges[1:] * u.AA, flux * unit, np.full(flux.size, 0.5) * unit)
fit(build_model([s], [LineSpec("Halpha")], 0.0), "map")
print("hit", counts["hit"], "miss", counts["miss"])
"""


def _run(cache: Path) -> dict[str, int]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JAX_COMPILATION_CACHE", "JAX_ENABLE_X64"))}
    env.update(SPECOLA_CACHE_DIR=str(cache), PYTHONPATH=os.pathsep.join(filter(None, [SRC, env.get("PYTHONPATH")])))
    done = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr
    words = done.stdout.split()
    return {"hit": int(words[1]), "miss": int(words[3])}


def test_a_rerun_loads_every_executable_from_the_cache(tmp_path):
    cache = tmp_path / "cache"
    first = _run(cache)
    assert first["miss"] > 0 and any((cache / "jax").iterdir())  # SPECOLA_CACHE_DIR/jax holds the executables
    second = _run(cache)
    assert second["miss"] == 0 and second["hit"] >= first["miss"]


def test_the_nuts_step_compiles_in_a_thread_beside_the_map_and_each_kernel_once(caplog):
    import logging

    import astropy.units as u
    import numpy as np

    from specola.lines import LineSpec, build_model, fit
    from specola.lines.inference import _nuts_kernels, compiled
    from specola.spectrum import Spectrum

    unit = u.Unit("1e-17 erg / (s cm2 Angstrom)")
    edges = np.arange(6450.0, 6680.0, 1.0)
    flux = 10 + 80 * np.exp(-0.5 * ((edges[:-1] - 6564.6) / 2.0) ** 2)
    noise = 0.5 * np.random.default_rng(5).standard_normal(flux.size)
    s = Spectrum(edges[:-1] * u.AA, edges[1:] * u.AA, (flux + noise) * unit, np.full(flux.size, 0.5) * unit)
    model = build_model([s], [LineSpec("Halpha")], 0.0)
    with caplog.at_level(logging.DEBUG, logger="specola.lines._exported"):
        post = fit(model, "nuts", num_warmup=37, num_samples=40, seed=2)
    setups = [r.getMessage() for r in caplog.records if "set up in" in r.getMessage()]
    inits = [m for m in setups if m.startswith("nuts_init_37")]
    steps = [m for m in setups if m.startswith("nuts_advance_37")]
    assert len(inits) == 1 and len(steps) == 1, setups  # once each, by whichever thread came first for init
    assert steps[0].endswith("(specola-nuts-compile)"), setups  # the step, the longest, always in the thread
    count = {n: sum(m.startswith(f"{n} set up") for m in setups) for n in ("constrain", "predict", "total_many")}
    assert count["constrain"] == 1, setups  # the result's: by the caller while it waits for the step, or the thread
    assert count["predict"] <= 1 and count["total_many"] <= 1, setups  # (the thread may still be on them)
    init, advance = _nuts_kernels(compiled(model), 37)
    assert init.signatures == 1 and advance.signatures == 1  # the placeholders' signature is the real one
    assert post.samples["flux_Halpha"].shape[1] == 40
