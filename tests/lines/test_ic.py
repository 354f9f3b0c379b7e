"""The lines stage's WAIC and PSIS-LOO (NumPy) against ArviZ's on the same pointwise log-likelihoods.

specola follows the R package ``loo`` in using sample variances (ddof = 1) for p_waic and the standard errors,
where ArviZ 0.x uses ddof = 0; those differ by the known factors, everything else must agree to rounding.
"""

import warnings

import numpy as np
import pytest

from specola.lines._ic import information_criteria, pareto_k_threshold, psis


def _line_fit_log_lik(outlier: float, seed: int, draws: int = 400, npix: int = 40) -> np.ndarray:
    """Pointwise log-likelihood of draws from the exact posterior of a straight line through ``npix`` points.

    The middle point is moved by ``outlier`` standard deviations (an influential pixel: large Pareto k).
    """
    rng = np.random.default_rng(seed)
    x = np.linspace(-1.0, 1.0, npix)
    sigma = 0.1
    y = 1.0 + 0.5 * x + sigma * rng.standard_normal(npix)
    y[npix // 2] += outlier * sigma
    a = np.stack([np.ones_like(x), x], axis=1)
    cov = sigma**2 * np.linalg.inv(a.T @ a)
    theta = rng.multivariate_normal(cov @ a.T @ y / sigma**2, cov, size=draws)
    r = (y - theta @ a.T) / sigma
    return -0.5 * r**2 - np.log(sigma) - 0.5 * np.log(2 * np.pi)


def _arviz(ll: np.ndarray):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ArviZ's FutureWarning on import, and its own k / variance warnings
        import arviz as az

        idata = az.from_dict(posterior={"x": np.zeros((1, ll.shape[0]))}, log_likelihood={"obs": ll[None]})
        return az, az.loo(idata, pointwise=True, scale="log"), az.waic(idata, pointwise=True, scale="log")


@pytest.mark.parametrize(("outlier", "seed"), [(0.0, 1), (3.0, 2), (20.0, 3)])
def test_psis_weights_and_pareto_k_equal_arviz(outlier, seed):
    ll = _line_fit_log_lik(outlier, seed)
    az, loo, _ = _arviz(ll)
    lw, k = psis(-ll)
    ref_lw, ref_k = az.psislw(-ll.T)  # ArviZ: draws on the last axis
    np.testing.assert_allclose(k, ref_k, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(lw, ref_lw.T, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(np.exp(lw).sum(axis=0), 1.0, rtol=1e-12)
    np.testing.assert_allclose(k, np.asarray(loo["pareto_k"]), rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize(("outlier", "seed"), [(0.0, 4), (20.0, 5)])
def test_waic_and_loo_equal_arviz_up_to_the_sample_variances(outlier, seed):
    ll = _line_fit_log_lik(outlier, seed)
    draws, n = ll.shape
    _, loo, waic = _arviz(ll)
    ic = information_criteria(ll)
    assert ic["elpd_loo"] == pytest.approx(float(loo["elpd_loo"]), rel=1e-10)
    assert ic["p_loo"] == pytest.approx(float(loo["p_loo"]), rel=1e-8)
    assert ic["loo_se"] / 2 == pytest.approx(float(loo["se"]) * np.sqrt(n / (n - 1)), rel=1e-10)
    assert ic["p_waic"] == pytest.approx(float(waic["p_waic"]) * draws / (draws - 1), rel=1e-10)
    var0 = np.var(ll, axis=0)
    pointwise = np.asarray(waic["waic_i"]) - var0 / (draws - 1)  # ArviZ's lppd_i - var_i with ddof = 1
    assert ic["elpd_waic"] == pytest.approx(pointwise.sum(), rel=1e-10)
    assert ic["waic_se"] / 2 == pytest.approx(np.sqrt(n * np.var(pointwise, ddof=1)), rel=1e-10)
    assert ic["waic"] == pytest.approx(-2 * ic["elpd_waic"]) and ic["loo"] == pytest.approx(-2 * ic["elpd_loo"])
    assert ic["pareto_k_max"] == pytest.approx(float(np.max(loo["pareto_k"])), rel=1e-9)


def test_an_influential_pixel_is_counted_and_warned_on_and_a_clean_fit_is_not():
    clean = information_criteria(_line_fit_log_lik(0.0, 6, npix=200))  # low leverage: WAIC holds too
    assert clean["pareto_k_bad"] == 0 and clean["ic_warnings"] == []
    bad = information_criteria(_line_fit_log_lik(20.0, 6))
    assert bad["pareto_k_threshold"] == pytest.approx(min(1 - 1 / np.log10(400), 0.7))
    assert bad["pareto_k_bad"] >= 1 and bad["pareto_k_max"] > bad["pareto_k_threshold"]
    assert any(w.startswith("PSIS-LOO: ") for w in bad["ic_warnings"])
    assert any(w.startswith("WAIC: ") for w in bad["ic_warnings"])  # its variance is far above 0.4 there
    assert pareto_k_threshold(100) == pytest.approx(0.5) and pareto_k_threshold(10**6) == 0.7


def test_a_constant_pixel_keeps_uniform_weights_as_in_arviz_and_repeated_draws_stay_finite():
    ll = _line_fit_log_lik(0.0, 7)
    ll[:, 0] = -1.0  # a pixel no parameter changes
    az, _, _ = _arviz(ll)
    lw, k = psis(-ll)
    ref_lw, ref_k = az.psislw(-ll.T)
    assert np.isinf(k[0]) and np.isinf(ref_k[0])
    np.testing.assert_allclose(lw[:, 0], ref_lw[0], rtol=1e-12)
    repeated = np.repeat(_line_fit_log_lik(3.0, 8, draws=200), 2, axis=0)  # each draw twice (rejected steps)
    lw, k = psis(-repeated)
    assert np.all(np.isfinite(k)) and np.all(np.isfinite(lw))
    np.testing.assert_allclose(np.exp(lw).sum(axis=0), 1.0, rtol=1e-12)
