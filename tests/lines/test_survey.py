"""``specola batch lines``: one summary table of every input's line fluxes, and its figure."""

import shutil
from pathlib import Path

import astropy.units as u
import numpy as np
import pytest
from astropy.table import QTable

from specola.cli import main
from specola.data import data_path
from specola.lines.survey import plot_summary, summary_table

EXAMPLE = Path(__file__).parents[2] / "examples" / "lines.toml"
DJA = data_path("spectra", "rubies-uds31-v4_prism-clear_4233_154183.spec.fits.gz")


def _lines_table(flux, z):
    """The columns of ``lines.ecsv`` that the summary uses."""
    t = QTable()
    t["line"] = ["Halpha", "Hbeta"]
    for key, unit, value in (("flux", u.Unit("1e-20 erg / (s cm2)"), flux), ("z", u.dimensionless_unscaled, z)):
        for p, shift in ((16, -0.1), (50, 0.0), (84, 0.1)):
            t[f"{key}_p{p}"] = np.asarray(value, float) * (1 + shift) * unit
    return t


def test_summary_table_stacks_finished_runs(tmp_path):
    for name, flux in (("a", [10.0, 3.0]), ("b", [20.0, 5.0])):
        (tmp_path / name).mkdir()
        _lines_table(flux, [3.55, 3.55]).write(tmp_path / name / "lines.ecsv", format="ascii.ecsv")
    (tmp_path / "failed").mkdir()  # a failed input has no lines.ecsv
    t = summary_table([tmp_path / "a", tmp_path / "failed", tmp_path / "b"], ["a.fits", "bad.fits", "b.fits"])
    assert list(t["input"]) == ["a.fits", "a.fits", "b.fits", "b.fits"] and t.meta["inputs"] == 2
    assert t["flux_p50"][2].value == 20.0 and str(t["flux_p50"].unit) == "1e-20 erg / (s cm2)"
    fig = plot_summary(t)
    top, bottom = fig.axes[:2]
    assert [text.get_text() for text in top.get_legend().get_texts()] == ["Halpha", "Hbeta"]
    assert [x.get_text() for x in bottom.get_xticklabels()] == ["a.fits", "b.fits"]


@pytest.mark.slow
def test_cli_batch_lines_writes_the_summary(tmp_path, capsys):
    inputs = [tmp_path / "one.spec.fits.gz", tmp_path / "two.spec.fits.gz"]
    for p in inputs:
        shutil.copy(DJA, p)
    out = tmp_path / "batch"
    args = ["batch", "lines", *map(str, inputs), "-c", str(EXAMPLE), "-o", str(out), "-fit.method=laplace",
            "-fit.num_samples=200", "-output.figures=false"]  # fmt: skip
    assert main(args) == 0
    t = QTable.read(out / "lines_summary.ecsv")
    assert len(t) == 2 * 6 and set(t["input"]) == {str(p) for p in inputs}
    halpha = t[t["line"] == "Halpha_broad"]["flux_p50"]
    assert halpha[0] == halpha[1] and halpha[0].value > 0  # the same spectrum twice: the same fluxes
    assert (out / "lines_summary.png").stat().st_size > 10_000
