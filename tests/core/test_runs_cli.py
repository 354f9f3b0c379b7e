import dataclasses
import json
import logging
import os

import pytest

from specola.cli import main
from specola.errors import OutputError, OutputExistsError
from specola.runs import RunFolder, atomic_path, read_status, run_stage


def test_run_folder_refuses_non_empty_without_overwrite(tmp_path):
    run = RunFolder(tmp_path / "r")
    run.start("test")
    run.write_text("a.txt", "1")
    run.write_text("stale.txt", "old")
    with pytest.raises(OutputExistsError, match="--overwrite"):
        RunFolder(tmp_path / "r")
    RunFolder(tmp_path / "r", overwrite=True).write_text("a.txt", "2")
    assert (tmp_path / "r" / "a.txt").read_text() == "2"
    assert not (tmp_path / "r" / "stale.txt").exists()  # --overwrite clears the previous run first


def test_overwrite_never_clears_a_folder_that_is_not_a_run(tmp_path):
    (tmp_path / "data.fits").write_text("precious")
    with pytest.raises(OutputError, match="not a specola run folder"):
        RunFolder(tmp_path, overwrite=True)
    assert (tmp_path / "data.fits").read_text() == "precious"


def test_output_under_a_regular_file_is_one_clear_error(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(OutputError, match="cannot create the output folder"):
        RunFolder(tmp_path / "file" / "run")
    with pytest.raises(OutputError, match="is a file"):
        RunFolder(tmp_path / "file")


def test_record_writes_version_and_seed(tmp_path):
    run = RunFolder(tmp_path / "r")
    run.record(seed=42, stage="t", note="x")
    info = json.loads((tmp_path / "r" / "run.json").read_text())
    assert info["seed"] == 42 and info["specola_version"] and info["note"] == "x"
    assert info["status"] == "finished" and info["stage"] == "t" and info["ended"] >= info["started"]


@dataclasses.dataclass
class _Result:
    value: int

    def write(self, folder):
        return [folder.write_text("value.txt", str(self.value))]

    def summary(self):
        return f"value {self.value}"


def test_run_stage_records_running_finished_and_failed(tmp_path):
    seen = {}

    def compute():
        seen["status"] = read_status(tmp_path / "ok")  # run.json exists, and says running, while computing
        return _Result(3)

    result = run_stage("demo", None, compute, tmp_path / "ok", seed=7)
    assert result.value == 3 and seen["status"] == "running"
    info = json.loads((tmp_path / "ok" / "run.json").read_text())
    assert info["status"] == "finished" and info["summary"] == "value 3" and info["files"] == ["value.txt"]
    assert info["stage"] == "demo" and info["seed"] == 7 and info["error"] is None

    def boom():
        raise ValueError("bad pixel table")

    with pytest.raises(ValueError):
        run_stage("demo", None, boom, tmp_path / "bad")
    info = json.loads((tmp_path / "bad" / "run.json").read_text())
    assert info["status"] == "failed" and "bad pixel table" in info["error"] and info["ended"]
    assert read_status(tmp_path / "bad") == "failed" and read_status(tmp_path / "nowhere") is None


def test_run_stage_checks_the_output_before_computing(tmp_path):
    (tmp_path / "r").mkdir()
    (tmp_path / "r" / "x").write_text("1")
    calls = []
    with pytest.raises(OutputExistsError):
        run_stage("demo", None, lambda: calls.append(1), tmp_path / "r")
    assert calls == []


def test_atomic_path_leaves_nothing_on_failure(tmp_path):
    target = tmp_path / "out.txt"
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("partial")
        raise RuntimeError("boom")
    assert list(tmp_path.iterdir()) == []
    with atomic_path(target) as tmp:
        tmp.write_text("done")
    assert target.read_text() == "done"
    assert oct(target.stat().st_mode & 0o777) == oct(0o666 & ~_umask())
    with pytest.raises(OutputExistsError), atomic_path(target):
        pass


def _umask():
    m = os.umask(0)
    os.umask(m)
    return m


def test_cli_errors_are_one_line_and_exit_2(tmp_path, capsys):
    assert main(["info", str(tmp_path / "missing.fits")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "missing.fits" in err and "no such file" in err


def test_cli_debug_shows_traceback(tmp_path):
    from specola.errors import FileFormatError

    with pytest.raises(FileFormatError):
        main(["--debug", "info", str(tmp_path / "missing.fits")])


def test_cli_rejects_overrides_for_commands_without_config(capsys):
    assert main(["info", "-nsteps=3"]) == 2
    assert "takes no config overrides" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("name", "levelno", "level", "shown"),
    [
        ("specola.lines.run", logging.INFO, logging.INFO, True),
        ("arviz.preview", logging.INFO, logging.INFO, False),  # "arviz_base not installed"
        ("numexpr.utils", logging.INFO, logging.INFO, False),  # "NumExpr defaulting to 2 threads."
        ("jax._src.compiler", logging.WARNING, logging.INFO, True),
        ("arviz.preview", logging.INFO, logging.DEBUG, True),  # --debug shows everything
        ("astropy", logging.WARNING, logging.INFO, False),  # printed by astropy's own handler
    ],
)
def test_the_program_prints_specolas_info_and_only_the_warnings_of_other_libraries(name, levelno, level, shown):
    from specola.cli import _shown

    record = logging.LogRecord(name, levelno, __file__, 1, "message", None, None)
    assert _shown(record, level) is shown
