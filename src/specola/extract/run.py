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
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import astropy.units as u
import numpy as np

from ..errors import ConfigError, SpecolaWarning, SpectrumError
from ..io.frames import Frames, read_frames
from ..runs import run_stage
from ..spectrum import Spectrum, SpectrumSeries
from .aperture import aperture_extract, aperture_weights
from .background import BackgroundFit, destripe, fit_background
from .calibrate import raw_variance, subtract_bias
from .config import ExtractConfig
from .empirical import EmpiricalProfile, fit_empirical_profile
from .optimal import OptimalResult, VarianceModel, horne_extract
from .psf import PixelTable, ProfileModel, fit_profile, pixel_table
from .threads import serial_blas
from .trace import Trace, nanmedian, trace_frames
from .wavelength import series_columns, wavelength_at_trace

__all__ = ["ExtractResult", "extract", "run", "run_to_folder"]

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
    sky : ndarray
        Subtracted background and 1/f stripes (broadcastable to the frames).
    profile : EmpiricalProfile or ProfileModel or None
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
    sky: np.ndarray
    profile: EmpiricalProfile | ProfileModel | None
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

    def summary(self) -> str:
        """One line: integrations x columns, method, profile, median S/N, outliers (what the CLI prints)."""
        snr = float(np.nanmedian(np.where(self.mask, np.nan, self.snr))) if (~self.mask).any() else float("nan")
        n_out = 0 if self.optimal is None else int(self.optimal.outliers.sum())
        return (
            f"extracted {self.flux.shape[0]} integration(s) x {self.flux.shape[1]} columns "
            f"({self.meta['method']}, {self.meta['profile']} profile, median S/N {snr:.1f}, "
            f"{n_out} outlier pixels, {int(self.mask.sum())} masked points)"
        )

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


def _warn(message: str) -> None:
    warnings.warn(message, SpecolaWarning, stacklevel=3)


def check_frames(frames: Frames) -> Frames:
    """Validate shapes and mask unusable pixels (non-finite data or variance, negative variance), with a warning.

    Parameters
    ----------
    frames : Frames

    Returns
    -------
    Frames
        With those pixels added to ``mask``.

    Raises
    ------
    SpectrumError
        If ``data`` is not ``(n_ints, n_spatial, n_dispersion)`` or ``variance``/``mask`` differ in shape.
    """
    data = np.asarray(frames.data, float)
    if data.ndim != 3 or min(data.shape) < 1:
        raise SpectrumError(f"frames.data: expected a (n_ints, n_spatial, n_dispersion) cube, got shape {data.shape}")
    for name in ("variance", "mask"):
        a = getattr(frames, name)
        if a is not None and np.shape(a) != data.shape:
            raise SpectrumError(f"frames.{name}: shape {np.shape(a)} differs from data {data.shape}")
    mask = np.asarray(frames.mask, bool) | ~np.isfinite(data)
    variance = frames.variance
    if variance is not None:
        variance = np.asarray(variance, float)
        negative = variance < 0
        if negative.any():
            _warn(f"{int(negative.sum())} pixels with a negative variance masked")
        mask |= ~np.isfinite(variance) | negative
    n_new = int(mask.sum() - np.asarray(frames.mask, bool).sum())
    if n_new:
        log.info("%d non-finite or negative-variance pixels masked", n_new)
    return dataclasses.replace(frames, data=data, variance=variance, mask=mask)


def _restrict(frames: Frames, cfg: ExtractConfig) -> tuple[Frames, np.ndarray]:
    n_ints, _, n_disp = frames.shape
    cols = cfg.input.columns
    ints = cfg.input.integrations
    for name, rng, n in (("input.columns", cols, n_disp), ("input.integrations", ints, n_ints)):
        if rng and (len(rng) != 2 or not 0 <= rng[0] < rng[1] <= n):
            raise ConfigError(f"{name}: give [start, stop) within 0..{n}, got {list(rng)}")
    c0, c1 = cols if cols else (0, n_disp)
    i0, i1 = ints if ints else (0, n_ints)

    def sub(a: np.ndarray | None) -> np.ndarray | None:
        return None if a is None else a[i0:i1, :, c0:c1]

    times = None if frames.times is None else frames.times[i0:i1]
    out = dataclasses.replace(
        frames, data=sub(frames.data), variance=sub(frames.variance), mask=sub(frames.mask), times=times
    )
    return out, np.arange(c0, c1)


