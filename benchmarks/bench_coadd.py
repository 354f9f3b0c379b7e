"""Time specola's HASP-compatible mode against the peer (swrapper) on the same inputs.

The peer must be installed in a throwaway environment, never in the repository:

    python -m venv /tmp/peer-venv-coadd && /tmp/peer-venv-coadd/bin/pip install hasp ullyses

Run: ``PYTHONPATH=src python benchmarks/bench_coadd.py [--swrapper /tmp/peer-venv-coadd/bin/swrapper]``.
The peer reads only uncompressed ``*_x1d.fits``, so inputs are unpacked into a temporary folder first.
"""

import argparse
import gzip
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from specola.coadd import CoaddConfig, coadd, read_inputs, run_hasp
from specola.coadd.config import InputSection
from specola.data import data_path

ROOT = Path(__file__).parents[1]
SETS = {
    "COS G140L (4 exposures)": sorted(data_path("coadd", "cos_g140l").glob("*_x1d.fits.gz")),
    "STIS E140M echelle": [ROOT / "tests/data/coadd/stis/o4vt02040_x1d.fits.gz"],
    "STIS E230M echelle": [ROOT / "tests/data/coadd/stis/o3zx02070_x1d.fits.gz"],
}


def _unpack(files, folder):
    for f in files:
        with gzip.open(f) as src, open(folder / f.name.removesuffix(".gz"), "wb") as dst:
            shutil.copyfileobj(src, dst)


def _best(fn, repeat):
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def _compare(mine, peer):
    """Largest relative difference between same-named products of the two runs."""
    import numpy as np
    from astropy.io import fits

    worst = 0.0
    for p in peer.glob("*.fits"):
        a, b = fits.getdata(mine / p.name, 1)[0], fits.getdata(p, 1)[0]
        for col in ("WAVELENGTH", "FLUX", "ERROR", "SNR", "EFF_EXPTIME"):
            scale = np.maximum(np.abs(b[col]), 1e-30)
            worst = max(worst, float(np.max(np.abs(a[col] - b[col]) / scale)))
    return worst


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--swrapper", default="/tmp/peer-venv-coadd/bin/swrapper")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    peer = Path(args.swrapper)
    print(f"{'input set':<26} {'specola hasp':>13} {'specola resample':>17} {'peer swrapper':>14} {'ratio':>7}")
    for name, files in SETS.items():
        with tempfile.TemporaryDirectory() as tmp:
            indir = Path(tmp) / "in"
            indir.mkdir()
            _unpack(files, indir)
            mine = _best(lambda d=indir, t=tmp: run_hasp(d).write(Path(t) / "mine", overwrite=True), args.repeat)
            config = CoaddConfig(input=InputSection(indir=str(indir)))
            resample = _best(lambda c=config: coadd(read_inputs(c)[0], c), args.repeat)
            if peer.exists():
                cmd = [str(peer), "-i", str(indir), "-o", str(Path(tmp) / "peer"), "-c"]
                theirs = _best(lambda c=cmd: subprocess.run(c, check=True, capture_output=True), args.repeat)
                ratio = f"{theirs / mine:6.1f}x"
                worst = _compare(Path(tmp) / "mine", Path(tmp) / "peer")
                peer_text = f"{theirs:13.2f}s"
            else:
                ratio, peer_text, worst = "   n/a", "  not found", float("nan")
        print(f"{name:<26} {mine:12.2f}s {resample:16.2f}s {peer_text:>14} {ratio:>7}   max rel. diff {worst:.1e}")


if __name__ == "__main__":
    main()
