"""stark's :class:`SingleOrderPSF` and spline-fit functions, on specola's pixel table and bounded splines.

>>> psf = SingleOrderPSF(frame=cube, variance=var, ord_pos=trace, ap_rad=5.0)     # doctest: +SKIP
>>> psf_frame, model, kept = psf.univariate_psf_frame()                           # doctest: +SKIP

``mask`` follows stark: 1 (True) marks a good pixel. The returned "spline" is a
:class:`~specola.extract.psf.ProfileModel` (its ``splines`` hold the scipy objects), and the returned mask
is True for the pixel-table entries kept by the clipping.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from ..errors import SpectrumError
from .aperture import aperture_extract, aperture_weights
from .config import PsfSection
from .psf import PixelTable, ProfileModel, fit_profile, pixel_table

__all__ = ["SingleOrderPSF", "fit_spline_bivariate", "fit_spline_univariate"]

#: stark's keyword names -> PsfSection fields.
_KEYWORDS = {"oversample": "oversample", "clip": "clip", "niters": "niter", "knot_col": "knot_columns"}


def _psf_config(kwargs: dict[str, Any], **fixed: Any) -> PsfSection:
    unknown = set(kwargs) - set(_KEYWORDS) - {"verbose"}
    if unknown:
        raise SpectrumError(f"unknown keyword(s) {sorted(unknown)}; use {sorted(_KEYWORDS)}")
    options = {_KEYWORDS[k]: v for k, v in kwargs.items() if k in _KEYWORDS}
    return dataclasses.replace(PsfSection(min_snr=0.0), **options, **fixed)


def _radius(table: PixelTable) -> float:
    return float(np.max(np.abs(table.distance)))


def fit_spline_univariate(pixel_sorted: PixelTable, **kwargs: Any) -> tuple[ProfileModel, np.ndarray]:
    """A clipped univariate spline in distance over a (normalised) pixel table.

    Parameters
    ----------
    pixel_sorted : PixelTable
        From :meth:`SingleOrderPSF.norm_flux_coo` or :func:`~specola.extract.psf.pixel_table`.
    **kwargs
        ``oversample``, ``clip``, ``niters`` (stark's names; defaults from :class:`PsfSection`).

    Returns
    -------
    model : ProfileModel
    mask : ndarray of bool
        True for the entries kept.
    """
    model = fit_profile(pixel_sorted, _radius(pixel_sorted), "univariate", _psf_config(kwargs))
    return model, ~model.rejected


def fit_spline_bivariate(pixel_array: PixelTable, **kwargs: Any) -> tuple[ProfileModel, np.ndarray]:
    """A clipped bivariate spline in (distance, column) over a pixel table.

    Parameters
    ----------
    pixel_array : PixelTable
    **kwargs
        ``oversample``, ``knot_col``, ``clip``, ``niters``.

    Returns
    -------
    model : ProfileModel
    mask : ndarray of bool
        True for the entries kept.
    """
    model = fit_profile(pixel_array, _radius(pixel_array), "bivariate", _psf_config(kwargs))
    return model, ~model.rejected


class SingleOrderPSF:
    """PSF frames of a single-order cube from a spline over its pixel table (stark's class).

    Parameters
    ----------
    frame, variance : ndarray
        ``(n_ints, n_rows, n_cols)`` background-subtracted data and variance.
    ord_pos : ndarray
        ``(n_ints, n_cols)`` trace rows.
    ap_rad : float
        Aperture radius (pixels).
    spec : ndarray, optional
        ``(n_ints, n_cols)`` normalisation spectra (default: the aperture sums).
    mask : ndarray, optional
        1 for good pixels (default: all good).
    """

    def __init__(
        self,
        frame: np.ndarray,
        variance: np.ndarray,
        ord_pos: np.ndarray,
        ap_rad: float,
        spec: np.ndarray | None = None,
        mask: np.ndarray | None = None,
    ) -> None:
        self.frame = np.asarray(frame, float)
        if self.frame.ndim != 3:
            raise SpectrumError(f"SingleOrderPSF: frame must be (n_ints, n_rows, n_cols), got {self.frame.shape}")
        self.variance = np.asarray(variance, float)
        self.ord_pos = np.broadcast_to(np.asarray(ord_pos, float), (self.frame.shape[0], self.frame.shape[2]))
        if self.variance.shape != self.frame.shape:
            raise SpectrumError(f"SingleOrderPSF: variance shape {self.variance.shape} != frame {self.frame.shape}")
        self.ap_rad = float(ap_rad)
        self.good = np.ones(self.frame.shape, bool) if mask is None else np.asarray(mask, bool)
        self.bad = ~self.good
        if spec is None:
            spec, self.spec_var, _ = aperture_extract(
                self.frame, self.variance, self.ord_pos, self.ap_rad, mask=self.bad
            )
        else:
            self.spec_var = np.zeros_like(np.asarray(spec, float))
        self.spec = np.asarray(spec, float)
        self.weights = aperture_weights(self.ord_pos, self.frame.shape[1], self.ap_rad)

    def flux_coo(self) -> PixelTable:
        """The pixel table (distance from the trace, counts, variance, column) of the aperture pixels."""
        ones = np.ones_like(self.spec)
        return pixel_table(self.frame, self.variance, self.bad, self.ord_pos, self.ap_rad, ones, ones, 0.0)

    def norm_flux_coo(self) -> PixelTable:
        """The pixel table normalised by ``spec`` (the aperture sums unless given)."""
        return pixel_table(
            self.frame, self.variance, self.bad, self.ord_pos, self.ap_rad, self.spec, self.spec_var, 0.0
        )

    def table2frame(self, table: np.ndarray) -> np.ndarray:
        """Put per-entry values of the pixel table back into a ``(n_ints, n_rows, n_cols)`` frame (NaN elsewhere)."""
        t = self.norm_flux_coo()
        out = np.full(self.frame.shape, np.nan)
        out[t.integration, t.row, t.column.astype(int)] = table
        return out

    def _frames(self, kind: str, config: PsfSection) -> tuple[np.ndarray, ProfileModel, np.ndarray]:
        model = fit_profile(self.norm_flux_coo(), self.ap_rad, kind, config)
        return model.frames(self.ord_pos, self.frame.shape[1], self.weights), model, ~model.rejected

    def univariate_psf_frame(self, **kwargs: Any) -> tuple[np.ndarray, ProfileModel, np.ndarray]:
        """One univariate spline for the whole cube: (PSF frames, model, kept-entry mask)."""
        return self._frames("univariate", _psf_config(kwargs))

    def bivariate_psf_frame(self, **kwargs: Any) -> tuple[np.ndarray, ProfileModel, np.ndarray]:
        """One bivariate spline in (distance, column): (PSF frames, model, kept-entry mask)."""
        return self._frames("bivariate", _psf_config(kwargs))

    def univariate_multi_psf_frame(
        self, colrad: int = PsfSection.column_radius, **kwargs: Any
    ) -> tuple[np.ndarray, ProfileModel, np.ndarray]:
        """Univariate splines over windows of ``colrad`` columns: (PSF frames, model, kept-entry mask)."""
        return self._frames("windowed", _psf_config(kwargs, column_radius=max(int(colrad), 2)))
