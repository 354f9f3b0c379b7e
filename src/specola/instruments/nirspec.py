"""JWST/NIRSpec resolving power per disperser.

``source="uniform"`` (default) interpolates the STScI pre-launch disperser
tables (R of a uniformly illuminated slit, as used by the JWST ETC), bundled in
``specola/data/instruments``. ``source="point"`` uses polynomial fits to the
point-source R curves of de Graaff et al. 2024 (A&A 684, A87), which are higher
because a compact source under-fills the shutter. ``scale`` multiplies R.
"""

from __future__ import annotations

import functools

import astropy.units as u
import numpy as np
from astropy.io import fits

from ..data import data_path
from ..errors import SpectrumError
from .base import Resolution, register

__all__ = ["DISPERSERS", "NIRSpec"]

DISPERSERS = ("prism", "g140m", "g140h", "g235m", "g235h", "g395m", "g395h")

# Point-source R(lambda[um]) polynomial coefficients, highest power first (de Graaff et al. 2024 msafit curves).
_POINT_COEFFS = {
    "prism": (
        0.6588751520824567,
        -13.160715906787065,
        105.20050050555237,
        -429.52868537465565,
        959.0507565400321,
        -1043.4918213547285,
        480.90575759267125,
    ),
    "g140m": (72.97401411114878, 1238.119318020148, 122.54619776393024),
    "g140h": (497.93050338537523, 2477.457080098987, 691.0215379986365),
    "g235m": (-103.96581777710607, 1216.7117974835414, -496.75905571502886),
    "g235h": (-290.05755034631613, 3480.1919687566588, -1422.7141098998798),
    "g395m": (-33.7506093199521, 571.9739062868341, -28.885468437995822),
    "g395h": (-113.72459145364421, 1717.7667125191442, -322.82363185174756),
}


@functools.cache
def _table(disperser: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    with fits.open(data_path("instruments", f"jwst_nirspec_{disperser}_disp.fits")) as hdul:
        data = hdul[1].data
        return (
            np.asarray(data["WAVELENGTH"], float),
            np.asarray(data["DLDS"], float),
            np.asarray(data["R"], float),
        )


class NIRSpec(Resolution):
    """Resolving power of a NIRSpec disperser.

    Parameters
    ----------
    disperser : str
        One of ``prism, g140m, g140h, g235m, g235h, g395m, g395h`` (case-insensitive).
    source : {"uniform", "point"}
        Uniformly illuminated slit (STScI tables) or point source (de Graaff et al. 2024).
    scale : float
        Factor applied to R (the true R depends on source size and position in the shutter).

    Examples
    --------
    >>> import astropy.units as u
    >>> r = NIRSpec("prism")
    >>> bool(25 < r(1.2 * u.um) < 60)
    True
    """

    unit = u.um

    def __init__(self, disperser: str, source: str = "uniform", scale: float = 1.0) -> None:
        d = disperser.lower()
        if d not in DISPERSERS:
            raise SpectrumError(f"unknown NIRSpec disperser {disperser!r}; choose one of {', '.join(DISPERSERS)}")
        if source not in ("uniform", "point"):
            raise SpectrumError(f"NIRSpec source must be 'uniform' or 'point', got {source!r}")
        if not scale > 0:
            raise SpectrumError(f"NIRSpec scale must be positive, got {scale}")
        self.disperser, self.source, self.scale = d, source, float(scale)
        wave, _, _ = _table(d)
        self.wave_range = (wave.min(), wave.max()) * u.um

    def _evaluate(self, wavelength: np.ndarray) -> np.ndarray:
        wave, _, r = _table(self.disperser)
        if self.source == "point":
            w = np.clip(wavelength, wave.min(), wave.max())
            return self.scale * np.polyval(_POINT_COEFFS[self.disperser], w)
        return self.scale * np.interp(wavelength, wave, r)

    def dispersion(self, wavelength: u.Quantity) -> u.Quantity:
        """Linear dispersion d(lambda)/d(pixel) from the disperser table."""
        wave, dlds, _ = _table(self.disperser)
        return np.interp(u.Quantity(wavelength).to_value(u.um, u.spectral()), wave, dlds) * u.um / u.pix

    def __repr__(self) -> str:
        return f"NIRSpec({self.disperser!r}, source={self.source!r}, scale={self.scale:g})"


register("nirspec", NIRSpec)
