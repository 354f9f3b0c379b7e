"""Run one task over many inputs, sequentially or on any executor (dask.distributed for surveys).

>>> from specola.batch import run_batch
>>> report = run_batch(lambda x: x * 2, [1, 2, 3], progress=False)
>>> [o.result for o in report.outcomes]
[2, 4, 6]

``executor`` may be anything with ``submit`` (a :class:`concurrent.futures.Executor`
or a :class:`distributed.Client`). A failing input never stops the batch: its
error is recorded in the report with the input it came from.
"""

from __future__ import annotations

import concurrent.futures
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from astropy.table import Table
from tqdm.auto import tqdm

from .errors import SpecolaError

__all__ = ["BatchReport", "Outcome", "run_batch"]


@dataclass(frozen=True)
class Outcome:
    """What happened to one input: its result, or the error it raised."""

    item: Any
    ok: bool
    result: Any = None
    error: str = ""
    seconds: float = 0.0


@dataclass(frozen=True)
class BatchReport:
    """Outcomes of a batch, in the order of the inputs."""

    outcomes: list[Outcome] = field(default_factory=list)

    @property
    def n_failed(self) -> int:
        """Number of inputs whose task raised."""
        return sum(not o.ok for o in self.outcomes)

    def table(self) -> Table:
        """One row per input: item, status, seconds, error message."""
        return Table(
            {
                "item": [str(o.item) for o in self.outcomes],
                "status": ["ok" if o.ok else "failed" for o in self.outcomes],
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
    if type(executor).__module__.startswith("distributed"):
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
