"""``specola batch``: run one stage over many inputs, in parallel on dask.distributed.

Each input becomes one ordinary stage command (the same config, overrides and
options) writing into its own folder ``OUTDIR/<input name>``. A failing input
does not stop the others; ``OUTDIR/batch_report.ecsv`` lists every input with
its status, run time and error message.
"""

from __future__ import annotations

import argparse
import logging
from collections.abc import Callable
from pathlib import Path

from ..batch import run_batch
from ..errors import SpecolaError
from ..runs import RunFolder

__all__ = ["STAGE_ARGUMENTS", "add_parser", "run", "stage_argv"]

log = logging.getLogger(__name__)


def _config_first(option: str) -> Callable[[str | None, str, Path], list[str]]:
    """Stages whose CLI takes the config file first and the input as a config option."""

    def argv(config: str | None, item: str, out: Path) -> list[str]:
        return [*([config] if config else []), f"-{option}={item}", "-o", str(out)]

    return argv


def _coadd(config: str | None, item: str, out: Path) -> list[str]:
    return [*(["-c", config] if config else []), "-i", item, "-o", str(out)]


#: How each stage takes one input and one output folder on its command line.
STAGE_ARGUMENTS: dict[str, Callable[[str | None, str, Path], list[str]]] = {
    "coadd": _coadd,
    "extract": _config_first("input.file"),
    "fluxcal": _config_first("science.files"),
    "stellar": _config_first("inputs.spectrum_path"),
}
#: Stages that cannot run without a config file.
NEEDS_CONFIG = ("extract", "fluxcal")


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register ``specola batch``."""
    p = sub.add_parser(
        "batch",
        help="run a stage over many inputs (dask.distributed)",
        description="Run one stage over many inputs; each input gets its own output folder.",
    )
    p.add_argument("stage", choices=sorted(STAGE_ARGUMENTS), help="stage to run")
    p.add_argument("inputs", nargs="+", help="input files (extract, fluxcal, stellar) or folders of x1d files (coadd)")
    p.add_argument("-c", "--config", help="TOML configuration shared by every input")
    p.add_argument("-o", "--outdir", default="specola-batch", help="folder for all outputs (default: specola-batch)")
    p.add_argument("-w", "--workers", type=int, default=1, help="local dask worker processes (1: run in this process)")
    p.add_argument("--scheduler", help="address of a running dask.distributed scheduler (overrides --workers)")
    p.add_argument("--overwrite", action="store_true", help="reuse existing output folders")
    p.set_defaults(func=run, takes_overrides=True)


def stage_argv(args: argparse.Namespace, item: str, out: Path) -> list[str]:
    """The stage command line for one input (overrides and --overwrite passed on)."""
    # absolute paths: stages resolve relative paths in a config against the config's folder
    item = str(Path(item).resolve())
    if args.stage == "fluxcal":
        item = f'["{item}"]'
    config = None if args.config is None else str(Path(args.config).resolve())
    argv = [args.stage, *STAGE_ARGUMENTS[args.stage](config, item, out)]
    argv += [
        f"-{key}={value!r}" if isinstance(value, str) else f"-{key}={value}" for key, value in args.overrides.items()
    ]
    argv = [a.replace("'", '"') if a.startswith("-") and "='" in a else a for a in argv]
    return [*argv, "--overwrite"] if args.overwrite else argv


def _output_names(items: list[str]) -> list[str]:
    names, seen = [], {}
    for item in items:
        stem = Path(item.rstrip("/")).name.split(".")[0] or "input"
        seen[stem] = seen.get(stem, 0) + 1
        names.append(stem if seen[stem] == 1 else f"{stem}_{seen[stem]}")
    return names


def _client(args: argparse.Namespace):
    from distributed import Client, LocalCluster

    logging.getLogger("distributed").setLevel(logging.WARNING)
    if args.scheduler:
        return Client(args.scheduler)
    cluster = LocalCluster(n_workers=args.workers, threads_per_worker=1, processes=True, dashboard_address=None)
    return Client(cluster)


def _run_one(argv: list[str]) -> int:
    from . import execute

    status = execute(argv)
    if status:
        raise SpecolaError(f"'specola {' '.join(argv)}' exited with status {status}")
    return status


def run(args: argparse.Namespace) -> int:
    """Run the stage over every input; exit status 1 if any input failed."""
    if args.workers < 1:
        raise SpecolaError(f"--workers must be at least 1, got {args.workers}")
    if args.stage in NEEDS_CONFIG and not args.config:
        raise SpecolaError(f"'specola batch {args.stage}' needs the stage's config file: add -c CONFIG.toml")
    missing = [item for item in args.inputs if not Path(item).exists()]
    if missing:
        raise SpecolaError(f"input(s) not found: {', '.join(missing)}")
    folder = RunFolder(args.outdir, overwrite=args.overwrite)
    folder.record(seed=None, stage=args.stage, inputs=args.inputs, config_file=args.config, overrides=args.overrides)
    jobs = [
        stage_argv(args, item, folder.path / name)
        for item, name in zip(args.inputs, _output_names(args.inputs), strict=True)
    ]
    if args.scheduler or args.workers > 1:
        with _client(args) as client:
            report = run_batch(_run_one, jobs, executor=client)
    else:
        report = run_batch(_run_one, jobs)
    table = report.table()
    table["item"] = args.inputs
    folder.write("batch_report.ecsv", lambda p: table.write(p, format="ascii.ecsv"))
    log.info(
        "%d of %d inputs done; report in %s", len(jobs) - report.n_failed, len(jobs), folder.file("batch_report.ecsv")
    )
    for outcome, item in zip(report.outcomes, args.inputs, strict=True):
        if not outcome.ok:
            log.warning("failed: %s", outcome.error if item in outcome.error else f"{item}: {outcome.error}")
    return 1 if report.n_failed else 0
