"""Voigt, skewed-Gaussian and Gauss-Hermite profiles: normalisation, brute-force pixel integrals, recovery."""

import astropy.units as u
import numpy as np
import pytest
from scipy.signal import fftconvolve
from scipy.special import voigt_profile
from scipy.stats import norm, skewnorm

from specola.instruments import Constant
from specola.lines import GroupSpec, LineSpec, PriorSpec, build_model, fit
from specola.lines._jax import configure
from specola.spectrum import Spectrum

configure()
from specola.lines import _profiles as P  # noqa: E402

HALPHA = 6564.61
C_KMS = 299792.458
FLAM = u.Unit("1e-17 erg / (s cm2 Angstrom)")


def _gh_intrinsic(x, sg, h3, h4):
    """Gauss-Hermite profile (unit area) written from its definition, for NumPy."""
    y = x / sg
    h3p = (2 * np.sqrt(2) * y**3 - 3 * np.sqrt(2) * y) / np.sqrt(6)
    h4p = (4 * y**4 - 12 * y**2 + 3) / np.sqrt(24)
    return norm.pdf(y) / sg * (1 + h3 * h3p + h4 * h4p) / (1 + h4 * np.sqrt(6) / 4)


def _convolve(x, intrinsic, sigma):
    """``intrinsic`` (values on the uniform grid ``x``) convolved numerically with a Gaussian of ``sigma``."""
    dx = x[1] - x[0]
    k = np.arange(-int(12 * sigma / dx), int(12 * sigma / dx) + 1) * dx
    return fftconvolve(intrinsic, norm.pdf(k, 0, sigma) * dx, mode="same")


PROFILES = {  # name: (JAX density, its parameters, NumPy intrinsic density, LSF sigma)
    "voigt": (P.voigt_density, (1.1, 0.8), None, None),
    "skewgauss": (P.skew_gauss_density, (1.5, 4.0, 0.9), lambda x: skewnorm.pdf(x, 4.0, 0, 1.5), 0.9),
    "gausshermite": (P.gauss_hermite_density, (1.4, 0.12, 0.07, 0.8), lambda x: _gh_intrinsic(x, 1.4, 0.12, 0.07), 0.8),
}


@pytest.mark.parametrize("name", PROFILES)
def test_profile_integrates_to_its_flux(name):
    density, params, _, _ = PROFILES[name]
    half = 3000.0
    edges = np.linspace(-half, half, 60001)
    total = np.sum(np.asarray(P.pixel_mean(density, edges[:-1], edges[1:], 0.37, *params)) * np.diff(edges))
    want = 1.0 - 2 / np.pi * np.arctan(params[1] / half) if name == "voigt" else 1.0  # Lorentzian tails
    assert total == pytest.approx(want, abs=1e-6)


@pytest.mark.parametrize("name", PROFILES)
@pytest.mark.parametrize("pixel", [0.4, 2.0])
def test_quadrature_matches_brute_force_pixel_integral(name, pixel):
    """Gauss-Legendre pixel means vs a 0.0005-A grid of a profile convolved by a different route."""
    density, params, intrinsic, lsf = PROFILES[name]
    x = np.arange(-60.0, 60.0, 0.0005)
    if name == "voigt":  # SciPy's Voigt, not the Weideman series
        fine = voigt_profile(x, *params)
    else:
        fine = _convolve(x, intrinsic(x), lsf)
    lo = np.arange(-6.0, 6.0, pixel) + 0.13
    got = np.asarray(P.pixel_mean(density, lo, lo + pixel, 0.0, *params))
    cum = np.concatenate([[0.0], np.cumsum(0.5 * (fine[1:] + fine[:-1]) * np.diff(x))])  # trapezoid CDF
    want = (np.interp(lo + pixel, x, cum) - np.interp(lo, x, cum)) / pixel
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-6 * want.max())


def test_faddeeva_against_scipy():
    from scipy.special import wofz

    z = np.array([0.1 + 0.01j, 3 + 0.5j, 10 + 0j, 0.5 + 2j, 30 + 1e-3j, 1e-8j, 100 + 50j])
    np.testing.assert_allclose(np.asarray(P.faddeeva(z)), wofz(z), rtol=1e-11)


# --- injection-recovery: simulated on a 40x finer grid with NumPy/SciPy, fitted with MAP + Laplace -------------

LSF = 1.5  # A
TRUTH = {"lorentzian": {"fwhm_narrow": 300.0}, "skewgauss": {"skew_narrow": 3.0, "fwhm_narrow": 500.0},
         "gausshermite": {"h3_narrow": 0.1, "h4_narrow": 0.05, "fwhm_narrow": 400.0}}  # fmt: skip


