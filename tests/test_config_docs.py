"""Each stage's user guide carries its option table, generated from the option metadata, and it is current."""

import importlib.util
from pathlib import Path

import pytest

DOCS = Path(__file__).parents[1] / "docs"
_spec = importlib.util.spec_from_file_location("config_tables", DOCS / "config_tables.py")
config_tables = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(config_tables)


@pytest.mark.parametrize("stage", config_tables.STAGES)
def test_guide_option_table_is_current(stage):
    text = (DOCS / f"{stage}.md").read_text()
    assert config_tables.START in text, f"docs/{stage}.md has no option table: run python docs/config_tables.py"
    assert config_tables.render(stage, text) == text, f"docs/{stage}.md is stale: run python docs/config_tables.py"


@pytest.mark.parametrize("stage", config_tables.STAGES)
def test_help_config_prints_every_option(stage, capsys):
    from specola.cli import main

    assert main([stage, "--help-config"]) == 0
    out = capsys.readouterr().out.splitlines()
    table = config_tables.table(stage)
    keys = [line.split(" = ")[0] for line in out]
    assert len(keys) > 5 and all(f"| `{k}` |" in table for k in keys)
    assert all("  # " in line for line in out)  # every option has its help
