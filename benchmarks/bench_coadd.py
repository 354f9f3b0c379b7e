"""Time ``specola coadd`` (HASP-compatible mode) against the peer's ``swrapper``, both measured the same way.

Two comparisons, each printed with its ratio:

* **whole process**: ``python -m specola coadd -i IN -o OUT`` against ``swrapper -i IN -o OUT``, start-up and
  imports included (``farm-bench --vs`` when it is on PATH: paired runs, median CPU and wall; else
  subprocess wall time, best of ``--repeat``);
* **computation**: each tool called in its own interpreter after its imports (specola's
  :func:`~specola.coadd.run_hasp` + write; the peer's ``hasp.wrapper.main``), best of ``--repeat``.

The products of both are compared (largest relative difference over all columns). The peer lives in a
throwaway environment outside the repository:

    python -m venv /work/peers/hasp && /work/peers/hasp/bin/pip install hasp ullyses

Run: ``PYTHONPATH=src python benchmarks/bench_coadd.py [--peer /work/peers/hasp/bin/python] [--repeat 3]``.
The peer reads only uncompressed ``*_x1d.fits``, so the inputs are unpacked into a temporary folder first.
"""

import argparse
import gzip
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
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


def _median_row(text, label):
    m = re.search(rf"^{re.escape(label)}\s+(\S+)\s+(\S+)\s+(\S+)", text, re.M)
    return float(m.group(2)) if m else float("nan")


def _whole(mine, theirs, repeat):
    """Whole-process seconds (specola, peer) and the peer/specola ratios of wall and CPU time."""
    bench = shutil.which("farm-bench")
    if bench:
        cmd = [bench, "-n", str(max(repeat, 3)), "--timeout", "600", "--vs", " ".join(theirs), "--", *mine]
        text = subprocess.run(cmd, capture_output=True, text=True, env=_env()).stdout
        a_wall, b_wall = _median_row(text, "A wall s"), _median_row(text, "B wall s")
        a_cpu, b_cpu = _median_row(text, "A cpu s"), _median_row(text, "B cpu s")
        return {
            "how": "farm-bench, medians",
            "specola_wall": a_wall,
            "peer_wall": b_wall,
            "wall_ratio": 1 / _median_row(text, "A/B wall"),
            "cpu_ratio": 1 / _median_row(text, "A/B cpu"),
            "specola_cpu": a_cpu,
            "peer_cpu": b_cpu,
        }
    import time

    def best(cmd):
        times = []
        for _ in range(repeat):
            t = time.perf_counter()
            subprocess.run(cmd, check=True, capture_output=True, env=_env())
            times.append(time.perf_counter() - t)
        return min(times)

    a, b = best(mine), best(theirs)
    return {"how": "subprocess wall, best", "specola_wall": a, "peer_wall": b, "wall_ratio": b / a}


def _cpu(row):
    if "cpu_ratio" not in row:
        return ""
    return f" (CPU {row['specola_cpu']:.2f} vs {row['peer_cpu']:.2f} s -> {row['cpu_ratio']:.2f}x)"


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
    parser.add_argument("--peer", default="/work/peers/hasp/bin/python", help="python of the peer's venv")
    parser.add_argument("--repeat", type=int, default=3)
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
            whole = _whole(mine_cmd, peer_cmd, args.repeat)
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
            f"{name:<25} whole process ({r['how']}): specola {r['specola_wall']:.2f} s, swrapper "
            f"{r['peer_wall']:.2f} s wall -> {r['wall_ratio']:.2f}x"
            + (
                f" (CPU {r['specola_cpu']:.2f} vs {r['peer_cpu']:.2f} s -> {r['cpu_ratio']:.2f}x)"
                if "cpu_ratio" in r
                else ""
            )
            + f" | computation: specola {inside_mine:.3f} s, peer {inside_peer:.3f} s -> {r['inside_ratio']:.1f}x"
            f" | max rel. diff {worst:.1e}"
        )
    print(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
