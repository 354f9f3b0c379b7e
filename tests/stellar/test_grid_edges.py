"""Posteriors piled against a grid edge are named; a posterior near (but not piled at) an edge is not."""

import numpy as np

from specola.stellar import StellarConfig, prepare
from specola.stellar.result import StellarResult
from specola.stellar.run import with_overrides
from specola.stellar.sampling import SamplerOutput


def _result(setup, logg_phot):
    rng = np.random.default_rng(0)
    n = 4000
    samples = np.tile(setup.start, (n, 1))
    samples[:, setup.space.names.index("logg_phot")] = logg_phot(rng, n)
    samples[:, setup.space.names.index("dlogg_het")] = 0.0
    return StellarResult(setup, SamplerOutput("emcee", samples, np.zeros(n), np.zeros(n)))


def test_grid_edge_flags():
    setup = prepare(with_overrides(StellarConfig(), star={"logg_phot_value": 5.0}))
    piled = _result(setup, lambda rng, n: 4.0 + np.abs(rng.normal(0, 0.01, n)))
    names = {e["parameter"]: e for e in piled.grid_edges()}
    assert set(names) >= {"logg_phot", "logg_het"} and names["logg_phot"]["edge"] == 4.0
    assert "AT GRID EDGE: " in piled.summary() and "logg_phot (4)" in piled.summary()
    assert any("grid edge 4;" in m for m in piled.statistics()["grid_edges"])
    # TRAPPIST-1's logg from mass and radius: within one (0.5) step of the 5.5 edge, but not piled against it
    inside = _result(setup, lambda rng, n: rng.normal(5.24, 0.015, n))
    assert not any(e["parameter"] == "logg_phot" for e in inside.grid_edges())


def test_prior_bound_pile_up_is_named():
    setup = prepare(with_overrides(StellarConfig(), star={"logg_phot_value": 5.0}))
    k = setup.space.names.index("deltaTspot")
    high = setup.space.priors["deltaTspot"].high  # -min_delta_t
    res = _result(setup, lambda rng, n: rng.normal(5.0, 0.01, n))
    res.sampler.samples[:, k] = high - np.abs(np.random.default_rng(1).normal(0, 3.0, len(res.sampler.samples)))
    assert any(m.startswith("deltaTspot:") and "prior bound -100" in m for m in res.prior_bounds_piled())
    res.sampler.samples[:, k] = -200.0 + np.random.default_rng(1).normal(0, 10.0, len(res.sampler.samples))
    assert not any(m.startswith("deltaTspot:") for m in res.prior_bounds_piled())
