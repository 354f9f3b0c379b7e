"""``specola batch``: run one stage over many inputs, in parallel on dask.distributed.

Each input is run by the stage's ``run_to_folder`` with the same config and
overrides, into its own folder ``OUTDIR/<input name>`` (see :mod:`specola.batch`).
A failing input does not stop the others; ``OUTDIR/batch_report.ecsv`` lists every
input with its status (finished / failed / skipped), run time and error message.
``--resume`` skips the inputs whose ``run.json`` says ``finished`` and redoes the rest.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
from pathlib import Path

from ..batch import STAGE_INPUTS
from ..errors import SpecolaError
from ..runs import RunFolder

__all__ = ["add_parser", "run"]

log = logging.getLogger(__name__)

#: Stages that cannot run without a config file.
NEEDS_CONFIG = ("extract", "fluxcal", "lines")


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register ``specola batch``."""
    p = sub.add_parser(
        "batch",
        help="run a stage over many inputs (dask.distributed)",
        description="Run one stage over many inputs; each input gets its own output folder.",
    )
    p.add_argument("stage", choices=sorted(STAGE_INPUTS), help="stage to run")
    p.add_argument("inputs", nargs="+", help="input files (a folder of x1d files each for coadd)")
    p.add_argument("-c", "--config", help="TOML configuration shared by every input")
    p.add_argument("-o", "--outdir", default="specola-batch", help="folder for all outputs (default: specola-batch)")
    p.add_argument("-w", "--workers", type=int, default=1, help="local dask worker processes (1: run in this process)")
    p.add_argument("--scheduler", help="address of a running dask.distributed scheduler (overrides --workers)")
    group = p.add_mutually_exclusive_group()
    group.add_argument("--overwrite", action="store_true", help="replace every existing output folder")
    group.add_argument(
        "--resume", action="store_true", help="skip inputs whose run.json says finished; redo the others"
    )
    p.set_defaults(func=run, takes_overrides=True)


@contextlib.contextmanager
def _client(args: argparse.Namespace):
    """A client of ``--scheduler``, or of a local cluster of ``--workers`` processes (closed with it)."""
    from distributed import Client, LocalCluster

    logging.getLogger("distributed").setLevel(logging.WARNING)
    if args.scheduler:
        with Client(args.scheduler) as client:
            yield client
        return
    with (
        LocalCluster(n_workers=args.workers, threads_per_worker=1, processes=True, dashboard_address=":0") as cluster,
        Client(cluster) as client,
    ):
        yield client


def run(args: argparse.Namespace) -> int:
    """Run the stage over every input; exit status 1 if any input failed."""
    from ..batch import run_stage_batch

    if args.workers < 1:
        raise SpecolaError(f"--workers must be at least 1, got {args.workers}")
    if args.stage in NEEDS_CONFIG and not args.config:
        raise SpecolaError(f"'specola batch {args.stage}' needs the stage's config file: add -c CONFIG.toml")
    missing = [item for item in args.inputs if not Path(item).exists()]
    if missing:
        raise SpecolaError(f"input(s) not found: {', '.join(missing)}")
    outdir = Path(args.outdir)
    # on --resume the batch folder is kept: its inputs' own run folders are what is resumed
    folder = RunFolder.reopen(outdir) if args.resume else RunFolder(outdir, overwrite=args.overwrite)
    options = dict(resume=args.resume, overwrite=args.overwrite)
    n = len(args.inputs)
    with folder.running("batch", batch_stage=args.stage, inputs=args.inputs, config_file=args.config,
                        overrides=args.overrides) as final:  # fmt: skip
        if args.scheduler or args.workers > 1:
            with _client(args) as client:
                report = run_stage_batch(args.stage, args.inputs, outdir, args.config, args.overrides,
                                         executor=client, **options)  # fmt: skip
        else:
            report = run_stage_batch(args.stage, args.inputs, outdir, args.config, args.overrides, **options)
        table = report.table()
        folder.write("batch_report.ecsv", lambda p: table.write(p, format="ascii.ecsv"))
        if args.stage == "lines":  # one table of every input's line fluxes, and a figure of them
            from ..lines.survey import write_batch_summary

            write_batch_summary(folder, args.inputs, outdir)
        final["summary"] = f"{n - report.n_failed} of {n} inputs done ({report.n_skipped} skipped: finished earlier)"
    print(f"{n - report.n_failed - report.n_skipped} of {n} inputs run, {report.n_skipped} already finished, "
          f"{report.n_failed} failed; report in {folder.file('batch_report.ecsv')}")  # fmt: skip
    for outcome in report.outcomes:
        if not outcome.ok:
            item = str(outcome.item)
            log.warning("failed: %s", outcome.error if item in outcome.error else f"{item}: {outcome.error}")
    return 1 if report.n_failed else 0
