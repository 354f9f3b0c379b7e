"""specola extract vs stark, side by side in one run, on a 200 x 32 x 512 synthetic TSO cube.

Run (from the repository root; long: stark needs minutes even on a subset)::

    PYTHONPATH=src nice python benchmarks/bench_extract.py [--stark-python PY] [--stark-ints N] [--no-stark]

The peer is the public ``stark-package`` (PyPI; source github.com/Jayshil/stark). Its interpreter is taken from
``--stark-python`` or the ``SPECOLA_STARK_PYTHON`` environment variable; without either, the benchmark creates a
throwaway virtual environment in ``$SPECOLA_BENCH_VENVS`` (default: the system temporary folder) and installs
``stark-package`` there with pip. stark is slow (~450 CPU-s for the windowed profile of the whole cube), so it runs
on the first ``--stark-ints`` integrations (default 10) and every ratio is computed against specola timed on the
same subset; specola's own numbers are also printed for the whole cube. Times are CPU seconds
(``time.process_time``); peak memory is the tracemalloc peak of the numpy allocations.
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
from specola.extract.config import ApertureSection, BackgroundSection, DetectorSection, ExtractConfig, PsfSection
from specola.extract.deconvolve import trace_spectra
from specola.extract.psf import fit_profile, pixel_table
from specola.extract.run import _calibrate, _optimal, _trace_and_background, check_frames
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


def cpu(fn, *args, **kwargs):
    t0 = time.process_time()
    out = fn(*args, **kwargs)
    return time.process_time() - t0, out


def specola_times(frames) -> dict[str, float]:
    """CPU seconds of each step on ``frames`` (and the prepared inputs stark gets)."""
    f, vmodel = _calibrate(check_frames(frames), CONFIG)
    t_trace_bkg, (trace, _, sky) = cpu(_trace_and_background, f, CONFIG)
    sub = f.data - sky
    from specola.extract.aperture import aperture_extract

    ap = aperture_extract(sub, f.variance, trace.positions, RADIUS, f.mask)
    t_opt, _ = cpu(_optimal, f, sky, trace, ap, vmodel, CONFIG)
    # the windowed spline with stark's default window (colrad = 100)
    windowed = dataclasses.replace(CONFIG, psf=PsfSection(kind="windowed", column_radius=100))
    t_win, _ = cpu(_optimal, f, sky, trace, ap, vmodel, windowed)
    table = pixel_table(sub, f.variance, f.mask, trace.positions, RADIUS, ap[0], ap[1])
    t_uni, _ = cpu(fit_profile, table, RADIUS, "univariate", PsfSection())
    t_bi, _ = cpu(fit_profile, table, RADIUS, "bivariate", PsfSection())
    t_trace, _ = cpu(trace_frames, sub, f.variance, f.mask, CONFIG.trace)
    t_rl, _ = cpu(trace_spectra, sub, 0, sub.shape[2], 4, 28)
    return {
        "profile+optimal": t_opt,
        "windowed+optimal": t_win,
        "univariate": t_uni,
        "bivariate": t_bi,
        "trace": t_trace,
        "trace_spectra": t_rl,
        "trace+background": t_trace_bkg,
        "_sub": sub,
        "_var": f.variance,
        "_mask": f.mask,
        "_pos": trace.positions,
    }


PEER = """
import sys, time, numpy as np, stark
from stark import reduce
z = np.load(sys.argv[1])
sub, var, good, pos, rad = z["sub"], z["var"], ~z["mask"], z["pos"], float(z["rad"])
out = {}
def cpu(key, fn):
    t0 = time.process_time(); r = fn(); out[key] = time.process_time() - t0; return r
def windowed():
    p = stark.SingleOrderPSF(frame=sub, variance=var, ord_pos=pos, ap_rad=rad, mask=good.astype(float))
    frame, _, _ = p.univariate_multi_psf_frame(verbose=False)
    for i in range(sub.shape[0]):
        stark.optimal_extract(frame[i], sub[i], var[i], good[i], pos[i], rad)
