"""Fit diagnostics: pointwise log-likelihood, WAIC and PSIS-LOO through ArviZ, and model comparison with them."""

import astropy.units as u
import numpy as np
import pytest
from scipy.special import erf, logsumexp
from scipy.stats import norm

from specola.errors import SpecolaError
from specola.instruments import Constant
from specola.lines import GroupSpec, LineSpec, LinesResult, PriorSpec, build_model, fit
from specola.spectrum import Spectrum

FLAM = u.Unit("1e-17 erg / (s cm2 Angstrom)")
HALPHA = 6564.61
C = 299792.458
GROUPS = [GroupSpec("narrow", "width", PriorSpec("uniform", low=20.0, high=600.0)),
          GroupSpec("broad", "width", PriorSpec("uniform", low="fwhm_narrow + 300", high=6000.0))]  # fmt: skip


def _gauss_means(low, high, centre, fwhm_kms, flux):
    s = np.sqrt(2) * centre * fwhm_kms / C / 2.3548200450309493
    return flux * 0.5 * (erf((high - centre) / s) - erf((low - centre) / s)) / (high - low)


@pytest.fixture(scope="module")
def spectrum():
    """Narrow (200 km/s) + broad (2500 km/s) Halpha on 1 A pixels, written with erf, R = 20000 (negligible)."""
    edges = np.arange(6400.0, 6730.0, 1.0)
    low, high = edges[:-1], edges[1:]
    mean = 5.0 + _gauss_means(low, high, HALPHA, 200.0, 300.0) + _gauss_means(low, high, HALPHA, 2500.0, 600.0)
    err = np.full(low.size, 0.4)
    flux = mean + err * np.random.default_rng(2).standard_normal(low.size)
    return Spectrum(low * u.AA, high * u.AA, flux * FLAM, err * FLAM, meta={"name": "s", "resolution": Constant(2e4)})


def _result(spectrum, lines):
    m = build_model([spectrum], lines, 0.0, groups=GROUPS)
    return LinesResult(m, fit(m, "laplace", num_samples=800))


@pytest.fixture(scope="module")
def both(spectrum):
    narrow = [LineSpec("Halpha")]
    broad = [LineSpec("Halpha"), LineSpec("Halpha", label="Halpha_broad", width="broad")]
    return _result(spectrum, narrow), _result(spectrum, broad)


def test_pointwise_log_likelihood_and_waic_match_the_formula(both):
    _, res = both
    ll = res.log_likelihood()
    t = res.model_spectra(max_draws=1)[0]
    assert ll.shape == (400, len(t))
    # the Gaussian log-density of one draw, written out
    draw = {k: res.posterior.flat(k)[res._picked(400)[0]] for k in res.posterior.samples}
    mu = res.model.predict(draw)["total"]
    y, e = np.asarray(res.model.args["flux"]), np.asarray(res.model.args["error"])
    np.testing.assert_allclose(ll[0], -0.5 * ((y - mu) / e) ** 2 - np.log(np.sqrt(2 * np.pi) * e), rtol=1e-10)
    ic = res.information_criteria()
    lppd = np.sum(logsumexp(ll, axis=0) - np.log(ll.shape[0]))
    p_waic = np.sum(np.var(ll, axis=0, ddof=1))  # sample variance (Vehtari, Gelman & Gabry 2017, eq. 11)
    assert ic["waic"] == pytest.approx(-2 * (lppd - p_waic), rel=1e-9)
    n_free = len(res.model.plan.sites)
    assert 0.5 * n_free < ic["p_loo"] < 2 * n_free  # effective parameters ~ free parameters for a good fit
    assert ic["pareto_k_bad"] == 0 and abs(ic["loo"] - ic["waic"]) < 2.0
    assert res.diagnostics()["loo"] == ic["loo"]


def test_loo_prefers_the_model_with_the_broad_component(both):
    narrow, broad = both
    a, b = narrow.information_criteria(), broad.information_criteria()
    assert a["loo"] - b["loo"] > 5 * np.hypot(a["loo_se"], b["loo_se"]) / 2  # many SE, not noise
    assert a["waic"] > b["waic"]


def test_map_has_no_information_criteria(spectrum):
    m = build_model([spectrum], [LineSpec("Halpha")], 0.0, groups=GROUPS)
    res = LinesResult(m, fit(m, "map"))
    assert "loo" not in res.diagnostics()
    with pytest.raises(SpecolaError, match="need posterior draws"):
        res.information_criteria()


def test_log_joint_is_likelihood_plus_priors(both):
    """log p(data, theta) per draw = summed pointwise log-likelihood + the priors' log densities written out."""
    _, res = both
    plan = res.model.plan
    lj, ll = res.log_joint(), res.log_likelihood().sum(axis=1)
    draws = {k: res.posterior.flat(k)[res._picked(400)] for k in res.posterior.samples}
    prior = np.zeros(ll.size)
    for name in plan.sample_order:
        lo, hi = np.transpose([plan.sites[name].bounds(plan.config_values({k: v[i] for k, v in draws.items()}))
                               for i in range(ll.size)])  # fmt: skip
        if plan.sites[name].kind == "uniform":
            prior += -np.log(hi - lo)
        else:  # continuum: normal(0, 100)
            prior += norm.logpdf(draws[name], plan.sites[name].centre(), plan.sites[name].scale)
    np.testing.assert_allclose(lj, ll + prior, rtol=1e-9)
