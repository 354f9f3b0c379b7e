import math

import numpy as np
from scipy.integrate import quad

from specola.stellar.priors import ParameterSpace, Prior

FIXED = {
    "fspot": 0.1,
    "ffac": 0.05,
    "Tphot": 2566.0,
    "deltaTspot": -150.0,
    "deltaTfac": 150.0,
    "logg_phot": 5.0,
    "dlogg_het": 0.0,
    "logFscale": -9.3,
    "logErrInfl": 0.0,
}


def space(**priors):
    return ParameterSpace(list(priors), FIXED, priors, (2300.0, 3000.0), (4.0, 5.5))


def test_truncated_gaussian_is_normalised():
    p = Prior("gaussian", 2300.0, 3000.0, 2900.0, 150.0)
    total, _ = quad(lambda x: math.exp(p.log_density(x, 2300.0, 3000.0)), 2300.0, 3000.0)
    assert abs(total - 1) < 1e-8
    u = np.linspace(0.001, 0.999, 50)
    x = np.array([p.transform(v, 2300.0, 3000.0) for v in u])
    assert np.all(np.diff(x) > 0) and x.min() >= 2300 and x.max() <= 3000


def test_transform_and_log_prior_describe_one_prior():
    # conditional prior on deltaTspot given Tphot: samples from the transform must follow exp(log_prior)
    s = space(Tphot=Prior("uniform", 2300.0, 3000.0), deltaTspot=Prior("uniform", -700.0, -100.0))
    rng = np.random.default_rng(1)
    draws = s.sample(4000, rng)
    assert np.all(np.isfinite([s.log_prior(t) for t in draws]))
    tspot = draws[:, 0] + draws[:, 1]
    assert tspot.min() >= 2300.0 and np.all(draws[:, 1] <= -100.0)
    # the density integrates to one over the allowed region
    total, _ = quad(
        lambda t: quad(lambda d: math.exp(s.log_prior(np.array([t, d]))), 2300.0 - t, -100.0)[0], 2400.0, 3000.0
    )
    # Tphot < 2400 K leaves no room for spots on the grid: that part of the box has zero prior
    assert abs(total - 6 / 7) < 1e-6
    assert abs(s.allowed_fraction(np.random.default_rng(2)) - 6 / 7) < 0.01
    # importance check: conditional uniform => deltaTspot uniform given Tphot
    sel = (draws[:, 0] > 2800) & (draws[:, 0] < 2850)
    frac = (draws[sel, 1] - (2300.0 - draws[sel, 0])) / (-100.0 - (2300.0 - draws[sel, 0]))
    assert abs(frac.mean() - 0.5) < 0.06


def test_fraction_constraint_and_allowed_fraction():
    s = space(fspot=Prior("uniform", 0.0, 0.9), ffac=Prior("uniform", 0.0, 0.9))
    assert s.log_prior(np.array([0.6, 0.5])) == -math.inf
    # P(U1 + U2 <= 1) for two U(0, 0.9): 1 - 0.8**2 / 2 / 0.81
    expected = 1 - 0.5 * 0.8**2 / 0.81
    assert abs(s.allowed_fraction(np.random.default_rng(0)) - expected) < 0.01
    small = space(fspot=Prior("uniform", 0.0, 0.4), ffac=Prior("uniform", 0.0, 0.4))
    assert small.allowed_fraction(np.random.default_rng(0)) == 1.0


def test_log_uniform_fraction():
    fixed = dict(FIXED, log_fspot=-1.0)
    s = ParameterSpace(["log_fspot"], fixed, {"log_fspot": Prior("uniform", -5.0, 0.0)}, (2300, 3000), (4, 5.5))
    v = s.values(np.array([-2.0]))
    assert abs(v["fspot"] - 0.01) < 1e-15
    assert s.log_prior(np.array([-2.0])) == -math.log(5.0)
