"""Axis labels with units in one notation (astropy's LaTeX units) and parameter values with sensible precision."""

from __future__ import annotations

import math
from typing import Any

import astropy.units as u

__all__ = ["flux_label", "format_value", "unit_label", "wavelength_label"]


def unit_label(name: str, unit: Any = None) -> str:
    r"""``"name [unit]"`` with the unit in astropy's inline LaTeX form; just ``name`` when dimensionless.

    Parameters
    ----------
    name : str
        What the axis shows ("Wavelength", "Flux density").
    unit : astropy Unit or str, optional
        Its unit.

    Examples
    --------
    >>> unit_label("Wavelength", "Angstrom")
    'Wavelength [$\\mathrm{\\mathring{A}}$]'
    >>> unit_label("S/N", u.dimensionless_unscaled)
    'S/N'
    """
    if unit is None:
        return name
    unit = u.Unit(unit)
    if unit == u.dimensionless_unscaled:
        return name
    return f"{name} [{unit.to_string('latex_inline')}]"


def wavelength_label(unit: Any = u.AA, frame: str = "") -> str:
    """The wavelength axis label every specola figure uses (``frame="rest"`` for rest-frame axes)."""
    return unit_label(f"{frame.capitalize()} wavelength" if frame else "Wavelength", unit)


def flux_label(unit: Any = None, name: str = "Flux density") -> str:
    """The flux axis label every specola figure uses."""
    return unit_label(name, unit)


def _decimals(step: float) -> int:
    """Decimals that show ``step`` to two significant figures."""
    if not math.isfinite(step) or step <= 0:
        return 2
    return max(0, 1 - math.floor(math.log10(step)))


def format_value(
    value: float,
    error: float | tuple[float, float] | None = None,
    bounds: tuple[float, float] | None = None,
    step: float | None = None,
    name: str = "",
    unit: str = "",
) -> str:
    """A parameter value as a person would write it: two significant figures of the error, no ``-1e-15``.

    A value within ``step`` (default: 1% of the range) of one of ``bounds`` whose error is zero or not finite
    prints as "at grid edge" instead of "+-0" or "+-nan"; zero-like round-off prints as 0.

    Parameters
    ----------
    value : float
        Best value (median).
    error : float or (minus, plus), optional
        One-sigma error, symmetric or asymmetric.
    bounds : (low, high), optional
        Prior or grid bounds of the parameter.
    step : float, optional
        Grid step (how close to a bound counts as "at" it).
    name, unit : str
        Prefix ``"name = "`` and suffix ``" unit"``.

    Returns
    -------
    str

    Examples
    --------
    >>> format_value(5508.0, 0.0, bounds=(3500, 5500), step=250, name="Teff", unit="K")
    'Teff = 5508 K (at grid edge 5500)'
    >>> format_value(-1.066e-15, float("nan"), bounds=(-1.0, 0.5), name="[M/H]")
    '[M/H] = 0.00 (error unknown)'
    >>> format_value(2514.3, (12.0, 19.0), unit="K")
    '2514 -12 +19 K'
    >>> format_value(0.0213, 0.0041)
    '0.0213 +- 0.0041'
    """
    lead = f"{name} = " if name else ""
    tail = f" {unit}" if unit else ""
    minus, plus = (error, error) if not isinstance(error, tuple) else error
    errs = [e for e in (minus, plus) if e is not None]
    known = bool(errs) and all(math.isfinite(e) and e > 0 for e in errs)
    scale = abs(value) if math.isfinite(value) else 1.0
    if bounds is not None:
        lo, hi = bounds
        width = abs(hi - lo)
        near = step if step is not None else 0.01 * width
        scale = max(scale, width)
        edge = lo if abs(value - lo) <= near else hi if abs(value - hi) <= near else None
    else:
        edge = None
    if abs(value) < 1e-9 * max(scale, 1e-300):
        value = 0.0
    if known:
        digits = _decimals(min(errs))
        if minus is not None and plus is not None and f"{minus:.{digits}f}" != f"{plus:.{digits}f}":
            body = f"{value:.{digits}f} -{minus:.{digits}f} +{plus:.{digits}f}"
        else:
            body = f"{value:.{digits}f} +- {errs[0]:.{digits}f}"
        note = f" (near grid edge {edge:g})" if edge is not None else ""
        return f"{lead}{body}{tail}{note}"
    digits = _decimals(0.1 * scale) if scale else 2
    body = f"{value:.{digits}f}" if abs(value) < 1e6 else f"{value:.3g}"
    note = f" (at grid edge {edge:g})" if edge is not None else " (error unknown)"
    return f"{lead}{body}{tail}{note}"
