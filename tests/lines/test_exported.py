"""Functions traced once per configuration: a new process loads the exported trace instead of running Python."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from specola.lines._exported import PersistentJit, export_dir, supported
from specola.lines._jax import configure


@pytest.fixture
def cache(tmp_path, monkeypatch):
    configure()
    monkeypatch.setenv("SPECOLA_CACHE_DIR", str(tmp_path))
    return tmp_path


def _counted(calls):
    def fn(x, args):
        calls.append(1)  # runs only while tracing
        return {"y": jnp.sin(x) * args["a"], "s": jnp.sum(x**2)}

    return fn


def test_a_second_instance_loads_the_trace_and_gives_the_same_result(cache):
    x, args = np.linspace(0.0, 1.0, 5), {"a": jnp.asarray(2.0)}
    calls = []
    assert not PersistentJit(_counted(calls), "f", "key").stored(x, args)
    first = PersistentJit(_counted(calls), "f", "key")(x, args)
    assert len(calls) == 1 and len(list(export_dir().glob("f-*.jaxexport"))) == 1
    again = PersistentJit(_counted(calls), "f", "key")  # as in a new process: nothing in memory
    assert again.stored(x, args) and not again.stored(np.zeros(7), args)
    second = again(x, args)
    assert len(calls) == 1 and again.signatures == 1  # loaded, not traced
    np.testing.assert_array_equal(np.asarray(second["y"]), np.asarray(first["y"]))
    np.testing.assert_allclose(np.asarray(second["y"]), 2.0 * np.sin(x), rtol=1e-15)
    other = PersistentJit(_counted(calls), "f", "another structure")(x, args)  # another key: traced again
    assert len(calls) == 2 and float(other["s"]) == pytest.approx(float(np.sum(x**2)), rel=1e-15)
    PersistentJit(_counted(calls), "f", "key")(np.zeros(7), args)  # another shape: another export
    assert len(calls) == 3 and len(list(export_dir().glob("f-*.jaxexport"))) == 3


def test_a_damaged_artifact_is_traced_again_and_replaced(cache):
    x, args = np.arange(3.0), {"a": jnp.asarray(1.5)}
    calls = []
    PersistentJit(_counted(calls), "g", "key")(x, args)
    (path,) = export_dir().glob("g-*.jaxexport")
    path.write_bytes(path.read_bytes()[:40])
    out = PersistentJit(_counted(calls), "g", "key")(x, args)
    assert len(calls) == 2
    np.testing.assert_allclose(np.asarray(out["y"]), 1.5 * np.sin(x), rtol=1e-15)
    calls.clear()
    PersistentJit(_counted(calls), "g", "key")(x, args)  # the rewritten file loads
    assert calls == []


def test_inside_a_transformation_it_is_the_plain_jit(cache):
    f = PersistentJit(lambda x, args: jnp.sum(jnp.sin(x) * args["a"]), "h", "key")
    args = {"a": jnp.asarray(3.0)}
    x = np.stack([np.linspace(0.0, 1.0, 4), np.linspace(1.0, 2.0, 4)])
    grad = jax.vmap(jax.grad(f), in_axes=(0, None))(x, args)
    np.testing.assert_allclose(np.asarray(grad), 3.0 * np.cos(x), rtol=1e-14)
    assert f.signatures == 0 and not list(export_dir().glob("h-*.jaxexport"))


def test_compiler_options_reach_xla_and_unknown_ones_are_left_out(cache, tmp_path):
    x, args = np.linspace(0.0, 1.0, 5), {"a": jnp.asarray(2.0)}
    dump = tmp_path / "xla"
    options = {"xla_backend_optimization_level": 0, "xla_dump_to": str(dump), "no_such_option": 1}
    assert supported(options) == {"xla_backend_optimization_level": 0, "xla_dump_to": str(dump)}
    assert supported({"no_such_option": 1}) is None
    before = set(dump.iterdir())  # the dumps of the availability checks' trivial function
    quick = PersistentJit(_counted([]), "f", "key", options)(x, args)  # an older jaxlib refuses unknown names
    np.testing.assert_allclose(np.asarray(quick["y"]), 2.0 * np.sin(x), rtol=1e-15)
    assert set(dump.iterdir()) - before  # XLA dumped this function: it got the options


def test_the_folder_is_kept_under_its_limit_least_recently_used_first(cache, monkeypatch):
    import os

    from specola.lines import _exported

    x, args = np.arange(3.0), {"a": jnp.asarray(1.0)}
    PersistentJit(_counted([]), "g", "key")(x, args)
    folder = export_dir()
    size = next(folder.glob("g-*.jaxexport")).stat().st_size
    for k, age in enumerate((300, 200, 100)):  # three old artifacts of 1 kB, the first the least recently used
        f = folder / f"old{k}-0.jaxexport"
        f.write_bytes(b"x" * 1000)
        os.utime(f, (f.stat().st_atime - age, f.stat().st_mtime - age))
    monkeypatch.setattr(_exported, "EXPORT_BYTES", 2 * size + 1500)
    PersistentJit(_counted([]), "g", "key")(np.zeros(4), args)  # another shape: a second artifact, then pruning
    assert sorted(f.name for f in folder.glob("old*")) == ["old2-0.jaxexport"]
    assert len(list(folder.glob("g-*.jaxexport"))) == 2


def test_the_compilation_cache_is_pruned_oldest_first_when_a_function_is_exported(cache, monkeypatch):
    import os

    from specola.lines import _jax
    from specola.lines._jax import cache_dir

    folder = cache_dir()
    folder.mkdir(parents=True, exist_ok=True)
    for k, age in enumerate((300, 200)):
        f = folder / f"jit_old{k}-cache"
        f.write_bytes(b"x" * 1000)
        os.utime(f, (f.stat().st_atime - age, f.stat().st_mtime - age))
    monkeypatch.setattr(_jax, "CACHE_BYTES", 1500)
    PersistentJit(_counted([]), "h", "key")(np.arange(2.0), {"a": jnp.asarray(1.0)})
    assert sorted(f.name for f in folder.glob("jit_old*")) == ["jit_old1-cache"]


def test_the_executable_of_a_signature_is_the_one_calls_use(cache):
    x, args = np.linspace(0.0, 1.0, 5), {"a": jnp.asarray(3.0)}
    calls = []
    f = PersistentJit(_counted(calls), "k", "key")
    run = f.executable(x, args)
    np.testing.assert_allclose(np.asarray(run(x + 1.0, args)["y"]), 3.0 * np.sin(x + 1.0), rtol=1e-15)
    f(x, args)
    assert len(calls) == 1 and f.signatures == 1  # set up once, for both


def test_ready_says_whether_a_call_would_wait_for_a_set_up(cache):
    x, args = np.linspace(0.0, 1.0, 5), {"a": jnp.asarray(3.0)}
    f = PersistentJit(_counted([]), "r", "key")
    assert not f.ready(x, args)
    f.prepare(jax.ShapeDtypeStruct(x.shape, x.dtype), args)
    assert f.ready(x, args) and not f.ready(np.zeros(7), args)


def test_output_shapes_come_from_the_stored_trace(cache):
    x, args = np.linspace(0.0, 1.0, 5), {"a": jnp.asarray(3.0)}
    calls = []
    traced = PersistentJit(_counted(calls), "m", "key").eval_shape(x, args)  # nothing stored: traced
    PersistentJit(_counted(calls), "m", "key")(x, args)
    assert len(calls) == 2
    stored = PersistentJit(_counted(calls), "m", "key").eval_shape(x, args)  # as in a new process
    assert len(calls) == 2 and stored == traced
    assert stored["y"].shape == (5,) and stored["s"].shape == ()
