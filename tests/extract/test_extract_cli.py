from pathlib import Path

import pytest

from specola.cli import main

EXAMPLE = Path(__file__).parents[2] / "examples" / "extract.toml"


@pytest.mark.slow
def test_cli_runs_example_with_overrides(tmp_path, capsys):
    out = tmp_path / "sprat"
    assert main(["extract", str(EXAMPLE), "-o", str(out), "-aperture.radius=6", "-output.figures=false"]) == 0
    assert "904 columns" in capsys.readouterr().out
    assert (out / "extract_columns.ecsv").exists() and (out / "config.toml").exists()
    assert "radius = 6.0" in (out / "config.toml").read_text()
    # the folder is not reused without --overwrite
    assert main(["extract", str(EXAMPLE), "-o", str(out)]) == 2
    assert "--overwrite" in capsys.readouterr().err


def test_cli_reports_bad_option(tmp_path, capsys):
    assert main(["extract", str(EXAMPLE), "-o", str(tmp_path / "x"), "-aperture.radus=6"]) == 2
    assert "did you mean 'aperture.radius'" in capsys.readouterr().err
