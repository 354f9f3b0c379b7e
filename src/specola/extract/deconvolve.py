"""Tracing by deconvolution and centring (single frames) and a master trace with per-frame jitter (cubes).

:func:`trace_spectrum` sharpens each column with Richardson-Lucy deconvolution
by a 1-D spatial kernel (a Gaussian by default) and takes the centre of flux of
the deconvolved column between two rows. The frame is first divided by a robust
per-column scale, so the result does not depend on the data's units (DN, DN/s,
electrons) and a cosmic ray cannot set the scale.

:func:`trace_spectra` traces every integration of a cube (in column bins),
fits each with a clipped spline, takes the median spline as the master shape
and fits one offset per integration to it (a clipped, robust mean over columns).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import numpy as np
from scipy.interpolate import LSQUnivariateSpline
from scipy.ndimage import convolve1d

from ..errors import SpectrumError
from .config import TraceSection
from .trace import centroids

__all__ = ["trace_spectra", "trace_spectrum"]

log = logging.getLogger(__name__)


def _gaussian(x: np.ndarray, sig: float = 1.0) -> np.ndarray:
    return np.exp(-0.5 * (x / sig) ** 2)


def _kernel(kernel: Callable | None, radius: int, **kwargs) -> np.ndarray:
    x = np.arange(-radius, radius + 1, dtype=float)
    k = np.asarray((kernel or _gaussian)(x, **kwargs), float)
    k = 0.5 * (k + k[::-1])  # symmetric about the centre
    return k / k.sum()


def _richardson_lucy(image: np.ndarray, kern: np.ndarray, num_iter: int) -> np.ndarray:
    """Richardson-Lucy deconvolution along axis -2 (spatial) of non-negative images."""
    est = np.full_like(image, max(float(np.mean(image)), 1e-12))
    for _ in range(num_iter):
        conv = convolve1d(est, kern, axis=-2, mode="constant")
        est *= convolve1d(image / np.maximum(conv, 1e-12), kern[::-1], axis=-2, mode="constant")
    return est


def _normalise(frames: np.ndarray) -> np.ndarray:
    """Non-negative frames divided by a robust per-column scale (scale-free; cosmic rays do not set it).

    Each column is first lifted so that its 10th percentile is zero: background-subtracted noise is then
    mostly positive rather than rectified at zero (the pedestal is removed again before centring).
    """
    data = np.nan_to_num(frames)
    data = np.maximum(data - np.percentile(data, 10, axis=-2, keepdims=True), 0.0)
    scale = np.percentile(data, 90, axis=-2, keepdims=True)
    return data / np.where(scale > 0, scale, 1.0)


def _centre(deconv: np.ndarray, ystart: int, yend: int, halfwidth: float = TraceSection.halfwidth) -> np.ndarray:
    """Centre of flux of the deconvolved columns: pedestal (median) removed, a window re-centred on the peak."""
    win = deconv[..., ystart:yend, :]
    win = np.maximum(win - np.median(win, axis=-2, keepdims=True), 0.0)
    flat = win.reshape(-1, *win.shape[-2:])
    guess = np.argmax(np.median(flat, axis=0), axis=0).astype(float)
    out = np.empty((flat.shape[0], flat.shape[-1]))
    for i, img in enumerate(flat):
        out[i] = centroids(img, np.ones_like(img), guess, halfwidth)[0] + ystart
    return out.reshape(win.shape[:-2] + win.shape[-1:])


def trace_spectrum(
    frame: np.ndarray,
    xstart: int,
    xend: int,
    ystart: int,
    yend: int,
    kernel: Callable | None = None,
    radius: int = TraceSection.kernel_radius,
    num_iter: int = TraceSection.num_iter,
    **kwargs,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Trace a spectrum in one frame by deconvolution and centring.

    Parameters
    ----------
    frame : ndarray
        ``(n_rows, n_columns)`` frame, dispersion along columns.
    xstart, xend : int
        Columns ``[xstart, xend)`` to trace.
    ystart, yend : int
        Rows ``[ystart, yend)`` searched for the trace.
    kernel : callable, optional
        ``kernel(x, **kwargs)`` spatial profile to deconvolve by (symmetrised); default a Gaussian (``sig``).
    radius : int
        Half-length of the kernel (pixels).
    num_iter : int
        Richardson-Lucy iterations.
    **kwargs
        Passed to ``kernel``.

    Returns
    -------
    xpos : ndarray
        Traced columns.
    ypos : ndarray
        Trace row per column (NaN where a column holds no flux).
    kern2d : ndarray
        ``(2 * radius + 1, 1)`` kernel used.
    deconv : ndarray
        The deconvolved (normalised) frame.

    Examples
    --------
    >>> r = np.arange(40.0)[:, None]
    >>> img = np.exp(-0.5 * (r - 17.3) ** 2 / 1.5**2) * np.ones((1, 30))
    >>> x, y, k, d = trace_spectrum(img, 0, 30, 5, 30, radius=5, num_iter=30)
    >>> bool(np.all(np.abs(y - 17.3) < 0.02))
    True
    """
    frame = np.asarray(frame, float)
    if frame.ndim != 2:
        raise SpectrumError(f"trace_spectrum: frame must be 2-D, got shape {frame.shape}")
    n_rows, n_cols = frame.shape
    if not (0 <= xstart < xend <= n_cols and 0 <= ystart < yend <= n_rows):
        raise SpectrumError(f"trace_spectrum: window x [{xstart}, {xend}), y [{ystart}, {yend}) leaves the frame")
    kern = _kernel(kernel, radius, **kwargs)
    deconv = _richardson_lucy(_normalise(frame[:, xstart:xend]), kern, num_iter)
    return np.arange(xstart, xend), _centre(deconv, ystart, yend), kern[:, None], deconv


