"""Filter transmission curves (bandpasses) for synthetic photometry.

A :class:`Bandpass` is a piecewise-linear transmission curve ``T(lambda)`` plus
the two conventions that change a synthetic magnitude: the **detector** type
(``"photon"``: photon-counting, the integrand is weighted by ``lambda``;
``"energy"``: energy-counting bolometer-like response) and the magnitude of
Vega in the band's Vega system (``vega_magnitude``: 0 for most systems, 0.03
for Gaia's VEGAMAG, Evans et al. 2018, A&A 616, A4).

Curves come from the ``speclite`` package (``load_bandpass("gaiadr2-G")``,
``"twomass-Ks"``, ``"sdss2010-r"``...) or from arrays (:meth:`Bandpass.from_arrays`).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

import astropy.constants as const
import astropy.units as u
import numpy as np

from ..errors import ConfigError, SpectrumError

__all__ = ["Bandpass", "load_bandpass", "load_bandpasses"]

#: Magnitude of Vega in the band's own Vega system, by speclite group name.
#: Gaia DR2/DR3 VEGAMAG zero points put Vega at 0.03 mag in G, BP and RP (Evans et al. 2018, Riello et al. 2021).
VEGA_MAGNITUDE = {"gaiadr2": 0.03, "gaiadr3": 0.03}

#: speclite groups whose curves are energy-counting responses (Bessell 1990 UBVRI).
ENERGY_COUNTING = ("bessell",)

_DETECTORS = ("photon", "energy")


@dataclass(frozen=True, eq=False)
class Bandpass:
    """A filter transmission curve.

    Parameters
    ----------
    name : str
        Identifier, e.g. ``"gaiadr2-G"``.
    wavelength : ndarray
        Strictly increasing nodes of the curve in Angstrom.
    transmission : ndarray
        Non-negative transmission at the nodes (linear in between, zero outside).
    detector : {"photon", "energy"}
        Photon-counting (CCD, the default) or energy-counting response.
    vega_magnitude : float
        Magnitude of Vega in this band's Vega system (0.03 for Gaia VEGAMAG).
    meta : dict
        Provenance (source package, description).

    Examples
    --------
    >>> bp = Bandpass.from_arrays("box", [4000, 4001, 5000, 5001] * u.AA, [0, 1, 1, 0])
    >>> round(bp.pivot_wavelength.value, 1)
    4494.1
    """

    name: str
    wavelength: np.ndarray
    transmission: np.ndarray
    detector: str = "photon"
    vega_magnitude: float = 0.0
    meta: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        wave = np.asarray(self.wavelength, float)
        trans = np.asarray(self.transmission, float)
        if wave.ndim != 1 or wave.shape != trans.shape or wave.size < 2:
            raise SpectrumError(f"bandpass {self.name!r}: wavelength and transmission must be 1-D of one length >= 2")
        if np.any(np.diff(wave) <= 0):
            raise SpectrumError(f"bandpass {self.name!r}: wavelengths must be strictly increasing")
        if np.any(~np.isfinite(trans)) or np.any(trans < 0) or not np.any(trans > 0):
            raise SpectrumError(f"bandpass {self.name!r}: transmission must be finite, >= 0 and not all zero")
        if self.detector not in _DETECTORS:
            raise ConfigError(f"bandpass {self.name!r}: detector must be 'photon' or 'energy', got {self.detector!r}")
        nz = np.flatnonzero(trans > 0)
        lo, hi = max(nz[0] - 1, 0), min(nz[-1] + 2, wave.size)
        object.__setattr__(self, "wavelength", wave[lo:hi])
        object.__setattr__(self, "transmission", trans[lo:hi])
        object.__setattr__(self, "meta", dict(self.meta))

    @classmethod
    def from_arrays(cls, name: str, wavelength: u.Quantity, transmission: np.ndarray, **kwargs: object) -> Bandpass:
        """Build a bandpass from a wavelength Quantity and transmissions (other fields as keywords)."""
        wave = u.Quantity(wavelength).to_value(u.AA, u.spectral())
        trans = np.asarray(transmission, float)
        if wave.size > 1 and wave[0] > wave[-1]:
            wave, trans = wave[::-1], trans[::-1]
        return cls(name, wave, trans, **kwargs)

    @property
    def power(self) -> int:
        """Power of lambda in the integrand: 1 for photon-counting, 0 for energy-counting."""
        return 1 if self.detector == "photon" else 0

    @property
    def wave_range(self) -> tuple[float, float]:
        """First and last wavelength (Angstrom) where the transmission is non-zero, with its zero ends."""
        return float(self.wavelength[0]), float(self.wavelength[-1])

    def cumulative(self, x: np.ndarray, power: int | None = None) -> np.ndarray:
        """Exact ``G(x) = integral_{lambda_0}^{x} T(l) l**p dl`` of the piecewise-linear curve.

        Parameters
        ----------
        x : ndarray
            Wavelengths in Angstrom (clipped to the curve's range).
        power : int, optional
            ``p`` (0 or 1); default :attr:`power`.

        Returns
        -------
        ndarray
        """
        p = self.power if power is None else power
        lam, t = self.wavelength, self.transmission
        slope = np.diff(t) / np.diff(lam)
        h = np.diff(lam)
        if p == 1:
            seg = t[:-1] * lam[:-1] * h + (t[:-1] + slope * lam[:-1]) * h**2 / 2 + slope * h**3 / 3
        else:
            seg = t[:-1] * h + slope * h**2 / 2
        nodes = np.concatenate([[0.0], np.cumsum(seg)])
        x = np.clip(np.asarray(x, float), lam[0], lam[-1])
        k = np.clip(np.searchsorted(lam, x, side="right") - 1, 0, lam.size - 2)
        d = x - lam[k]
        if p == 1:
            part = t[k] * lam[k] * d + (t[k] + slope[k] * lam[k]) * d**2 / 2 + slope[k] * d**3 / 3
        else:
            part = t[k] * d + slope[k] * d**2 / 2
        return nodes[k] + part

    def moment(self, q: int) -> float:
        """Exact ``integral T(l) l**q dl`` (Angstrom) for ``q`` in 1, 0, -1, -2."""
        lam, t = self.wavelength, self.transmission
        slope = np.diff(t) / np.diff(lam)
        a = t[:-1] - slope * lam[:-1]
        x0, x1 = lam[:-1], lam[1:]
        if q == 1:
            seg = a * (x1**2 - x0**2) / 2 + slope * (x1**3 - x0**3) / 3
        elif q == 0:
            seg = a * (x1 - x0) + slope * (x1**2 - x0**2) / 2
        elif q == -1:
            seg = a * np.log(x1 / x0) + slope * (x1 - x0)
        elif q == -2:
            seg = a * (1 / x0 - 1 / x1) + slope * np.log(x1 / x0)
        else:
            raise ValueError(f"moment q must be 1, 0, -1 or -2, got {q}")
        return float(np.sum(seg))

    def ab_zeropoint(self) -> float:
        """Band integral of the AB reference (3631 Jy) with the detector's weighting, in erg/s/cm^2 * A**p."""
        c3631 = (3631.0 * u.Jy * const.c).to_value(u.erg / u.s / u.cm**2 * u.AA)
        return c3631 * self.moment(self.power - 2)

    @property
    def pivot_wavelength(self) -> u.Quantity:
        """Pivot wavelength ``sqrt(int T l^p dl / int T l^(p-2) dl)`` (Angstrom)."""
        p = self.power
        return np.sqrt(self.moment(p) / self.moment(p - 2)) * u.AA

    def __repr__(self) -> str:
        lo, hi = self.wave_range
        return f"<Bandpass {self.name} {lo:.0f}-{hi:.0f} A, {self.detector}-counting>"


@functools.lru_cache(maxsize=64)
def load_bandpass(name: str, detector: str | None = None, vega_magnitude: float | None = None) -> Bandpass:
    """Load a filter curve shipped by ``speclite`` (e.g. ``"gaiadr2-G"``, ``"twomass-J"``, ``"sdss2010-r"``).

    Parameters
    ----------
    name : str
        speclite ``group-band`` name.
    detector : {"photon", "energy"}, optional
        Override the detector type (default: energy-counting for Bessell UBVRI, photon otherwise).
    vega_magnitude : float, optional
        Override Vega's magnitude in the band's Vega system (default 0.03 for Gaia, else 0).

    Returns
    -------
    Bandpass

    Raises
    ------
    ConfigError
        Unknown filter name (the message lists similar names).
    """
    import speclite.filters

    try:
        curve = speclite.filters.load_filter(name)
    except (ValueError, OSError):
        import difflib
        import glob
        import os

        folder = os.path.dirname(speclite.filters.get_path_of_data_file("filters/gaiadr2-G.ecsv"))
        known = sorted(os.path.basename(p)[:-5] for p in glob.glob(os.path.join(folder, "*.ecsv")))
        near = difflib.get_close_matches(name, known, n=3)
        raise ConfigError(
            f"unknown filter {name!r}; "
            + (f"did you mean {', '.join(near)}?" if near else f"known: {', '.join(known)}")
        ) from None
    group = curve.meta["group_name"]
    return Bandpass(
        name,
        curve.wavelength,
        curve.response,
        detector=detector or ("energy" if group in ENERGY_COUNTING else "photon"),
        vega_magnitude=VEGA_MAGNITUDE.get(group, 0.0) if vega_magnitude is None else vega_magnitude,
        meta={"source": "speclite", "description": str(curve.meta.get("description", ""))[:200]},
    )


def load_bandpasses(names: list[str] | tuple[str, ...]) -> list[Bandpass]:
    """Load several speclite filters (see :func:`load_bandpass`)."""
    return [load_bandpass(n) for n in names]
