"""The grid-loader registry: one entry per file family, sniffing that never raises.

A loader is registered with a name, an ``identify(paths) -> bool`` function
(it may raise: sniffing treats any exception as "no"), a
``load(paths, **options) -> StellarGrid`` function and, for families with one
model per file, an optional ``scan(paths, **options) -> list[ModelFile]`` and
``read_model(model_file, **options) -> (wavelength, flux)`` pair that lets
:func:`specola.grids.build.build_grid` stream models one at a time.
"""

from __future__ import annotations

import glob
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import FileFormatError, GridError
from .core import StellarGrid

__all__ = ["expand_paths", "grid_formats", "identify_grid", "load_grid", "loader", "register_loader", "share_grids"]

log = logging.getLogger(__name__)

PathLike = str | Path


@dataclass(frozen=True)
class Loader:
    """A registered grid-file family (see :func:`register_loader`)."""

    name: str
    identify: Callable[[list[Path]], bool]
    load: Callable[..., StellarGrid]
    description: str
    scan: Callable[..., list] | None = None
    read_model: Callable[..., Any] | None = None


_LOADERS: dict[str, Loader] = {}


def register_loader(
    name: str,
    identify: Callable[[list[Path]], bool],
    load: Callable[..., StellarGrid],
    description: str,
    scan: Callable[..., list] | None = None,
    read_model: Callable[..., Any] | None = None,
) -> None:
    """Register a grid loader under ``name`` (a later registration of a name replaces the earlier one).

    Parameters
    ----------
    name : str
        Format name users pass as ``format=``.
    identify : callable
        ``identify(paths) -> bool`` on the expanded list of files.
    load : callable
        ``load(paths, **options) -> StellarGrid``.
    description : str
        One line shown by ``specola grid info --formats``.
    scan, read_model : callable, optional
        Streaming access for one-model-per-file families.
    """
    _LOADERS[name] = Loader(name, identify, load, description, scan, read_model)


def grid_formats() -> dict[str, str]:
    """Registered grid format names and their descriptions."""
    return {name: entry.description for name, entry in _LOADERS.items()}


def loader(format: str) -> Loader:
    """The registered loader called ``format``.

    Raises
    ------
    FileFormatError
        If no loader has that name.
    """
    if format not in _LOADERS:
        raise FileFormatError(f"unknown grid format {format!r}; choose one of {', '.join(_LOADERS)}")
    return _LOADERS[format]


def expand_paths(path_or_paths: PathLike | Sequence[PathLike]) -> list[Path]:
    """Expand a file, folder (recursively), glob pattern or list of them into sorted files.

    Raises
    ------
    FileFormatError
        If a named path does not exist or nothing is found.
    """
    items = [path_or_paths] if isinstance(path_or_paths, str | Path) else list(path_or_paths)
    files: list[Path] = []
    for item in items:
        text = str(item)
        if any(c in text for c in "*?["):
            matches = sorted(Path(m) for m in glob.glob(text, recursive=True))
            if not matches:
                raise FileFormatError(f"{text}: no file matches this pattern")
            files.extend(m for m in matches if m.is_file())
            continue
        path = Path(item)
        if not path.exists():
            raise FileFormatError(f"{path}: no such file or folder")
        if path.is_dir():
            found = sorted(p for p in path.rglob("*") if p.is_file() and not p.name.startswith("."))
            if not found:
                raise FileFormatError(f"{path}: folder holds no files")
            files.extend(found)
        else:
            files.append(path)
    return files


def identify_grid(path_or_paths: PathLike | Sequence[PathLike]) -> list[str]:
    """Names of the grid formats that claim these files (never raises)."""
    try:
        files = expand_paths(path_or_paths)
    except Exception as exc:
        log.debug("cannot expand %s: %s", path_or_paths, exc)
        return []
    hits = []
    for entry in _LOADERS.values():
        try:
            if entry.identify(files):
                hits.append(entry.name)
        except Exception as exc:
            log.debug("identify %s on %s failed: %s", entry.name, files[:1], exc)
    return hits


