"""Extraction: 2-D frames and time-series cubes -> 1-D spectra (``SpectrumSeries``).

>>> from specola.extract import ExtractConfig, run        # doctest: +SKIP
>>> result = run(config)                                    # doctest: +SKIP
>>> result.series                                           # doctest: +SKIP

Background (sigma-clipped per-column polynomials), tracing (centroids + robust
polynomial), aperture extraction with exact fractional edges, spline profiles
over the pixel table and optimal extraction (Horne 1986) with outlier rejection.
"""

from .aperture import aperture_extract, aperture_weights
from .background import BackgroundFit, fit_background
from .calibrate import raw_variance, subtract_bias
from .config import ExtractConfig
from .demo import demo
from .optimal import OptimalResult, optimal_extract
from .psf import PixelTable, ProfileModel, fit_profile, pixel_table
from .run import ExtractResult, extract, run
from .synthetic import SyntheticFrames, synthetic_frames
from .trace import Trace, centroids, trace_frames
from .wavelength import series_columns, wavelength_at_trace

__all__ = [
    "BackgroundFit",
    "ExtractConfig",
    "ExtractResult",
    "OptimalResult",
    "PixelTable",
    "ProfileModel",
    "SyntheticFrames",
    "Trace",
    "aperture_extract",
    "aperture_weights",
    "centroids",
    "demo",
    "extract",
    "fit_background",
    "fit_profile",
    "optimal_extract",
    "pixel_table",
    "raw_variance",
    "run",
    "series_columns",
    "subtract_bias",
    "synthetic_frames",
    "trace_frames",
    "wavelength_at_trace",
]
