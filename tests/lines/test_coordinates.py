"""The sampler's coordinates for bounded fluxes (specola.lines._coordinates) and NUTS on a flux at its bound."""

import astropy.units as u
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from lines_helpers import pixel_means
from scipy import stats

import specola.lines._jax  # noqa: F401  (its import turns JAX float64 on)
from specola.lines import GroupSpec, LineSpec, PriorSpec, build_model, fit
from specola.lines import _coordinates as coords
from specola.lines.inference import _whitened, _whitened_potential, _whitened_start, compiled, find_map
from specola.spectrum import Spectrum

HALPHA = 6564.61
FLAM = u.Unit("1e-17 erg / (s cm2 Angstrom)")
V = np.linspace(-30.0, 30.0, 121)


def _cases(n):
    sign = np.resize([1.0, -1.0, 0.0], n)
    q = np.resize([1e-4, 0.3, 2.0, 1.0], n)
    return sign, q


def test_to_u_and_from_u_are_inverse_and_monotone():
    sign, q = _cases(V.size)
    u = coords.to_u(V, sign, q)
    assert np.all(np.isfinite(u))
    np.testing.assert_allclose(coords.from_u(u, sign, q), V, rtol=1e-9, atol=1e-9)
    for s in (1.0, -1.0):
        for qq in (1e-4, 0.3, 2.0):
            us = coords.to_u(V, np.full(V.size, s), np.full(V.size, qq))
            assert np.all(np.sign(np.diff(us)) == s)  # a bijection: strictly monotone
    np.testing.assert_array_equal(coords.to_u(V, np.zeros(V.size), np.ones(V.size)), V)


def test_jacobians_equal_finite_differences_and_jax_agrees_with_numpy():
    sign, q = _cases(V.size)
    h = 1e-6
    du = (coords.to_u(V + h, sign, q) - coords.to_u(V - h, sign, q)) / (2 * h)
    np.testing.assert_allclose(coords.jacobian(V, sign, q), du, rtol=1e-6)
    np.testing.assert_allclose(coords.log_jacobian(V, sign, q), np.log(np.abs(du)), atol=1e-6)
    dlog = (coords.log_jacobian(V + h, sign, q) - coords.log_jacobian(V - h, sign, q)) / (2 * h)
    np.testing.assert_allclose(coords.log_jacobian_slope(V, sign, q), dlog, atol=1e-6)
    j = [jnp.asarray(x) for x in (V, sign, q)]
    assert j[0].dtype == np.float64
    np.testing.assert_allclose(coords.to_u(*j, jnp), coords.to_u(V, sign, q), rtol=1e-12)
    np.testing.assert_allclose(coords.log_jacobian(*j, jnp), coords.log_jacobian(V, sign, q), atol=1e-12)


def test_a_near_zero_flux_is_linear_in_its_coordinate():
    """``y = sigmoid(u) ~ s softplus(v)``: for ``v`` well above 0 the flux is linear in ``v`` (Gaussian there)."""
    s = 1e-3
    u = coords.to_u(V, np.ones(V.size), np.full(V.size, 2 * s))
    y = 1 / (1 + np.exp(-u))
    far = V > 5
    np.testing.assert_allclose(y[far], s * V[far], rtol=1e-2)


def _flat_plus_no_line(seed):
    edges = np.arange(6450.0, 6680.0, 1.0)
    low, high = edges[:-1], edges[1:]
    flux = pixel_means(low, high, [], 10.0) + 0.5 * np.random.default_rng(seed).standard_normal(low.size)
    return Spectrum(low * u.AA, high * u.AA, flux * FLAM, np.full(low.size, 0.5) * FLAM, meta={"name": "sim"})


def _one_line(positive: bool):
    """One Halpha line whose true flux is 0 (fixed redshift and width): its posterior is a (truncated) Gaussian."""
    groups = [GroupSpec("z", "redshift", PriorSpec("fixed", loc=0.0)),
              GroupSpec("narrow", "width", PriorSpec("fixed", loc=300.0))]  # fmt: skip
    return build_model([_flat_plus_no_line(11)], [LineSpec("Halpha", positive=positive)], 0.0, groups=groups)


@pytest.fixture(scope="module")
def at_bound():
    return _one_line(True)


def test_the_whitened_start_has_the_samplers_potential_and_gradient(at_bound):
    fns = compiled(at_bound)
    _, u_map = find_map(at_bound)
    _, wargs = _whitened(at_bound, u_map)
    assert np.asarray(wargs["sign"])[fns.names.index("flux_Halpha")] == 1.0  # the flux is sampled in v
    assert np.all(np.asarray(wargs["sign"])[[n.startswith("cont_") for n in fns.names]] == 0.0)
    w0 = 0.7 * np.random.default_rng(2).standard_normal(len(u_map))
    _, pe, grad = _whitened_start(fns, w0, wargs)
    ref_pe, ref_grad = jax.value_and_grad(lambda w: _whitened_potential(fns.potential, w, wargs))(jnp.asarray(w0))
    np.testing.assert_allclose(float(pe), float(ref_pe), rtol=1e-10)
    np.testing.assert_allclose(np.asarray(grad), np.asarray(ref_grad), rtol=1e-6, atol=1e-8)


@pytest.mark.slow
@pytest.mark.parametrize("positive", [True, False])
def test_nuts_draws_a_zero_flux_from_its_exact_posterior(positive):
    """The model is linear in the flux and the continuum: the exact posterior of the flux is the least-squares
    Gaussian's marginal, truncated at 0 for a positive line (the flux prior is flat, -50..50 or 0..50 line
    units; the continuum's is 100 units wide). The NUTS draws' CDF values under it must be uniform (mean 1/2,
    a quarter below 1/4), to the effective sample size."""
    model = _one_line(positive)
    fns = compiled(model)
    npix = model.npix
    err = np.asarray(model.args["error"])
    zero = {n: np.zeros(1) for n in fns.names}
    design = np.asarray(fns.design_many(zero, model.padded))[0, :npix] / err[:, None]
    y = np.asarray(model.args["flux"]) / err
    cov = np.linalg.inv(design.T @ design)
    mean = cov @ design.T @ y
    k = fns.linear.index("flux_Halpha")
    mu, sd = mean[k], np.sqrt(cov[k, k])
    assert abs(mu) < 2 * sd  # the posterior reaches zero (the bound of a positive line)
    post = fit(model, "nuts", num_warmup=500, num_samples=1500, seed=4, progress=False)
    low = -mu / sd if positive else -np.inf
    cdf = stats.truncnorm.cdf(post.flat("flux_Halpha"), low, np.inf, loc=mu, scale=sd)
    ess = post.diagnostics["n_eff_min"]
    assert ess > 200
    assert abs(cdf.mean() - 0.5) < 4 * np.sqrt(1 / 12 / ess)
    assert abs(np.mean(cdf < 0.25) - 0.25) < 4 * np.sqrt(0.25 * 0.75 / ess)
