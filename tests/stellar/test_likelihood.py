import math
import pickle

import numpy as np
import pytest

from specola.stellar import StellarConfig, prepare
from specola.stellar.model import Components
from specola.stellar.run import with_overrides
from specola.stellar.sampling import find_start


@pytest.fixture(scope="module")
def setup():
    return prepare(StellarConfig())


def test_fast_path_matches_direct_gaussian_likelihood(setup):
    post = setup.posterior
    thetas = setup.space.sample(50, np.random.default_rng(3))
    for theta in thetas:
        v = setup.space.values(theta)
        sigma = 10 ** v["logErrInfl"] / post.inv_err
        r = post.flux - post.model_flux(theta)
        direct = float(np.sum(-0.5 * (r / sigma) ** 2 - np.log(sigma) - 0.5 * math.log(2 * math.pi)))
        lp, ll = post.with_blob(theta)
        assert ll == pytest.approx(direct, rel=1e-9, abs=1e-6)
        assert lp == pytest.approx(direct + setup.space.log_prior(theta), rel=1e-9, abs=1e-6)
    np.testing.assert_allclose(post.batch(thetas)[:, 1], [post.log_likelihood(t) for t in thetas])


def test_outside_prior_is_minus_inf(setup):
    theta = setup.start.copy()
    theta[setup.space.names.index("fspot")] = -0.1
    assert setup.posterior(theta) == -math.inf


def test_posterior_pickles_without_the_full_grid(setup):
    blob = pickle.dumps(setup.posterior)
    assert len(blob) < 2_000_000
    again = pickle.loads(blob)
    assert again(setup.start) == setup.posterior(setup.start)


def test_error_inflation_is_recovered_not_railed(grid, trappist1, simulate_fn):
    # data whose noise is 4x the reported errors: the normalised likelihood finds log10(4), not the upper bound
    truth = Components(2600.0, 2400.0, 2800.0, 0.0, 0.0, 5.0, 5.0, 4.8e-10)
    data = simulate_fn(grid, trappist1, truth, snr_scale=1.0, seed=5, error_inflation=4.0)
    cfg = with_overrides(StellarConfig(), fit={"spots": False, "faculae": False, "logg_phot": False})
    s = prepare(cfg, data)
    best = find_start(s.posterior, s.start, np.random.default_rng(0), n_random=20)
    v = s.space.values(best)
    assert v["logErrInfl"] == pytest.approx(math.log10(4.0), abs=0.05)
    assert v["logErrInfl"] < math.log10(50) - 0.5


def test_dense_and_gathered_chi2_and_both_cell_searches_agree(setup, monkeypatch):
    from specola.stellar import likelihood

    post = setup.posterior
    thetas = setup.space.sample(60, np.random.default_rng(8))
    dense = post.batch(thetas)
    monkeypatch.setattr(likelihood, "DENSE_NODES", 0)  # the (n, 13, 13) gather of large grids
    np.testing.assert_allclose(post.batch(thetas), dense, rtol=1e-10)
    axis = post.model.teff
    x = np.concatenate([axis, np.random.default_rng(1).uniform(axis[0] - 50, axis[-1] + 50, 200)])
    fast, slow = likelihood._cell(axis, x, likelihood._uniform_step(axis)), likelihood._cell(axis, x)
    inside = (x >= axis[0]) & (x <= axis[-1])
    np.testing.assert_array_equal(fast[0][inside], slow[0][inside])
    np.testing.assert_allclose(fast[1][inside], slow[1][inside], atol=1e-12)
    assert likelihood._uniform_step(np.array([1.0, 2.0, 4.0])) is None
