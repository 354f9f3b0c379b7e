"""Every module of the package imports in a fresh interpreter, and the light entry points stay light.

An undeclared or broken import anywhere is a red test here, not a user's traceback (CI runs this in a venv
built from pyproject.toml alone).
"""

import json
import pkgutil
import subprocess
import sys

import pytest

import specola


def _modules() -> list[str]:
    names = ["specola"]
    for info in pkgutil.walk_packages(specola.__path__, "specola."):
        if info.name != "specola.__main__":
            names.append(info.name)
    return names


def _run(code: str) -> str:
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def test_every_module_imports_in_a_fresh_interpreter():
    modules = _modules()
    assert len(modules) > 80  # the walk found the whole package, not an empty namespace
    code = (
        "import importlib, json, traceback\n"
        f"failed = {{}}\nfor m in {modules!r}:\n"
        "    try:\n        importlib.import_module(m)\n"
        "    except Exception:\n        failed[m] = traceback.format_exc(limit=3)\n"
        "print(json.dumps(failed))\n"
    )
    failed = json.loads(_run(code))
    assert failed == {}, "\n".join(f"{m}:\n{tb}" for m, tb in failed.items())


HEAVY = ("matplotlib", "jax", "numpyro", "dask", "distributed", "pandas")


@pytest.mark.parametrize(
    "code",
    [
        "import specola",
        "import specola.cli",
        "from specola.cli import main\ntry:\n    main(['--version'])\nexcept SystemExit:\n    pass",
        # every stage: matplotlib loads on the first figure, jax on the first fit, never at import
        "import specola.extract, specola.fluxcal, specola.coadd, specola.lines, specola.stellar, specola.batch",
    ],
)
def test_light_entry_points_import_nothing_heavy(code):
    loaded = json.loads(_run(f"{code}\nimport sys, json\nprint(json.dumps(sorted(sys.modules)))").splitlines()[-1])
    heavy = sorted({m.split(".")[0] for m in loaded} & set(HEAVY))
    assert heavy == [], f"{code!r} imported {heavy}"


def test_package_face():
    assert specola.__version__.count(".") >= 1
    assert {"Spectrum", "SpectrumSeries", "read", "write"} <= set(specola.__all__)
    assert specola.read is __import__("specola.io", fromlist=["read"]).read
    assert specola.Spectrum.__name__ == "Spectrum"
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        _ = specola.nope


def test_program_exit_keeps_status_and_atexit_and_skips_the_last_collection():
    code = (
        "import atexit, gc\nfrom specola.cli import leave\n"
        "atexit.register(lambda: print('frozen', gc.get_freeze_count() > 0, flush=True))\nleave(3)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert done.returncode == 3, done.stderr[-3000:]
    assert done.stdout.split() == ["frozen", "True"]
    cli = subprocess.run([sys.executable, "-m", "specola", "--version"], capture_output=True, text=True, timeout=300)
    assert cli.returncode == 0 and specola.__version__ in cli.stdout + cli.stderr
