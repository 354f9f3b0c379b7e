"""Stage batches: a corrupt input is recorded while the rest finish, --resume redoes only what did not finish,
grids are loaded once per worker, on a real 2-worker dask LocalCluster."""

import json
import shutil
from pathlib import Path

import pytest
from astropy.table import Table

from specola.batch import run_stage_batch, worker_cache
from specola.cli import main
from specola.data import data_path
from specola.errors import ConfigError
from specola.grids.registry import share_grids

TRAPPIST = data_path("spectra", "trappist1_nirspec_prism_outoftransit.csv")
DJA = data_path("spectra", "rubies-uds31-v4_prism-clear_4233_154183.spec.fits.gz")  # what examples/lines.toml fits
EXAMPLES = Path(__file__).parents[2] / "examples"
QUICK = {"preprocessing.preprocess_only": True}


@pytest.fixture(autouse=True)
def _fresh_grid_sharing():
    share_grids(False)
    yield
    share_grids(False)


def _inputs(folder, n_good=2, source=TRAPPIST, bad_bytes=3000):
    suffix = "".join(source.suffixes)
    good = []
    for i in range(n_good):
        good.append(folder / f"good{i}{suffix}")
        shutil.copy(source, good[-1])
    bad = folder / f"bad{suffix}"
    bad.write_bytes(source.read_bytes()[:bad_bytes])
    return [good[0], bad, *good[1:]]


def _status(folder):
    return json.loads((folder / "run.json").read_text())


def test_corrupt_input_is_recorded_and_resume_redoes_only_the_unfinished(tmp_path):
    inputs = _inputs(tmp_path)
    out = tmp_path / "out"
    report = run_stage_batch("stellar", inputs, out, overrides=QUICK, progress=False)
    assert [o.status for o in report.outcomes] == ["finished", "failed", "finished"]
    assert "bad.csv: ends mid-line" in report.outcomes[1].error
    assert _status(out / "good0")["status"] == "finished"
    assert share_grids() == 1  # three inputs, one grid load
    first = _status(out / "good1")["started"]
    shutil.copy(TRAPPIST, inputs[1])  # the user fixes the bad input
    (out / "good1" / "run.json").write_text(json.dumps(dict(_status(out / "good1"), status="running")))  # killed
    again = run_stage_batch("stellar", inputs, out, overrides=QUICK, resume=True, progress=False)
    assert [o.status for o in again.outcomes] == ["skipped", "finished", "finished"]
    assert _status(out / "bad")["status"] == "finished"
    assert _status(out / "good1")["started"] >= first and _status(out / "good1")["status"] == "finished"
    assert list(again.table()["status"]) == ["skipped", "finished", "finished"]


def test_cli_batch_resume_and_report(tmp_path, capsys):
    inputs = [str(p) for p in _inputs(tmp_path, n_good=1)]
    out = tmp_path / "out"
    args = ["batch", "stellar", *inputs, "-o", str(out), "-preprocessing.preprocess_only=true"]
    assert main(args) == 1
    report = Table.read(out / "batch_report.ecsv")
    assert list(report["status"]) == ["finished", "failed"]
    assert "bad.csv" in report["error"][1]
    assert _status(out)["status"] == "finished" and _status(out)["stage"] == "batch"
    assert main(args) == 2  # the batch folder exists: --overwrite or --resume
    assert "--overwrite" in capsys.readouterr().err
    shutil.copy(TRAPPIST, inputs[1])
    assert main([*args, "--resume"]) == 0
    assert list(Table.read(out / "batch_report.ecsv")["status"]) == ["skipped", "finished"]
    assert "1 of 2 inputs run, 1 already finished, 0 failed" in capsys.readouterr().out
    assert main(["batch", "lines", inputs[0], "-o", str(tmp_path / "l")]) == 2
    assert "-c CONFIG" in capsys.readouterr().err


def test_lines_batch_needs_one_template_spectrum(tmp_path):
    config = tmp_path / "two.toml"
    text = (EXAMPLES / "lines.toml").read_text()
    config.write_text(text.replace("[[lines]]", '[[spectra]]\nfile = "x.fits"\n\n[[lines]]', 1))
    report = run_stage_batch("lines", [DJA], tmp_path / "o", config, progress=False)
    assert report.n_failed == 1 and "exactly one [[spectra]] table" in report.outcomes[0].error
    with pytest.raises(ConfigError, match="unknown stage"):
        run_stage_batch("nope", [DJA], tmp_path / "o")


def test_worker_cache_builds_once():
    calls = []
    build = lambda: calls.append(1) or len(calls)
    assert worker_cache(("test", "a"), build) == 1
    assert worker_cache(("test", "a"), build) == 1
    assert worker_cache(("test", "b"), build) == 2


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::ResourceWarning", "ignore::pytest.PytestUnraisableExceptionWarning")
def test_two_worker_local_cluster_with_a_corrupt_input(tmp_path):  # (distributed may leak a socket on start-up)
    distributed = pytest.importorskip("distributed")
    inputs = _inputs(tmp_path, n_good=5)
    out = tmp_path / "out"
    with (
        distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0") as cluster,
        distributed.Client(cluster) as client,
    ):
        report = run_stage_batch("stellar", inputs, out, overrides=QUICK, executor=client, progress=False)
        loads = client.run(share_grids)
    assert [o.status for o in report.outcomes] == ["finished", "failed", "finished", "finished", "finished", "finished"]
    assert "bad.csv" in report.outcomes[1].error
    assert len(loads) == 2 and sum(loads.values()) <= 2  # five good inputs, at most one grid load per worker
    assert all(_status(out / f"good{i}")["status"] == "finished" for i in range(5))


@pytest.mark.slow
def test_lines_batch_with_a_corrupt_input(tmp_path):
    from specola import batch

    inputs = _inputs(tmp_path, n_good=2, source=DJA, bad_bytes=20_000)
    overrides = {"fit.method": "laplace", "output.figures": False}
    for key in [k for k in batch._WORKER_CACHE if k[0] == "specola.lines.compiled"]:
        del batch._WORKER_CACHE[key]  # this process is the one worker: start it cold
    report = run_stage_batch("lines", inputs, tmp_path / "out", EXAMPLES / "lines.toml", overrides, progress=False)
    compiled = [v for k, v in batch._WORKER_CACHE.items() if k[0] == "specola.lines.compiled"]
    assert len(compiled) == 1 and compiled[0].traces == 1  # two inputs, one compiled model
    assert [o.status for o in report.outcomes] == ["finished", "failed", "finished"]
    assert "bad.spec.fits.gz: truncated gzip stream" in report.outcomes[1].error
    assert (tmp_path / "out" / "good0" / "lines.ecsv").exists()
    assert _status(tmp_path / "out" / "good0")["status"] == "finished"
