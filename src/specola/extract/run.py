"""The extraction stage: ``config -> run(config) -> ExtractResult``.

Steps: read (or take) frames; remove the bias and build a variance plane for
raw frames; a first trace on the raw frames; the background in windows beside
it; the final trace on the background-subtracted frames; aperture sums; a
spline profile fitted over the pixel table of every integration; optimal
extraction with outlier rejection; the wavelength solution.
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import astropy.units as u
import numpy as np

from ..errors import ConfigError
from ..io.frames import Frames, read_frames
from ..spectrum import Spectrum, SpectrumSeries
from .aperture import aperture_extract, aperture_weights
from .background import BackgroundFit, fit_background
from .calibrate import raw_variance, subtract_bias
from .config import ExtractConfig
from .optimal import OptimalResult, optimal_extract
from .psf import PixelTable, ProfileModel, fit_profile, pixel_table
from .trace import Trace, nanmedian, trace_frames
from .wavelength import series_columns, wavelength_at_trace

__all__ = ["ExtractResult", "extract", "run"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, eq=False)
class ExtractResult:
    """Everything the extraction produced.

    Attributes
    ----------
    config : ExtractConfig
        The resolved configuration.
    columns : ndarray
        Detector columns extracted (0-based, full frame).
    flux, error, mask : ndarray
        ``(n_ints, n_columns)`` adopted extraction (optimal when enabled, else aperture); mask True = bad.
    aperture_flux, aperture_error, aperture_mask : ndarray
        The boxcar extraction.
    unit : Unit
        Unit of the fluxes (counts or count rate summed over the aperture, per column).
    trace : Trace
        Trace in the extracted sub-frame (add ``columns[0]`` for detector columns along x).
    background : BackgroundFit or None
    profile : ProfileModel or None
    table : PixelTable or None
    optimal : OptimalResult or None
    wavelength : Quantity or None
        Per extracted column.
    series : SpectrumSeries or None
        The adopted extraction on wavelength edges (increasing), when a wavelength solution exists.
    frames : Frames
        The calibrated (bias-subtracted) input in the extracted columns.
    meta : dict
        File and run facts.
    """

    config: ExtractConfig
    columns: np.ndarray
    flux: np.ndarray
    error: np.ndarray
    mask: np.ndarray
    aperture_flux: np.ndarray
    aperture_error: np.ndarray
    aperture_mask: np.ndarray
    unit: u.UnitBase
    trace: Trace
    background: BackgroundFit | None
    profile: ProfileModel | None
    table: PixelTable | None
    optimal: OptimalResult | None
    wavelength: u.Quantity | None
    series: SpectrumSeries | None
    frames: Frames
    meta: dict

    @property
    def snr(self) -> np.ndarray:
        """``flux / error`` of the adopted extraction."""
        return np.where(self.error > 0, self.flux / np.where(self.error > 0, self.error, 1.0), 0.0)

    def mean_spectrum(self) -> Spectrum | None:
        """Inverse-variance weighted mean over integrations, on wavelength edges (None without wavelengths)."""
        if self.series is None:
            return None
        s = self.series
        good = ~s.mask
        ivar = np.where(good, 1.0 / np.where(good, s.error.value, 1.0) ** 2, 0.0)
        wsum = ivar.sum(axis=0)
        ok = wsum > 0
        flux = np.where(ok, (ivar * np.nan_to_num(s.flux.value)).sum(0) / np.where(ok, wsum, 1.0), np.nan)
        err = np.where(ok, 1.0 / np.sqrt(np.where(ok, wsum, 1.0)), np.nan)
        return Spectrum(s.low, s.high, flux * s.flux.unit, err * s.flux.unit, ~ok, meta=dict(s.meta))

    def write(self, run: Any) -> list[Path]:
        """Write the series, the mean spectrum, a pixel table and QC figures into a run folder.

        Parameters
        ----------
        run : RunFolder
            Destination (``config.toml``/``run.json`` are the caller's job: ``run.record``).

        Returns
        -------
        list of Path
        """
        from .products import write_products

        return write_products(self, run)


def _restrict(frames: Frames, cfg: ExtractConfig) -> tuple[Frames, np.ndarray]:
    n_ints, _, n_disp = frames.shape
    cols = cfg.input.columns
    ints = cfg.input.integrations
    for name, rng, n in (("input.columns", cols, n_disp), ("input.integrations", ints, n_ints)):
        if rng and (len(rng) != 2 or not 0 <= rng[0] < rng[1] <= n):
            raise ConfigError(f"{name}: give [start, stop) within 0..{n}, got {list(rng)}")
    c0, c1 = cols if cols else (0, n_disp)
    i0, i1 = ints if ints else (0, n_ints)
    sub = lambda a: None if a is None else a[i0:i1, :, c0:c1]
    wmap = None if frames.wavelength is None else frames.wavelength
    times = None if frames.times is None else frames.times[i0:i1]
    out = dataclasses.replace(
        frames, data=sub(frames.data), variance=sub(frames.variance), mask=sub(frames.mask), times=times
    )
    return dataclasses.replace(out, wavelength=wmap), np.arange(c0, c1)


def _calibrate(frames: Frames, cfg: ExtractConfig) -> tuple[Frames, float | None, float]:
    """Bias-subtract raw frames and give them a variance; returns (frames, gain or None, read noise)."""
    det = cfg.detector
    if frames.variance is not None:
        return frames, None, 0.0
    gain = det.gain or float(frames.meta.get("gain", 0) or 0)
    if not gain > 0:
        raise ConfigError(
            f"{frames.meta.get('file', 'input')}: raw frame without a variance plane or GAIN keyword; "
            "set detector.gain (e-/ADU) and detector.read_noise (e-)"
        )
    rn = det.read_noise or float(frames.meta.get("read_noise", 0) or 0)
    data, bias = subtract_bias(frames.data, det.bias, det.bias_level, det.bias_region)
    var = raw_variance(data, gain, rn)
    meta = {**frames.meta, "gain": gain, "read_noise": rn, "bias_median": float(np.median(bias))}
    return dataclasses.replace(frames, data=data, variance=var, meta=meta), gain, rn


def extract(frames: Frames, config: ExtractConfig | None = None) -> ExtractResult:
    """Extract spectra from frames already in memory.

    Parameters
    ----------
    frames : Frames
        ``(n_ints, n_spatial, n_dispersion)`` data, variance (or None for raw), mask.
    config : ExtractConfig, optional
        Defaults when None.

    Returns
    -------
    ExtractResult
    """
    cfg = config or ExtractConfig()
    frames, columns = _restrict(frames, cfg)
    frames, gain, rn = _calibrate(frames, cfg)
    data, var, mask = frames.data, frames.variance, frames.mask.copy()
    n_spatial = data.shape[1]
    tc, bc = cfg.trace, cfg.background
    guess = None if tc.guess < 0 else float(tc.guess)
    trace_args = dict(
        halfwidth=tc.halfwidth, bin_columns=tc.bin_columns, degree=tc.degree, sigma=tc.sigma, min_snr=tc.min_snr
    )
    background = None
    sky = np.zeros_like(data)
    if bc.enabled:
        # a first trace on frames with a crude per-column sky (median of each column) removed
        crude = data - np.nan_to_num(nanmedian(np.where(mask, np.nan, data), axis=1, keepdims=True))
        first = trace_frames(crude, var, mask, guess=guess, **trace_args)
        if bc.outer <= bc.inner:
            raise ConfigError(f"background.outer ({bc.outer}) must exceed background.inner ({bc.inner})")
        background = fit_background(data, var, mask, first.positions, bc.inner, bc.outer, bc.degree, bc.sigma, bc.niter)
        sky = background.model
        guess = float(np.median(first.positions))
    sub = data - sky
    trace = trace_frames(sub, var, mask, guess=guess, fit_shifts=tc.shifts, **trace_args)
    pos = trace.positions
    radius = cfg.aperture.radius
    weights = aperture_weights(pos, n_spatial, radius)
    ap_flux, ap_var, ap_bad = aperture_extract(sub, var, pos, radius, mask)
    profile = table = opt = None
    if cfg.optimal.enabled:
        pc = cfg.psf
        use_model = cfg.optimal.variance == "model" or (cfg.optimal.variance == "auto" and gain is not None)
        if use_model and gain is None:
            raise ConfigError("optimal.variance = 'model' needs a raw frame with detector.gain")
        # pass 1 normalises the pixel table by the aperture sums; pass 2 by the optimal fluxes, with the
        # outliers of pass 1 masked (an outlier inside the aperture would spoil its column's aperture sum)
        norm, norm_var, fit_mask = ap_flux, ap_var, mask
        for _ in range(2):
            table = pixel_table(sub, var, fit_mask, pos, radius + 0.5, norm, norm_var, pc.min_snr)
            profile = fit_profile(
                table, pc.kind, radius + 0.5, pc.oversample, pc.knot_columns, pc.column_radius, pc.clip, pc.niter
            )
            prof = profile.frames(pos, n_spatial, weights)
            opt = optimal_extract(
                sub,
                var,
                mask,
                prof,
                weights,
                cfg.optimal.clip,
                cfg.optimal.max_reject,
                sky=sky,
                gain=gain if use_model else None,
                read_noise=rn,
            )
            norm, norm_var, fit_mask = opt.flux, opt.variance, mask | opt.outliers
        # aperture sums with bad pixels and outliers replaced by the profile model
        bad_pix = mask | opt.outliers
        fixed = np.where(bad_pix, opt.model, sub)
        ap_flux = np.sum(weights * np.where(np.isfinite(fixed), fixed, 0.0), axis=1)
        lost = np.sum(np.where(bad_pix, weights * prof, 0.0), axis=1)
        ap_bad = (lost > 0.5) | (np.sum(weights, axis=1) < 2 * radius - 1e-9)
    if background is not None:
        ap_var = ap_var + background.extra_variance(weights)
    if opt is not None:
        opt_var = opt.variance + (0.0 if background is None else background.extra_variance(opt.weights))
        flux, err, bad = opt.flux, np.sqrt(opt_var), opt.bad
    else:
        flux, err, bad = ap_flux, np.sqrt(ap_var), ap_bad
    wl = cfg.wavelength
    wavelength = wavelength_at_trace(
        wl.source, columns, np.mean(pos, axis=0), frames.wavelength, wl.coefficients, wl.unit
    )
    meta = {
        **frames.meta,
        "stage": "extract",
        "method": "optimal" if opt is not None else "aperture",
        "aperture_radius": radius,
        "flux_note": "counts summed over the aperture per detector column",
    }
    series = None
    if wavelength is not None:
        idx, low, high = series_columns(wavelength)
        series = SpectrumSeries(
            low,
            high,
            flux[:, idx] * frames.unit,
            err[:, idx] * frames.unit,
            bad[:, idx] | ~np.isfinite(flux[:, idx]),
            times=frames.times,
            meta={**meta, "columns": columns[idx].tolist()},
        )
    return ExtractResult(
        cfg,
        columns,
        flux,
        err,
        bad,
        ap_flux,
        np.sqrt(ap_var),
        ap_bad,
        frames.unit,
        trace,
        background,
        profile,
        table,
        opt,
        wavelength,
        series,
        frames,
        meta,
    )


def run(config: ExtractConfig, base: str | Path | None = None) -> ExtractResult:
    """Read ``config.input.file`` and extract it.

    Parameters
    ----------
    config : ExtractConfig
        The resolved configuration.
    base : str or Path, optional
        Folder that a relative ``input.file`` is relative to (the config file's folder).

    Returns
    -------
    ExtractResult
    """
    if not config.input.file:
        raise ConfigError("input.file is empty: name the FITS frame or cube to extract")
    path = Path(config.input.file)
    if base is not None and not path.is_absolute():
        path = Path(base) / path
    frames = read_frames(path, config.input.dispersion_axis, config.input.dq_bad_bits)
    log.info("read %s: %d integration(s) of %d x %d", path.name, *frames.shape)
    return extract(frames, config)
