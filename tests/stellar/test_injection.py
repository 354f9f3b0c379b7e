"""Injection-recovery, coverage and model comparison on spectra simulated from the grid at PRISM bins."""

import numpy as np
import pytest

from specola.stellar import StellarConfig, compare, prepare
from specola.stellar.model import Components
from specola.stellar.result import derived_samples
from specola.stellar.run import sample, with_overrides
from specola.stellar.sampling import run_emcee


def test_injection_recovery_all_components(grid, trappist1, simulate_fn):
    # photosphere + spots + faculae: the (Tfac, ffac) and (Tspot, fspot) posteriors are curved and partly
    # multimodal (without the photosphere-dominance prior); nested sampling explores them reliably
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


@pytest.mark.slow
def test_coverage_of_credible_intervals(grid, trappist1, simulate_fn):
    """Truths drawn from the prior: 1 and 2 sigma intervals contain them ~68% and ~95% of the time."""
    cfg = with_overrides(
        StellarConfig(),
        fit={"faculae": False, "logg_phot": False, "logg_het": False, "error_inflation": False},
        star={"logg_phot_value": 5.0},
        priors={
            "gaussian": None,
            "uniform": {"Tphot": [2450.0, 2950.0], "fspot": [0.0, 0.5], "logFscale": [-9.4, -9.2]},
        },
    )
    base = prepare(cfg, simulate_fn(grid, trappist1, Components(2600, 2400, 2700, 0.1, 0, 5, 5, 5e-10), 3.0))
    rng = np.random.default_rng(2024)
    truths = base.space.sample(20, rng)
    inside1 = inside2 = total = 0
    for k, theta in enumerate(truths):
        v = base.space.values(theta)
        c = base.posterior.components(v)
        data = simulate_fn(grid, trappist1, c, snr_scale=3.0, seed=100 + k)
        s = prepare(cfg, data)
        walkers = s.space.sample(24, np.random.default_rng(k))  # walkers start all over the prior
        out = run_emcee(s.posterior, walkers[0], 1000, 0.5, 6, seed=k, progress=False, p0=walkers)
        lo2, lo1, hi1, hi2 = np.percentile(out.samples, [2.28, 15.87, 84.13, 97.72], axis=0)
        inside1 += int(np.sum((lo1 <= theta) & (theta <= hi1)))
        inside2 += int(np.sum((lo2 <= theta) & (theta <= hi2)))
        total += theta.size
    cov1, cov2 = inside1 / total, inside2 / total
    print(f"coverage: 1 sigma {cov1:.2f}, 2 sigma {cov2:.2f} over {total} intervals")
    assert 0.55 <= cov1 <= 0.82, cov1
    assert 0.86 <= cov2 <= 1.0, cov2


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
