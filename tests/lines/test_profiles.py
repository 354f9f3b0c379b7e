"""Pixel integrals of the profiles and continuum bases against numerical quadrature."""

import numpy as np
import pytest
from scipy.integrate import quad
from scipy.stats import norm

from specola.lines._jax import configure

configure()
from specola.lines import _profiles as P  # noqa: E402


@pytest.mark.parametrize("sigma", [0.3, 1.0, 4.0])
def test_gaussian_pixel_is_exact_integral(sigma):
    edges = np.linspace(95.0, 105.0, 21)
    a, b = edges[:-1], edges[1:]
    got = np.asarray(P.gaussian_pixel(a, b, 100.13, sigma))
    pairs = zip(a, b, strict=True)
    want = np.array([quad(norm.pdf, lo, hi, args=(100.13, sigma), epsabs=1e-14)[0] for lo, hi in pairs])
    np.testing.assert_allclose(got * (b - a), want, atol=1e-12)
    # integrating over pixels, not sampling at centres: differs from the centre value for narrow lines
    if sigma < 0.5:
        assert np.max(np.abs(got - norm.pdf(0.5 * (a + b), 100.13, sigma))) > 0.05


def test_polynomial_basis_is_pixel_mean():
    a, b, ref = np.array([6400.0, 6500.0]), np.array([6401.5, 6503.0]), 6550.0
    basis = np.asarray(P.polynomial_basis(a, b, ref, 3))
    for k in range(4):
        pairs = zip(a, b, strict=True)
        want = [quad(lambda x, k: (x / ref - 1) ** k, lo, hi, args=(k,))[0] / (hi - lo) for lo, hi in pairs]
        np.testing.assert_allclose(basis[:, k], want, rtol=1e-10, atol=1e-18)


def test_powerlaw_pixel_mean():
    a, b, ref = np.array([1.0e4, 2.0e4]), np.array([1.03e4, 2.05e4]), 1.5e4
    for beta in (-2.3, -1.0, 0.0, 1.7):
        got = np.asarray(P.powerlaw_pixel(a, b, ref, beta))
        pairs = zip(a, b, strict=True)
        want = [quad(lambda x, p: (x / ref) ** p, lo, hi, args=(beta,))[0] / (hi - lo) for lo, hi in pairs]
        np.testing.assert_allclose(got, want, rtol=1e-7)


@pytest.mark.parametrize("sigma", [1e-3, 1.2])
def test_laplace_profile_is_exact_and_normalised(sigma):
    """Laplace (FWHM 3) convolved with a Gaussian LSF: brute-force double quadrature per pixel, unit area."""
    from scipy.stats import laplace

    h = 3.0 / (2 * np.log(2))
    edges = np.linspace(-600.0, 600.0, 120001)
    total = np.sum(np.asarray(P.laplace_pixel(edges[:-1], edges[1:], 0.7, 3.0, sigma)) * np.diff(edges))
    assert total == pytest.approx(1.0, abs=1e-6)
    lo = np.array([-4.0, 0.1, 0.5, 3.0])
    hi = lo + 0.5
    got = np.asarray(P.laplace_pixel(lo, hi, 0.7, 3.0, sigma))

    def density(x):  # the convolution by quadrature (a different integrator from the closed form)
        return quad(lambda y: laplace.pdf(y, 0.7, h) * norm.pdf(x - y, 0, sigma), -60, 60, points=[0.7, x],
                    limit=400, epsabs=1e-13)[0]  # fmt: skip

    if sigma < 0.01:  # the LSF is a near-delta: the Laplace CDF itself (quadrature would miss the kernel)
        want = (laplace.cdf(hi, 0.7, h) - laplace.cdf(lo, 0.7, h)) / (hi - lo)
    else:
        want = [quad(density, a, b, epsabs=1e-12)[0] / (b - a) for a, b in zip(lo, hi, strict=True)]
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-9)


def test_erfcx_is_exact_where_jax_returns_zero():
    """Against SciPy over [0, 1e150], through 26.543-26.642 (where jax.scipy.special.erfcx gives 0), and its slope."""
    import jax
    from scipy.special import erfcx

    x = np.concatenate([np.linspace(0.0, 40.0, 40001), np.geomspace(40.0, 1e150, 500), [26.55, 26.6, 26.64]])
    np.testing.assert_allclose(np.asarray(jax.jit(P.erfcx)(x)), erfcx(x), rtol=4e-15, atol=0)
    slope = np.asarray(jax.jit(jax.vmap(jax.grad(P.erfcx)))(x[:40001]))
    np.testing.assert_allclose(slope, 2 * x[:40001] * erfcx(x[:40001]) - 2 / np.sqrt(np.pi), rtol=1e-12, atol=1e-15)


def test_narrow_laplace_under_a_broad_lsf():
    """FWHM 150 km/s under PRISM's blue-end LSF (sigma 4243 km/s; s = sigma / h ~ 39): the CDF against quadrature.

    Near ``t ~ 1.6`` the tail needs ``erfcx`` at ~26.6, where JAX's returns 0 (a CDF error of ~1.5e-3).
    """
    from scipy.stats import laplace

    sigma, h = 4243.0, 150.0 / (2 * np.log(2))
    x = sigma * np.array([-3.0, -1.0, 0.0, 1.55, 1.6, 1.65, 1.72, 3.0])
    got = np.asarray(P.laplace_gauss_cdf(x, h, sigma))
    want = [quad(lambda y, v: laplace.pdf(y, 0, h) * norm.cdf((v - y) / sigma), -40 * h, 40 * h, args=(v,),
                 points=[0.0], limit=400, epsabs=1e-15)[0] for v in x]  # fmt: skip
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-12)


def test_gaussian_integrates_to_its_flux():
    edges = np.linspace(-200.0, 200.0, 40001)
    a, b = edges[:-1], edges[1:]
    assert np.sum(np.asarray(P.gaussian_pixel(a, b, 0.3, 1.7)) * (b - a)) == pytest.approx(1.0, abs=1e-12)


def test_chebyshev_basis_is_pixel_mean():
    from numpy.polynomial import chebyshev

    a, b = np.array([6400.0, 6500.0, 6590.0]), np.array([6401.5, 6503.0, 6599.0])
    lo, hi = 6380.0, 6600.0
    basis = np.asarray(P.chebyshev_basis(a, b, lo, hi, 4))
    for k in range(5):
        tk = lambda x, k=k: chebyshev.chebval((2 * x - lo - hi) / (hi - lo), np.eye(5)[k])
        want = [quad(tk, x0, x1)[0] / (x1 - x0) for x0, x1 in zip(a, b, strict=True)]
        np.testing.assert_allclose(basis[:, k], want, rtol=1e-9, atol=1e-12)
