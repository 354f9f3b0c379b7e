"""A line-spread function tabulated on detector-pixel offsets, applied to a model as a pixel-space band matrix.

Where an instrument's LSF is not Gaussian, R(lambda) does not describe it: the model must be convolved with
the tabulated kernel itself. :class:`TabulatedLSF` holds kernels ``K(lambda_j, x_k)`` (density per detector
pixel, at wavelengths ``lambda_j`` and detector-pixel offsets ``x_k``) and the dispersion (wavelength per detector
pixel); :meth:`TabulatedLSF.pixel_kernel` turns them into the band matrix of any spectrum's pixels, which the
line fitter applies to its pixel-integrated model (as it applies a DESI resolution matrix).

File format (:meth:`TabulatedLSF.read`, any table astropy reads: FITS, ECSV): one row per tabulated wavelength
with columns ``wavelength`` (length unit), ``kernel`` (a vector column of ``K`` samples on a uniform grid of
detector-pixel offsets, centred on 0) and optionally ``dispersion`` (length per detector pixel); the table's meta
gives ``offset_step`` (detector pixels between kernel samples, default 1). Without a ``dispersion`` column a
NIRSpec disperser name supplies it from the bundled disperser table.

Provenance: specola ships no tabulated NIRSpec LSF. The STScI disperser tables bundled in
``specola/data/instruments`` give only R (a Gaussian-equivalent width), and no public LSF kernel table was at hand
when this was written; users supply their own (e.g. from msafit models, de Graaff et al. 2024).
"""

from __future__ import annotations

from pathlib import Path

import astropy.units as u
import numpy as np

from ..errors import FileFormatError, SpectrumError
from .base import FWHM_PER_SIGMA, Resolution

__all__ = ["TabulatedLSF"]

_SUB = 8  # sample points per pixel (source and output) in the band weights


