"""From the user's input to the spectrum that is fitted: median of a time series, masks, Fscale guess."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import astropy.units as u
import numpy as np

from ..errors import ConfigError, SpectrumError
from ..spectrum import Spectrum, SpectrumSeries

__all__ = ["Preprocessed", "apply_wavelength_selection", "checked_ranges", "fscale_guess", "median_spectrum"]

log = logging.getLogger(__name__)


@dataclass
class Preprocessed:
    """The spectrum to fit and what is needed to draw the preprocessing figures.

    Attributes
    ----------
    spectrum : Spectrum
        Spectrum before wavelength masking (the median spectrum for a time series).
    fitted : Spectrum
        Spectrum with ``wave_ranges_masked`` and the wavelength range applied (mask True = not fitted).
    series : SpectrumSeries or None
        The time series, if the input was one.
    time_excluded : ndarray of bool or None
        True for the spectra left out of the median.
    """

    spectrum: Spectrum
    fitted: Spectrum
    series: SpectrumSeries | None = None
    time_excluded: np.ndarray | None = None
    notes: dict[str, Any] = field(default_factory=dict)


def median_spectrum(series: SpectrumSeries, time_ranges: Sequence[Sequence[float]]) -> tuple[Spectrum, np.ndarray]:
    """Median spectrum of a series over the times outside ``time_ranges``.

    Parameters
    ----------
    series : SpectrumSeries
        The time series (needs ``times`` when ranges are given).
    time_ranges : sequence of (start, end)
        Intervals to leave out (in transit, flares); may be empty.

    Returns
    -------
    (Spectrum, ndarray of bool)
        The median spectrum and the excluded-times mask.

    Raises
    ------
    ConfigError
        When every time is excluded (names ``preprocessing.time_ranges_masked``).
    """
    ranges = checked_ranges(time_ranges, "preprocessing.time_ranges_masked")
    if ranges.size and series.times is None:
        raise ConfigError("preprocessing.time_ranges_masked is set but the time series has no times")
    excluded = series.time_mask(ranges) if ranges.size else np.zeros(series.n_times, bool)
    if excluded.all():
        raise ConfigError(
            f"preprocessing.time_ranges_masked excludes all {series.n_times} spectra; keep some out-of-transit times"
        )
    spec = series.median(exclude_times=excluded)
    log.info("median spectrum from %d of %d spectra", int((~excluded).sum()), series.n_times)
    return spec, excluded


def checked_ranges(ranges: Sequence[Sequence[float]], option: str) -> np.ndarray:
    """``[[start, end], ...]`` as an ``(n, 2)`` array; a reversed or malformed range names the option."""
    try:
        arr = np.asarray(ranges, float).reshape(-1, 2)
    except ValueError:
        raise ConfigError(f"{option}: expected [[start, end], ...], got {ranges!r}") from None
    for start, end in arr:
        if not start < end:
            raise ConfigError(
                f"{option}: range [{start:g}, {end:g}] is reversed or empty; write [start, end], start < end"
            )
    return arr


def _to_grid_flux_unit(spectrum: Spectrum, grid_unit: u.UnitBase) -> Spectrum:
    """Express f_nu data as f_lambda in the grid's unit family; keep scaled f_lambda units as they are."""
    unit = spectrum.flux_unit
    if unit == u.dimensionless_unscaled or unit.is_equivalent(grid_unit):
        return spectrum
    try:
        (1.0 * unit).to(grid_unit, u.spectral_density(1.0 * u.um))
    except u.UnitConversionError:
        return spectrum  # counts or unknown: the flux scale absorbs it
    return spectrum.to_flux_unit(grid_unit)


