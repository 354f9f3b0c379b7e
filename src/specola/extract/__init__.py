"""Extraction: 2-D frames and time-series cubes -> 1-D spectra (``SpectrumSeries``).

>>> from specola.extract import ExtractConfig, run, run_to_folder     # doctest: +SKIP
>>> result = run(config)                                               # doctest: +SKIP
>>> result.series, result.summary()                                    # doctest: +SKIP

Background (per-column or per-row polynomials, column medians or photutils 2-D,
two-sided clipping, 1/f stripes), tracing (centroids + robust polynomial and a
per-integration template shift, or Richardson-Lucy deconvolution + a master
trace), aperture extraction with exact fractional edges, profiles (empirical
Horne profile with per-integration shift and width terms, or bounded splines
over the pixel table) and optimal extraction (Horne 1986) with model variances
and outlier rejection. stark's API: :mod:`specola.extract.reduce` (background
helpers), :func:`trace_spectrum`, :func:`trace_spectra`, :func:`aperture_extract`
(``uniform``), :class:`SingleOrderPSF` (``univariate_psf_frame``,
``bivariate_psf_frame``, ``univariate_multi_psf_frame``, ``flux_coo``, ``norm_flux_coo``, ``table2frame``),
:func:`fit_spline_univariate`, :func:`fit_spline_bivariate` and :func:`optimal_extract` (one frame, stark's
arguments); :func:`horne_extract` is the cube version with outlier rejection and model variances.
"""

from .aperture import aperture_extract, aperture_weights
from .background import BackgroundFit, destripe, fit_background
from .config import ExtractConfig
from .deconvolve import trace_spectra, trace_spectrum
from .demo import demo
from .empirical import EmpiricalProfile, fit_empirical_profile
from .optimal import OptimalResult, VarianceModel, horne_extract, optimal_extract
from .psf import PixelTable, ProfileModel, fit_profile, pixel_table
from .reduce import background2d, col_by_col_bkg_sub, polynomial_bkg_cols, polynomial_bkg_rows
from .run import ExtractResult, extract, run, run_to_folder
from .singleorder import SingleOrderPSF, fit_spline_bivariate, fit_spline_univariate
from .synthetic import SyntheticFrames, synthetic_frames
from .trace import Trace, centroids, fit_shifts, trace_frames
from .wavelength import series_columns, wavelength_at_trace

__all__ = [
    "BackgroundFit",
    "EmpiricalProfile",
    "ExtractConfig",
    "ExtractResult",
    "OptimalResult",
    "PixelTable",
    "ProfileModel",
    "SingleOrderPSF",
    "SyntheticFrames",
    "Trace",
    "VarianceModel",
    "aperture_extract",
    "aperture_weights",
    "background2d",
    "centroids",
    "col_by_col_bkg_sub",
    "demo",
    "destripe",
    "extract",
    "fit_background",
    "fit_empirical_profile",
    "fit_profile",
    "fit_shifts",
    "fit_spline_bivariate",
    "fit_spline_univariate",
    "horne_extract",
    "optimal_extract",
    "pixel_table",
    "polynomial_bkg_cols",
    "polynomial_bkg_rows",
    "run",
    "run_to_folder",
    "series_columns",
    "synthetic_frames",
    "trace_frames",
    "trace_spectra",
    "trace_spectrum",
    "wavelength_at_trace",
]
