"""Time ``specola coadd`` (HASP-compatible mode) against the peer's ``swrapper``, both measured the same way.

Two comparisons, each printed with its ratio:

* **whole process**: ``python -m specola coadd -i IN -o OUT`` against ``swrapper -i IN -o OUT``, start-up and
  imports included: one warm-up each, then ``--runs`` pairs in turn (A B A B ...); wall time and CPU time
  (user + system, from the kernel's accounting of the finished child); the medians and the median of
  the pair-by-pair ratios (robust to a machine whose speed drifts);
* **computation**: each tool called in its own interpreter after its imports (specola's
  :func:`~specola.coadd.run_hasp` + write; the peer's ``hasp.wrapper.main``), best of ``--repeat``.

The products of both are compared (largest relative difference over all columns). The peer lives in a
throwaway environment outside the repository, installed from its sources (spacetelescope/hasp and
spacetelescope/ullyses; ``hasp.wrapper`` needs only numpy and astropy of ullyses' dependencies, so those
are installed at specola's versions and the rest left out):

    python -m venv /work/peers/hasp
    /work/peers/hasp/bin/pip install "astropy==$(python -c 'import astropy; print(astropy.__version__)')" numpy
    /work/peers/hasp/bin/pip install --no-deps ./ullyses ./hasp     # the two source checkouts

Run: ``PYTHONPATH=src python benchmarks/bench_coadd.py [--peer PYTHON] [--runs 7] [--repeat 3]``; ``--peer``
(or ``SPECOLA_BENCH_HASP_PYTHON``) is the peer environment's python, its ``swrapper`` beside it.
The peer reads only uncompressed ``*_x1d.fits``, so the inputs are unpacked into a temporary folder first.
"""

import argparse
import gzip
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from astropy.io import fits

from specola.data import data_path

ROOT = Path(__file__).parents[1]
SETS = {
    "COS G140L (4 exposures)": sorted(data_path("coadd", "cos_g140l").glob("*_x1d.fits.gz")),
    "STIS E140M echelle": [ROOT / "tests/data/coadd/stis/o4vt02040_x1d.fits.gz"],
    "STIS E230M echelle": [ROOT / "tests/data/coadd/stis/o3zx02070_x1d.fits.gz"],
}

#: computation inside Python, after the imports: ``python -c CODE INDIR OUTDIR REPEAT`` prints the best seconds
_SPECOLA_INSIDE = """
import sys, time, shutil
from pathlib import Path
from specola.coadd import run_hasp
from specola.runs import RunFolder
indir, out, repeat = Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3])
best = float("inf")
for _ in range(repeat):
    shutil.rmtree(out, ignore_errors=True)
    t = time.perf_counter()
    run_hasp(indir).write(RunFolder(out))
    best = min(best, time.perf_counter() - t)
print(best)
"""
_PEER_INSIDE = """
import sys, time, shutil, io, contextlib
from hasp.wrapper import main
indir, out, repeat = sys.argv[1], sys.argv[2], int(sys.argv[3])
best = float("inf")
for _ in range(repeat):
    shutil.rmtree(out, ignore_errors=True)
    t = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()):
        main(indir, out, clobber=True)
    best = min(best, time.perf_counter() - t)
print(best)
"""


def _unpack(files, folder):
    for f in files:
        with gzip.open(f) as src, open(folder / f.name.removesuffix(".gz"), "wb") as dst:
            shutil.copyfileobj(src, dst)


def _env():
    return {**os.environ, "PYTHONPATH": str(ROOT / "src")}


def _inside(python, code, indir, out, repeat):
    done = subprocess.run(
        [python, "-c", code, str(indir), str(out), str(repeat)], capture_output=True, text=True, env=_env()
    )
    if done.returncode:
        raise RuntimeError(done.stderr[-2000:])
    return float(done.stdout.split()[-1])


