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


def test_lorentzian_and_pseudo_voigt_are_normalised():
    edges = np.linspace(-3000.0, 3000.0, 60001)
    a, b = edges[:-1], edges[1:]
    lor = np.asarray(P.lorentzian_pixel(a, b, 1.0, 2.0))
    assert np.sum(lor * (b - a)) == pytest.approx(1.0, abs=1e-3)  # Lorentzian tails beyond +-3000: 4e-4
    pv = np.asarray(P.pseudo_voigt_pixel(a, b, 1.0, 1.5, 2.0))
    assert np.sum(pv * (b - a)) == pytest.approx(1.0, abs=1e-3)
    # pure Gaussian limit
    lo = np.array([-2.0, -0.5, 0.3, 1.9])
    g = np.asarray(P.pseudo_voigt_pixel(lo, lo + 0.4, 0.0, 1.5, 1e-9))
    np.testing.assert_allclose(g, np.asarray(P.gaussian_pixel(lo, lo + 0.4, 0.0, 1.5)), rtol=1e-6)


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
