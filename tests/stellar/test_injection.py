"""Injection-recovery, coverage and model comparison on spectra simulated from the grid at PRISM bins."""

import numpy as np
import pytest

from specola.stellar import StellarConfig, compare, prepare
from specola.stellar.model import Components
from specola.stellar.result import derived_samples
from specola.stellar.run import sample, with_overrides
from specola.stellar.sampling import run_dynesty, run_emcee
from specola.stellar.setup import with_parameters


def test_injection_recovery_all_components(grid, trappist1, simulate_fn):
    # photosphere + spots + faculae through the dynesty path (fast settings): the truth lies inside the 3 sigma
    # intervals; at these settings dynesty's means are off by up to ~1.6 sigma on this injection (see the
    # importance-sampling arbiter in test_exact_model_injection_7_parameters_converges_and_emcee_is_right)
    truth = Components(2600.0, 2350.0, 2950.0, 0.30, 0.15, 4.8, 4.8, 4.8e-10)
    data = simulate_fn(grid, trappist1, truth, snr_scale=1.0, seed=11)
    cfg = with_overrides(
        StellarConfig(),
        fit={"logg_het": False, "error_inflation": False},
        star={"logg_phot_value": 4.8},
        sampling={"sampler": "dynesty", "nlive": 150, "dlogz": 0.5, "progress": False},
    )
    result = sample(prepare(cfg, data))
    p = derived_samples(result.setup, result.sampler.samples)
    values = {
        "Tphot": truth.Tphot,
        "Tspot": truth.Tspot,
        "Tfac": truth.Tfac,
        "fspot": truth.fspot,
        "ffac": truth.ffac,
        "logg_phot": truth.logg_phot,
        "Fscale": truth.Fscale,
    }
    within1 = 0
    for name, true in values.items():
        lo3, lo1, hi1, hi3 = np.percentile(p[name], [0.135, 15.87, 84.13, 99.865])
        assert lo3 <= true <= hi3, (name, true, lo3, hi3)
        within1 += lo1 <= true <= hi1
    assert within1 >= 3
    # the fit is good: reduced chi2 near 1 for the true model's noise
    assert 0.8 < result.statistics()["reduced_chi2"] < 1.25


N_INJECTIONS = 50


@pytest.mark.slow
def test_coverage_of_emcee_and_dynesty_intervals(grid, trappist1, simulate_fn):
    """Calibration over 50 truths drawn from the prior: emcee's and dynesty's 1 and 2 sigma intervals contain
    the truth at the nominal 68% and 95% rate (exact model, exact errors, fast settings)."""
    cfg = with_overrides(
        StellarConfig(),
        grid={"teff_range": (2300.0, 2900.0)},
        fit={
            "faculae": False,
            "het_temperatures": False,
            "logg_phot": False,
            "logg_het": False,
            "error_inflation": False,
        },
        star={"logg_phot_value": 5.0},
        priors={
            "gaussian": None,
            "uniform": {"Tphot": [2450.0, 2850.0], "fspot": [0.0, 0.5], "logFscale": [-9.4, -9.2]},
        },
        sampling={"progress": False},
    )
    base = prepare(cfg, simulate_fn(grid, trappist1, Components(2600, 2450, 2700, 0.1, 0, 5, 5, 5e-10), 3.0))
    truths = base.space.sample(N_INJECTIONS, np.random.default_rng(2024))
    inside = {"emcee": np.zeros(2), "dynesty": np.zeros(2)}
    for k, theta in enumerate(truths):
        c = base.posterior.components(base.space.values(theta))
        s = prepare(cfg, simulate_fn(grid, trappist1, c, snr_scale=3.0, seed=100 + k))
        walkers = s.space.sample(16, np.random.default_rng(k))  # walkers start all over the prior
        emc = run_emcee(s.posterior, walkers[0], 400, 0.5, 4, seed=k, progress=False, p0=walkers)
        dyn = run_dynesty(s.posterior, 50, 0.5, seed=k, progress=False)
        for name, out in (("emcee", emc), ("dynesty", dyn)):
            lo2, lo1, hi1, hi2 = np.percentile(out.samples, [2.28, 15.87, 84.13, 97.72], axis=0)
            inside[name] += [np.sum((lo1 <= theta) & (theta <= hi1)), np.sum((lo2 <= theta) & (theta <= hi2))]
    total = truths.size
    for name, (n1, n2) in inside.items():
        cov1, cov2 = n1 / total, n2 / total
        print(f"{name}: coverage 1 sigma {cov1:.2f}, 2 sigma {cov2:.2f} over {total} intervals")
        assert 0.58 <= cov1 <= 0.80, (name, cov1)
        assert 0.89 <= cov2 <= 1.0, (name, cov2)


