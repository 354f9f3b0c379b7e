"""Interstellar reddening: the Cardelli, Clayton & Mathis (1989) law with O'Donnell (1994) optical coefficients.

``A(lambda) / E(B-V) = R_V a(x) + b(x)`` with ``x = 1 / lambda`` in inverse microns
(CCM89, ApJ 345, 245, eqs. 2-5; optical polynomial of O'Donnell 1994, ApJ 422, 158).
The law is defined for 0.3 <= x <= 8 (1250 A - 3.3 um); outside it the end values
are used (flat), which only matters for model pixels far from any band.
"""

from __future__ import annotations

import numpy as np

__all__ = ["ccm89", "reddening"]

_OPT_A = (1.0, 0.104, -0.609, 0.701, 1.137, -1.718, -0.827, 1.647, -0.505)
_OPT_B = (0.0, 1.952, 2.908, -3.989, -7.985, 11.102, 5.491, -10.805, 3.347)


def ccm89(wavelength: np.ndarray, r_v: float) -> np.ndarray:
    """``A(lambda) / E(B-V)`` at wavelengths in Angstrom for a total-to-selective ratio ``r_v``.

    Examples
    --------
    >>> round(float(ccm89(np.array([5494.5]), 3.1)[0]), 2)  # A_V / E(B-V) = R_V at V
    3.1
    """
    x = np.clip(1.0e4 / np.asarray(wavelength, float), 0.3, 8.0)
    a = np.empty_like(x)
    b = np.empty_like(x)
    ir = x < 1.1
    a[ir], b[ir] = 0.574 * x[ir] ** 1.61, -0.527 * x[ir] ** 1.61
    opt = (x >= 1.1) & (x < 3.3)
    y = x[opt] - 1.82
    a[opt] = np.polynomial.polynomial.polyval(y, _OPT_A)
    b[opt] = np.polynomial.polynomial.polyval(y, _OPT_B)
    uv = x >= 3.3
    xu = x[uv]
    f = np.clip(xu - 5.9, 0.0, None)
    a[uv] = 1.752 - 0.316 * xu - 0.104 / ((xu - 4.67) ** 2 + 0.341) - 0.04473 * f**2 - 0.009779 * f**3
    b[uv] = -3.090 + 1.825 * xu + 1.206 / ((xu - 4.62) ** 2 + 0.263) + 0.2130 * f**2 + 0.1207 * f**3
    return r_v * a + b


def reddening(wavelength: np.ndarray, ebv: float, r_v: float) -> np.ndarray:
    """Transmitted fraction ``10**(-0.4 E(B-V) A(lambda)/E(B-V))`` at wavelengths in Angstrom."""
    return 10.0 ** (-0.4 * ebv * ccm89(wavelength, r_v))
