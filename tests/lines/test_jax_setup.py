"""JAX's float64 switch: turned on once, by the first line model, and never against the user's explicit choice."""

import os
import subprocess
import sys
from pathlib import Path

SRC = str(Path(__file__).parents[2] / "src")

# Builds two SDSS models in a fresh process; prints the switch and the args' dtype, counts the switch's updates.
SCRIPT = """
import logging, sys
logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(levelname)s %(message)s")
import jax
calls = []
update = jax.config.update
jax.config.update = lambda key, value: (calls.append(key), update(key, value))[1]
if sys.argv[1] == "used":  # the user's own JAX work in float32 first
    import jax.numpy as jnp
    assert jnp.ones(2).dtype == jnp.float32
import specola.lines
from specola.data import data_path
from specola.errors import ConfigError
from specola.io import read
s = read(data_path("spectra", "spec-1678-53433-0425.fits.gz"))
lines = [specola.lines.LineSpec("Halpha"), specola.lines.LineSpec("[NII]6585")]
try:
    models = [specola.lines.build_model([s], lines, z) for z in (0.0403, 0.0404)]
except ConfigError as exc:
    print("refused:", exc)
else:
    print("dtypes", sorted({str(v.dtype) for m in models for k, v in m.args.items() if k in ("low", "flux", "z0")}))
print("x64", jax.config.jax_enable_x64, "updates", calls.count("jax_enable_x64"))
"""


def _run(mode: str, **env) -> subprocess.CompletedProcess:
    environ = {k: v for k, v in os.environ.items() if k != "JAX_ENABLE_X64"}
    environ.update(env, PYTHONPATH=os.pathsep.join(filter(None, [SRC, os.environ.get("PYTHONPATH")])))
    done = subprocess.run([sys.executable, "-c", SCRIPT, mode], capture_output=True, text=True, env=environ)
    assert done.returncode == 0, done.stderr
    return done


def _mentions(stderr: str, level: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith(level) and "jax_enable_x64" in line]


def test_the_first_model_turns_float64_on_once():
    done = _run("fresh")
    assert "dtypes ['float64']" in done.stdout
    assert "x64 True updates 1" in done.stdout  # two models, one update
    assert len(_mentions(done.stderr, "INFO")) == 1 and not _mentions(done.stderr, "WARNING")


def test_float32_jax_in_use_is_switched_with_a_warning():
    done = _run("used")
    assert "dtypes ['float64']" in done.stdout and "x64 True updates 1" in done.stdout
    assert len(_mentions(done.stderr, "WARNING")) == 1 and not _mentions(done.stderr, "INFO")


def test_an_explicit_float32_choice_is_kept_and_the_builder_refuses():
    done = _run("fresh", JAX_ENABLE_X64="0")
    assert "refused: specola.lines needs JAX in float64, but jax_enable_x64 is off" in done.stdout
    assert "x64 False updates 0" in done.stdout
    assert len(_mentions(done.stderr, "WARNING")) == 1