def apply_wavelength_selection(
    spectrum: Spectrum,
    wave_ranges_masked: Sequence[Sequence[float]],
    wave_range: Sequence[float],
    grid_wave: tuple[float, float],
    grid_unit: u.UnitBase = u.erg / u.s / u.cm**2 / u.um,
) -> Spectrum:
    """Mask the user's wavelength intervals and keep pixels inside ``wave_range`` and the grid.

    Parameters
    ----------
    spectrum : Spectrum
        Input spectrum (micron-convertible wavelengths).
    wave_ranges_masked : sequence of (start, end)
        Intervals (micron) to leave out; may be empty.
    wave_range : sequence
        ``[min, max]`` (micron) to fit, or empty for everything.
    grid_wave : (float, float)
        Wavelength coverage of the model grid (micron).
    grid_unit : Unit
        Grid flux unit (f_nu data are converted to it).

    Returns
    -------
    Spectrum
        Pixels outside the selection are dropped; masked pixels inside it stay masked.

    Raises
    ------
    SpectrumError
        All-NaN data, no overlap with the grid, or nothing left after masking (naming the option).
    """
    spec = _to_grid_flux_unit(spectrum.to_wave_unit(u.um), grid_unit)
    if not np.any(np.isfinite(spec.flux.value)):
        raise SpectrumError("the spectrum's flux is NaN everywhere; check inputs.spectrum_path / the reader")
    if spec.error is None:
        raise SpectrumError("the spectrum has no uncertainties; a likelihood fit needs errors (check the reader)")
    lo, hi = spec.low.value, spec.high.value
    inside = (lo >= grid_wave[0]) & (hi <= grid_wave[1])
    if not np.any(inside & spec.good):
        raise SpectrumError(
            f"the spectrum ({lo.min():.3g}-{hi.max():.3g} um) does not overlap the model grid "
            f"({grid_wave[0]:.3g}-{grid_wave[1]:.3g} um); change inputs.grid_path or inputs.spectrum_path"
        )
    keep = inside
    if len(wave_range):
        if len(wave_range) != 2 or wave_range[1] <= wave_range[0]:
            raise ConfigError(f"grid.wave_range must be [min, max] in micron, got {list(wave_range)}")
        keep = keep & (lo >= wave_range[0]) & (hi <= wave_range[1])
    if not np.any(keep & spec.good):
        raise SpectrumError(
            f"no valid pixel inside grid.wave_range {list(wave_range)} and the grid's coverage "
            f"({grid_wave[0]:.3g}-{grid_wave[1]:.3g} um); widen grid.wave_range"
        )
    if not np.all(inside | ~spec.good):
        n_out = int((~inside & spec.good).sum())
        log.info("%d valid pixels lie outside the grid's wavelengths and are not fitted", n_out)
    spec = spec[keep]
    ranges = checked_ranges(wave_ranges_masked, "preprocessing.wave_ranges_masked")
    if ranges.size:
        spec = spec.mask_ranges(ranges, unit=u.um)
    if not spec.good.any():
        raise SpectrumError("preprocessing.wave_ranges_masked masks every pixel; nothing is left to fit")
    return spec


def fscale_guess(data: np.ndarray, model: np.ndarray, centres: np.ndarray, band: Sequence[float]) -> float:
    """Median data / model ratio in a wavelength band (the peer's starting Fscale).

    Parameters
    ----------
    data, model : ndarray
        Observed and model flux on the same pixels (NaN = masked).
    centres : ndarray
        Pixel centres (micron).
    band : (float, float)
        Band used (micron); falls back to the whole spectrum when no valid pixel lies in it.

    Returns
    -------
    float
    """
    ok = np.isfinite(data) & np.isfinite(model) & (model > 0)
    sel = ok & (centres > band[0]) & (centres < band[1])
    if not sel.any():
        log.warning("no valid pixel in preprocessing.fscale_band %s; using the whole spectrum", list(band))
        sel = ok
    ratio = np.median(data[sel]) / np.median(model[sel])
    if not np.isfinite(ratio) or ratio <= 0:
        raise SpectrumError(
            f"cannot guess Fscale: median flux ratio in {list(band)} um is {ratio:g}; "
            "check the data or change preprocessing.fscale_band"
        )
    return float(ratio)
