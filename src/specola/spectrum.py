"""The one spectrum model every specola stage passes around.

A :class:`Spectrum` is a set of pixels, each with explicit wavelength edges
(``low``, ``high``), a flux density, an optional symmetric ``error`` (and
optional asymmetric ``error_low`` / ``error_high``), a boolean ``mask`` and a
``meta`` dict. **mask is True for bad pixels.** Arrays are read-only; every
operation returns a new spectrum.

Units are astropy units: the wavelength may be any length unit, the flux any
unit (f_lambda, f_nu, counts, ...); :meth:`Spectrum.to_flux_unit` converts
between spectral flux densities.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import astropy.units as u
import numpy as np

from .errors import SpectrumError
from .resample import bind_resolution, convolution_matrix, rebin_arrays

__all__ = ["Spectrum", "SpectrumSeries", "edges_from_centres"]

ResolutionLike = float | np.ndarray | Callable[[np.ndarray], np.ndarray]


def edges_from_centres(centres: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Derive contiguous bin edges from sorted pixel centres (midpoints).

    The first and last half-widths mirror their neighbours.

    Examples
    --------
    >>> lo, hi = edges_from_centres(np.array([1.0, 2.0, 4.0]))
    >>> lo.tolist(), hi.tolist()
    ([0.5, 1.5, 3.0], [1.5, 3.0, 5.0])
    """
    c = np.asarray(centres, float)
    if c.ndim != 1 or c.size < 2:
        raise SpectrumError(f"need at least two pixel centres to derive edges, got shape {c.shape}")
    if np.any(np.diff(c) <= 0):
        raise SpectrumError("pixel centres must be strictly increasing to derive bin edges")
    mid = 0.5 * (c[1:] + c[:-1])
    low = np.concatenate([[c[0] - (mid[0] - c[0])], mid])
    high = np.concatenate([mid, [c[-1] + (c[-1] - mid[-1])]])
    return low, high


def _readonly(a: np.ndarray) -> np.ndarray:
    """A read-only copy of an array or Quantity."""
    a = a.copy() if isinstance(a, np.ndarray) else np.array(a)
    a.flags.writeable = False
    return a


def _as_quantity(value: Any, unit: u.UnitBase | None, name: str) -> u.Quantity:
    if isinstance(value, u.Quantity):
        return value if unit is None else value.to(unit)
    return u.Quantity(np.asarray(value, float), unit if unit is not None else u.dimensionless_unscaled)


