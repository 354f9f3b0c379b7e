"""``specola lines`` on the command line, the demo, and import hygiene."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from astropy.table import QTable

from specola.cli import main

EXAMPLE = Path(__file__).parents[2] / "examples" / "lines.toml"


def test_import_specola_does_not_import_jax():
    code = "import sys, specola.io, specola.cli, specola.lines; assert 'jax' not in sys.modules, 'jax'"
    src = str(Path(__file__).parents[2] / "src")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [src, os.environ.get("PYTHONPATH")]))}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr


def test_cli_runs_example_with_overrides(tmp_path, capsys):
    out = tmp_path / "run"
    args = ["lines", str(EXAMPLE), "-o", str(out), "-fit.method=laplace", "-output.figures=false"]
    assert main(args) == 0
    t = QTable.read(out / "lines.ecsv")
    assert list(t["line"]) == ["Halpha", "Hbeta", "[OIII]5008", "[OIII]4960", "Halpha_broad", "Hbeta_broad"]
    assert "lines (laplace): 6 lines in 1 spectra, z = 3.55" in capsys.readouterr().out
    for name in (
        "parameters.ecsv",
        "samples.npz",
        "model_prism.ecsv",
        "config.toml",
        "run.json",
        "summary.json",
        "lines.fits",
    ):
        assert (out / name).exists(), name
    # no overwrite without --overwrite
    assert main(args) == 2
    assert "--overwrite" in capsys.readouterr().err


def test_cli_errors_name_the_option(tmp_path, capsys):
    bad = tmp_path / "bad.toml"
    text = EXAMPLE.read_text().replace('name = "Hbeta"\n[[lines]]', 'name = "Hbetta"\n[[lines]]')
    bad.write_text(text.replace('file = "../src', f'file = "{EXAMPLE.parents[1]}/src'))
    assert main(["lines", str(bad), "-o", str(tmp_path / "o"), "-fit.method=laplace"]) == 2
    assert "unknown line 'Hbetta'" in capsys.readouterr().err
    assert main(["lines", str(EXAMPLE), "-o", str(tmp_path / "o2"), "-fit.method=mcmc"]) == 2
    assert "fit.method" in capsys.readouterr().err


@pytest.mark.slow
def test_demo_writes_tables_and_figures(tmp_path):
    from specola.lines import demo
    from specola.runs import RunFolder, read_status

    folder = tmp_path / "lines"
    result = demo(RunFolder(folder))
    assert read_status(folder) == "finished"
    for name in ("lines.ecsv", "lines.fits", "fit_prism.png", "corner.png"):
        assert (folder / name).exists(), name
    t = {r["line"]: r for r in result.table()}
    assert abs(t["Halpha"]["z_p50"].value - 3.55) < 0.01  # the DJA PRISM broad-line object
    assert t["Halpha_broad"]["fwhm_p50"] > t["Halpha"]["fwhm_p50"] + 150 * t["Halpha"]["fwhm_p50"].unit
    assert t["Halpha_broad"]["flux_p16"] > 0  # broad Halpha detected
