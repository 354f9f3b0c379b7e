"""Bias / overscan subtraction and a variance plane for raw CCD frames.

Raw frames carry no variance. After the bias is removed, each pixel's variance
in ADU² is ``|data| / gain + (read_noise / gain)²`` with the gain in e⁻/ADU and
the read noise in electrons.
"""

from __future__ import annotations

import numpy as np

from ..errors import ConfigError

__all__ = ["raw_variance", "subtract_bias"]


def _region(shape: tuple[int, ...], region: tuple[int, ...], what: str) -> tuple[slice, slice]:
    if len(region) != 4:
        raise ConfigError(f"{what}: give [row_start, row_stop, col_start, col_stop], got {list(region)}")
    r0, r1, c0, c1 = (int(v) for v in region)
    nrow, ncol = shape[-2:]
    if not (0 <= r0 < r1 <= nrow and 0 <= c0 < c1 <= ncol):
        raise ConfigError(f"{what}: region {list(region)} is outside the {nrow} x {ncol} frame")
    return slice(r0, r1), slice(c0, c1)


def subtract_bias(
    data: np.ndarray, method: str = "none", level: float = 0.0, region: tuple[int, ...] = ()
) -> tuple[np.ndarray, np.ndarray]:
    """Remove the bias level of raw frames.

    Parameters
    ----------
    data : ndarray
        ``(n_ints, n_spatial, n_dispersion)`` raw counts (ADU).
    method : {"none", "constant", "region", "overscan_rows"}
        ``constant`` subtracts ``level``; ``region`` the median of a dark or
        overscan box; ``overscan_rows`` the median of the box's columns in each
        spatial row (an overscan strip read with every row).
    level : float
        Bias level (ADU) for ``constant``.
    region : (row_start, row_stop, col_start, col_stop)
        0-based, stop-exclusive box in the extraction orientation.

    Returns
    -------
    data : ndarray
        Bias-subtracted copy.
    bias : ndarray
        The subtracted level, broadcastable to ``data``.

    Examples
    --------
    >>> d = np.full((1, 4, 6), 900.0)
    >>> subtract_bias(d, "region", region=(0, 4, 4, 6))[0].max()
    np.float64(0.0)
    """
    if method == "none":
        bias = np.zeros((1, 1, 1))
    elif method == "constant":
        bias = np.full((1, 1, 1), float(level))
    elif method in ("region", "overscan_rows"):
        rows, cols = _region(data.shape, region, "bias.region")
        box = data[:, rows, cols]
        if method == "region":
            bias = np.nanmedian(box, axis=(1, 2))[:, None, None]
        else:
            if rows != slice(0, data.shape[1]):
                raise ConfigError("bias.region: overscan_rows needs the box to span every spatial row")
            bias = np.nanmedian(box, axis=2)[:, :, None]
    else:
        raise ConfigError(f"bias.method: unknown method {method!r}; choose none, constant, region or overscan_rows")
    return data - bias, bias


def raw_variance(data: np.ndarray, gain: float, read_noise: float) -> np.ndarray:
    """Variance (ADU²) of bias-subtracted raw counts: ``|data|/gain + (read_noise/gain)**2``.

    Parameters
    ----------
    data : ndarray
        Bias-subtracted counts in ADU.
    gain : float
        e⁻ per ADU (> 0).
    read_noise : float
        Read noise in electrons.

    Returns
    -------
    ndarray

    Examples
    --------
    >>> raw_variance(np.array([100.0]), gain=2.0, read_noise=4.0)
    array([54.])
    """
    if not gain > 0:
        raise ConfigError(f"detector.gain must be > 0 e-/ADU, got {gain}")
    return np.abs(data) / gain + (read_noise / gain) ** 2
