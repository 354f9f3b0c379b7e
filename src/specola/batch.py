"""Run one task, or one stage, over many inputs: sequentially or on dask.distributed.

>>> from specola.batch import run_batch
>>> report = run_batch(lambda x: x * 2, [1, 2, 3], progress=False)
>>> [o.result for o in report.outcomes]
[2, 4, 6]

``executor`` may be anything with ``submit`` (a :class:`concurrent.futures.Executor`
or a :class:`distributed.Client`). A failing input never stops the batch: its
error is recorded in the report with the input it came from.

:func:`run_stage_batch` runs a stage (``extract``, ``fluxcal``, ``coadd``,
``stellar``, ``lines``) once per input, each into its own run folder, through the
stage's ``run_to_folder(config, output, overwrite=...)``. With ``resume=True`` an
input whose ``run.json`` says ``finished`` is skipped and every other one is redone.
Work that does not change between inputs is kept per worker process: grids are
loaded once (:func:`specola.grids.registry.share_grids`), and stages may keep
anything else (a compiled model, a template library) with :func:`worker_cache`.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import hashlib
import importlib
import json
import logging
import time
import traceback
import warnings
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from astropy.table import Table
from tqdm.auto import tqdm

from .errors import ConfigError, SpecolaError

__all__ = ["STAGE_INPUTS", "BatchReport", "Outcome", "run_batch", "run_stage_batch", "worker_cache"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Outcome:
    """What happened to one input: its result, the error it raised, or that it was skipped (resume)."""

    item: Any
    ok: bool
    result: Any = None
    error: str = ""
    seconds: float = 0.0
    skipped: bool = False

    @property
    def status(self) -> str:
        """``finished``, ``failed`` or ``skipped``."""
        return "skipped" if self.skipped else "finished" if self.ok else "failed"


@dataclass(frozen=True)
class BatchReport:
    """Outcomes of a batch, in the order of the inputs."""

    outcomes: list[Outcome] = field(default_factory=list)

    @property
    def n_failed(self) -> int:
        """Number of inputs whose task raised."""
        return sum(not o.ok for o in self.outcomes)

    @property
    def n_skipped(self) -> int:
        """Number of inputs skipped because an earlier run finished them."""
        return sum(o.skipped for o in self.outcomes)

    def table(self) -> Table:
        """One row per input: item, status (finished/failed/skipped), seconds, error message."""
        return Table(
            {
                "item": [str(o.item) for o in self.outcomes],
                "status": [o.status for o in self.outcomes],
                "seconds": [round(o.seconds, 3) for o in self.outcomes],
                "error": [o.error for o in self.outcomes],
            }
        )


def _call(task: Callable[[Any], Any], item: Any) -> Outcome:
    t0 = time.perf_counter()
    try:
        return Outcome(item, True, task(item), seconds=time.perf_counter() - t0)
    except SpecolaError as exc:
        return Outcome(item, False, error=str(exc), seconds=time.perf_counter() - t0)
    except Exception as exc:
        tb = traceback.format_exception_only(type(exc), exc)[-1].strip()
        return Outcome(item, False, error=f"unexpected {tb}", seconds=time.perf_counter() - t0)


def _as_completed(executor: Any, futures: list[Any]):
    if _is_dask(executor):
        from distributed import as_completed

        return as_completed(futures)
    return concurrent.futures.as_completed(futures)


def run_batch(
    task: Callable[[Any], Any],
    items: Sequence[Any],
    executor: Any = None,
    progress: bool = True,
) -> BatchReport:
    """Apply ``task`` to every item, collecting results and errors.

    Parameters
    ----------
    task : callable
        ``task(item)``; must be picklable when the executor uses processes.
    items : sequence
        Inputs (file paths, argument lists...).
    executor : object with ``submit``, optional
        ``concurrent.futures`` executor or ``distributed.Client``; None runs in this process.
    progress : bool
        Show a progress bar (silent when not on a terminal).

    Returns
    -------
    BatchReport
    """
    bar = tqdm(total=len(items), desc="batch", unit="input", disable=None if progress else True)
    outcomes: dict[int, Outcome] = {}
    if executor is None:
        for i, item in enumerate(items):
            outcomes[i] = _call(task, item)
            bar.update()
    else:
        futures = [executor.submit(_call, task, item) for item in items]
        index = {id(f): i for i, f in enumerate(futures)}
        for future in _as_completed(executor, futures):
            outcomes[index[id(future)]] = future.result()
            bar.update()
    bar.close()
    return BatchReport([outcomes[i] for i in range(len(items))])


def _is_dask(executor: Any) -> bool:
    return type(executor).__module__.startswith("distributed")


# ---------------------------------------------------------------------------- per-worker state

_WORKER_CACHE: dict[Hashable, Any] = {}


def worker_cache(key: Hashable, build: Callable[[], Any]) -> Any:
    """The value stored under ``key`` in this process, built by ``build()`` the first time.

    Batch tasks run many inputs in one worker process; anything that does not depend on the input
    (a pre-binned grid, a compiled model, a template library) is built once per worker when it is
    asked for through here. Key it by what it depends on (e.g. :func:`config_hash` of the config section).
    """
    if key not in _WORKER_CACHE:
        _WORKER_CACHE[key] = build()
    return _WORKER_CACHE[key]


def config_hash(value: Any) -> str:
    """Short stable hash of a config (dataclass) or any JSON-able value, for :func:`worker_cache` keys."""
    data = dataclasses.asdict(value) if dataclasses.is_dataclass(value) else value
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()[:16]


# ---------------------------------------------------------------------------- stages

#: The config option through which each stage takes its one input.
STAGE_INPUTS: dict[str, str] = {
    "extract": "input.file",
    "fluxcal": "science.files",
    "coadd": "input.indir",
    "stellar": "inputs.spectrum_path",
    "lines": "spectra[0].file",  # the config's one [[spectra]] table is the template for every input
}


def stage_config(stage: str, config_file: str | Path | None, overrides: Mapping[str, Any]) -> Any:
    """The stage's validated config from a TOML file (optional) and overrides, read as ``specola STAGE`` reads it."""
    from .cli._stage import load_stage_config, stage_command

    return load_stage_config(stage_command(stage), config_file, overrides)


