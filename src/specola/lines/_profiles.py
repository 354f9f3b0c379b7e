"""Pixel-integrated line profiles and continuum bases (JAX, float64).

Every function returns the **mean flux density over a pixel** ``[a, b]``, i.e. the
exact integral of the profile over the pixel divided by its width, so a line of
integrated flux ``F`` contributes ``F * profile`` to each pixel.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
from jax.scipy.special import erf, ndtr

from . import _jax  # noqa: F401  (JAX in float64 before any kernel runs)

#: Speed of light in km/s.
C_KMS = 299792.458
#: FWHM / sigma of a Gaussian.
FWHM_PER_SIGMA = 2.3548200450309493
_SQRT2 = 1.4142135623730951


def gaussian_pixel(a, b, mu, sigma):
    """Mean over ``[a, b]`` of a unit-area Gaussian (centre ``mu``, width ``sigma``); broadcasts."""
    s = _SQRT2 * sigma
    e = erf(_edges(a, b, mu) / s)  # one erf over both edges: half the compiled graph of two calls
    return 0.5 * (e[1] - e[0]) / (b - a)


def _edges(a, b, mu):
    """``a - mu`` and ``b - mu`` broadcast and stacked on a new first axis (one special-function call for both)."""
    return jnp.stack(jnp.broadcast_arrays(a - mu, b - mu))


#: ``erfcx(x) ~ P(1 / x^2) / (x sqrt(pi))`` beyond ``_ERFCX_SWITCH``: ``P(t) = sum_k (-1)^k (2k - 1)!! / 2^k t^k``,
#: ten terms (the first left out is < 2e-16 of the sum there).
_ERFCX_SERIES = tuple(math.prod(-(2 * j - 1) / 2 for j in range(1, k + 1)) for k in range(10))
_ERFCX_SWITCH = 12.0
_SQRT_PI = 1.7724538509055159


@jax.custom_jvp
def erfcx(x):
    """The scaled complementary error function ``exp(x^2) erfc(x)`` (float64; relative error < 1e-15).

    ``exp(x^2) erfc(x)`` up to ``x = 12``, the asymptotic series beyond. Written here because
    ``jax.scipy.special.erfcx`` (JAX 0.10.2) switches to its series only where ``exp(x^2)`` would overflow
    (``x > 26.64``), and ``erfc(x)`` is subnormal before that, flushed to zero on the CPU: it returns 0 for
    ``26.543 <= x <= 26.642``. A narrow Laplace line under a broad LSF reaches that range (``s = sigma / h >
    37.5``, e.g. FWHM < 157 km/s at PRISM's blue end). Derivative: the exact ``2 x erfcx(x) - 2 / sqrt(pi)``.
    """
    large = x > _ERFCX_SWITCH
    near = jnp.where(large, 1.0, x)
    far = jnp.where(large, x, 2.0 * _ERFCX_SWITCH)
    t = 1.0 / far**2
    series = 0.0
    for c in _ERFCX_SERIES[::-1]:  # Horner
        series = series * t + c
    series = series / (far * _SQRT_PI)
    return jnp.where(large, series, jnp.exp(near**2) * jax.lax.erfc(near))


@erfcx.defjvp
def _erfcx_jvp(primals, tangents):
    (x,), (dx,) = primals, tangents
    e = erfcx(x)
    return e, (2.0 * x * e - 2.0 / _SQRT_PI) * dx


def _laplace_tail(t, s):
    """``exp(s**2/2 - s t) Phi(t - s)`` without overflow, with one ``erfcx`` (and finite gradients everywhere).

    With ``w = (s - t) / sqrt(2)``: ``A = exp(-t^2/2) erfcx(w) / 2`` for ``w >= 0``; for ``w < 0`` the identity
    ``erfcx(w) = 2 exp(w^2) - erfcx(-w)`` gives ``A = exp(s (s/2 - t)) - exp(-t^2/2) erfcx(-w) / 2``.
    """
    w = (s - t) / _SQRT2
    upper = w < 0
    main = jnp.where(upper, jnp.exp(s * (0.5 * s - jnp.maximum(t, s))), 0.0)
    return main + jnp.where(upper, -0.5, 0.5) * jnp.exp(-0.5 * t**2) * erfcx(jnp.abs(w))


def laplace_gauss_cdf(x, scale, sigma):
    """CDF of a unit-area Laplace profile (``exp(-|x| / scale) / (2 scale)``) convolved with a Gaussian ``sigma``.

    The normal-Laplace distribution (Reed 2006, J. Stat. Theory Appl.):
    ``F = Phi(t) - [A(t) - A(-t)] / 2`` with ``t = x / sigma``, ``s = sigma / scale`` and
    ``A(t) = exp(s^2/2 - s t) Phi(t - s)``, evaluated in a form that neither overflows nor loses the tails.
    """
    t, s = x / sigma, sigma / scale
    tails = _laplace_tail(jnp.stack(jnp.broadcast_arrays(t, -t)), s)  # both tails in one call (a smaller graph)
    return 0.5 * (1.0 + erf(t / _SQRT2)) - 0.5 * (tails[0] - tails[1])  # Phi by erf: a smaller graph than ndtr


def laplace_pixel(a, b, mu, fwhm, sigma):
    """Mean over ``[a, b]`` of a unit-area Laplace profile of full width ``fwhm`` seen through a Gaussian LSF.

    The Laplace (exponential) profile ``exp(-|x - mu| / h) / (2 h)`` has ``FWHM = 2 h ln 2``; ``sigma`` is the
    instrumental Gaussian width. Exact pixel integral (difference of the convolved CDF at the edges).
    """
    h = fwhm / (2.0 * jnp.log(2.0))
    cdf = laplace_gauss_cdf(_edges(a, b, mu), h, sigma)  # both edges in one call (a smaller graph)
    return (cdf[1] - cdf[0]) / (b - a)


def chebyshev_basis(a, b, lo, hi, order: int):
    """Pixel means of the Chebyshev polynomials ``T_k(x)``, ``x`` mapping ``[lo, hi]`` onto ``[-1, 1]``.

    Exact: ``T_k`` is written in powers of ``x`` and each power integrated over the pixel, as in
    :func:`polynomial_basis`. Shape ``(npix, order + 1)``.
    """
    import numpy as np
    from numpy.polynomial import chebyshev

    centre, half = 0.5 * (lo + hi), 0.5 * (hi - lo)
    powers = polynomial_basis(a, b, centre, order, scale=half / centre)
    coef = np.zeros((order + 1, order + 1))  # column k: power coefficients of T_k
    for k in range(order + 1):
        c = chebyshev.cheb2poly(np.eye(order + 1)[k])
        coef[: len(c), k] = c
    return powers @ jnp.asarray(coef)


def polynomial_basis(a, b, ref, order: int, scale=1.0):
    """Pixel means of ``t**k`` (``k = 0..order``), ``t = (lambda / ref - 1) / scale``; shape ``(npix, order + 1)``.

    Uses ``(tb**(k+1) - ta**(k+1)) / ((k+1)(tb - ta)) = sum_j ta**j tb**(k-j) / (k+1)``, free of cancellation.
    """
    ta, tb = (a / ref - 1.0) / scale, (b / ref - 1.0) / scale
    cols = [jnp.ones_like(ta)]
    for k in range(1, order + 1):
        cols.append(sum(ta**j * tb ** (k - j) for j in range(k + 1)) / (k + 1))
    return jnp.stack(cols, axis=-1)


def powerlaw_pixel(a, b, ref, beta):
    """Pixel mean of ``(lambda / ref)**beta`` to fourth order in the pixel width (smooth in ``beta``)."""
    x = 0.5 * (a + b) / ref
    h = (b - a) / ref / x
    return x**beta * (1.0 + beta * (beta - 1.0) * h**2 / 24.0)


#: Gauss-Legendre nodes per pixel for profiles without a closed-form pixel integral (Voigt, skewed, Gauss-Hermite):
#: relative error < 1e-7 of the flux for pixels up to 2.5 sigma of the narrowest (instrument-broadened) core.
GL_NODES = 12
_WEIDEMAN_N = 32


def _weideman_coefficients(n: int = _WEIDEMAN_N):
    """Polynomial coefficients and scale ``L`` of Weideman's (1994, SIAM J. Numer. Anal. 31, 1497) rational series."""
    import numpy as np

    m = 2 * n
    k = np.arange(-m + 1, m)
    scale = np.sqrt(n / np.sqrt(2.0))
    t = scale * np.tan(k * np.pi / (2 * m))
    f = np.concatenate([[0.0], np.exp(-(t**2)) * (scale**2 + t**2)])
    a = np.real(np.fft.fft(np.fft.fftshift(f))) / (2 * m)
    return a[1 : n + 1][::-1], scale


_W_COEF, _W_L = _weideman_coefficients()


def faddeeva(z):
    """The Faddeeva function ``w(z) = exp(-z^2) erfc(-iz)`` for ``Im z >= 0`` (Weideman, N = 32; rel. error ~1e-13)."""
    iz = 1j * z
    big_z = (_W_L + iz) / (_W_L - iz)
    p = jnp.zeros_like(big_z)
    for c in _W_COEF:  # Horner
        p = p * big_z + c
    return 2.0 * p / (_W_L - iz) ** 2 + (1.0 / jnp.sqrt(jnp.pi)) / (_W_L - iz)


def voigt_density(x, sigma, gamma):
    """Unit-area Voigt profile at offset ``x``: a Lorentzian of HWHM ``gamma`` convolved with a Gaussian ``sigma``."""
    s = _SQRT2 * sigma
    return jnp.real(faddeeva((x + 1j * gamma) / s)) / (s * jnp.sqrt(jnp.pi))


def skew_gauss_density(x, omega, alpha, sigma):
    """Unit-area skew-normal (scale ``omega``, shape ``alpha``) at offset ``x``, convolved exactly with a Gaussian.

    A skew-normal convolved with a normal is skew-normal (Azzalini 1985): ``omega'^2 = omega^2 + sigma^2`` and
    ``delta' = delta omega / omega'`` with ``delta = alpha / sqrt(1 + alpha^2)``.
    """
    om = jnp.sqrt(omega**2 + sigma**2)
    delta = alpha / jnp.sqrt(1.0 + alpha**2) * omega / om
    alpha_t = delta / jnp.sqrt(1.0 - delta**2)
    t = x / om
    return 2.0 * jnp.exp(-0.5 * t**2) / (jnp.sqrt(2.0 * jnp.pi) * om) * ndtr(alpha_t * t)


def gauss_hermite_density(x, sigma_g, h3, h4, sigma):
    """Gauss-Hermite profile (van der Marel & Franx 1993; ``h3``, ``h4``) of unit area, convolved with a Gaussian.

    ``G(y) [1 + h3 H3(y) + h4 H4(y)] / (1 + h4 sqrt(6) / 4)``, ``y = x / sigma_g``. The convolution is exact:
    ``phi_S(x) E[P(u)]`` with ``S^2 = sigma_g^2 + sigma^2`` and ``u ~ N(x sigma_g / S^2, sigma^2 / S^2)``.
    """
    s2 = sigma_g**2 + sigma**2
    m, v = x * sigma_g / s2, sigma**2 / s2
    e2, e3, e4 = m**2 + v, m**3 + 3 * m * v, m**4 + 6 * m**2 * v + 3 * v**2
    e_h3 = (2 * _SQRT2 * e3 - 3 * _SQRT2 * m) / jnp.sqrt(6.0)
    e_h4 = (4 * e4 - 12 * e2 + 3) / jnp.sqrt(24.0)
    gauss = jnp.exp(-0.5 * x**2 / s2) / jnp.sqrt(2.0 * jnp.pi * s2)
    return gauss * (1.0 + h3 * e_h3 + h4 * e_h4) / (1.0 + h4 * jnp.sqrt(6.0) / 4.0)


def pixel_mean(density, a, b, mu, *params, nodes: int = GL_NODES):
    """Mean over ``[a, b]`` of ``density(x - mu, *params)`` by Gauss-Legendre quadrature (``nodes`` per pixel)."""
    import numpy as np

    xg, wg = np.polynomial.legendre.leggauss(nodes)
    c, h = 0.5 * (a + b), 0.5 * (b - a)
    x = (c - mu)[..., None] + h[..., None] * xg
    vals = density(x, *(jnp.asarray(p)[..., None] for p in params))
    return 0.5 * jnp.sum(vals * wg, axis=-1)


#: Second radiation constant h c / k in A K.
C2_AK = 1.438776877e8


def _log_expm1(y):
    return y + jnp.log(-jnp.expm1(-y))


def blackbody_ratio(x, ref, temperature):
    """``B_lambda(x, T) / B_lambda(ref, T)`` (wavelengths in A, ``T`` in K), without overflow."""
    return jnp.exp(5.0 * jnp.log(ref / x) + _log_expm1(C2_AK / (ref * temperature))
                   - _log_expm1(C2_AK / (x * temperature)))  # fmt: skip


def bspline_basis(a, b, lo, hi, knots: int, nodes: int = 4):
    """Pixel means of the ``knots + 4`` cubic B-splines on uniform knots over ``[lo, hi]``; shape ``(npix, knots + 4)``.

    Cox-de Boor recursion on the extended uniform knot vector; pixel means by ``nodes``-point Gauss-Legendre
    quadrature (exact inside a knot interval).
    """
    import numpy as np

    xg, wg = np.polynomial.legendre.leggauss(nodes)
    c, h = 0.5 * (a + b), 0.5 * (b - a)
    t = ((c[..., None] + h[..., None] * xg) - lo[..., None]) / (hi - lo)[..., None]
    step = 1.0 / (knots + 1)
    kv = (np.arange(knots + 8) - 3.0) * step
    t = t[..., None]
    basis = jnp.where((t >= kv[:-1]) & (t < kv[1:]), 1.0, 0.0)
    for d in range(1, 4):
        left = (t - kv[: -d - 1]) / (d * step) * basis[..., :-1]
        right = (kv[d + 1 :] - t) / (d * step) * basis[..., 1:]
        basis = left + right
    return 0.5 * jnp.sum(basis * wg[:, None], axis=-2)