@pytest.mark.slow
def test_exact_model_injection_7_parameters_converges_and_emcee_is_right(grid, trappist1, simulate_fn, importance):
    """Photosphere + spots + faculae, logg_phot and Fscale (7 parameters), exact model and errors, faculae 50 K
    below the grid edge: the default emcee settings (nsteps = "auto") pass the verdict, and an importance-sampling
    arbiter shows that emcee's posterior (not dynesty's at fast settings) is the right one."""
    truth = Components(2600.0, 2350.0, 2950.0, 0.30, 0.15, 4.8, 4.8, 4.8e-10)
    data = simulate_fn(grid, trappist1, truth, snr_scale=1.0, seed=11)
    base = with_overrides(
        StellarConfig(),
        fit={"logg_het": False, "error_inflation": False},
        star={"logg_phot_value": 4.8},
        sampling={"progress": False},
    )
    setup = prepare(base, data)
    result = sample(setup)
    d = result.sampler.diagnostics
    assert setup.space.ndim == 7 and d["nsteps_requested"] == "auto"
    assert d["verdict"]["converged"], d["verdict"]
    assert (d["nsteps"] - d["burnin"]) / d["autocorr_time_max"] >= 50 and d["acceptance_mean"] > 0.1
    dyn_cfg = with_overrides(base, sampling={"sampler": "dynesty", "nlive": 150, "dlogz": 0.5, "progress": False})
    dyn = sample(with_parameters(setup, dyn_cfg)).sampler.samples
    emc = result.sampler.samples
    mean, std, ess = importance(setup.posterior, [emc, dyn])
    assert ess > 3000, ess
    # emcee agrees with the arbiter on every parameter: means within 0.15 sigma, widths within 12%
    assert np.all(np.abs(emc.mean(0) - mean) < 0.15 * std), (emc.mean(0) - mean) / std
    assert np.all(np.abs(emc.std(0) / std - 1) < 0.12), emc.std(0) / std
    offset = np.abs(dyn.mean(0) - mean) / std
    print("dynesty (nlive 150, dlogz 0.5) mean offsets from the arbiter [sigma]:", offset.round(2))


@pytest.mark.slow
def test_model_comparison_prefers_true_model(grid, trappist1, simulate_fn):
    truth = Components(2700.0, 2450.0, 2850.0, 0.3, 0.0, 5.0, 5.0, 4.8e-10)
    data = simulate_fn(grid, trappist1, truth, snr_scale=2.0, seed=7)
    cfg = with_overrides(
        StellarConfig(),
        fit={"logg_phot": False, "logg_het": False, "error_inflation": False},
        star={"logg_phot_value": 5.0},
        priors={"gaussian": None, "fraction_max": 0.5},
        sampling={"sampler": "dynesty", "nlive": 150, "dlogz": 0.5, "progress": False},
    )
    result = compare(cfg, data=data)
    table = result.table()
    assert result.preferred == "spots", table
    lnz = dict(zip(table["model"], table["ln_evidence"], strict=True))
    assert lnz["spots"] - lnz["photosphere"] > 5  # spots are detected decisively
    assert lnz["spots"] > lnz["spots+faculae"]  # the extra component is penalised
