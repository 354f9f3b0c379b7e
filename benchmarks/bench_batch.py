"""`specola batch` throughput: serial vs a 2-worker dask LocalCluster on a stellar batch, and worker memory over it.

Each input is a copy of the bundled TRAPPIST-1 spectrum fitted with short sampler settings (100 emcee steps,
2 walkers per parameter, no figures), so the batch machinery, not the sampler, dominates. The inputs run in
chunks; after each chunk the peak resident memory of every worker (and of the serial process) is read, so a
leak shows as growth from chunk to chunk.

    python benchmarks/bench_batch.py            # 200 inputs
    python benchmarks/bench_batch.py -n 40      # quicker
"""

from __future__ import annotations

import argparse
import logging
import resource
import shutil
import tempfile
import time
from pathlib import Path

from specola.batch import run_stage_batch
from specola.data import data_path

SHORT = {
    "sampling.nsteps": 100,
    "sampling.walkers_per_dim": 2,
    "sampling.optimize_start": False,
    "sampling.progress": False,
    "saving.save_fit": False,
}


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _quiet_worker() -> None:
    import specola.stellar  # noqa: F401

    logging.getLogger("specola").setLevel(logging.ERROR)


def run_chunks(inputs, outdir, executor, chunks, probe):
    size = -(-len(inputs) // chunks)
    start = time.perf_counter()
    peaks, failed = [], 0
    for k in range(0, len(inputs), size):
        report = run_stage_batch("stellar", inputs[k : k + size], outdir, overrides=SHORT, executor=executor,
                                 progress=False)  # fmt: skip
        failed += report.n_failed
        peaks.append(probe())
    return time.perf_counter() - start, peaks, failed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=200, help="inputs (default 200)")
    parser.add_argument("--chunks", type=int, default=4, help="memory readings over the batch (default 4)")
    args = parser.parse_args()
    logging.getLogger("distributed").setLevel(logging.ERROR)
    logging.getLogger("specola").setLevel(logging.ERROR)  # short chains: every input says it has not converged
    tmp = Path(tempfile.mkdtemp(prefix="bench_batch_"))
    try:
        source = data_path("spectra", "trappist1_nirspec_prism_outoftransit.csv")
        inputs = []
        for i in range(args.n):
            inputs.append(tmp / f"in{i:04d}.csv")
            shutil.copy(source, inputs[-1])

        run_stage_batch("stellar", inputs[:1], tmp / "warm", overrides=SHORT, progress=False)  # imports, caches
        serial_s, serial_peaks, serial_failed = run_chunks(inputs, tmp / "serial", None, args.chunks,
                                                           lambda: {"serial": peak_mib()})  # fmt: skip

        from distributed import Client, LocalCluster

        with (
            LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0") as cluster,
            Client(cluster) as client,
        ):
            client.run(_quiet_worker)  # worker start-up is not batch throughput
            probe = lambda: client.run(peak_mib)
            dask_s, dask_peaks, dask_failed = run_chunks(inputs, tmp / "dask", client, args.chunks, probe)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    n = args.n
    print(f"stellar batch, {n} inputs (100 emcee steps, 2 walkers/parameter, no figures)")
    print(f"  serial     : {serial_s:7.1f} s  {n / serial_s:6.2f} inputs/s  failed {serial_failed}")
    print(f"  2 workers  : {dask_s:7.1f} s  {n / dask_s:6.2f} inputs/s  failed {dask_failed}")
    print(f"  speed-up   : {serial_s / dask_s:.2f}x")
    print("peak resident memory (MiB) after each chunk of the batch:")
    for label, peaks in (("serial", serial_peaks), ("dask", dask_peaks)):
        for worker in peaks[0]:
            series = [p[worker] for p in peaks]
            growth = series[-1] / series[0]
            name = worker if label == "serial" else f"worker {worker.rsplit(':', 1)[-1]}"
            print(f"  {name:14s}: {' '.join(f'{v:7.0f}' for v in series)}   last/first {growth:.3f}")


if __name__ == "__main__":
    main()