def _describe(path_or_paths: PathLike | Sequence[PathLike]) -> str:
    if isinstance(path_or_paths, str | Path):
        return str(path_or_paths)
    items = [str(p) for p in path_or_paths]
    return items[0] if len(items) == 1 else f"{items[0]} (+{len(items) - 1} more)"


def resolve_format(path_or_paths: PathLike | Sequence[PathLike], format: str | None) -> tuple[Loader, list[Path]]:
    """The loader to use (given or sniffed) and the expanded file list."""
    files = expand_paths(path_or_paths)
    if format is None:
        hits = identify_grid(files)
        if not hits:
            raise FileFormatError(
                f"{_describe(path_or_paths)}: unknown grid file layout; pass format= one of {', '.join(_LOADERS)}"
            )
        format = hits[0]
    return loader(format), files


def load_grid(path_or_paths: PathLike | Sequence[PathLike], format: str | None = None, **options: Any) -> StellarGrid:
    """Load a grid of synthetic spectra from any registered format.

    Parameters
    ----------
    path_or_paths : str, Path or sequence of them
        A grid file, a folder of model files, a glob pattern, or a list.
    format : str, optional
        A name from :func:`grid_formats`; sniffed from the files when None.
    **options
        Passed to the format's loader (e.g. ``wave_file=`` for BOSZ and PHOENIX,
        ``teff=``/``logg=``/``wave_range=``/``resolution=`` for the peer HDF5 file).

    Returns
    -------
    StellarGrid
        Surface flux f_lambda with units, ``meta["source"]`` and ``meta["citation"]``.

    Raises
    ------
    FileFormatError
        Missing files, an unknown layout, or a file that cannot be read (the message names it).
    GridError
        Inconsistent wavelength grids, NaN or negative fluxes, duplicated nodes (naming the file).

    Examples
    --------
    >>> from specola.data import data_path
    >>> grid = load_grid(data_path("grids", "btsettl08_prism_trappist1.h5"))
    >>> grid.names
    ('Teff', 'logg')
    """
    entry, files = resolve_format(path_or_paths, format)
    key = None
    if _SHARED is not None:
        key = (entry.name, tuple((str(f.resolve()), f.stat().st_size, f.stat().st_mtime_ns) for f in files))
        key += (repr(sorted(options.items())),)
        if key in _SHARED:
            return _SHARED[key]
    try:
        grid = entry.load(files, **options)
    except (FileFormatError, GridError):
        raise
    except TypeError as exc:
        raise FileFormatError(f"{_describe(path_or_paths)}: bad option for format {entry.name!r} ({exc})") from exc
    except Exception as exc:
        raise FileFormatError(
            f"{_describe(path_or_paths)}: could not be read as {entry.name!r} ({type(exc).__name__}: {exc})"
        ) from exc
    if key is not None:
        global _SHARED_LOADS
        _SHARED_LOADS += 1
        for array in (grid.flux, grid.low, grid.high, *grid.axes.values()):
            array.setflags(write=False)  # shared between runs: an in-place change would leak into the next one
        _SHARED[key] = grid
    return grid


#: Grids kept for reuse by :func:`share_grids` (None: every call loads afresh).
_SHARED: dict[tuple, StellarGrid] | None = None
_SHARED_LOADS = 0


def share_grids(enable: bool = True) -> int:
    """Keep every loaded grid in this process and return it again for the same files and options.

    Batch workers turn this on so that a grid is read (and checked) once per worker, not once per input.
    The shared grids' arrays are read-only. Calling it again keeps the grids already shared;
    ``share_grids(False)`` drops them.

    Returns
    -------
    int
        How many grids this process has loaded (not reused) while sharing was on.
    """
    global _SHARED, _SHARED_LOADS
    if not enable:
        _SHARED, _SHARED_LOADS = None, 0
    elif _SHARED is None:
        _SHARED = {}
    return _SHARED_LOADS
