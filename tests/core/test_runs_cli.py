import json
import os

import pytest

from specola.cli import main
from specola.errors import OutputExistsError
from specola.runs import RunFolder, atomic_path


def test_run_folder_refuses_non_empty_without_overwrite(tmp_path):
    run = RunFolder(tmp_path / "r")
    run.write_text("a.txt", "1")
    with pytest.raises(OutputExistsError, match="--overwrite"):
        RunFolder(tmp_path / "r")
    RunFolder(tmp_path / "r", overwrite=True).write_text("a.txt", "2")
    assert (tmp_path / "r" / "a.txt").read_text() == "2"


def test_record_writes_version_and_seed(tmp_path):
    run = RunFolder(tmp_path / "r")
    run.record(seed=42, note="x")
    info = json.loads((tmp_path / "r" / "run.json").read_text())
    assert info["seed"] == 42 and info["specola_version"] and info["note"] == "x"


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