class TabulatedLSF(Resolution):
    """An LSF tabulated per wavelength on a uniform grid of detector-pixel offsets.

    Parameters
    ----------
    wavelength : Quantity
        Increasing wavelengths of the ``m`` tabulated kernels.
    kernels : array_like
        ``(m, K)`` kernel samples (any normalisation: each row is scaled to unit area).
    offset_step : float
        Detector pixels between kernel samples; sample ``k`` is at offset ``(k - K // 2) * offset_step``.
    dispersion : Quantity
        Wavelength per detector pixel at each tabulated wavelength (length ``m``).
    name : str
        Label used in ``repr``.
    """

    #: Source sub-pixels per spectrum pixel on which the line model is evaluated before the kernel.
    subpixels = 4

    def __init__(
        self,
        wavelength: u.Quantity,
        kernels: np.ndarray,
        offset_step: float,
        dispersion: u.Quantity,
        name: str = "tabulated LSF",
    ) -> None:
        wavelength = u.Quantity(wavelength)
        k = np.asarray(kernels, float)
        if k.ndim != 2 or k.shape[0] != wavelength.size or k.shape[1] % 2 != 1 or k.shape[1] < 3:
            raise SpectrumError(f"{name}: kernels must be (nwave, odd K >= 3), got {k.shape} for {wavelength.size}")
        area = k.sum(axis=1) * offset_step
        if not (offset_step > 0 and np.all(np.isfinite(k)) and np.all(area > 0)):
            raise SpectrumError(f"{name}: kernels must be finite with positive area and offset_step > 0")
        if not np.all(np.diff(wavelength.value) > 0):
            raise SpectrumError(f"{name}: kernel wavelengths must increase")
        self.unit = wavelength.unit
        self.wave = wavelength.value.astype(float)
        self.kernels = k / area[:, None]
        self.step = float(offset_step)
        self.offsets = (np.arange(k.shape[1]) - k.shape[1] // 2) * self.step
        disp = u.Quantity(dispersion)
        disp = disp * u.pix if disp.unit.is_equivalent(u.m / u.pix) else disp  # per detector pixel
        if not disp.unit.is_equivalent(self.unit):
            raise SpectrumError(f"{name}: dispersion needs a length unit (per detector pixel), got {disp.unit}")
        self.dispersion = disp.to_value(self.unit).astype(float) * np.ones(self.wave.size)
        self.name = name

    @classmethod
    def read(cls, path: str | Path, disperser: str | None = None) -> TabulatedLSF:
        """Read a kernel table (see the module docstring); ``disperser`` (NIRSpec) supplies a missing dispersion."""
        from astropy.table import QTable

        from .nirspec import NIRSpec

        path = Path(path)
        try:
            t = QTable.read(path)
        except (OSError, ValueError) as exc:
            raise FileFormatError(f"{path}: cannot read an LSF kernel table: {exc}") from None
        cols = {c.lower(): c for c in t.colnames}
        lacking = [c for c in ("wavelength", "kernel") if c not in cols]
        if lacking:
            raise FileFormatError(f"{path}: LSF kernel table lacks column(s) {', '.join(lacking)}")
        wave = t[cols["wavelength"]]
        if not isinstance(wave, u.Quantity) or wave.unit.physical_type != "length":
            raise FileFormatError(f"{path}: column {cols['wavelength']} needs a length unit")
        meta = {str(k).lower(): v for k, v in t.meta.items()}
        step = float(meta.get("offset_step", meta.get("offstep", 1.0)))
        if "dispersion" in cols:
            disp = u.Quantity(t[cols["dispersion"]])
        elif disperser is not None:
            disp = NIRSpec(disperser).dispersion(wave)
        else:
            raise FileFormatError(f"{path}: no dispersion column; name the NIRSpec disperser it belongs to")
        try:
            return cls(wave, np.asarray(t[cols["kernel"]], float), step, disp, name=f"{path.name}")
        except SpectrumError as exc:
            raise FileFormatError(f"{path}: {exc}") from None

    def rows_at(self, wavelength: np.ndarray) -> np.ndarray:
        """Kernels ``(n, K)`` at wavelengths in ``self.unit`` (linear in wavelength, constant beyond the table)."""
        w = np.clip(np.asarray(wavelength, float), self.wave[0], self.wave[-1])
        j = np.clip(np.searchsorted(self.wave, w) - 1, 0, max(self.wave.size - 2, 0))
        if self.wave.size == 1:
            return np.repeat(self.kernels, w.size, axis=0)
        t = ((w - self.wave[j]) / (self.wave[j + 1] - self.wave[j]))[:, None]
        return (1 - t) * self.kernels[j] + t * self.kernels[j + 1]

    def _evaluate(self, wavelength: np.ndarray) -> np.ndarray:
        rows = self.rows_at(wavelength.ravel())
        mean = rows @ self.offsets * self.step
        var = rows @ self.offsets**2 * self.step - mean**2
        disp = np.interp(wavelength.ravel(), self.wave, self.dispersion)
        return (wavelength.ravel() / (FWHM_PER_SIGMA * np.sqrt(var) * disp)).reshape(wavelength.shape)

    def pixel_kernel(self, low: u.Quantity, high: u.Quantity) -> tuple[np.ndarray, np.ndarray]:
        """Band weights of a spectrum's pixels over source sub-pixels: offsets ``(K,)`` and weights ``(n, K)``.

        Each pixel is split into :attr:`subpixels` equal source sub-pixels, numbered ``i * subpixels + s``.
        ``weights[i, k]`` is the mean over pixel ``i`` of the LSF (centred at each point of pixel ``i``) integrated
        over sub-pixel ``i * subpixels + offsets[k]``, so ``sum_k weights[i, k] * m[i * subpixels + offsets[k]]`` is
        pixel ``i`` of the convolved model when ``m`` holds the model's sub-pixel means (8 points per pixel on each
        side). Sub-pixels keep the pixel-mean approximation of the source from adding a pixel-wide box to the LSF: what
        is left adds a variance of about ``2 (width / subpixels)**2 / 12`` (a line of sigma 1 pixel comes out 0.5%
        too broad, of 2.5 pixels 0.1%).
        """
        a = low.to_value(self.unit, u.spectral()).astype(float)
        b = high.to_value(self.unit, u.spectral()).astype(float)
        n, width, centre = a.size, b - a, 0.5 * (a + b)
        nsub = self.subpixels
        disp = np.interp(centre, self.wave, self.dispersion)
        half = int(np.ceil(np.max((np.max(np.abs(self.offsets)) * disp) / width))) + 1
        offs = np.arange(-half, half + 1)
        j = np.arange(n)[:, None] + offs
        inside = (j >= 0) & (j < n)
        jc = np.clip(j, 0, n - 1)
        t = (np.arange(_SUB) + 0.5) / _SUB
        x = a[:, None] + width[:, None] * t  # (n, S) points of the output pixel
        y = a[jc][..., None] + width[jc][..., None] * t  # (n, K, S) points of the source pixel
        d = (x[:, None, :, None] - y[:, :, None, :]) / disp[:, None, None, None]  # detector pixels
        rows = self.rows_at(centre)  # (n, Koff)
        pos = (d - self.offsets[0]) / self.step
        lo = np.floor(pos).astype(int)
        frac = pos - lo
        nk = self.offsets.size

        def sample(idx):
            ok = (idx >= 0) & (idx < nk)
            val = np.take_along_axis(rows, np.clip(idx, 0, nk - 1).reshape(n, -1), axis=1).reshape(idx.shape)
            return np.where(ok, val, 0.0)

        dens = (1 - frac) * sample(lo) + frac * sample(lo + 1)  # (n, K, Sx, Sy) per detector pixel
        dens = dens.reshape(n, offs.size, _SUB, nsub, _SUB // nsub).mean(axis=(2, 4))  # (n, K, nsub)
        weights = dens * (width[jc] / nsub / disp[:, None])[..., None]
        weights /= weights.sum(axis=(1, 2), keepdims=True)  # a flat spectrum stays flat despite the sampling
        weights = np.where(inside[..., None], weights, 0.0).reshape(n, -1)
        return (offs[:, None] * nsub + np.arange(nsub)).ravel(), weights

    def __repr__(self) -> str:
        return (
            f"<TabulatedLSF {self.name}: {self.wave.size} kernels of {self.offsets.size} samples, "
            f"{self.wave[0]:.6g}-{self.wave[-1]:.6g} {self.unit}>"
        )
