"""Optimal extraction of a 100-integration 416 x 72 cube: specola (vectorised) vs a per-column Python loop.

Run: PYTHONPATH=src python benchmarks/bench_extract.py
Both use the same profile frames, data and variances; the loop is a straightforward Horne (1986)
implementation (one column at a time, one rejection per pass) that also checks specola's fluxes.
"""

import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np

from specola.extract import aperture_weights, extract, fit_profile, optimal_extract, synthetic_frames
from specola.extract.config import BackgroundSection, DetectorSection, ExtractConfig, TraceSection


def loop_optimal(data, variance, mask, profile, aperture, clip=5.0, max_reject=10):
    n_ints, _, n_cols = data.shape
    flux = np.zeros((n_ints, n_cols))
    var = np.zeros((n_ints, n_cols))
    for i in range(n_ints):
        for c in range(n_cols):
            rows = np.nonzero((aperture[i, :, c] > 0) & ~mask[i, :, c])[0]
            d, v, p = data[i, rows, c], variance[i, rows, c], profile[i, rows, c]
            keep = np.ones(rows.size, bool)
            core = p >= 0.25 * p.max()
            f0 = np.median(d[core] / p[core])
            keep &= (d - f0 * p) ** 2 <= clip**2 * v
            for _ in range(max_reject + 1):
                f = np.sum(p[keep] * d[keep] / v[keep]) / np.sum(p[keep] ** 2 / v[keep])
                z2 = np.where(keep, (d - f * p) ** 2 / v, 0.0)
                j = np.argmax(z2)
                if z2[j] <= clip**2:
                    break
                keep[j] = False
            keep |= (d - f * p) ** 2 <= clip**2 * v
            flux[i, c] = np.sum(p[keep] * d[keep] / v[keep]) / np.sum(p[keep] ** 2 / v[keep])
            var[i, c] = 1.0 / np.sum(p[keep] ** 2 / v[keep])
    return flux, var


def main():
    # MIRI-like geometry: 416 dispersion rows x 72 spatial columns -> (100, 72, 416) in specola's orientation
    s = synthetic_frames(n_ints=100, shape=(72, 416), centre=36.4, slope=0.001, curvature=0.0, n_cosmics=30, seed=1)
    cfg = ExtractConfig(
        detector=DetectorSection(bias="constant", bias_level=1000.0, gain=2.0, read_noise=5.0),
        background=BackgroundSection(inner=10, outer=30),
        trace=TraceSection(guess=36.0),
    )
    t0 = time.perf_counter()
    r = extract(s.frames, cfg)
    t_full = time.perf_counter() - t0
    sub = r.frames.data - r.background.model
    pos = r.trace.positions
    w = aperture_weights(pos, sub.shape[1], cfg.aperture.radius)
    prof = r.profile.frames(pos, sub.shape[1], w)
    t0 = time.perf_counter()
    opt = optimal_extract(sub, r.frames.variance, r.frames.mask, prof, w)
    t_vec = time.perf_counter() - t0
    t0 = time.perf_counter()
    f_loop, _ = loop_optimal(sub, r.frames.variance, r.frames.mask, prof, w)
    t_loop = time.perf_counter() - t0
    agree = np.nanmax(np.abs(f_loop - opt.flux) / np.sqrt(opt.variance))
    print(f"cube {s.frames.shape}: full extract() (bias, background, trace, 2x PSF fit, optimal) {t_full:.2f} s")
    print(f"optimal extraction only: vectorised {t_vec:.3f} s, per-column loop {t_loop:.2f} s")
    print(f"ratio loop / vectorised = {t_loop / t_vec:.1f}x; max |loop - vectorised| / sigma = {agree:.2e}")
    t0 = time.perf_counter()
    fit_profile(r.table, "univariate", cfg.aperture.radius + 0.5).frames(pos, sub.shape[1], w)
    t_psf = time.perf_counter() - t0
    print(f"specola univariate profile fit over the pixel table ({len(r.table)} px) + frames: {t_psf:.2f} s")
    peer(sub, r.frames.variance, r.frames.mask, pos, cfg.aperture.radius, t_psf + t_vec)


PEER_SCRIPT = """
import sys, time, numpy as np, stark
z = np.load(sys.argv[1])
sub, var, mask, pos, rad = z["sub"], z["var"], z["mask"], z["pos"], float(z["rad"])
t0 = time.perf_counter()
psf = stark.SingleOrderPSF(frame=sub, variance=var, ord_pos=pos, ap_rad=rad, mask=~mask)
frame, spline, _ = psf.univariate_psf_frame(verbose=False)
t1 = time.perf_counter()
flux = [stark.optimal_extract(frame[i], sub[i], var[i], ~mask[i], pos[i], rad)[0] for i in range(sub.shape[0])]
t2 = time.perf_counter()
np.save(sys.argv[2], np.array(flux))
print(f"{t1 - t0:.3f} {t2 - t1:.3f}")
"""


def peer(sub, var, mask, pos, radius, t_specola):
    """Time the peer stark (pip package ``stark-package``) in its throwaway venv, when present."""
    python = Path("/tmp/extract-peer-venv/bin/python")
    if not python.exists():
        print("peer stark: no venv at /tmp/extract-peer-venv (pip install stark-package there to compare)")
        return
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "cube.npz"
        np.savez(data, sub=sub, var=var, mask=mask, pos=pos, rad=radius)
        done = subprocess.run(
            [str(python), "-c", PEER_SCRIPT, str(data), str(Path(tmp) / "flux.npy")],
            capture_output=True,
            text=True,
            timeout=1800,
        )
        if done.returncode != 0:
            print("peer stark failed:", done.stderr.strip().splitlines()[-1:])
            return
        t_fit, t_opt = (float(x) for x in done.stdout.split()[-2:])
        print(f"peer stark: univariate PSF {t_fit:.2f} s + optimal_extract loop {t_opt:.2f} s")
        print(f"ratio peer / specola (profile fit + optimal) = {(t_fit + t_opt) / t_specola:.1f}x")


if __name__ == "__main__":
    main()
