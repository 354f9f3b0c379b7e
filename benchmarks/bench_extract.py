"""specola extract vs stark, side by side in one run, on a 200 x 32 x 512 synthetic TSO cube.

Run (from the repository root; stark needs ~15 CPU-s per repeat on the default subset)::

    PYTHONPATH=src nice python benchmarks/bench_extract.py [--stark-python PY | --stark-spec SPEC]
        [--stark-ints N] [--repeat K] [--no-stark]

The peer is stark (github.com/Jayshil/stark, ``stark-package`` on PyPI). Its interpreter is ``--stark-python`` or
the ``SPECOLA_STARK_PYTHON`` environment variable (a virtual environment where stark is installed, e.g. from a
clone: ``python -m venv /tmp/stark && /tmp/stark/bin/pip install ./stark``); without either, the benchmark creates
a throwaway virtual environment in ``$SPECOLA_BENCH_VENVS`` (default: the system temporary folder) and pip-installs
``--stark-spec`` / ``SPECOLA_STARK_SPEC`` there (a pip requirement: ``stark-package`` by default, a path to a
clone of the public source, or ``git+https://github.com/Jayshil/stark``). stark is slow (~250 CPU-s for the
windowed profile + optimal extraction of the whole cube), so it runs on the first ``--stark-ints`` integrations
(default 10) and every ratio is computed against specola timed on the same subset, the same way (the same calls:
stark's ``SingleOrderPSF`` methods against specola's, ``trace_spectra`` against ``trace_spectra``); specola's own
numbers are also printed for the whole cube. Times are CPU seconds (``time.process_time``), the least of
``--repeat`` runs for both (the first run is printed too: it pays the page faults of fresh allocations); peak
memory is the tracemalloc peak of specola's numpy allocations and the peak resident size of stark's process.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np

from specola.extract import extract, synthetic_frames
from specola.extract.aperture import aperture_extract
from specola.extract.config import ApertureSection, BackgroundSection, DetectorSection, ExtractConfig, PsfSection
from specola.extract.deconvolve import trace_spectra
from specola.extract.run import _calibrate, _optimal, _trace_and_background, check_frames
from specola.extract.singleorder import SingleOrderPSF
from specola.extract.trace import trace_frames

RADIUS = 5.0
CONFIG = ExtractConfig(
    detector=DetectorSection(bias="constant", bias_level=1000.0, gain=2.0, read_noise=10.0),
    background=BackgroundSection(inner=8, outer=15, degree=1),
    aperture=ApertureSection(radius=RADIUS),
)


def cube(n_ints: int = 200):
    return synthetic_frames(
        n_ints=n_ints,
        shape=(32, 512),
        centre=15.6,
        slope=0.002,
        curvature=1e-5,
        sigma=1.1,
        sigma_slope=0.1,
        peak_flux=2e4,
        sky_level=20.0,
        n_sky_lines=0,
        read_noise=10.0,
        jitter=0.05,
        breathing=0.02,
        n_cosmics=40,
        n_bad=20,
        seed=1,
    )


#: stark's spline keywords, given to both sides (stark's defaults, except the number of column knots)
SPLINE = {"clip": 5, "niters": 3, "knot_col": 10}


def cpu(fn, *args, **kwargs):
    t0 = time.process_time()
    out = fn(*args, **kwargs)
    return time.process_time() - t0, out


def best(fn, repeat: int) -> tuple[float, float]:
    """(least, first) CPU seconds of ``repeat`` calls of ``fn()``."""
    times = [cpu(fn)[0] for _ in range(repeat)]
    return min(times), times[0]


def prepared(frames):
    """Calibrated frames, variance model, trace, sky and the aperture sums (the inputs of the timed steps)."""
    f, vmodel = _calibrate(check_frames(frames), CONFIG)
    trace, _, sky = _trace_and_background(f, CONFIG)
    sub = f.data - sky
    ap = aperture_extract(sub, f.variance, trace.positions, RADIUS, mask=f.mask)
    return f, vmodel, trace, sky, sub, ap


def specola_times(frames, repeat: int) -> dict:
    """(least, first) CPU seconds of each step on ``frames``, and the inputs stark gets."""
    f, vmodel, trace, sky, sub, ap = prepared(frames)
    # the windowed spline with stark's default window (colrad = 100)
    windowed = dataclasses.replace(CONFIG, psf=PsfSection(kind="windowed", column_radius=100))
    psf = SingleOrderPSF(frame=sub, variance=f.variance, ord_pos=trace.positions, ap_rad=RADIUS, mask=~f.mask)
    return {
        "windowed+optimal": best(lambda: _optimal(f, sky, trace, ap, vmodel, windowed), repeat),
        "empirical+optimal": best(lambda: _optimal(f, sky, trace, ap, vmodel, CONFIG), repeat),
        "univariate": best(lambda: psf.univariate_psf_frame(**SPLINE), repeat),
        "bivariate": best(lambda: psf.bivariate_psf_frame(**SPLINE), repeat),
        "trace_spectra": best(lambda: trace_spectra(sub, 0, sub.shape[2], 4, 28), repeat),
        "trace": best(lambda: trace_frames(sub, f.variance, f.mask, CONFIG.trace), repeat),
        "trace+background": best(lambda: _trace_and_background(f, CONFIG), repeat),
        "_inputs": (sub, f.variance, f.mask, trace.positions),
    }


def numpy_peak(fn) -> float:
    """tracemalloc peak (GiB) of ``fn()`` (numpy reports its allocations to tracemalloc)."""
    tracemalloc.start()
    fn()
    peak = tracemalloc.get_traced_memory()[1] / 2**30
    tracemalloc.stop()
    return peak


PEER = """
import resource, sys, time, numpy as np, stark
from stark import reduce
z = np.load(sys.argv[1])
repeat, spline = int(sys.argv[2]), dict(clip=5, niters=3, verbose=False)
sub, var, good, pos, rad = z["sub"], z["var"], ~z["mask"], z["pos"], float(z["rad"])
out = {}
def best(key, fn):
    times = []
    for _ in range(repeat):
        t0 = time.process_time(); fn(); times.append(time.process_time() - t0)
    out[key] = (min(times), times[0])
