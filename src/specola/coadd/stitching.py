"""Overlap-aware stitching of single-setting co-adds (gratings) into one spectrum.

The stitched grid takes, in every wavelength interval, the pixels of the most
finely sampled product covering it (no product is undersampled). Every product
is rebinned onto that grid (flux-conserving) and overlapping products are
averaged with inverse-variance weights, so the overlap gains S/N instead of
being cut at a transition wavelength. Optionally each product is first scaled
to agree with its already-stitched neighbour in the overlap (median ratio).
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Sequence

import numpy as np

from ..errors import SpectrumError
from ..resample import rebin_arrays
from ..spectrum import Spectrum

__all__ = ["stitch"]

log = logging.getLogger(__name__)


def _merged_bins(products: Sequence[Spectrum]) -> tuple[np.ndarray, np.ndarray]:
    ranges = [(p.low.value[p.good].min(), p.high.value[p.good].max()) for p in products]
    cuts = np.unique(np.concatenate(ranges))
    widths = [np.median(p.width.value[p.good] / p.wavelength.value[p.good]) for p in products]
    low, high = [], []
    last = -np.inf
    for a, b in itertools.pairwise(cuts):
        covering = [i for i, (lo, hi) in enumerate(ranges) if lo <= a and hi >= b]
        if not covering:
            continue
        p = products[min(covering, key=lambda i: widths[i])]
        centre = p.wavelength.value
        pick = (centre >= a) & (centre < b) & (p.low.value >= last)
        low.append(p.low.value[pick])
        high.append(p.high.value[pick])
        if pick.any():
            last = p.high.value[pick][-1]
    low, high = np.concatenate(low), np.concatenate(high)
    # trim residual overlaps between pieces taken from different products
    high[:-1] = np.minimum(high[:-1], low[1:])
    keep = high > low
    return low[keep], high[keep]


def stitch(products: Sequence[Spectrum], scale_overlap: bool = False) -> tuple[Spectrum, dict[str, float]]:
    """Combine co-adds of different settings, averaging (inverse variance) where they overlap.

    Parameters
    ----------
    products : sequence of Spectrum
        Co-adds with errors, one per setting, in one wavelength and flux unit.
    scale_overlap : bool
        Scale each product (in order of increasing wavelength) by the median ratio
        of the stitched spectrum to it in their overlap.

    Returns
    -------
    spectrum : Spectrum
        ``meta['n_exposures']`` and ``meta['eff_exptime']`` are summed over the products.
    factors : dict
        Scale factor applied to each product (by ``meta['setting']`` or index).
    """
    if not products:
        raise SpectrumError("nothing to stitch")
    order = sorted(range(len(products)), key=lambda i: products[i].low.value[products[i].good].min())
    products = [products[i] for i in order]
    unit, funit = products[0].wave_unit, products[0].flux_unit
    low, high = _merged_bins(products)
    n = low.size
    sw, swf, sw2v = np.zeros(n), np.zeros(n), np.zeros(n)
    n_exp, eff, dq = np.zeros(n), np.zeros(n), np.zeros(n, np.int64)
    factors = {}
    for k, p in enumerate(products):
        name = str(p.meta.get("setting", k))
        flux, var, cover = rebin_arrays(p.low.value, p.high.value, p.flux.value, p.error.value**2, p.good, low, high)
        ok = (cover >= 0.5) & np.isfinite(flux) & (var > 0)
        factor = 1.0
        overlap = ok & (sw > 0)
        if scale_overlap and overlap.sum() >= 5:
            current = swf[overlap] / sw[overlap]
            if np.all(current > 0) and np.all(flux[overlap] > 0):
                ratio = np.median(current / flux[overlap])
            else:
                ratio = np.median(current) / np.median(flux[overlap])
            if np.isfinite(ratio) and ratio > 0:
                factor = float(ratio)
                log.info("stitch: %s scaled by %.4f to agree in the overlap", name, factor)
        factors[name] = factor
        flux, var = flux * factor, var * factor**2
        w = np.where(ok, 1.0 / np.where(ok, var, 1.0), 0.0)
        sw += w
        swf += w * np.where(ok, flux, 0.0)
        sw2v += w * w * np.where(ok, var, 0.0)
        for key, acc in (("n_exposures", n_exp), ("eff_exptime", eff)):
            if key in p.meta:
                vals = rebin_arrays(p.low.value, p.high.value, np.asarray(p.meta[key], float), None, p.good, low, high)[
                    0
                ]
                acc += np.where(ok, np.nan_to_num(vals), 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        flux = np.where(sw > 0, swf / sw, 0.0)
        err = np.where(sw > 0, np.sqrt(sw2v) / sw, 0.0)
        snr = np.where(err > 0, flux / err, 0.0)
    meta = {
        "settings": [str(p.meta.get("setting")) for p in products],
        "n_exposures": np.rint(n_exp).astype(int),
        "eff_exptime": eff,
        "dq": dq,
        "snr": snr,
        "stitch_factors": factors,
        "decisions": [d for p in products for d in p.meta.get("decisions", [])],
    }
    return Spectrum(low * unit, high * unit, flux * funit, err * funit, sw <= 0, meta=meta), factors