def _spline(x: np.ndarray, y: np.ndarray, knots: np.ndarray, ok: np.ndarray) -> np.ndarray | None:
    try:
        return LSQUnivariateSpline(x[ok], y[ok], knots, k=3)(x)
    except ValueError:  # too few points between two knots (Schoenberg-Whitney)
        return None


def _clipped_spline(x: np.ndarray, y: np.ndarray, knots: np.ndarray, clip: float, niter: int) -> np.ndarray:
    """A spline through ``y`` with outliers clipped; NaN when the points cannot support it."""
    ok = np.isfinite(y)
    fit = _spline(x, y, knots, ok)
    for _ in range(niter):
        if fit is None:
            return np.full(x.shape, np.nan)
        resid = y - fit
        scale = 1.4826 * np.nanmedian(np.abs(resid[ok] - np.nanmedian(resid[ok])))
        new = np.isfinite(y) & (np.abs(resid) <= clip * max(scale, 1e-6))
        if np.array_equal(new, ok):
            break
        trial = _spline(x, y, knots, new)
        if trial is None:
            break
        ok, fit = new, trial
    return np.full(x.shape, np.nan) if fit is None else fit


def trace_spectra(
    frames: np.ndarray,
    xstart: int,
    xend: int,
    ystart: int,
    yend: int,
    niter: int = 3,
    clip: float = TraceSection.sigma,
    nknots: int = TraceSection.knots,
    bin_columns: int = TraceSection.bin_columns,
    **kwargs,
) -> tuple[np.ndarray, np.ndarray]:
    """Master trace of a cube with a jitter offset per frame.

    Parameters
    ----------
    frames : ndarray
        ``(n_ints, n_rows, n_columns)``.
    xstart, xend, ystart, yend : int
        Column range traced and rows searched (as :func:`trace_spectrum`).
    niter : int
        Clipping iterations of each fit.
    clip : float
        Clipping threshold in robust standard deviations.
    nknots : int
        Spline knots along the dispersion.
    bin_columns : int
        Columns summed before deconvolution (the trace is smooth; 1 = every column).
    **kwargs
        Passed to :func:`trace_spectrum` (``kernel``, ``radius``, ``num_iter`` and the kernel's keywords).

    Returns
    -------
    xpos : ndarray
        Traced columns.
    ypos : ndarray
        ``(n_ints, n_traced)`` trace: master shape plus each frame's offset.
    """
    frames = np.asarray(frames, float)
    if frames.ndim != 3:
        raise SpectrumError(f"trace_spectra: frames must be (n_ints, n_rows, n_columns), got shape {frames.shape}")
    n_ints = frames.shape[0]
    xs = np.arange(xstart, xend)
    nb = max((xend - xstart) // max(bin_columns, 1), nknots + 5)
    edges = np.linspace(xstart, xend, nb + 1).astype(int)
    binned = np.add.reduceat(np.nan_to_num(frames[..., xstart:xend]), edges[:-1] - xstart, axis=-1)
    xb = 0.5 * (edges[:-1] + edges[1:] - 1)
    kern = _kernel(kwargs.pop("kernel", None), kwargs.pop("radius", TraceSection.kernel_radius), **kwargs)
    num_iter = kwargs.pop("num_iter", TraceSection.num_iter)
    deconv = _richardson_lucy(_normalise(binned), kern, num_iter)
    centres = _centre(deconv, ystart, yend)
    knots = np.linspace(xb[0], xb[-1], nknots + 1)[1:-1]
    per_frame = np.stack([_clipped_spline(xb, centres[i], knots, clip, niter) for i in range(n_ints)])
    master = np.nanmedian(per_frame, axis=0)
    if not np.all(np.isfinite(master)):
        raise SpectrumError("trace_spectra: no frame could be traced; check ystart/yend and the column range")
    offsets = np.zeros(n_ints)
    for i in range(n_ints):
        d = centres[i] - master
        ok = np.isfinite(d)
        for _ in range(niter):
            med = np.median(d[ok])
            scale = 1.4826 * np.median(np.abs(d[ok] - med))
            ok = np.isfinite(d) & (np.abs(d - med) <= clip * max(scale, 1e-6))
        offsets[i] = np.mean(d[ok])
    shape = LSQUnivariateSpline(xb, master, knots, k=3)(xs)
    log.info("trace_spectra: %d frames, jitter rms %.4f px", n_ints, float(np.std(offsets)))
    return xs, shape[None, :] + offsets[:, None]