@dataclass(frozen=True)
class _StageTask:
    """One stage over one input, in whichever process runs it (picklable)."""

    stage: str
    config_file: str | None
    overrides: tuple[tuple[str, Any], ...]
    overwrite: bool

    def __call__(self, job: tuple[str, str]) -> str:
        from .grids.registry import share_grids

        share_grids()  # a worker loads each grid once for all its inputs
        item, output = job
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            config = self.config(item)
            stage = importlib.import_module(f"specola.{self.stage}")
            result = stage.run_to_folder(config, Path(output), overwrite=self.overwrite)
        for w in caught:  # a worker's warnings go to the log, naming the input, never to a lost stderr
            log.warning("%s: %s: %s", Path(item).name, w.category.__name__, w.message)
        return result.summary()

    def config(self, item: str) -> Any:
        """The stage's config for one input."""
        overrides = dict(self.overrides)
        if self.stage != "lines":
            overrides[STAGE_INPUTS[self.stage]] = (item,) if self.stage == "fluxcal" else item
            return stage_config(self.stage, self.config_file, overrides)
        config = stage_config(self.stage, self.config_file, overrides)
        if len(config.spectra) != 1:
            raise ConfigError(
                f"specola batch lines: {self.config_file} must have exactly one [[spectra]] table (the template "
                f"for every input), not {len(config.spectra)}"
            )
        return dataclasses.replace(config, spectra=(dataclasses.replace(config.spectra[0], file=Path(item)),))


def output_names(items: Sequence[str | Path]) -> list[str]:
    """One folder name per input (its stem, numbered when stems repeat)."""
    names, seen = [], {}
    for item in items:
        stem = Path(str(item).rstrip("/")).name.split(".")[0] or "input"
        seen[stem] = seen.get(stem, 0) + 1
        names.append(stem if seen[stem] == 1 else f"{stem}_{seen[stem]}")
    return names


def run_stage_batch(
    stage: str,
    inputs: Sequence[str | Path],
    outdir: str | Path,
    config_file: str | Path | None = None,
    overrides: Mapping[str, Any] | None = None,
    *,
    resume: bool = False,
    overwrite: bool = False,
    executor: Any = None,
    progress: bool = True,
) -> BatchReport:
    """Run ``stage`` once per input, each into ``outdir/<input stem>``.

    Parameters
    ----------
    stage : str
        One of :data:`STAGE_INPUTS`.
    inputs : sequence of str or Path
        Input files (a folder of x1d files for coadd); given to the stage as :data:`STAGE_INPUTS` ``[stage]``.
    outdir : str or Path
        Folder holding one run folder per input.
    config_file : str or Path, optional
        TOML configuration shared by every input.
    overrides : mapping, optional
        Config overrides (``{"section.key": value}``) for every input.
    resume : bool
        Skip inputs whose run folder's ``run.json`` says ``finished``; redo the others (their folders are replaced).
    overwrite : bool
        Replace every existing run folder.
    executor : object with ``submit``, optional
        A ``distributed.Client`` (or ``concurrent.futures`` executor); None runs here, one input after another.
    progress : bool
        Show a progress bar.

    Returns
    -------
    BatchReport
        One outcome per input, in order (``result``: the run's one-line summary).
    """
    from .runs import read_status

    if stage not in STAGE_INPUTS:
        raise ConfigError(f"unknown stage {stage!r}; choose one of {', '.join(STAGE_INPUTS)}")
    outdir = Path(outdir)
    items = [str(Path(i).resolve()) for i in inputs]
    folders = [outdir / name for name in output_names(items)]
    todo = [i for i, f in enumerate(folders) if not (resume and read_status(f) == "finished")]
    config = None if config_file is None else str(Path(config_file).resolve())
    task = _StageTask(stage, config, tuple(sorted((overrides or {}).items())), overwrite or resume)
    report = run_batch(task, [(items[i], str(folders[i])) for i in todo], executor=executor, progress=progress)
    done = dict(zip(todo, report.outcomes, strict=True))
    outcomes = [
        dataclasses.replace(done[i], item=inputs[i]) if i in done else Outcome(inputs[i], True, skipped=True)
        for i in range(len(items))
    ]
    return BatchReport(outcomes)
