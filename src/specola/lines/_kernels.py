"""Pixel-space LSF kernels in the line model: a DESI resolution matrix or a :class:`~specola.instruments.TabulatedLSF`.

A spectrum whose ``meta['resolution']`` has a ``pixel_kernel(low, high)`` method is modelled as
``m_obs[i] = sum_k W[i, k] * m[i * S + o_k]``: the intrinsic model (lines without instrumental broadening, and
continuum) as means over source sub-pixels (``S = resolution.subpixels`` per pixel; DESI: 1, the pixels
themselves), times the band matrix ``W`` (DESI: the file's resolution matrix rows). The model is evaluated on an
*evaluation grid*: every (sub-)pixel a fitted pixel's band reaches (also masked or NaN pixels, and pixels just
outside the windows); the fitted pixels gather their band from it. Spectra without a kernel in the same fit take a
one-element band (weight 1 on themselves), so one code path serves a mix.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..errors import ConfigError

__all__ = ["EVAL_KEYS", "KERNEL_KEYS", "convolved", "has_kernel", "kernel_args"]

#: Per evaluation pixel: edges, spectrum and region index.
EVAL_KEYS = ("ev_low", "ev_high", "ev_spec", "ev_region")
#: Per fitted pixel: band weights and evaluation-grid indices ``(npix, K)``.
KERNEL_KEYS = ("kern_w", "kern_idx")


def has_kernel(resolution: Any) -> bool:
    """Whether a resolution object is applied as a pixel-space kernel (it has ``pixel_kernel``)."""
    return callable(getattr(resolution, "pixel_kernel", None))


def kernel_args(work: Sequence, names: Sequence[str], px: Any, bindings: Sequence) -> tuple[dict, list[int]]:
    """Evaluation grid and band arrays of a fit, and the indices of the spectra with a kernel (none: ``{}, []``).

    Parameters
    ----------
    work : sequence of Spectrum
        The spectra in the working units, all pixels.
    names : sequence of str
        Their labels (for messages).
    px : specola.lines.model._Pixels
        The fitted pixels (``kept`` per spectrum, ``region`` per fitted pixel, renumbered).
    bindings : sequence of SpectrumSpec
        Token names per spectrum: an RScale token cannot act on a tabulated kernel and is refused.
    """
    with_kernel = [k for k, s in enumerate(work) if has_kernel(s.meta.get("resolution"))]
    if not with_kernel:
        return {}, []
    for k in with_kernel:
        if bindings[k].rscale:
            kind = type(work[k].meta["resolution"]).__name__
            raise ConfigError(f"spectrum {names[k]}: its resolution ({kind}) is a pixel kernel, which rscale token "
                              f"{bindings[k].rscale!r} cannot scale; remove rscale")  # fmt: skip
    ev = {key: [] for key in EVAL_KEYS}
    weights, index = [], []
    base = 0
    for k, s in enumerate(work):
        fitted = np.flatnonzero(px.kept[k])
        region = np.asarray(px.region)[np.asarray(px.spec) == k]
        res = s.meta.get("resolution")
        if k in with_kernel:
            nsub = int(getattr(res, "subpixels", 1))
            offs, w = res.pixel_kernel(s.low, s.high)
            w = np.asarray(w, float)[fitted]
        else:
            nsub, offs, w = 1, np.zeros(1, int), np.ones((fitted.size, 1))
        own = fitted * nsub  # the first sub-pixel of each fitted pixel
        j = own[:, None] + np.asarray(offs, int)[None, :]
        valid = (j >= 0) & (j < len(s) * nsub) & (w != 0)
        need = np.union1d(own, j[valid])
        pos = np.searchsorted(need, np.where(valid, j, own[:, None]))
        pix, sub = need // nsub, need % nsub
        nearest = np.clip(np.searchsorted(fitted, pix), 0, fitted.size - 1)  # a region for pixels outside windows
        prev = np.clip(nearest - 1, 0, fitted.size - 1)
        nearest = np.where(np.abs(fitted[prev] - pix) < np.abs(fitted[nearest] - pix), prev, nearest)
        lo, wid = s.low.value[pix], (s.high.value - s.low.value)[pix] / nsub
        for key, v in zip(EVAL_KEYS, (lo + sub * wid, lo + (sub + 1) * wid, np.full(need.size, k), region[nearest]),
                          strict=True):  # fmt: skip
            ev[key].append(v)
        weights.append(np.where(valid, w, 0.0)), index.append(pos + base)
        base += need.size
    width = max(w.shape[1] for w in weights)
    pad = lambda x, fill: np.pad(x, ((0, 0), (0, width - x.shape[1])), constant_values=fill)
    out = {key: np.concatenate(v) for key, v in ev.items()}
    out["kern_w"] = np.concatenate([pad(w, 0.0) for w in weights])
    out["kern_idx"] = np.concatenate([pad(i, 0) for i in index])
    return out, with_kernel


def convolved(plan: Any, params: dict, args: dict, predict_fn) -> dict:
    """``predict_fn`` on the evaluation grid, then each component gathered through the band weights."""
    import jax.numpy as jnp

    ev = {k: v for k, v in args.items() if k not in EVAL_KEYS and k not in KERNEL_KEYS}
    ev.update(low=args["ev_low"], high=args["ev_high"], spec=args["ev_spec"], region=args["ev_region"])
    out = predict_fn(plan, params, ev)
    w, idx = args["kern_w"], args["kern_idx"]
    return {
        "total": jnp.sum(w * out["total"][idx], axis=1),
        "continuum": jnp.sum(w * out["continuum"][idx], axis=1),
        "lines": jnp.einsum("pk,pkl->pl", w, out["lines"][idx]),
    }
