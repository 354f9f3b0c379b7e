"""The API reference builds from the docstrings with warnings as errors (a broken docstring fails CI)."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]


def test_api_pages_cover_every_stage_and_shared_room():
    pages = {p.stem for p in (ROOT / "docs" / "api").glob("specola*.rst")}
    stages = {"extract", "fluxcal", "coadd", "lines", "stellar"}
    rooms = {"spectrum", "io", "resample", "grids", "config", "runs", "plotting", "batch", "errors", "instruments"}
    assert {f"specola.{n}" for n in stages | rooms} | {"specola"} <= pages


@pytest.mark.slow
def test_api_reference_builds_without_warnings(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "sphinx", "-q", "-W", "--keep-going", "-b", "html", "docs/api", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    assert (tmp_path / "specola.stellar.html").stat().st_size > 10_000
