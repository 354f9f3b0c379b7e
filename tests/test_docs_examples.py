"""Every script in docs/examples runs and writes the figures its guide shows."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

DOCS = Path(__file__).parents[1] / "docs"
EXAMPLES = sorted((DOCS / "examples").glob("*.py"))


def figures_shown_for(script: Path) -> set[str]:
    """Figure names that guides show next to a link to ``script``."""
    names = set()
    for guide in DOCS.glob("*.md"):
        text = guide.read_text()
        if f"examples/{script.name}" in text:
            names |= set(re.findall(r"\]\(figures/([\w.-]+\.png)\)", text))
    return names


@pytest.mark.slow
@pytest.mark.parametrize("script", EXAMPLES, ids=[s.stem for s in EXAMPLES])
def test_example_runs_and_makes_its_figures(script, tmp_path):
    # run this checkout's code (not whatever specola is installed): put its src/ first on the path
    src = str(DOCS.parent / "src")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [src, os.environ.get("PYTHONPATH")]))}
    done = subprocess.run(
        [sys.executable, str(script), str(tmp_path)], capture_output=True, text=True, timeout=900, env=env
    )
    assert done.returncode == 0, done.stderr[-3000:]
    made = {p.name for p in tmp_path.glob("*.png")}
    expected = figures_shown_for(script)
    assert expected, f"no guide in docs/ links {script.name} with figures"
    assert expected <= made, f"{script.name} did not make {expected - made}"


def test_readme_tour_runs():
    text = (DOCS.parent / "README.md").read_text()
    block = re.search(r"## A short tour\s+```python\n(.*?)```", text, re.S).group(1)
    exec(compile(block, "README.md", "exec"), {})
