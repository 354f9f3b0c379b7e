"""Run folders: where a stage writes its results, with everything needed to redo them.

A :class:`RunFolder` refuses to reuse a non-empty folder unless
``overwrite=True``, writes every file atomically (temporary file in the same
folder, then :func:`os.replace`), and records the resolved configuration, the
specola version, the random seed and the command line in ``run.json`` and
``config.toml``.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import json
import os
import platform
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from ._version import __version__
from .config import to_toml
from .errors import OutputExistsError

__all__ = ["RunFolder", "atomic_path", "check_writable"]


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
        Allow writing into an existing non-empty folder (files are replaced).

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
        if self.path.exists() and any(self.path.iterdir()) and not overwrite:
            raise OutputExistsError(f"{self.path} exists and is not empty; pass --overwrite to reuse it")
        self.path.mkdir(parents=True, exist_ok=True)

    def file(self, name: str) -> Path:
        """Path of ``name`` inside the run folder (not yet written)."""
        return self.path / name

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

    def record(self, config: Any = None, seed: int | None = None, **extra: Any) -> Path:
        """Write ``config.toml`` (resolved config) and ``run.json`` (version, seed, command, time).

        Parameters
        ----------
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
        info = {
            "specola_version": __version__,
            "seed": seed,
            "command": sys.argv,
            "python": platform.python_version(),
            "created": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
            **extra,
        }
        return self.write_text("run.json", json.dumps(info, indent=2, default=str) + "\n")
