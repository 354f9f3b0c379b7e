"""Write each stage's option table into its user guide, from the option metadata (``--help-config`` shows the same).

Run ``python docs/config_tables.py`` after changing a stage's config; ``tests/test_config_docs.py`` fails while a
guide's table is out of date. The table sits between the markers ``<!-- options:start -->`` and
``<!-- options:end -->`` in ``docs/<stage>.md``.
"""

from __future__ import annotations

import importlib
import re
import sys
from pathlib import Path

from specola.cli._stage import config_class
from specola.config import markdown_table

DOCS = Path(__file__).parent
STAGES = ("extract", "fluxcal", "coadd", "lines", "stellar")
START, END = "<!-- options:start -->", "<!-- options:end -->"


def table(stage: str) -> str:
    """The generated block for one stage (markers included)."""
    command = importlib.import_module(f"specola.cli.{stage}").COMMAND
    intro = f"Every option of `specola {stage}` (also `specola {stage} --help-config`), generated from the code:"
    return f"{START}\n{intro}\n\n{markdown_table(config_class(command))}\n{END}"


def render(stage: str, text: str) -> str:
    """``text`` (a guide) with its options block replaced, or appended under an "Options" heading."""
    block = table(stage)
    pattern = re.compile(re.escape(START) + ".*?" + re.escape(END), re.S)
    if pattern.search(text):
        return pattern.sub(lambda _: block, text)
    return text.rstrip("\n") + f"\n\n## Options\n{block}\n"


def main() -> int:
    """Rewrite every guide whose table changed; print what changed."""
    for stage in STAGES:
        path = DOCS / f"{stage}.md"
        old = path.read_text()
        new = render(stage, old)
        if new != old:
            path.write_text(new)
            print(f"updated {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
