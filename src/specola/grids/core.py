"""``StellarGrid``: a regular grid of synthetic spectra with fast multilinear interpolation.

The grid holds a float32 flux cube of shape ``(*axis_lengths, n_wave)`` on
parameter axes such as ``Teff``, ``logg``, ``[M/H]``, ``[alpha/M]``, and one
set of wavelength bins. Missing nodes are NaN and reported by
:attr:`StellarGrid.present`; they are never silently filled.

:meth:`StellarGrid.bin_to` integrates every model into an observed
spectrum's pixels once (flux conserving, optional instrumental convolution);
the result is a small grid on the data's bins, and :meth:`StellarGrid.at`
interpolates it in microseconds inside likelihood loops.
"""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import astropy.units as u
import numpy as np

from ..errors import GridError
from ..resample import bind_resolution, convolution_matrix, overlap_matrix
from ..spectrum import Spectrum, edges_from_centres

__all__ = ["AXIS_NAMES", "StellarGrid"]

#: Canonical names of the parameter axes, in storage order.
AXIS_NAMES = ("Teff", "logg", "[M/H]", "[alpha/M]")


@dataclass(frozen=True, eq=False)
class StellarGrid:
    """A regular grid of model spectra.

    Parameters
    ----------
    axes : mapping of str to ndarray
        Parameter axes in storage order (e.g. ``{"Teff": ..., "logg": ...}``),
        each strictly increasing.
    low, high : ndarray
        Wavelength bin edges of the model pixels (in ``wave_unit``).
    flux : ndarray
        Surface flux, shape ``(*[len(a) for a in axes], n_wave)``; NaN rows are missing nodes.
    wave_unit, flux_unit : astropy Unit
        Units of the wavelengths and fluxes.
    meta : dict
        ``source``, ``citation``, ``resolution`` (R, if known) and any provenance.

    Examples
    --------
    >>> g = StellarGrid({"Teff": np.array([3000., 4000.])}, np.array([1., 2.]), np.array([2., 3.]),
    ...                 np.array([[1., 1.], [3., 5.]]), u.um, u.erg / u.s / u.cm**2 / u.um)
    >>> g.at(3500.0).tolist()
    [2.0, 3.0]
    """

    axes: Mapping[str, np.ndarray]
    low: np.ndarray
    high: np.ndarray
    flux: np.ndarray
    wave_unit: u.UnitBase = u.um
    flux_unit: u.UnitBase = u.erg / u.s / u.cm**2 / u.um
    meta: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        axes = {str(k): np.asarray(v, float) for k, v in self.axes.items()}
        for name, values in axes.items():
            if values.ndim != 1 or values.size < 1:
                raise GridError(f"axis {name!r} must be a non-empty 1-D array")
            if np.any(np.diff(values) <= 0):
                raise GridError(f"axis {name!r} must be strictly increasing (duplicated or unsorted nodes)")
        low, high = np.asarray(self.low, float), np.asarray(self.high, float)
        flux = np.asarray(self.flux)
        if flux.dtype != np.float32 and flux.dtype != np.float64:
            flux = flux.astype(np.float32)
        flux = np.ascontiguousarray(flux)
        shape = tuple(v.size for v in axes.values())
        if flux.shape != (*shape, low.size) or high.shape != low.shape:
            raise GridError(f"flux must have shape {(*shape, low.size)} for these axes, got {flux.shape}")
        if np.any(high <= low) or np.any(low[1:] < high[:-1]):
            raise GridError("model wavelength bins must be sorted, non-overlapping, with high > low")
        object.__setattr__(self, "axes", axes)
        object.__setattr__(self, "low", low)
        object.__setattr__(self, "high", high)
        object.__setattr__(self, "flux", flux)
        object.__setattr__(self, "wave_unit", u.Unit(self.wave_unit))
        object.__setattr__(self, "flux_unit", u.Unit(self.flux_unit))
        object.__setattr__(self, "meta", dict(self.meta))
        object.__setattr__(self, "_axes_list", [axes[k] for k in axes])
        # Scalar fast path of ``at``: axes as Python floats and the cube as rows of a 2-D array.
        object.__setattr__(self, "_axes_py", [[float(x) for x in a] for a in axes.values()])
        object.__setattr__(self, "_rows", flux.reshape(-1, low.size))
        object.__setattr__(self, "_strides", [int(np.prod(shape[k + 1 :])) for k in range(len(shape))])

    # ------------------------------------------------------------------ construction helpers
    @classmethod
    def from_models(
        cls,
        params: Mapping[str, Sequence[float]],
        wavelength: np.ndarray,
        flux: np.ndarray,
        source: str = "",
        **kwargs: Any,
    ) -> StellarGrid:
        """Build a grid from a flat list of models and their parameters.

        Parameters
        ----------
        params : mapping of str to sequence
            Parameter values of each model (same length as ``flux``), e.g. ``{"Teff": [...], "logg": [...]}``.
        wavelength : ndarray
            Model wavelength sampling (pixel centres; edges are midpoints).
        flux : ndarray
            Shape ``(n_models, n_wave)``.
        source : str
            File or origin named in error messages.
        **kwargs
            ``wave_unit``, ``flux_unit``, ``meta``.

        Returns
        -------
        StellarGrid
            Nodes absent from the list are missing (NaN).

        Raises
        ------
        GridError
            Duplicated nodes, negative or non-finite fluxes.
        """
        flux = np.asarray(flux, float)
        where = f"{source}: " if source else ""
        if flux.ndim != 2 or any(len(v) != flux.shape[0] for v in params.values()):
            raise GridError(f"{where}need one parameter set per model; flux has shape {flux.shape}")
        if not np.all(np.isfinite(flux)):
            raise GridError(f"{where}{int(np.sum(~np.all(np.isfinite(flux), axis=1)))} model(s) contain NaN/inf flux")
        if np.any(flux < 0):
            raise GridError(f"{where}{int(np.sum(np.any(flux < 0, axis=1)))} model(s) contain negative flux")
        axes = {k: np.unique(np.asarray(v, float)) for k, v in params.items()}
        index = tuple(np.searchsorted(axes[k], np.asarray(v, float)) for k, v in params.items())
        flat = np.ravel_multi_index(index, tuple(a.size for a in axes.values()))
        if np.unique(flat).size != flat.size:
            raise GridError(f"{where}duplicated grid nodes (the same parameters appear twice)")
        cube = np.full((*(a.size for a in axes.values()), flux.shape[1]), np.nan, np.float32)
        cube[index] = flux
        low, high = edges_from_centres(np.asarray(wavelength, float))
        meta = dict(kwargs.pop("meta", {}), source=source or kwargs.get("source", ""))
        return cls(axes, low, high, cube, meta=meta, **kwargs)

    # ------------------------------------------------------------------ description
    @property
    def names(self) -> tuple[str, ...]:
        """Parameter axis names in storage order."""
        return tuple(self.axes)

    @property
    def wavelength(self) -> u.Quantity:
        """Model pixel centres."""
        return 0.5 * (self.low + self.high) * self.wave_unit

    @property
    def present(self) -> np.ndarray:
        """Boolean array over nodes, True where a model exists."""
        return np.all(np.isfinite(self.flux), axis=-1)

    def __repr__(self) -> str:
        ax = ", ".join(f"{k} {v[0]:g}..{v[-1]:g} ({v.size})" for k, v in self.axes.items())
        return (
            f"<StellarGrid {self.meta.get('name', '')} {ax}; {self.low.size} pixels "
            f"{self.low[0]:.4g}-{self.high[-1]:.4g} {self.wave_unit}; "
            f"{int(self.present.sum())}/{self.present.size} nodes present>"
        )

    # ------------------------------------------------------------------ interpolation
    def _locate(self, values: np.ndarray) -> tuple[list[np.ndarray], list[np.ndarray]]:
        idx, frac = [], []
        for (name, axis), x in zip(self.axes.items(), values.T, strict=True):
            bad = (x < axis[0]) | (x > axis[-1]) | ~np.isfinite(x)
            if np.any(bad):
                raise GridError(
                    f"{name} = {x[bad][0]:g} is outside the grid ({axis[0]:g} to {axis[-1]:g}); "
                    f"narrow the prior on {name} or use a wider grid"
                )
            if axis.size == 1:
                idx.append(np.zeros(x.size, int))
                frac.append(np.zeros(x.size))
                continue
            i = np.clip(np.searchsorted(axis, x, side="right") - 1, 0, axis.size - 2)
            idx.append(i)
            frac.append((x - axis[i]) / (axis[i + 1] - axis[i]))
        return idx, frac

    def interpolate(self, points: Mapping[str, Any] | np.ndarray) -> np.ndarray:
        """Multilinear interpolation at many points at once.

        Parameters
        ----------
        points : mapping or ndarray
            ``{"Teff": [...], "logg": [...]}`` (every axis), or an array of shape
            ``(n_points, n_axes)`` in axis order.

        Returns
        -------
        ndarray
            Shape ``(n_points, n_wave)`` (float64).

        Raises
        ------
        GridError
            A point outside an axis (the message names the axis), or a point
            whose enclosing nodes include a missing model.
        """
        if isinstance(points, Mapping):
            unknown = set(points) - set(self.axes)
            if unknown:
                raise GridError(f"unknown grid axis {sorted(unknown)}; the grid has {list(self.axes)}")
            missing = set(self.axes) - set(points)
            if missing:
                raise GridError(f"give a value for every grid axis; missing {sorted(missing)}")
            values = np.column_stack([np.atleast_1d(np.asarray(points[k], float)) for k in self.axes])
        else:
            values = np.atleast_2d(np.asarray(points, float))
        idx, frac = self._locate(values)
        out = np.zeros((values.shape[0], self.flux.shape[-1]))
        for corner in itertools.product((0, 1), repeat=len(idx)):
            w = np.ones(values.shape[0])
            node = []
            for c, i, t, axis in zip(corner, idx, frac, self._axes_list, strict=True):
                w = w * (t if c else 1.0 - t)
                node.append(np.minimum(i + c, axis.size - 1))
            used = w > 0
            if not np.any(used):
                continue
            models = self.flux[tuple(n[used] for n in node)]
            if np.any(~np.isfinite(models)):
                bad = np.flatnonzero(~np.all(np.isfinite(models), axis=1))[0]
                at = ", ".join(f"{k}={self._axes_list[a][node[a][used][bad]]:g}" for a, k in enumerate(self.axes))
                raise GridError(f"interpolation needs the missing model at {at}; choose a range the grid covers")
            out[used] += w[used, None] * models
        return out

    def at(self, *params: float) -> np.ndarray:
        """Interpolate one point, given positionally in axis order (fast scalar path).

        Missing enclosing nodes give NaN here (likelihoods treat NaN as -inf)
        and out-of-range values raise :class:`GridError`.

        Returns
        -------
        ndarray
            Shape ``(n_wave,)``.
        """
        # Scalar path: bisect on Python floats, flat row indices, one small dot product.
        axes = self._axes_py
        if len(params) != len(axes):
            raise GridError(f"give one value per grid axis {list(self.axes)}, got {len(params)}")
        rows = self._rows
        if len(axes) == 2 and len(axes[0]) > 1 and len(axes[1]) > 1:  # the common (Teff, logg) case
            (x, y), (ax, ay) = params, axes
            if not (ax[0] <= x <= ax[-1] and ay[0] <= y <= ay[-1]):
                self._out_of_range(params)
            i = min(bisect.bisect_right(ax, x) - 1, len(ax) - 2)
            j = min(bisect.bisect_right(ay, y) - 1, len(ay) - 2)
            t = (x - ax[i]) / (ax[i + 1] - ax[i])
            s = (y - ay[j]) / (ay[j + 1] - ay[j])
            k = i * len(ay) + j
            k1 = k + len(ay)
            return np.dot(((1 - t) * (1 - s), (1 - t) * s), rows[k : k + 2]) + np.dot(
                (t * (1 - s), t * s), rows[k1 : k1 + 2]
            )
        index, weight = [0], [1.0]
        for x, axis, stride in zip(params, axes, self._strides, strict=True):
            if not axis[0] <= x <= axis[-1]:
                self._out_of_range(params)
            if len(axis) == 1:
                continue
            i = min(bisect.bisect_right(axis, x) - 1, len(axis) - 2)
            t = (x - axis[i]) / (axis[i + 1] - axis[i])
            index = [k + i * stride for k in index] + [k + (i + 1) * stride for k in index]
            weight = [w * (1 - t) for w in weight] + [w * t for w in weight]
        return np.dot(weight, rows[index])

    def _out_of_range(self, params: Sequence[float]) -> None:
        for (name, axis), x in zip(self.axes.items(), params, strict=True):
            if not axis[0] <= x <= axis[-1]:
                raise GridError(
                    f"{name} = {x:g} is outside the grid ({axis[0]:g} to {axis[-1]:g}); "
                    f"narrow the prior on {name} or use a wider grid"
                )

    def nearest(self, **params: float) -> tuple[dict[str, float], np.ndarray]:
        """The nearest existing node to a point (per-axis distance in units of the axis step).

        Returns
        -------
        (dict, ndarray)
            Parameters of the node and its flux.
        """
        present = self.present
        grids = np.meshgrid(*self._axes_list, indexing="ij")
        dist = np.zeros(present.shape)
        for name, g, axis in zip(self.axes, grids, self._axes_list, strict=True):
            step = np.median(np.diff(axis)) if axis.size > 1 else 1.0
            dist += ((g - params[name]) / step) ** 2
        dist[~present] = np.inf
        node = np.unravel_index(np.argmin(dist), present.shape)
        return {k: float(a[i]) for k, a, i in zip(self.axes, self._axes_list, node, strict=True)}, self.flux[node]

    # ------------------------------------------------------------------ sub-grids and binning
    def select(self, wave_range: tuple[float, float] | None = None, **ranges: tuple[float, float]) -> StellarGrid:
        """Sub-grid within parameter ranges (inclusive) and/or a wavelength range.

        Parameters
        ----------
        wave_range : (float, float), optional
            Keep model pixels overlapping this range (``wave_unit``).
        **ranges : (float, float)
            Per-axis ranges, e.g. ``Teff=(2300, 3000)``; use ``M_H`` / ``alpha_M``
            for ``[M/H]`` / ``[alpha/M]``.

        Returns
        -------
        StellarGrid
        """
        alias = {"M_H": "[M/H]", "alpha_M": "[alpha/M]"}
        keep = []
        for name, axis in self.axes.items():
            key = next((k for k in ranges if alias.get(k, k) == name), None)
            if key is None:
                keep.append(np.ones(axis.size, bool))
                continue
            lo, hi = ranges.pop(key)
            sel = (axis >= lo) & (axis <= hi)
            if not sel.any():
                raise GridError(f"no {name} node in [{lo}, {hi}]; the grid spans {axis[0]:g} to {axis[-1]:g}")
            keep.append(sel)
        if ranges:
            raise GridError(f"unknown grid axis {sorted(ranges)}; the grid has {list(self.axes)}")
        flux = self.flux[np.ix_(*keep)]
        wsel = np.ones(self.low.size, bool)
        if wave_range is not None:
            wsel = (self.high > wave_range[0]) & (self.low < wave_range[1])
        axes = {k: a[s] for (k, a), s in zip(self.axes.items(), keep, strict=True)}
        return StellarGrid(
            axes, self.low[wsel], self.high[wsel], flux[..., wsel], self.wave_unit, self.flux_unit, self.meta
        )

    def squeeze(self) -> StellarGrid:
        """Drop axes with a single node, recording their values in ``meta``.

        Returns
        -------
        StellarGrid
            The same models; e.g. a grid at one [M/H] becomes a (Teff, logg) grid
            with ``meta["[M/H]"]`` set.
        """
        keep = {k: a for k, a in self.axes.items() if a.size > 1}
        fixed = {k: float(a[0]) for k, a in self.axes.items() if a.size == 1}
        if not fixed:
            return self
        shape = (*(a.size for a in keep.values()), self.low.size)
        meta = dict(self.meta, **fixed)
        return StellarGrid(keep, self.low, self.high, self.flux.reshape(shape), self.wave_unit, self.flux_unit, meta)

    def bin_to(
        self,
        spectrum: Spectrum | tuple[u.Quantity, u.Quantity],
        resolution: float | np.ndarray | Any | None = None,
    ) -> StellarGrid:
        """Integrate every model into the observed pixels once (flux conserving).

        Parameters
        ----------
        spectrum : Spectrum or (low, high)
            The data whose pixel edges to use (all pixels, masked ones too).
        resolution : float, ndarray or callable, optional
            Instrumental resolving power R(lambda) to convolve the models to
            first (a callable takes a wavelength Quantity, e.g. a specola.instruments curve).

        Returns
        -------
        StellarGrid
            Same axes, on the data's pixels; use :meth:`at` in likelihoods.

        Raises
        ------
        GridError
            If a data pixel is not fully covered by the model wavelengths.
        """
        if isinstance(spectrum, Spectrum):
            low_q, high_q = spectrum.low, spectrum.high
        else:
            low_q, high_q = (u.Quantity(x) for x in spectrum)
        low = low_q.to_value(self.wave_unit, u.spectral())
        high = high_q.to_value(self.wave_unit, u.spectral())
        if low.min() < self.low[0] or high.max() > self.high[-1]:
            raise GridError(
                f"the spectrum ({low.min():.4g}-{high.max():.4g} {self.wave_unit}) extends beyond the grid's "
                f"wavelengths ({self.low[0]:.4g}-{self.high[-1]:.4g} {self.wave_unit}); select a narrower "
                "wavelength range (e.g. wave_range) or use a wider grid"
            )
        overlap = overlap_matrix(self.low, self.high, low, high)
        weights = overlap.multiply(1.0 / (high - low)[:, None]).tocsr()
        if resolution is not None:
            weights = weights @ convolution_matrix(self.low, self.high, bind_resolution(resolution, self.wave_unit))
        cube = self.flux.reshape(-1, self.low.size)
        binned = np.ascontiguousarray((weights @ cube.T).T, dtype=np.float64)
        meta = dict(self.meta, binned_to=len(low))
        if resolution is not None:
            meta["instrument_resolution"] = resolution if np.isscalar(resolution) else "R(lambda)"
        return StellarGrid(
            self.axes, low, high, binned.reshape(*self.flux.shape[:-1], len(low)), self.wave_unit, self.flux_unit, meta
        )

    def spectrum(self, **params: float) -> Spectrum:
        """The interpolated model at one point as a :class:`Spectrum` (no errors)."""
        flux = self.interpolate({k: [v] for k, v in params.items()})[0]
        return Spectrum(
            self.low * self.wave_unit,
            self.high * self.wave_unit,
            flux * self.flux_unit,
            meta={"model": dict(params), "source": self.meta.get("source", "")},
        )