def _calibrate(frames: Frames, cfg: ExtractConfig) -> tuple[Frames, VarianceModel | None]:
    """Bias-subtract raw frames (on the full frame, overscan included) and give them a variance.

    Returns the frames and the model of their pixel variance (None with ``optimal.variance = "data"``).
    """
    det = cfg.detector
    want_model = cfg.optimal.variance == "model"
    if frames.variance is not None:
        return frames, fit_variance_model(frames) if want_model else None
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
    out = dataclasses.replace(frames, data=data, variance=var, meta=meta)
    return out, VarianceModel((rn / gain) ** 2, 1.0 / gain) if want_model else None


def fit_variance_model(frames: Frames) -> VarianceModel | None:
    """Model of a variance plane as ``floor + scale * max(data, 0)`` (Horne's variance for calibrated cubes).

    The scale is a robust slope over the good pixels (medians of faint and bright pixels); the floor is, per
    pixel, the mean over integrations
    of ``variance - scale * max(data, 0)`` (a single value for fewer than 5 integrations). Returns None (data
    variances are used) when the plane does not grow with the counts.

    Parameters
    ----------
    frames : Frames

    Returns
    -------
    VarianceModel or None
    """
    good = ~frames.mask
    d = np.maximum(np.where(good, frames.data, 0.0), 0.0)
    v = np.where(good, frames.variance, 0.0)
    step = max(good.size // 400_000, 1)
    dd, vv = d.ravel()[::step][good.ravel()[::step]], v.ravel()[::step][good.ravel()[::step]]
    if dd.size < 10 or np.ptp(dd) <= 0:
        return None
    # robust two-point slope between the medians of faint and bright pixels (hot pixels cannot pull it)
    q = np.percentile(dd, [25, 50, 75, 95])
    lo, hi = (dd >= q[0]) & (dd <= q[1]), (dd >= q[2]) & (dd <= q[3])
    if not (lo.any() and hi.any()) or np.median(dd[hi]) <= np.median(dd[lo]):
        return None
    scale = (np.median(vv[hi]) - np.median(vv[lo])) / (np.median(dd[hi]) - np.median(dd[lo]))
    floor = np.median(vv[lo]) - scale * np.median(dd[lo])
    if not scale > 0:
        log.warning("variance plane does not grow with the counts: data variances used")
        return None
    if frames.n_ints >= 5:
        resid = np.where(good, v - scale * d, 0.0)
        n = good.sum(axis=0)
        floor = np.where(n > 0, resid.sum(axis=0) / np.maximum(n, 1), max(floor, 0.0))
    return VarianceModel(np.maximum(floor, 0.0), float(scale))


def _trace_and_background(frames: Frames, cfg: ExtractConfig) -> tuple[Trace, BackgroundFit | None, np.ndarray]:
    """First trace, 1/f stripes, background and the final trace; returns (trace, background, sky incl. stripes)."""
    data, var, mask = frames.data, frames.variance, frames.mask
    bc = cfg.background
    if bc.outer <= bc.inner:
        raise ConfigError(f"background.outer ({bc.outer}) must exceed background.inner ({bc.inner})")
    if not (bc.enabled or bc.destripe != "none"):
        return trace_frames(data, var, mask, cfg.trace), None, np.zeros((1, 1, 1))
    # a first trace on frames with a crude per-column sky (median of each column) removed
    crude = data - np.nan_to_num(nanmedian(np.where(mask, np.nan, data), axis=1, keepdims=True))
    first = trace_frames(crude, var, mask, cfg.trace, shifts=False)
    sky = np.zeros((1, 1, 1))
    if bc.destripe != "none":
        _, sky = destripe(data, mask, first.positions, bc.inner, bc.destripe)
    background = None
    if bc.enabled:
        background = fit_background(data - sky, var, mask, first.positions, bc)
        sky = sky + np.nan_to_num(background.model)
        n_fail = int((background.failed & ~np.all(mask, axis=1)).sum())
        if n_fail:
            _warn(f"background: {n_fail} column(s) without enough sky pixels; they are masked")
    trace = trace_frames(data - sky, var, mask, cfg.trace, guess=float(np.median(first.positions)))
    return trace, background, sky


def _edge_columns(trace: Trace, n_spatial: int, cfg: ExtractConfig) -> np.ndarray:
    """Columns whose aperture comes within ``trace.edge`` pixels of the frame edge (flagged, never clamped)."""
    radius = cfg.aperture.radius
    if 2 * radius > n_spatial:
        raise ConfigError(f"aperture.radius = {radius} px: the aperture is wider than the frame's {n_spatial} rows")
    pos = trace.positions
    if not np.any((pos >= -0.5) & (pos <= n_spatial - 0.5)):
        raise SpectrumError(f"trace: lies outside the frame's {n_spatial} rows; set trace.guess")
    near = (pos - radius < cfg.trace.edge - 0.5) | (pos + radius > n_spatial - 0.5 - cfg.trace.edge)
    if near.any():
        _warn(f"trace: {int(near.any(axis=0).sum())} column(s) with the aperture at the frame edge; flagged")
    return near


def _choose_kind(cfg: ExtractConfig, trace: Trace) -> str:
    kind = cfg.psf.kind
    if kind != "auto":
        return kind
    # the empirical profile lives in pixel rows: good while the trace moves < 0.5 px across the column window
    mean = trace.positions.mean(axis=0)
    h = max(cfg.psf.column_radius, 1)
    drift = np.abs(mean[2 * h :] - mean[: -2 * h]) if mean.size > 2 * h else np.zeros(1)
    return "empirical" if drift.size == 0 or np.max(drift) < 0.5 else "windowed"


def _profile_pass(
    sub: np.ndarray,
    var: np.ndarray,
    good: np.ndarray,
    pos: np.ndarray,
    weights: np.ndarray,
    norm: np.ndarray,
    norm_var: np.ndarray,
    kind: str,
    cfg: ExtractConfig,
    first: bool,
) -> tuple[Any, PixelTable | None, np.ndarray]:
    """One profile fit normalised by ``norm``: (profile model, pixel table or None, normalised profile frames)."""
    pc = cfg.psf
    if kind == "empirical":
        # a noise-free normalisation for a time series (noise in it would bias the shift/width terms)
        smooth = robust_flux(norm) if sub.shape[0] >= 5 else norm
        prof = fit_empirical_profile(
            sub,
            var,
            good,
            smooth,
            weights,
            pc.column_radius,
            pc.time_terms and sub.shape[0] >= 3,
            robust=first and sub.shape[0] < 5,
        )
        return prof, None, prof.frames(weights)
    radius = cfg.aperture.radius + 0.5
    table = pixel_table(sub, var, ~good, pos, radius, norm, norm_var, pc.min_snr)
    model = fit_profile(table, radius, kind, pc)
    return model, table, model.frames(pos, sub.shape[1], weights)


def robust_flux(flux: np.ndarray) -> np.ndarray:
    """Fluxes free of cosmic rays to start outlier rejection from.

    A time series: each column's median over integrations times each integration's median ratio to it
    (keeps a transit); a single frame: a running median over 5 columns.

    Parameters
    ----------
    flux : ndarray
        ``(n_ints, n_dispersion)`` (aperture sums, NaN allowed).

    Returns
    -------
    ndarray
    """
    f = np.where(np.isfinite(flux), flux, np.nan)
    if f.shape[0] >= 5:
        col = nanmedian(f, axis=0)
        ratio = nanmedian(f / np.where(col != 0, col, np.nan), axis=1)
        out = np.nan_to_num(ratio)[:, None] * col[None, :]
    else:
        from scipy.ndimage import median_filter

        out = median_filter(np.nan_to_num(f), size=(1, 5), mode="nearest")
    return np.nan_to_num(out)


def _optimal(
    frames: Frames,
    sky: np.ndarray,
    trace: Trace,
    ap: tuple[np.ndarray, np.ndarray, np.ndarray],
    vmodel: VarianceModel | None,
    cfg: ExtractConfig,
) -> tuple[OptimalResult, Any, PixelTable | None]:
    """Two passes of profile fit + optimal extraction.

    Pass 1 normalises by the aperture sums; pass 2 by the optimal fluxes, with the outliers of pass 1 masked
    (an outlier inside the aperture spoils its column's aperture sum).
    """
    pos = trace.positions
    n_spatial = frames.shape[1]
    # only the rows the aperture reaches take part (a cube of 32 rows shrinks to ~2 * radius + 3)
    r0 = int(max(np.floor(np.nanmin(pos) - cfg.aperture.radius - 1), 0))
    r1 = int(min(np.ceil(np.nanmax(pos) + cfg.aperture.radius + 2), n_spatial))
    rows = slice(r0, r1)
    sky_rows = np.broadcast_to(sky, frames.shape)[:, rows]
    sub = frames.data[:, rows] - sky_rows
    var, mask = frames.variance[:, rows], frames.mask[:, rows]
    pos = pos - r0
    if vmodel is not None and np.ndim(vmodel.floor) == 2:
        vmodel = VarianceModel(vmodel.floor[rows], vmodel.scale)
    weights = aperture_weights(pos, r1 - r0, cfg.aperture.radius)
    kind = _choose_kind(cfg, trace)
    norm, norm_var = ap[0], ap[1]
    start = robust_flux(norm)
    good = ~mask & np.isfinite(sub)
    opt = None
    for step in range(2):
        profile, table, prof = _profile_pass(sub, var, good, pos, weights, norm, norm_var, kind, cfg, step == 0)
        opt = horne_extract(
            sub,
            var,
            mask,
            prof,
            weights,
            cfg.optimal.clip,
            cfg.optimal.max_reject,
            sky=None if vmodel is None else sky_rows,
            variance_model=vmodel,
            start=start,
        )
        norm, norm_var = np.nan_to_num(opt.flux), opt.variance
        start = norm
        good = ~mask & ~opt.outliers & np.isfinite(sub)
    log.info("optimal (%s profile): %d outliers rejected", kind, int(opt.outliers.sum()))

    def pad(a: np.ndarray) -> np.ndarray:
        out = np.zeros(frames.shape, a.dtype)
        out[:, rows] = a
        return out

    opt = dataclasses.replace(opt, profile=pad(opt.profile), outliers=pad(opt.outliers), weights=pad(opt.weights))
    if isinstance(profile, EmpiricalProfile):
        profile = dataclasses.replace(profile, row0=r0)
    if table is not None:
        table = dataclasses.replace(table, row=table.row + r0)
    return opt, profile, table


def _repaired_aperture(
    sub: np.ndarray, mask: np.ndarray, opt: OptimalResult, weights: np.ndarray, radius: float
) -> tuple[np.ndarray, np.ndarray]:
    """Aperture sums with bad pixels and outliers replaced by the profile model, and the columns that lost half."""
    bad_pix = mask | opt.outliers
    fixed = np.where(bad_pix, opt.model, sub)
    flux = np.sum(weights * np.where(np.isfinite(fixed), fixed, 0.0), axis=1)
    lost = np.sum(np.where(bad_pix, weights * opt.profile, 0.0), axis=1)
    return flux, (lost > 0.5) | (np.sum(weights, axis=1) < 2 * radius - 1e-9)


def _series(flux, err, bad, columns, wavelength, frames, meta) -> SpectrumSeries | None:
    if wavelength is None:
        return None
    idx, low, high = series_columns(wavelength)
    return SpectrumSeries(
        low,
        high,
        flux[:, idx] * frames.unit,
        err[:, idx] * frames.unit,
        bad[:, idx] | ~np.isfinite(flux[:, idx]),
        times=frames.times,
        meta={**meta, "columns": columns[idx].tolist()},
    )


@serial_blas
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
    frames = check_frames(frames)
    frames, vmodel = _calibrate(frames, cfg)
    frames, columns = _restrict(frames, cfg)
    if vmodel is not None and np.ndim(vmodel.floor) == 2:
        c0, c1 = columns[0], columns[-1] + 1
        vmodel = VarianceModel(vmodel.floor[:, c0:c1], vmodel.scale)
    trace, background, sky = _trace_and_background(frames, cfg)
    edge = _edge_columns(trace, frames.shape[1], cfg)
    sub, var, mask = frames.data - sky, frames.variance, frames.mask
    pos, radius = trace.positions, cfg.aperture.radius
    ap_flux, ap_var, ap_bad = aperture_extract(sub, var, pos, radius, cfg.aperture.uniform, mask=mask)
    failed = edge | (background.failed if background is not None else False)
    opt = profile = table = None
    if cfg.optimal.enabled:
        opt, profile, table = _optimal(frames, sky, trace, (ap_flux, ap_var, ap_bad), vmodel, cfg)
        weights = aperture_weights(pos, sub.shape[1], radius)
        ap_flux, ap_bad = _repaired_aperture(sub, mask, opt, weights, radius)
        if background is not None:
            ap_var = ap_var + background.extra_variance(weights)
        opt_var = opt.variance + (0.0 if background is None else background.extra_variance(opt.weights))
        flux, err, bad = opt.flux, np.sqrt(opt_var), opt.bad | failed
    else:
        if background is not None:
            ap_var = ap_var + background.extra_variance(aperture_weights(pos, sub.shape[1], radius))
        flux, err, bad = ap_flux, np.sqrt(ap_var), ap_bad | failed
    ap_bad = ap_bad | failed
    n_dead = int(np.all(frames.mask, axis=(0, 1)).sum())
    if n_dead:
        _warn(f"{n_dead} of {bad.shape[1]} column(s) have no good pixel; masked")
    log.info("%d of %d column(s) masked in every integration", int(np.all(bad, axis=0).sum()), bad.shape[1])
    wl = cfg.wavelength
    wavelength = wavelength_at_trace(
        wl.source, columns, np.mean(pos, axis=0), frames.wavelength, wl.coefficients, wl.unit
    )
    meta = {
        **frames.meta,
        "stage": "extract",
        "method": "optimal" if opt is not None else "aperture",
        "profile": getattr(profile, "kind", "none"),
        "variance_model": "data" if vmodel is None else "model",
        "aperture_radius": radius,
        "flux_note": "counts summed over the aperture per detector column",
    }
    return ExtractResult(
        config=cfg,
        columns=columns,
        flux=flux,
        error=err,
        mask=bad,
        aperture_flux=ap_flux,
        aperture_error=np.sqrt(ap_var),
        aperture_mask=ap_bad,
        unit=frames.unit,
        trace=trace,
        background=background,
        sky=sky,
        profile=profile,
        table=table,
        optimal=opt,
        wavelength=wavelength,
        series=_series(flux, err, bad, columns, wavelength, frames, meta),
        frames=frames,
        meta=meta,
    )


def run(config: ExtractConfig) -> ExtractResult:
    """Read ``config.input.file`` and extract it (computes only; writes nothing).

    Parameters
    ----------
    config : ExtractConfig
        The resolved configuration (relative paths already resolved by :func:`specola.config.load_config`).

    Returns
    -------
    ExtractResult
    """
    if config.input.file is None or not str(config.input.file):
        raise ConfigError("input.file is empty: name the FITS frame or cube to extract")
    path = Path(config.input.file)
    frames = read_frames(path, config.input.dispersion_axis, config.input.dq_bad_bits)
    log.info("read %s: %d integration(s) of %d x %d", path.name, *frames.shape)
    return extract(frames, config)


def run_to_folder(config: ExtractConfig, output: str | Path | None = None, *, overwrite: bool = False) -> ExtractResult:
    """Extract and write the series, tables and figures (plus ``config.toml`` and ``run.json``) into ``output``.

    Parameters
    ----------
    config : ExtractConfig
    output : str or Path, optional
        Run folder (default ``extract-<input stem>``), checked before any work.
    overwrite : bool
        Replace an earlier run there.

    Returns
    -------
    ExtractResult
    """
    stem = Path(str(config.input.file or "frames")).name.split(".")[0] or "frames"
    return run_stage("extract", config, lambda: run(config), output or f"extract-{stem}", overwrite=overwrite)
