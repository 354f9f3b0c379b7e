"""Run folders: where a stage writes its results, with everything needed to redo them.

A :class:`RunFolder` refuses to reuse a non-empty folder unless
``overwrite=True`` (and then clears the previous run's files first), writes
every file atomically (temporary file in the same folder, then
:func:`os.replace`), and keeps ``run.json`` current: stage, status
(``running`` / ``finished`` / ``failed``), start and end times, the error of a
failed run, the specola version, the random seed and the command line, beside
the resolved ``config.toml``.

:func:`run_stage` is the one way a stage computes into a folder::

    result = run_stage("extract", config, lambda: run(config), "extract-out", overwrite=False)
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import json
import logging
import os
import platform
import shutil
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Protocol, TypeVar

from ._version import __version__
from .config import to_toml
from .errors import OutputError, OutputExistsError

__all__ = ["RUN_FILE", "RunFolder", "StageResult", "atomic_path", "check_writable", "read_status", "run_stage"]

log = logging.getLogger(__name__)

#: The record of a run inside its folder.
RUN_FILE = "run.json"


def check_writable(path: str | Path, overwrite: bool) -> Path:
    """Raise :class:`OutputExistsError` if ``path`` exists and ``overwrite`` is False."""
    path = Path(path)
    if path.exists() and not overwrite:
        raise OutputExistsError(f"{path} exists; pass --overwrite (overwrite=True) to replace it")
    return path


@contextlib.contextmanager
def atomic_path(path: str | Path, overwrite: bool = False) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it onto ``path`` on success.

    Parameters
    ----------
    path : str or Path
        Final destination.
    overwrite : bool
        Allow replacing an existing file.

    Yields
    ------
    Path
        Where to write; removed if the block raises.
    """
    path = check_writable(path, overwrite)
    path.parent.mkdir(parents=True, exist_ok=True)
    # not created in advance, so writers that refuse existing files work; same suffixes, so format sniffing works
    tmp = path.with_name(f".{uuid.uuid4().hex[:12]}-{path.name}")
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


class RunFolder:
    """A folder holding one run's outputs.

    Parameters
    ----------
    path : str or Path
        Folder to create (parents too).
    overwrite : bool
        Allow reusing an existing non-empty folder. The previous run's files are removed first, so no stale output
        survives; a non-empty folder that is not a specola run folder (no ``run.json``) is never cleared.

    Raises
    ------
    OutputExistsError
        The folder holds files and ``overwrite`` is False.
    OutputError
        The folder cannot be created (e.g. a parent is a regular file) or is not a run folder.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> run = RunFolder(pathlib.Path(tempfile.mkdtemp()) / "run")
    >>> run.write_text("notes.txt", "hello").name
    'notes.txt'
    """

    def __init__(self, path: str | Path, overwrite: bool = False) -> None:
        self.path = Path(path)
        self.overwrite = overwrite
        self._info: dict[str, Any] = {}
        if self.path.exists() and not self.path.is_dir():
            raise OutputError(f"{self.path} is a file, not a folder; choose another output folder (-o)")
        if self.path.is_dir() and any(self.path.iterdir()):
            if not overwrite:
                raise OutputExistsError(f"{self.path} exists and is not empty; pass --overwrite to reuse it")
            self._clear()
        try:
            self.path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise OutputError(f"cannot create the output folder {self.path}: {exc.strerror or exc}") from None
        if not os.access(self.path, os.W_OK):
            raise OutputError(f"cannot write into {self.path}; choose another output folder (-o)")

    @classmethod
    def reopen(cls, path: str | Path) -> RunFolder:
        """An existing run folder, kept as it is (``specola batch --resume`` continues in it).

        Raises
        ------
        OutputError
            ``path`` is not a run folder (no ``run.json``).
        """
        path = Path(path)
        if not (path / RUN_FILE).is_file():
            raise OutputError(f"{path} holds no {RUN_FILE}: it is not a run to resume; run without --resume first")
        folder = cls.__new__(cls)
        folder.path, folder.overwrite, folder._info = path, True, {}
        return folder

    @contextlib.contextmanager
    def running(self, stage: str, config: Any = None, seed: int | None = None, **extra: Any) -> Iterator[dict]:
        """Record ``running`` (:meth:`start`), then ``finished`` or, if the block raises, ``failed`` with the error.

        Yields
        ------
        dict
            Entries to add to ``run.json`` when the run finishes (e.g. ``summary``).
        """
        self.start(stage, config, seed=seed, **extra)
        final: dict[str, Any] = {}
        try:
            yield final
        except BaseException as exc:
            self.finish(error=exc)
            raise
        self.finish(**final)

    def _clear(self) -> None:
        if not (self.path / RUN_FILE).is_file():
            raise OutputError(
                f"{self.path} is not empty and holds no {RUN_FILE}, so it is not a specola run folder; "
                "--overwrite only replaces earlier runs: choose another output folder (-o)"
            )
        for child in self.path.iterdir():
            if child.is_dir() and not child.is_symlink():
                shutil.rmtree(child)
            else:
                child.unlink()
        log.debug("cleared the previous run in %s", self.path)

    def file(self, name: str) -> Path:
        """Path of ``name`` inside the run folder (not yet written)."""
        return self.path / name

    def subfolder(self, name: str) -> RunFolder:
        """A run folder nested in this one (for runs made of several runs), created empty."""
        return RunFolder(self.path / name, overwrite=True)

    def write(self, name: str, writer: Callable[[Path], Any]) -> Path:
        """Write a file atomically: ``writer(tmp_path)`` fills it, then it is renamed.

        Parameters
        ----------
        name : str
            File name inside the folder.
        writer : callable
            Called with a temporary path to write to.

        Returns
        -------
        Path
            The final path.
        """
        with atomic_path(self.path / name, overwrite=True) as tmp:
            writer(tmp)
        return self.path / name

    def write_text(self, name: str, text: str) -> Path:
        """Write a text file atomically."""
        return self.write(name, lambda p: p.write_text(text))

    def save_figure(self, name: str, figure: Any, dpi: int = 150) -> Path:
        """Save a matplotlib figure atomically (format from the name's suffix) and close it."""
        import matplotlib.pyplot as plt

        fmt = Path(name).suffix.lstrip(".") or "png"
        path = self.write(name, lambda p: figure.savefig(p, format=fmt, dpi=dpi, bbox_inches="tight"))
        plt.close(figure)
        return path

    def start(self, stage: str, config: Any = None, seed: int | None = None, **extra: Any) -> Path:
        """Write ``config.toml`` and a ``run.json`` with status ``running``; call before computing.

        Parameters
        ----------
        stage : str
            The stage (``"extract"``, ``"coadd"``, ...).
        config : dataclass, optional
            The resolved configuration.
        seed : int, optional
            Random seed used.
        **extra
            Anything else worth keeping (JSON-serialisable).

        Returns
        -------
        Path
            The ``run.json`` path.
        """
        if config is not None:
            self.write_text("config.toml", to_toml(config))
        self._info = {
            "stage": stage,
            "status": "running",
            "started": _now(),
            "ended": None,
            "error": None,
            "specola_version": __version__,
            "seed": seed,
            "command": sys.argv,
            "python": platform.python_version(),
            **extra,
        }
        return self._write_info()

    def record(self, config: Any = None, seed: int | None = None, stage: str = "", **extra: Any) -> Path:
        """Record a run whose outputs are already written: :meth:`start` then :meth:`finish` at once.

        Stages use :func:`run_stage` instead, which records ``running`` before computing.
        """
        self.start(stage, config, seed=seed, **extra)
        return self.finish()

    def finish(self, error: BaseException | None = None, **extra: Any) -> Path:
        """Mark the run ``finished`` (or ``failed`` with ``error``) and record its end time."""
        if error is None:
            status, message = "finished", None
        else:
            status, message = "failed", f"{type(error).__name__}: {error}"
        self._info.update(status=status, ended=_now(), error=message, **extra)
        return self._write_info()

    def update(self, **extra: Any) -> Path:
        """Add entries to ``run.json`` (e.g. a result's summary) without changing its status."""
        self._info.update(extra)
        return self._write_info()

    def _write_info(self) -> Path:
        return self.write_text(RUN_FILE, json.dumps(self._info, indent=2, default=str) + "\n")


