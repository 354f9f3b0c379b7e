import shutil
from pathlib import Path

import pytest
from astropy.table import Table

from specola.cli import main
from specola.data import data_path

COS = data_path("coadd", "cos_g140l")


@pytest.fixture
def inputs(tmp_path):
    good = tmp_path / "visit1"
    shutil.copytree(COS, good)
    empty = tmp_path / "visit2"
    empty.mkdir()
    return good, empty


def test_batch_runs_each_input_and_reports_failures(inputs, tmp_path, capsys):
    good, empty = inputs
    out = tmp_path / "out"
    status = main(["batch", "coadd", str(good), str(empty), "-o", str(out), "-coadd.method=resample"])
    assert status == 1  # one input failed
    report = Table.read(out / "batch_report.ecsv")
    assert list(report["status"]) == ["finished", "failed"]
    assert "no *_x1d.fits" in report["error"][1]
    assert (out / "visit1" / "config.toml").exists()  # specola's method (not the HASP default) was used
    assert 'method = "resample"' in (out / "visit1" / "config.toml").read_text()
    # nothing is overwritten without --overwrite
    assert main(["batch", "coadd", str(good), "-o", str(out)]) == 2
    assert "--overwrite" in capsys.readouterr().err


def test_batch_refuses_missing_inputs(tmp_path, capsys):
    assert main(["batch", "stellar", str(tmp_path / "nope.csv"), "-o", str(tmp_path / "o")]) == 2
    assert "nope.csv" in capsys.readouterr().err


@pytest.mark.slow
def test_batch_on_local_dask_cluster(inputs, tmp_path):
    good, _ = inputs
    second = tmp_path / "visit3"
    shutil.copytree(good, second)
    out = tmp_path / "out"
    assert main(["batch", "coadd", str(good), str(second), "-o", str(out), "-w", "2", "-coadd.method=resample"]) == 0
    assert list(Table.read(out / "batch_report.ecsv")["status"]) == ["finished", "finished"]
    assert (out / "visit3" / "specola_swiftj1357.2-0933.fits").exists()


@pytest.mark.filterwarnings("ignore:1 of 904 column:specola.errors.SpecolaWarning")  # Kast: one dead column, masked
def test_batch_extract_needs_config_and_runs_each_frame(tmp_path, capsys):
    frame = data_path("frames", "sprat_v_s_20180810_27_1_0_0_Hilt102_raw.fits.gz")
    copies = []
    for name in ("night1.fits.gz", "night2.fits.gz"):
        shutil.copy(frame, tmp_path / name)
        copies.append(str(tmp_path / name))
    assert main(["batch", "extract", *copies, "-o", str(tmp_path / "x")]) == 2
    assert "-c CONFIG" in capsys.readouterr().err
    config = Path(__file__).parents[2] / "examples" / "extract.toml"
    out = tmp_path / "out"
    assert main(["batch", "extract", *copies, "-c", str(config), "-o", str(out), "-aperture.radius=4"]) == 0
    for night in ("night1", "night2"):
        assert (out / night / "extract_columns.ecsv").exists()
        assert "radius = 4.0" in (out / night / "config.toml").read_text()
