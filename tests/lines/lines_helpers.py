"""Independent simulation helpers of the line tests: pixel means by point sampling, a dense DESI-like matrix."""

import numpy as np

C = 299792.458
K = 2.3548200450309493  # FWHM / sigma


def pixel_means(low, high, lines, cont):
    """A flat continuum plus intrinsic Gaussian lines ``[(centre A, FWHM km/s, flux), ...]``, 40 points per pixel."""
    x = low[:, None] + (high - low)[:, None] * (np.arange(40) + 0.5) / 40
    f = np.full_like(x, cont)
    for centre, fwhm, flux in lines:
        sigma = centre * fwhm / C / K
        f += flux * np.exp(-0.5 * ((x - centre) / sigma) ** 2) / (np.sqrt(2 * np.pi) * sigma)
    return f.mean(axis=1)


def desi_dense(n):
    """Dense R: each row an asymmetric two-Gaussian LSF (core 0.9 px, shoulder at +1.6 px), rows sum to 1."""
    d = np.arange(-5, 6)
    core, shoulder = np.exp(-0.5 * (d / 0.9) ** 2), 0.45 * np.exp(-0.5 * ((d - 1.6) / 1.2) ** 2)
    row = (core + shoulder) / (core + shoulder).sum()
    dense = np.zeros((n, n))
    for i in range(n):
        for k, off in enumerate(d):
            if 0 <= i + off < n:
                dense[i, i + off] = row[k]
    return dense


def desi_diagonals(dense):
    """desispec layout: row k holds the diagonal of offset 5 - k, element (i, i + off) at column i + off."""
    n = dense.shape[0]
    data = np.zeros((11, n))
    for k, off in enumerate(range(5, -6, -1)):
        for j in range(n):
            if 0 <= j - off < n:
                data[k, j] = dense[j - off, j]
    return data