def _now() -> str:
    return _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")


def read_status(path: str | Path) -> str | None:
    """Status recorded in a run folder's ``run.json`` (``running``/``finished``/``failed``), None if unreadable."""
    try:
        info = json.loads((Path(path) / RUN_FILE).read_text())
    except (OSError, ValueError):
        return None
    status = info.get("status") if isinstance(info, dict) else None
    return status if isinstance(status, str) else None


class StageResult(Protocol):
    """What every stage's result offers the shared run machinery."""

    def write(self, folder: RunFolder) -> list[Path]:
        """Write tables and figures into ``folder``."""
        ...

    def summary(self) -> str:
        """One line saying what the run found (the CLI prints it)."""
        ...


R = TypeVar("R", bound=StageResult)


def run_stage(
    stage: str,
    config: Any,
    compute: Callable[[], R],
    output: str | Path,
    *,
    overwrite: bool = False,
    seed: int | None = None,
    **extra: Any,
) -> R:
    """Compute a stage's result and write it into a run folder, keeping ``run.json`` truthful.

    The folder is checked and created before any work; ``run.json`` says ``running`` while
    ``compute`` works and the result is written, then ``finished`` -- or ``failed`` with the error,
    which is re-raised. A killed run stays ``running``: it can always be told from a finished one.

    Parameters
    ----------
    stage : str
        The stage's name, recorded in ``run.json``.
    config : dataclass
        The resolved configuration (written as ``config.toml``).
    compute : callable
        No-argument function returning the stage's result (``result.write(folder)`` is called on it).
    output : str or Path
        The run folder.
    overwrite : bool
        Replace an earlier run in ``output``.
    seed : int, optional
        Random seed, recorded.
    **extra
        More entries for ``run.json``.

    Returns
    -------
    The stage's result.
    """
    folder = RunFolder(output, overwrite=overwrite)
    with folder.running(stage, config, seed=seed, **extra) as final:
        result = compute()
        written = result.write(folder)
        final.update(summary=result.summary(), files=sorted(Path(p).name for p in written or ()))
    return result