@dataclass(frozen=True, eq=False)
class Spectrum:
    """A binned 1-D spectrum with explicit pixel edges.

    Parameters
    ----------
    low, high : Quantity
        Lower and upper wavelength edge of each pixel (length units). Pixels
        are sorted by wavelength and do not overlap; gaps are allowed.
    flux : Quantity
        Flux density per pixel (any unit; plain arrays become dimensionless).
    error : Quantity, optional
        1-sigma uncertainty, same unit as ``flux``. When only ``error_low`` and
        ``error_high`` are given, ``error`` is their mean.
    mask : ndarray of bool, optional
        True marks a **bad** pixel. Non-finite flux or error values are always
        masked.
    error_low, error_high : Quantity, optional
        Asymmetric uncertainties (lower and upper), same unit as ``flux``.
    meta : dict, optional
        Free-form metadata (instrument, target, exptime, redshift, provenance...).

    Examples
    --------
    >>> import astropy.units as u
    >>> s = Spectrum.from_centres([1.0, 2.0, 3.0] * u.um, [1.0, 2.0, 3.0] * u.Jy, error=[0.1, 0.1, 0.1] * u.Jy)
    >>> s.wavelength
    <Quantity [1., 2., 3.] micron>
    """

    low: u.Quantity
    high: u.Quantity
    flux: u.Quantity
    error: u.Quantity | None = None
    mask: np.ndarray | None = None
    error_low: u.Quantity | None = None
    error_high: u.Quantity | None = None
    meta: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.low, u.Quantity) or not self.low.unit.is_equivalent(u.m):
            raise SpectrumError(f"low must be a Quantity with a length unit, got {self.low!r:.60}")
        low = self.low
        high = _as_quantity(self.high, low.unit, "high")
        flux = _as_quantity(self.flux, None, "flux")
        n = low.size
        if low.ndim != 1 or high.shape != (n,) or flux.shape != (n,):
            raise SpectrumError(
                f"low, high and flux must be 1-D of one length, got {low.shape}, {high.shape}, {flux.shape}"
            )
        if n and (np.any(~np.isfinite(low.value)) or np.any(~np.isfinite(high.value))):
            raise SpectrumError("bin edges must be finite")
        if n and np.any(low.value < 0):
            raise SpectrumError(f"wavelengths must be positive; {int(np.sum(low.value < 0))} pixel edges are negative")
        if np.any(high <= low):
            raise SpectrumError(f"every pixel needs high > low; {int(np.sum(high <= low))} pixels do not")
        if n > 1 and np.any(low[1:] < high[:-1]):
            raise SpectrumError("pixels must be sorted by wavelength and must not overlap")

        def same_unit(value, name):
            if value is None:
                return None
            q = value if isinstance(value, u.Quantity) else u.Quantity(np.asarray(value, float), flux.unit)
            if not q.unit.is_equivalent(flux.unit):
                raise SpectrumError(f"flux and {name} must have compatible units, got {flux.unit!r} and {q.unit!r}")
            q = q.to(flux.unit)
            if q.shape != (n,):
                raise SpectrumError(f"{name} must have shape {(n,)}, got {q.shape}")
            return q

        error_low = same_unit(self.error_low, "error_low")
        error_high = same_unit(self.error_high, "error_high")
        error = same_unit(self.error, "error")
        if (error_low is None) != (error_high is None):
            raise SpectrumError("give both error_low and error_high, or neither")
        if error is None and error_low is not None:
            error = 0.5 * (error_low + error_high)
        mask = np.zeros(n, bool) if self.mask is None else np.asarray(self.mask, bool)
        if mask.shape != (n,):
            raise SpectrumError(f"mask must have shape {(n,)}, got {mask.shape}")
        mask = mask | ~np.isfinite(flux.value)
        for e in (error, error_low, error_high):
            if e is not None:
                mask = mask | ~np.isfinite(e.value) | (e.value < 0)
        ro = lambda q: None if q is None else _readonly(q)
        for name, value in [
            ("low", low),
            ("high", high),
            ("flux", flux),
            ("error", error),
            ("error_low", error_low),
            ("error_high", error_high),
        ]:
            object.__setattr__(self, name, ro(value))
        object.__setattr__(self, "mask", _readonly(mask))
        object.__setattr__(self, "meta", dict(self.meta))

    # ------------------------------------------------------------------ constructors
    @classmethod
    def from_centres(cls, wavelength: u.Quantity, flux: u.Quantity, **kwargs: Any) -> Spectrum:
        """Build a spectrum from pixel centres, deriving contiguous edges (midpoints).

        Parameters
        ----------
        wavelength : Quantity
            Strictly increasing pixel centres.
        flux : Quantity
            Flux densities.
        **kwargs
            Any other :class:`Spectrum` field (``error``, ``mask``, ``meta``...).

        Returns
        -------
        Spectrum
        """
        wavelength = u.Quantity(wavelength)
        low, high = edges_from_centres(wavelength.value)
        return cls(low * wavelength.unit, high * wavelength.unit, flux, **kwargs)

    @classmethod
    def from_edges(cls, edges: u.Quantity, flux: u.Quantity, **kwargs: Any) -> Spectrum:
        """Build a spectrum on contiguous bins from ``n + 1`` edges.

        Parameters
        ----------
        edges : Quantity
            Increasing bin edges, one more than ``flux``.
        flux : Quantity
            Flux densities.
        **kwargs
            Any other :class:`Spectrum` field.

        Returns
        -------
        Spectrum
        """
        edges = u.Quantity(edges)
        return cls(edges[:-1], edges[1:], flux, **kwargs)

    # ------------------------------------------------------------------ derived views
    def __len__(self) -> int:
        return self.low.size

    def __repr__(self) -> str:
        rng = f"{self.low[0].value:.6g}-{self.high[-1].value:.6g} {self.wave_unit}" if len(self) else "empty"
        return (
            f"<Spectrum {len(self)} pixels, {rng}, flux [{self.flux_unit}], "
            f"{int(self.mask.sum())} masked{', ' + str(self.meta['target']) if 'target' in self.meta else ''}>"
        )

    @property
    def wavelength(self) -> u.Quantity:
        """Pixel centres, ``(low + high) / 2``."""
        return 0.5 * (self.low + self.high)

    @property
    def width(self) -> u.Quantity:
        """Pixel widths, ``high - low``."""
        return self.high - self.low

    @property
    def wave_unit(self) -> u.UnitBase:
        """Unit of the wavelength edges."""
        return self.low.unit

    @property
    def flux_unit(self) -> u.UnitBase:
        """Unit of flux and errors."""
        return self.flux.unit

    @property
    def good(self) -> np.ndarray:
        """Boolean array, True for pixels that are not masked."""
        return ~self.mask

    @property
    def variance(self) -> u.Quantity | None:
        """``error**2``, or None without errors."""
        return None if self.error is None else self.error**2

    def replace(self, **changes: Any) -> Spectrum:
        """Return a copy with some fields replaced (arrays are validated again).

        Parameters
        ----------
        **changes
            New values of any :class:`Spectrum` fields.

        Returns
        -------
        Spectrum
        """
        fields = {k: getattr(self, k) for k in self.__dataclass_fields__}
        if "error" not in changes and ("error_low" in changes or "error_high" in changes):
            fields["error"] = None
        fields.update(changes)
        return Spectrum(**fields)

    def _take(self, index: np.ndarray) -> Spectrum:
        pick = lambda q: None if q is None else q[index]
        return Spectrum(
            self.low[index],
            self.high[index],
            self.flux[index],
            pick(self.error),
            self.mask[index],
            pick(self.error_low),
            pick(self.error_high),
            self.meta,
        )

    def __getitem__(self, index: slice | np.ndarray) -> Spectrum:
        """Select pixels by slice, integer or boolean index."""
        return self._take(index)

    # ------------------------------------------------------------------ selection and masks
    def select(self, wmin: u.Quantity | None = None, wmax: u.Quantity | None = None) -> Spectrum:
        """Keep the pixels whose centres lie in ``[wmin, wmax]``.

        Parameters
        ----------
        wmin, wmax : Quantity, optional
            Wavelength limits (any length unit); None means unbounded.

        Returns
        -------
        Spectrum
        """
        centre = self.wavelength
        keep = np.ones(len(self), bool)
        if wmin is not None:
            keep &= centre >= u.Quantity(wmin).to(self.wave_unit, u.spectral())
        if wmax is not None:
            keep &= centre <= u.Quantity(wmax).to(self.wave_unit, u.spectral())
        return self._take(keep)

    def mask_ranges(self, ranges: Sequence[Sequence[float]] | u.Quantity, unit: u.UnitBase | None = None) -> Spectrum:
        """Mask every pixel that overlaps one of the wavelength intervals.

        Parameters
        ----------
        ranges : sequence of (start, end) pairs or Quantity of shape (n, 2)
            Intervals to mask; an empty sequence masks nothing.
        unit : Unit, optional
            Unit of plain-number ``ranges`` (default: the spectrum's wavelength unit).

        Returns
        -------
        Spectrum
        """
        r = u.Quantity(ranges, unit or self.wave_unit).to_value(self.wave_unit).reshape(-1, 2)
        hit = np.zeros(len(self), bool)
        for start, end in r:
            hit |= (self.high.value > min(start, end)) & (self.low.value < max(start, end))
        return self.replace(mask=self.mask | hit)

    def with_mask(self, mask: np.ndarray) -> Spectrum:
        """Return a copy whose mask is the OR of the current mask and ``mask`` (True = bad)."""
        return self.replace(mask=self.mask | np.asarray(mask, bool))

    def apply_mask(self) -> Spectrum:
        """Drop the masked pixels, returning a spectrum of good pixels only (gaps stay exact)."""
        return self._take(self.good)

    # ------------------------------------------------------------------ units and scaling
    def to_wave_unit(self, unit: u.UnitBase | str) -> Spectrum:
        """Express the wavelength edges in another length unit (flux is unchanged)."""
        unit = u.Unit(unit)
        return self.replace(low=self.low.to(unit), high=self.high.to(unit))

    def to_flux_unit(self, unit: u.UnitBase | str) -> Spectrum:
        """Convert flux and errors, e.g. between f_nu and f_lambda, at the pixel centres.

        Parameters
        ----------
        unit : Unit or str
            Target flux unit, equivalent through :func:`astropy.units.spectral_density`.

        Returns
        -------
        Spectrum
        """
        unit = u.Unit(unit)
        try:
            factor = (1.0 * self.flux_unit).to(unit, u.spectral_density(self.wavelength)).value
        except u.UnitConversionError as exc:
            raise SpectrumError(f"cannot convert flux from {self.flux_unit} to {unit}: {exc}") from None
        conv = lambda q: None if q is None else q.value * factor * unit
        return self.replace(
            flux=conv(self.flux),
            error=conv(self.error),
            error_low=conv(self.error_low),
            error_high=conv(self.error_high),
        )

    def scale(
        self, factor: float | np.ndarray | u.Quantity, factor_error: float | np.ndarray | None = None
    ) -> Spectrum:
        """Multiply by a scalar or per-pixel factor, propagating its uncertainty.

        Parameters
        ----------
        factor : float, ndarray or Quantity
            Multiplicative factor (a Quantity changes the flux unit).
        factor_error : float or ndarray, optional
            1-sigma uncertainty of ``factor`` (same unit as ``factor``).

        Returns
        -------
        Spectrum
            ``error**2 = (factor * error)**2 + (flux * factor_error)**2``.

        Examples
        --------
        >>> import astropy.units as u
        >>> s = Spectrum.from_centres([1, 2] * u.um, [2.0, 4.0] * u.Jy, error=[0.2, 0.2] * u.Jy)
        >>> s.scale(2.0, factor_error=0.1).error
        <Quantity [0.4472136 , 0.56568542] Jy>
        """
        f = u.Quantity(factor)
        fe = 0.0 if factor_error is None else u.Quantity(factor_error, f.unit).value

        def prop(err):
            if err is None:
                return None
            return np.hypot(f.value * err.value, self.flux.value * fe) * (self.flux_unit * f.unit)

        return self.replace(
            flux=self.flux * f,
            error=prop(self.error),
            error_low=prop(self.error_low),
            error_high=prop(self.error_high),
        )

    def __mul__(self, factor: float | np.ndarray | u.Quantity) -> Spectrum:
        return self.scale(factor)

    __rmul__ = __mul__

    def __truediv__(self, factor: float | np.ndarray | u.Quantity) -> Spectrum:
        return self.scale(1.0 / u.Quantity(factor))

    # ------------------------------------------------------------------ resampling
    def rebin(
        self, new_bins: u.Quantity | Spectrum | tuple[u.Quantity, u.Quantity], min_coverage: float = 0.5
    ) -> Spectrum:
        """Flux-conserving rebinning onto new pixels.

        Partial overlaps are integrated exactly; masked input pixels are
        excluded (the average uses the valid part of each new pixel only) and
        the number excluded is recorded in ``meta['rebin']``. Variances are
        propagated (diagonal of the covariance).

        Parameters
        ----------
        new_bins : Quantity, Spectrum or (low, high)
            ``n + 1`` contiguous edges, another spectrum whose pixels to use, or
            a pair of ``low`` and ``high`` edge arrays (gaps allowed).
        min_coverage : float
            New pixels whose fraction covered by valid input is below this are masked.

        Returns
        -------
        Spectrum

        Examples
        --------
        >>> import astropy.units as u
        >>> s = Spectrum.from_edges([0, 1, 2, 3, 4] * u.um, [1, 2, 3, 4] * u.Jy)
        >>> s.rebin([0, 2, 4] * u.um).flux
        <Quantity [1.5, 3.5] Jy>
        """
        if isinstance(new_bins, Spectrum):
            low, high = new_bins.low, new_bins.high
        elif isinstance(new_bins, tuple):
            low, high = u.Quantity(new_bins[0]), u.Quantity(new_bins[1])
        else:
            edges = u.Quantity(new_bins)
            low, high = edges[:-1], edges[1:]
        low, high = low.to(self.wave_unit), high.to(self.wave_unit)
        flux, var, coverage = rebin_arrays(
            self.low.value,
            self.high.value,
            self.flux.value,
            None if self.error is None else self.error.value**2,
            self.good,
            low.value,
            high.value,
        )
        out = lambda v: None if v is None else np.sqrt(v) * self.flux_unit

        def asym(err):
            if err is None:
                return None
            return rebin_arrays(
                self.low.value, self.high.value, self.flux.value, err.value**2, self.good, low.value, high.value
            )[1]

        meta = dict(self.meta)
        meta["rebin"] = {
            "n_input_masked": int(self.mask.sum()),
            "n_output_masked": int(np.sum(coverage < min_coverage)),
        }
        return Spectrum(
            low,
            high,
            flux * self.flux_unit,
            out(var),
            coverage < min_coverage,
            out(asym(self.error_low)),
            out(asym(self.error_high)),
            meta,
        )

    def convolve_to_resolution(
        self, resolution: ResolutionLike, initial_resolution: ResolutionLike | None = None
    ) -> Spectrum:
        """Convolve with a Gaussian line-spread function of resolving power R.

        Parameters
        ----------
        resolution : float, ndarray or callable
            Target R = lambda / FWHM: a constant, one value per pixel, or a
            function of a wavelength Quantity (e.g. a :mod:`specola.instruments`
            curve).
        initial_resolution : float, ndarray or callable, optional
            R the spectrum already has; the kernel is the quadrature difference.

        Returns
        -------
        Spectrum
            Masked pixels are excluded from the convolution (and stay masked).
        """
        matrix = convolution_matrix(
            self.low.value,
            self.high.value,
            bind_resolution(resolution, self.wave_unit),
            valid=self.good,
            initial_resolution=None
            if initial_resolution is None
            else bind_resolution(initial_resolution, self.wave_unit),
        )
        flux = matrix @ np.where(self.good, self.flux.value, 0.0)
        conv_err = lambda e: (
            None
            if e is None
            else np.sqrt(matrix.multiply(matrix) @ np.where(self.good, e.value**2, 0.0)) * self.flux_unit
        )
        return self.replace(
            flux=flux * self.flux_unit,
            error=conv_err(self.error),
            error_low=conv_err(self.error_low),
            error_high=conv_err(self.error_high),
        )

    # ------------------------------------------------------------------ interoperability
    def to_specutils(self):
        """Convert to a :class:`specutils.Spectrum` (specutils >= 2), keeping edges, mask and meta.

        The bin edges travel in ``meta['specola_low']`` / ``meta['specola_high']``
        (specutils derives edges from centres, which loses gaps), asymmetric
        errors in ``meta['specola_error_low']`` / ``meta['specola_error_high']``.
        """
        from astropy.nddata import StdDevUncertainty
        from specutils import Spectrum as SUSpectrum

        meta = dict(self.meta)
        meta.update(specola_low=self.low, specola_high=self.high)
        if self.error_low is not None:
            meta.update(specola_error_low=self.error_low, specola_error_high=self.error_high)
        return SUSpectrum(
            flux=self.flux,
            spectral_axis=self.wavelength,
            uncertainty=None if self.error is None else StdDevUncertainty(self.error),
            mask=self.mask.copy(),
            meta=meta,
        )

    @classmethod
    def from_specutils(cls, spectrum) -> Spectrum:
        """Build from a :class:`specutils.Spectrum` (edges from ``meta`` when present, else from centres).

        A length spectral axis keeps its unit; a frequency or energy axis becomes
        micron, and pixels are put in increasing wavelength order.
        """
        from astropy.nddata import StdDevUncertainty

        meta = dict(spectrum.meta)
        low, high = meta.pop("specola_low", None), meta.pop("specola_high", None)
        err_lo, err_hi = meta.pop("specola_error_low", None), meta.pop("specola_error_high", None)
        order = slice(None)
        if low is None:
            axis = u.Quantity(spectrum.spectral_axis)
            if not axis.unit.is_equivalent(u.m):
                axis = axis.to(u.um, u.spectral())
            if axis.size > 1 and axis[0] > axis[-1]:
                order = slice(None, None, -1)
            lo, hi = edges_from_centres(axis.value[order])
            low, high = lo * axis.unit, hi * axis.unit
        error = None
        if spectrum.uncertainty is not None:
            error = spectrum.uncertainty.represent_as(StdDevUncertainty).quantity.to(spectrum.flux.unit)[order]
        mask = None if spectrum.mask is None else np.asarray(spectrum.mask, bool)[order]
        return cls(low, high, spectrum.flux[order], error, mask, err_lo, err_hi, meta)