def _timed(cmd):
    """Wall and CPU (user + system, of the reaped child) seconds of one run of ``cmd``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=_env())
    wall = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def _whole(mine, theirs, runs):
    """Whole-process medians of both tools and the medians of the pair-by-pair peer/specola ratios."""
    _timed(mine), _timed(theirs)  # warm-up: file caches, compiled bytecode
    pairs = [(_timed(mine), _timed(theirs)) for _ in range(runs)]
    a, b = np.array([p[0] for p in pairs]), np.array([p[1] for p in pairs])
    return {
        "specola_wall": float(np.median(a[:, 0])),
        "peer_wall": float(np.median(b[:, 0])),
        "specola_cpu": float(np.median(a[:, 1])),
        "peer_cpu": float(np.median(b[:, 1])),
        "wall_ratio": float(np.median(b[:, 0] / a[:, 0])),
        "cpu_ratio": float(np.median(b[:, 1] / a[:, 1])),
    }


def _compare(mine, peer):
    """Largest relative difference between same-named products of the two runs."""
    worst = 0.0
    names = sorted(p.name for p in peer.glob("*.fits"))
    if names != sorted(p.name for p in mine.glob("*.fits")):
        return float("inf")
    for name in names:
        a, b = fits.getdata(mine / name, 1)[0], fits.getdata(peer / name, 1)[0]
        for col in ("WAVELENGTH", "FLUX", "ERROR", "SNR", "EFF_EXPTIME"):
            scale = np.maximum(np.abs(b[col]), 1e-30)
            worst = max(worst, float(np.max(np.abs(a[col] - b[col]) / scale)))
    return worst


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument(
        "--peer",
        default=os.environ.get("SPECOLA_BENCH_HASP_PYTHON", "/work/peers/hasp/bin/python"),
        help="python of the peer's venv (default: $SPECOLA_BENCH_HASP_PYTHON or /work/peers/hasp/bin/python)",
    )
    parser.add_argument("--runs", type=int, default=7, help="whole-process pairs (A B) counted")
    parser.add_argument("--repeat", type=int, default=3, help="in-Python computations, best of")
    args = parser.parse_args()
    peer_python = Path(args.peer)
    swrapper = peer_python.parent / "swrapper"
    if not swrapper.exists():
        sys.exit(f"{swrapper} not found: install the peer as the docstring says")
    rows = []
    for name, files in SETS.items():
        with tempfile.TemporaryDirectory() as tmp:
            tmp = Path(tmp)
            indir = tmp / "in"
            indir.mkdir()
            _unpack(files, indir)
            mine_cmd = [sys.executable, "-m", "specola", "coadd", "-i", str(indir), "-o", str(tmp / "a"), "--overwrite"]
            peer_cmd = [str(swrapper), "-i", str(indir), "-o", str(tmp / "b"), "-c"]
            whole = _whole(mine_cmd, peer_cmd, args.runs)
            inside_mine = _inside(sys.executable, _SPECOLA_INSIDE, indir, tmp / "mine", args.repeat)
            inside_peer = _inside(str(peer_python), _PEER_INSIDE, indir, tmp / "peer", args.repeat)
            worst = _compare(tmp / "mine", tmp / "peer")
        rows.append(
            {
                "set": name,
                **whole,
                "specola_inside": inside_mine,
                "peer_inside": inside_peer,
                "inside_ratio": inside_peer / inside_mine,
                "max_rel_diff": worst,
            }
        )
        r = rows[-1]
        print(
            f"{name:<25} whole process (medians of {args.runs} pairs): specola {r['specola_wall']:.2f} s wall, "
            f"{r['specola_cpu']:.2f} s CPU; swrapper {r['peer_wall']:.2f} s wall, {r['peer_cpu']:.2f} s CPU"
            f" -> {r['wall_ratio']:.2f}x wall, {r['cpu_ratio']:.2f}x CPU"
            f" | computation: specola {inside_mine:.3f} s, peer {inside_peer:.3f} s -> {r['inside_ratio']:.1f}x"
            f" | max rel. diff {worst:.1e}"
        )
    print(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
