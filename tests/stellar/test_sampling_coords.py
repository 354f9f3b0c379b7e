"""Unconstrained sampling coordinates, the kernel-density move, and the photosphere-dominance prior."""

import numpy as np
import pytest
from scipy.stats import gaussian_kde, ks_2samp

from specola.errors import ConfigError
from specola.stellar import StellarConfig, prepare
from specola.stellar.coords import LINEAR, ReparametrisedPosterior, SamplingCoordinates
from specola.stellar.moves import GaussianKDEMove, emcee_moves
from specola.stellar.run import with_overrides
from specola.stellar.sampling import run_emcee


@pytest.fixture(scope="module")
def full_setup():
    return prepare(StellarConfig())  # every parameter fitted, Gaussian prior-free defaults


@pytest.mark.parametrize("linear", [frozenset(), LINEAR])
def test_round_trip_and_jacobian(full_setup, linear):
    space = full_setup.space
    coords = SamplingCoordinates(space, frozenset(space.names) - linear)
    theta = space.sample(40, np.random.default_rng(2))
    z = coords.to_sampling(theta)
    back, log_jac = coords.from_sampling(z)
    assert np.allclose(back, theta, rtol=1e-9, atol=1e-9)
    # log |det d theta / d z| against central finite differences
    h = 1e-6
    for k in range(5):
        jac = np.empty((space.ndim, space.ndim))
        for j in range(space.ndim):
            dz = np.zeros(space.ndim)
            dz[j] = h
            jac[:, j] = (coords.from_sampling(z[k] + dz)[0] - coords.from_sampling(z[k] - dz)[0]) / (2 * h)
        assert np.log(abs(np.linalg.det(jac))) == pytest.approx(log_jac[k], abs=1e-4)
    # the density in z is the physical posterior times the Jacobian, and -inf outside the prior
    rep = ReparametrisedPosterior(full_setup.posterior)
    post = full_setup.posterior
    if rep.coords.transformed == coords.transformed:
        assert rep(z[0]) == pytest.approx(post(theta[0]) + log_jac[0], rel=1e-12)
        out = rep.batch(z[:10])  # fused prior x Jacobian, against the physical posterior
        assert np.allclose(out[:, 0], post.batch(theta[:10])[:, 0] + log_jac[:10], rtol=1e-12)
    fs, ff = space.names.index("fspot"), space.names.index("ffac")
    bad = theta[0].copy()
    bad[fs], bad[ff] = 0.6, 0.3  # photosphere covers 10%: forbidden by photosphere_dominant
    assert not np.isfinite(post(bad)) and not np.isfinite(rep(coords.to_sampling(bad)))


def test_kde_move_density_matches_scipy():
    rng = np.random.default_rng(1)
    centres = rng.normal(size=(90, 9)) @ rng.normal(size=(9, 9))
    points = rng.normal(size=(20, 9)) @ rng.normal(size=(9, 9))
    kde = gaussian_kde(centres.T)
    white = np.linalg.inv(np.linalg.cholesky(kde.covariance))
    ours = GaussianKDEMove._log_density(points @ white.T, centres @ white.T)
    ref = kde.logpdf(points.T)
    assert np.ptp(ref - ours) < 1e-7  # equal up to the normalising constant
    with pytest.raises(ConfigError, match=r"sampling\.moves"):
        emcee_moves("walk")


def test_emcee_in_unconstrained_coordinates_samples_the_prior(grid, trappist1):
    """With uninformative data the sampler must return the prior: conditional bounds, dominance, Jacobian."""
    cfg = with_overrides(StellarConfig(), fit={"error_inflation": False, "fscale": False})
    setup = prepare(cfg, data=trappist1)
    post = setup.posterior
    # make the likelihood flat: errors 1e30 times larger (the quadratic form then vanishes)
    post._m *= 1e-60
    out = run_emcee(post, setup.start, "auto", 0.3, 12, seed=5, progress=False, moves="kde+de")
    assert out.diagnostics["verdict"]["converged"], out.diagnostics["verdict"]
    prior = setup.space.sample(4000, np.random.default_rng(9))
    thin = out.samples[:: max(1, len(out.samples) // 4000)]
    for k, name in enumerate(setup.space.names):
        stat = ks_2samp(thin[:, k], prior[:, k]).statistic
        assert stat < 0.06, (name, stat)
    fs, ff = thin[:, setup.space.names.index("fspot")], thin[:, setup.space.names.index("ffac")]
    assert np.all(1 - fs - ff >= np.maximum(fs, ff))


def test_dominance_option_and_bad_start(grid, trappist1):
    cfg = with_overrides(StellarConfig(), priors={"photosphere_dominant": False})
    space = prepare(cfg, data=trappist1).space
    assert space.fractions_allowed(0.6, 0.3) and not space.fractions_allowed(0.7, 0.4)
    # allowed prior volume: fractions in [0, 0.9]^2 with 2 fspot + ffac <= 1 and fspot + 2 ffac <= 1 (area 1/6),
    # and Tphot in [2400, 2900] K of 2300-3000 K (room for spots 100 K cooler and faculae 100 K hotter)
    frac = prepare(StellarConfig(), data=trappist1).space.allowed_fraction(np.random.default_rng(0))
    assert frac == pytest.approx((1 / 6) / 0.81 * 500 / 700, abs=0.01)
    cfg = with_overrides(StellarConfig(), star={"fspot_start": 0.6})
    with pytest.raises(ConfigError, match="photosphere_dominant"):
        prepare(cfg, data=trappist1)
