"""The vectorised NumPy ensemble loop samples the same posterior as emcee's EnsembleSampler."""

import numpy as np
import pytest
from scipy import stats

from specola.errors import ConfigError
from specola.stellar import StellarConfig, prepare
from specola.stellar.ensemble import Ensemble
from specola.stellar.model import Components
from specola.stellar.run import with_overrides
from specola.stellar.sampling import find_start, run_emcee


@pytest.mark.parametrize("moves", ["kde+de", "stretch"])
def test_numpy_loop_samples_a_correlated_gaussian(moves):
    cov = np.array([[1.0, 0.9, 0.0], [0.9, 1.0, 0.3], [0.0, 0.3, 4.0]])
    prec = np.linalg.inv(cov)

    def log_prob(z):
        lp = -0.5 * np.einsum("ni,ij,nj->n", z, prec, z)
        return np.column_stack([lp, 2 * lp])

    z0 = np.random.default_rng(0).normal(0, 1e-3, (24, 3))
    ens = Ensemble(log_prob, z0, moves, seed=3)
    ens.run_mcmc(None, 3000)
    ens.run_mcmc(None, 1000)  # continues where it stopped
    chain = ens.get_chain()
    assert chain.shape == (4000, 24, 3) and np.allclose(ens.get_blobs(), 2 * ens.get_log_prob())
    x = chain[1000:].reshape(-1, 3)
    assert np.allclose(np.cov(x.T), cov, atol=0.12)
    assert 0.15 < ens.acceptance_fraction.mean() < 0.9
    with pytest.raises(ConfigError, match="engine"):
        Ensemble(log_prob, z0, "de+snooker", seed=1)


def test_numpy_loop_and_emcee_agree_on_a_stellar_posterior(grid, trappist1, simulate_fn, importance):
    """Both loops, same moves and start, against an importance-sampling arbiter of the same posterior."""
    truth = Components(2650.0, 2450.0, 2650.0, 0.2, 0.0, 5.0, 5.0, 4.8e-10)
    cfg = with_overrides(
        StellarConfig(),
        fit={"faculae": False, "logg_phot": False, "logg_het": False, "error_inflation": False},
        star={"logg_phot_value": 5.0},
        sampling={"progress": False},
    )
    setup = prepare(cfg, simulate_fn(grid, trappist1, truth, snr_scale=3.0, seed=4))
    start = find_start(setup.posterior, setup.start, np.random.default_rng(0))
    runs = {
        engine: run_emcee(setup.posterior, start, "auto", 0.5, 8, seed=5, progress=False, engine=engine)
        for engine in ("numpy", "emcee")
    }
    mean, std, ess = importance(setup.posterior, [r.samples for r in runs.values()])
    assert ess > 5000, ess
    for engine, run in runs.items():
        x = run.samples
        assert run.diagnostics["engine"] == engine and run.diagnostics["verdict"]["converged"]
        assert np.all(np.abs(x.mean(0) - mean) < 0.15 * std), (engine, (x.mean(0) - mean) / std)
        assert np.all(np.abs(x.std(0) / std - 1) < 0.12), (engine, x.std(0) / std)
    a, b = runs["numpy"].samples, runs["emcee"].samples
    for k in range(a.shape[1]):  # thinned to roughly independent samples
        assert stats.ks_2samp(a[::97, k], b[::97, k]).pvalue > 1e-3
