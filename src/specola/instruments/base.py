"""Resolving-power curves R(lambda) = lambda / FWHM and the instrument registry.

Every curve is a :class:`Resolution`: call it with a wavelength Quantity to get
R as a plain array. It can be passed straight to
:meth:`specola.Spectrum.convolve_to_resolution` (as target or initial
resolution), which hands it the pixel centres as a Quantity.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import astropy.units as u
import numpy as np

from ..errors import SpectrumError

__all__ = ["Constant", "Resolution", "Tabulated", "available", "get", "register"]

#: FWHM of a Gaussian in units of its sigma, 2 sqrt(2 ln 2).
FWHM_PER_SIGMA = 2.0 * np.sqrt(2.0 * np.log(2.0))


class Resolution:
    """Base class: a resolving power R as a function of wavelength.

    Subclasses implement ``_evaluate(values)`` with wavelengths in ``self.unit``.
    """

    unit: u.UnitBase = u.um

    def _evaluate(self, wavelength: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def __call__(self, wavelength: u.Quantity) -> np.ndarray:
        """Resolving power at ``wavelength`` (any spectral unit: length, frequency, energy).

        Parameters
        ----------
        wavelength : Quantity
            Wavelengths; a plain array is refused because its unit would be a guess.

        Returns
        -------
        ndarray
            R, same shape as ``wavelength``.
        """
        if not isinstance(wavelength, u.Quantity):
            raise SpectrumError(
                f"{type(self).__name__} needs wavelengths as an astropy Quantity (e.g. wave * u.um), "
                "or use .in_unit(unit) for a function of plain numbers"
            )
        w = wavelength.to_value(self.unit, u.spectral())
        return np.asarray(self._evaluate(np.asarray(w, float)), float) * np.ones(np.shape(w))

    def in_unit(self, unit: u.UnitBase | str) -> Callable[[np.ndarray], np.ndarray]:
        """A function of plain wavelengths expressed in ``unit`` returning R."""
        unit = u.Unit(unit)
        return lambda w: self(np.asarray(w, float) * unit)

    def fwhm(self, wavelength: u.Quantity) -> u.Quantity:
        """Line-spread FWHM, ``lambda / R``, in the unit of ``wavelength``."""
        return wavelength / self(wavelength)


class Constant(Resolution):
    """The same R at every wavelength.

    Examples
    --------
    >>> import astropy.units as u
    >>> Constant(1000.0)([1.0, 2.0] * u.um)
    array([1000., 1000.])
    """

    def __init__(self, R: float) -> None:
        if not np.isfinite(R) or R <= 0:
            raise SpectrumError(f"resolving power must be finite and positive, got {R}")
        self.R = float(R)

    def _evaluate(self, wavelength: np.ndarray) -> np.ndarray:
        return np.full(wavelength.shape, self.R)

    def __repr__(self) -> str:
        return f"Constant(R={self.R:g})"


class Tabulated(Resolution):
    """R tabulated on a wavelength grid, interpolated linearly (held constant beyond the ends).

    Parameters
    ----------
    wavelength : Quantity
        Increasing wavelengths of the table.
    resolution : array_like
        R at those wavelengths.
    name : str
        Label used in ``repr``.
    """

    def __init__(self, wavelength: u.Quantity, resolution: np.ndarray, name: str = "table") -> None:
        wavelength = u.Quantity(wavelength)
        w, r = wavelength.value.astype(float), np.asarray(resolution, float)
        ok = np.isfinite(w) & np.isfinite(r) & (r > 0)
        if ok.sum() < 1 or w.shape != r.shape:
            raise SpectrumError(f"{name}: need matching wavelength and positive R arrays, got {w.shape} and {r.shape}")
        order = np.argsort(w[ok])
        self.unit = wavelength.unit
        self.wave = w[ok][order]
        self.R = r[ok][order]
        self.name = name

    def _evaluate(self, wavelength: np.ndarray) -> np.ndarray:
        return np.interp(wavelength, self.wave, self.R)

    def __repr__(self) -> str:
        return (
            f"<{type(self).__name__} {self.name}: {self.wave[0]:.6g}-{self.wave[-1]:.6g} {self.unit}, "
            f"R {self.R.min():.0f}-{self.R.max():.0f}>"
        )


_REGISTRY: dict[str, Callable[..., Resolution]] = {}


def register(name: str, factory: Callable[..., Resolution]) -> None:
    """Register a resolution factory under ``name`` (case-insensitive)."""
    _REGISTRY[name.lower()] = factory


def available() -> list[str]:
    """Registered instrument names."""
    return sorted(_REGISTRY)


def get(name: str, *args: Any, **kwargs: Any) -> Resolution:
    """Build a registered resolution curve, e.g. ``get("nirspec", "prism")`` or ``get("constant", 2700)``.

    Raises
    ------
    SpectrumError
        For an unknown name (the message lists the known ones).
    """
    try:
        factory = _REGISTRY[name.lower()]
    except KeyError:
        raise SpectrumError(f"unknown instrument {name!r}; choose one of {', '.join(available())}") from None
    return factory(*args, **kwargs)


register("constant", Constant)