cpu("profile+optimal", windowed)
out["windowed+optimal"] = out["profile+optimal"]
p = stark.SingleOrderPSF(frame=sub, variance=var, ord_pos=pos, ap_rad=rad, mask=good.astype(float))
cpu("univariate", lambda: p.univariate_psf_frame(verbose=False))
p = stark.SingleOrderPSF(frame=sub, variance=var, ord_pos=pos, ap_rad=rad, mask=good.astype(float))
cpu("bivariate", lambda: p.bivariate_psf_frame(verbose=False))
cpu("trace_spectra", lambda: reduce.trace_spectra(sub, 0, sub.shape[2], 4, 28))
print(" ".join(f"{k}={v:.3f}" for k, v in out.items()))
"""


def stark_python(given: str | None) -> Path:
    """The peer's interpreter: given, from SPECOLA_STARK_PYTHON, or a throwaway venv made here."""
    given = given or os.environ.get("SPECOLA_STARK_PYTHON")
    if given:
        return Path(given)
    venv = Path(os.environ.get("SPECOLA_BENCH_VENVS", tempfile.gettempdir())) / "specola-bench-stark"
    python = venv / "bin" / "python"
    if not python.exists():
        print(f"creating a throwaway venv for stark in {venv} (pip install stark-package)", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", "stark-package"], check=True)
    return python


def run_stark(python: Path, t: dict) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "cube.npz"
        np.savez(data, sub=t["_sub"], var=t["_var"], mask=t["_mask"], pos=t["_pos"], rad=RADIUS)
        done = subprocess.run(
            ["nice", str(python), "-c", PEER, str(data)], capture_output=True, text=True, timeout=7200
        )
    if done.returncode != 0:
        raise RuntimeError(f"stark failed: {done.stderr.strip().splitlines()[-1:]}")
    pairs = done.stdout.strip().splitlines()[-1].split()
    return {k: float(v) for k, v in (p.split("=") for p in pairs)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--stark-python", help="python of an environment with stark-package (or SPECOLA_STARK_PYTHON)")
    ap.add_argument("--stark-ints", type=int, default=10, help="integrations given to stark (ratios on the same)")
    ap.add_argument("--no-stark", action="store_true", help="time specola only")
    args = ap.parse_args()

    s = cube()
    tracemalloc.start()
    t_full, r = cpu(extract, s.frames, CONFIG)
    peak = tracemalloc.get_traced_memory()[1] / 2**30
    tracemalloc.stop()
    full = specola_times(s.frames)
    print(f"cube {s.frames.shape}: full extract() {t_full:.2f} CPU-s, numpy peak {peak:.2f} GiB")
    keys = ("profile+optimal", "windowed+optimal", "univariate", "bivariate", "trace", "trace_spectra")
    for key in (*keys, "trace+background"):
        print(f"  specola {key:<17s} {full[key]:8.3f} CPU-s (whole cube)")
    print(f"  outliers rejected: {int(r.optimal.outliers.sum())}, profile: {r.meta['profile']}")
    if args.no_stark:
        return
    n = args.stark_ints
    sub_frames = cube(n).frames
    mine = specola_times(sub_frames)
    peer = run_stark(stark_python(args.stark_python), mine)
    print(f"stark vs specola on the first {n} integrations (CPU-s, ratio = stark / specola):")
    print("  (profile+optimal: specola's default empirical profile; windowed+optimal: its windowed spline, colrad 100;")
    print("   both against stark's univariate_multi_psf_frame + optimal_extract)")
    for key in ("profile+optimal", "windowed+optimal", "univariate", "bivariate", "trace_spectra"):
        print(f"  {key:<17s} stark {peer[key]:9.2f}  specola {mine[key]:7.3f}  ratio {peer[key] / mine[key]:8.1f}x")
    scale = 200 / n
    print(
        f"  (stark's windowed profile + optimal scaled to 200 integrations: ~{peer['profile+optimal'] * scale:.0f} s)"
    )


if __name__ == "__main__":
    main()