def _simulate(profile, truth, rng, flux=3000.0, cont=10.0, noise=0.5):
    edges = np.arange(6450.0, 6680.0, 1.0)
    fine = np.arange(6400.0, 6730.0, 1.0 / 40) + 0.5 / 40  # 40 sub-pixels per pixel (centres)
    f = HALPHA * truth["fwhm_narrow"] / C_KMS
    x = fine - HALPHA
    if profile == "lorentzian":
        dens = voigt_profile(x, LSF, f / 2)
    elif profile == "skewgauss":
        dens = _convolve(x, skewnorm.pdf(x, truth["skew_narrow"], 0, f / P.FWHM_PER_SIGMA), LSF)
    else:
        dens = _convolve(x, _gh_intrinsic(x, f / P.FWHM_PER_SIGMA, truth["h3_narrow"], truth["h4_narrow"]), LSF)
    model = cont + flux * dens
    i0 = round((edges[0] - fine[0] + 0.5 / 40) * 40)
    mean = model[i0 : i0 + 40 * (edges.size - 1)].reshape(-1, 40).mean(axis=1)
    err = np.full(mean.size, noise)
    res = Constant(HALPHA / P.FWHM_PER_SIGMA / LSF)
    return Spectrum(edges[:-1] * u.AA, edges[1:] * u.AA, (mean + noise * rng.standard_normal(mean.size)) * FLAM,
                    err * FLAM, meta={"name": "sim", "resolution": res})  # fmt: skip


@pytest.fixture(scope="module", params=list(TRUTH))
def recovered(request):
    profile = request.param
    s = _simulate(profile, TRUTH[profile], np.random.default_rng(11))
    groups = [GroupSpec("narrow", "width", PriorSpec("uniform", low=50.0, high=2000.0))]
    model = build_model([s], [LineSpec("Halpha", profile=profile)], 0.0, groups=groups)
    return profile, fit(model, "laplace", num_samples=2000, seed=1)


def test_injected_shape_is_recovered(recovered):
    profile, post = recovered
    for name, true in TRUTH[profile].items():
        draws = post.flat(name)
        mean, sd = np.mean(draws), np.std(draws)
        assert abs(mean - true) < 3.5 * sd, (profile, name, mean, sd, true)
        assert sd < 0.1 * max(abs(true), 0.5), (profile, name, sd)  # measured, not the prior


def test_model_dispatches_each_profile_with_its_shape_parameters():
    """Each profile in one model: its column equals the profile function with the LSF and shape values given."""
    s = _simulate("lorentzian", TRUTH["lorentzian"], np.random.default_rng(2))
    kinds = ["gaussian", "lorentzian", "voigt", "laplace", "skewgauss", "gausshermite"]
    lines = [LineSpec(f"l{i}", wavelength=6480.0 + 35 * i, profile=k, width=f"w{i}") for i, k in enumerate(kinds)]
    groups = [GroupSpec(f"w{i}", "width", PriorSpec("uniform", low=50.0, high=2000.0)) for i in range(len(kinds))]
    model = build_model([s], lines, 0.0, groups=groups)
    truth = {n: model.plan.sites[n].centre() for n in model.plan.sites}
    truth.update({"fwhmg_w2": 200.0, "skew_w4": 2.0, "h3_w5": 0.1, "h4_w5": -0.05})
    cols = model.predict(truth)["lines"] / (truth["flux_l0"] * model.plan.line_unit)
    a, b = np.asarray(model.args["low"]), np.asarray(model.args["high"])
    mu = np.array([6480.0 + 35 * i for i in range(len(kinds))]) * (1 + truth["z_z"])
    f = mu * np.array([truth[f"fwhm_w{i}"] for i in range(len(kinds))]) / C_KMS
    k = P.FWHM_PER_SIGMA
    si = mu / (HALPHA / P.FWHM_PER_SIGMA / LSF) / k
    want = [P.gaussian_pixel(a, b, mu[0], np.hypot(f[0] / k, si[0])),
            P.pixel_mean(P.voigt_density, a, b, mu[1], si[1], f[1] / 2),
            P.pixel_mean(P.voigt_density, a, b, mu[2], np.hypot(si[2], mu[2] * 200.0 / C_KMS / k), f[2] / 2),
            P.laplace_pixel(a, b, mu[3], f[3], si[3]),
            P.pixel_mean(P.skew_gauss_density, a, b, mu[4], f[4] / k, 2.0, si[4]),
            P.pixel_mean(P.gauss_hermite_density, a, b, mu[5], f[5] / k, 0.1, -0.05, si[5])]  # fmt: skip
    for i, w in enumerate(want):
        np.testing.assert_allclose(cols[:, i], np.asarray(w), rtol=1e-9, atol=1e-14, err_msg=kinds[i])