@dataclass(frozen=True, eq=False)
class SpectrumSeries:
    """A time series of spectra on one pixel grid (``n_times x n_wave``).

    Parameters
    ----------
    low, high : Quantity
        Pixel edges, shape ``(n_wave,)``.
    flux : Quantity
        Shape ``(n_times, n_wave)``.
    error : Quantity, optional
        Same shape as ``flux``.
    mask : ndarray of bool, optional
        Same shape as ``flux``; True = bad.
    times : Quantity or astropy.time.Time, optional
        Mid-exposure times, shape ``(n_times,)`` (e.g. BJD in days).
    meta : dict, optional
        Metadata shared by all spectra.
    """

    low: u.Quantity
    high: u.Quantity
    flux: u.Quantity
    error: u.Quantity | None = None
    mask: np.ndarray | None = None
    times: Any = None
    meta: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        flux = u.Quantity(self.flux)
        if flux.ndim != 2 or flux.shape[1] != u.Quantity(self.low).size:
            raise SpectrumError(f"flux must have shape (n_times, n_wave={u.Quantity(self.low).size}), got {flux.shape}")
        # validate the wavelength grid once through Spectrum
        Spectrum(self.low, self.high, flux[0])
        mask = np.zeros(flux.shape, bool) if self.mask is None else np.asarray(self.mask, bool)
        if mask.shape != flux.shape:
            raise SpectrumError(f"mask must have shape {flux.shape}, got {mask.shape}")
        error = None if self.error is None else u.Quantity(self.error, flux.unit).to(flux.unit)
        if error is not None and error.shape != flux.shape:
            raise SpectrumError(f"error must have shape {flux.shape}, got {error.shape}")
        mask = mask | ~np.isfinite(flux.value)
        if error is not None:
            mask |= ~np.isfinite(error.value)
        times = self.times
        if times is not None and len(times) != flux.shape[0]:
            raise SpectrumError(f"times must have {flux.shape[0]} entries, got {len(times)}")
        object.__setattr__(self, "flux", flux)
        object.__setattr__(self, "error", error)
        object.__setattr__(self, "mask", mask)
        object.__setattr__(self, "meta", dict(self.meta))

    @property
    def n_times(self) -> int:
        """Number of spectra in the series."""
        return self.flux.shape[0]

    def __len__(self) -> int:
        return self.n_times

    def __getitem__(self, i: int) -> Spectrum:
        """The ``i``-th spectrum of the series."""
        meta = dict(self.meta)
        if self.times is not None:
            meta["time"] = self.times[i]
        return Spectrum(
            self.low,
            self.high,
            self.flux[i],
            None if self.error is None else self.error[i],
            self.mask[i],
            meta=meta,
        )

    def time_mask(self, ranges: Sequence[Sequence[float]]) -> np.ndarray:
        """Boolean array over times, True for times inside any of ``ranges`` (same scale as ``times``)."""
        t = np.asarray(getattr(self.times, "value", self.times), float)
        hit = np.zeros(self.n_times, bool)
        for start, end in np.asarray(ranges, float).reshape(-1, 2):
            hit |= (t >= min(start, end)) & (t <= max(start, end))
        return hit

    def median(self, exclude_times: np.ndarray | None = None) -> Spectrum:
        """Median spectrum over the kept times, ignoring masked pixels.

        The error of the median is ``1.2533 * std / sqrt(n)`` per pixel (the
        asymptotic efficiency of the median for Gaussian noise), from the
        scatter of the kept spectra when there are at least two.

        Parameters
        ----------
        exclude_times : ndarray of bool, optional
            True for spectra to leave out (e.g. in transit, flares).

        Returns
        -------
        Spectrum
        """
        keep = np.ones(self.n_times, bool) if exclude_times is None else ~np.asarray(exclude_times, bool)
        if not keep.any():
            raise SpectrumError("every time is excluded: nothing left to take the median of")
        data = np.where(self.mask[keep], np.nan, self.flux.value[keep])
        n = np.sum(np.isfinite(data), axis=0)
        with np.errstate(invalid="ignore", divide="ignore"):
            import warnings

            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                med = np.nanmedian(data, axis=0)
                if keep.sum() > 1:
                    err = 1.2533 * np.nanstd(data, axis=0, ddof=1) / np.sqrt(n)
                else:
                    err = None if self.error is None else self.error.value[keep][0]
        meta = dict(self.meta, n_times_used=int(keep.sum()))
        return Spectrum(
            self.low,
            self.high,
            med * self.flux.unit,
            None if err is None else err * self.flux.unit,
            n == 0,
            meta=meta,
        )