def psf():
    return stark.SingleOrderPSF(frame=sub, variance=var, ord_pos=pos, ap_rad=rad, mask=good.astype(float))
def windowed():
    frame, _, _ = psf().univariate_multi_psf_frame(colrad=100, **spline)
    for i in range(sub.shape[0]):
        stark.optimal_extract(frame[i], sub[i], var[i], good[i], pos[i], rad)
best("windowed+optimal", windowed)
p = psf()
best("univariate", lambda: p.univariate_psf_frame(**spline))
best("bivariate", lambda: p.bivariate_psf_frame(knot_col=10, **spline))
best("trace_spectra", lambda: reduce.trace_spectra(sub, 0, sub.shape[2], 4, 28))
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
print(" ".join(f"{k}={v[0]:.4f},{v[1]:.4f}" for k, v in out.items()), f"peak_rss_gib={peak:.3f}")
"""


def stark_python(given: str | None, spec: str | None) -> Path:
    """The peer's interpreter: given, from SPECOLA_STARK_PYTHON, or a throwaway venv made here from ``spec``."""
    given = given or os.environ.get("SPECOLA_STARK_PYTHON")
    if given:
        return Path(given)
    spec = spec or os.environ.get("SPECOLA_STARK_SPEC", "stark-package")
    venv = Path(os.environ.get("SPECOLA_BENCH_VENVS", tempfile.gettempdir())) / "specola-bench-stark"
    python = venv / "bin" / "python"
    if not python.exists():
        print(f"creating a throwaway venv for stark in {venv} (pip install {spec})", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", spec], check=True)
    return python


def run_stark(python: Path, inputs: tuple, repeat: int) -> tuple[dict[str, tuple[float, float]], float]:
    sub, var, mask, pos = inputs
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "cube.npz"
        np.savez(data, sub=sub, var=var, mask=mask, pos=pos, rad=RADIUS)
        done = subprocess.run(
            ["nice", str(python), "-c", PEER, str(data), str(repeat)], capture_output=True, text=True, timeout=7200
        )
    if done.returncode != 0:
        raise RuntimeError(f"stark failed: {done.stderr.strip().splitlines()[-1:]}")
    *pairs, peak = done.stdout.strip().splitlines()[-1].split()
    times = {k: tuple(float(x) for x in v.split(",")) for k, v in (p.split("=") for p in pairs)}
    return times, float(peak.split("=")[1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--stark-python", help="python of an environment with stark (or SPECOLA_STARK_PYTHON)")
    ap.add_argument("--stark-spec", help="pip requirement for a throwaway stark venv (or SPECOLA_STARK_SPEC)")
    ap.add_argument("--stark-ints", type=int, default=10, help="integrations given to stark (ratios on the same)")
    ap.add_argument("--repeat", type=int, default=3, help="runs of every timed step (the least is reported)")
    ap.add_argument("--no-stark", action="store_true", help="time specola only")
    args = ap.parse_args()

    s = cube()
    t_full, r = cpu(extract, s.frames, CONFIG)
    peak_full = numpy_peak(lambda: extract(s.frames, CONFIG))
    f, vmodel, trace, sky, _, ap_sums = prepared(s.frames)
    windowed = dataclasses.replace(CONFIG, psf=PsfSection(kind="windowed", column_radius=100))
    peak_win = numpy_peak(lambda: _optimal(f, sky, trace, ap_sums, vmodel, windowed))
    full = specola_times(s.frames, args.repeat)
    print(f"cube {s.frames.shape}: full extract() {t_full:.2f} CPU-s, numpy peak {peak_full:.2f} GiB")
    print(f"  windowed profile + optimal extraction: numpy peak {peak_win:.2f} GiB")
    for key, value in full.items():
        if not key.startswith("_"):
            print(f"  specola {key:<17s} {value[0]:8.3f} CPU-s (whole cube; first run {value[1]:.3f})")
    print(f"  outliers rejected: {int(r.optimal.outliers.sum())}, profile: {r.meta['profile']}")
    if args.no_stark:
        return
    n = args.stark_ints
    mine = specola_times(cube(n).frames, args.repeat)
    peer, peer_peak = run_stark(stark_python(args.stark_python, args.stark_spec), mine["_inputs"], args.repeat)
    print(f"stark vs specola on the first {n} integrations (least CPU-s of {args.repeat}; ratio = stark / specola):")
    print("  (windowed+optimal and empirical+optimal: specola's windowed spline (colrad 100) and its default")
    print("   empirical profile, two passes with outlier rejection, both against stark's univariate_multi_psf_frame")
    print("   + optimal_extract per integration; univariate/bivariate: SingleOrderPSF methods on both sides)")
    pairs = [("windowed+optimal", "windowed+optimal"), ("empirical+optimal", "windowed+optimal")]
    pairs += [(k, k) for k in ("univariate", "bivariate", "trace_spectra")]
    for key, peer_key in pairs:
        theirs, ours = peer[peer_key][0], mine[key][0]
        print(f"  {key:<17s} stark {theirs:9.3f}  specola {ours:7.4f}  ratio {theirs / ours:8.1f}x")
    scale = 200 / n
    whole = peer["windowed+optimal"][0] * scale
    print(
        f"  stark's windowed profile + optimal scaled to 200 integrations: ~{whole:.0f} CPU-s, "
        f"{whole / full['windowed+optimal'][0]:.0f}x specola's windowed whole cube "
        f"({whole / full['windowed+optimal'][1]:.0f}x its first run); stark peak RSS {peer_peak:.2f} GiB"
    )


if __name__ == "__main__":
    main()
