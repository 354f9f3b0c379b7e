import json

import astropy.units as u
import numpy as np
import pytest

from specola.cli import main
from specola.spectrum import SpectrumSeries
from specola.stellar import StellarConfig, run_to_folder
from specola.stellar.model import Components
from specola.stellar.run import with_overrides


def make_series(grid, trappist1, simulate_fn):
    """A transit-like series: 40 spectra, 3% dip between t = 0.4 and 0.6 d, noise 5x the template errors."""
    base = simulate_fn(grid, trappist1, Components(2600, 2400, 2800, 0.1, 0.0, 5.0, 5.0, 4.8e-10), 1e-6)
    times = np.linspace(0.0, 1.0, 40)
    depth = np.where((times > 0.4) & (times < 0.6), 0.97, 1.0)
    rng = np.random.default_rng(4)
    err = base.error.value * 5
    flux = base.flux.value[None, :] * depth[:, None] + rng.normal(0, err, (40, len(base)))
    series = SpectrumSeries(
        base.low, base.high, flux * base.flux_unit, np.tile(err, (40, 1)) * base.flux_unit, times=times * u.day
    )
    return series, base


def test_timeseries_median_masks_and_preprocess_only(tmp_path, grid, trappist1, simulate_fn):
    series, base = make_series(grid, trappist1, simulate_fn)
    cfg = with_overrides(
        StellarConfig(),
        preprocessing={"time_ranges_masked": ((0.38, 0.62),), "preprocess_only": True},
        inputs={"save_median_spectrum": True},
    )
    result = run_to_folder(cfg, tmp_path / "pre", data=series)
    assert result.sampler is None
    spec = result.setup.pre.spectrum
    assert spec.meta["n_times_used"] == 40 - int(
        np.sum((np.linspace(0, 1, 40) > 0.38) & (np.linspace(0, 1, 40) < 0.62))
    )
    # the median of out-of-transit spectra recovers the stellar flux (no 3% dip) within its errors
    pull = (spec.flux.value - base.flux.value) / spec.error.value
    assert abs(np.median(pull)) < 0.3 and np.std(pull) < 1.5
    files = {p.name for p in (tmp_path / "pre").iterdir()}
    assert {"select_time.png", "select_wave.png", "fscale_guess.png", "median_spectrum.ecsv"} <= files
    assert "chain.npz" not in files
    # empty masks are allowed and then the dip biases the median low
    cfg = with_overrides(StellarConfig(), preprocessing={"preprocess_only": True})
    unmasked = run_to_folder(cfg, tmp_path / "pre2", data=series).setup.pre.spectrum
    assert unmasked.meta["n_times_used"] == 40


def test_cli_real_trappist1_converges_and_writes_everything(tmp_path, capsys):
    out = tmp_path / "run"
    code = main(
        [
            "-q",
            "stellar",
            "examples/stellar_trappist1.toml",
            "-o",
            str(out),
            "-fitfac=0",
            "-fit.logg_phot=false",
            "-fit.logg_het=false",
            "-sampling.walkers_per_dim=8",
            "-sampling.burnin_fraction=0.5",
        ]
    )
    assert code == 0
    diag = json.loads((out / "diagnostics.json").read_text())
    assert diag["autocorr_time_max"] < diag["nsteps"] / 50, diag  # converged: tau < nsteps / 50
    assert diag["stuck_walkers"] == 0 and 0.2 < diag["acceptance_mean"] < 0.7
    stats = json.loads((out / "bestfit_stats.json").read_text())
    assert stats["n_points"] == 407 and stats["n_params"] == 5
    assert 0.8 < stats["reduced_chi2_inflated_errors"] < 1.3  # error inflation absorbs the model mismatch
    names = {p.name for p in out.iterdir()}
    for expected in [
        "config.toml",
        "run.json",
        "initial_parameters.csv",
        "posterior_samples.csv",
        "bestfit.csv",
        "bestfit_stats.csv",
        "models_binned_1_2_3_sigma.csv",
        "models_R300_1_2_3_sigma.csv",
        "blobs.npy",
        "chain.npz",
        "chains_full.png",
        "chains_after_burnin.png",
        "bestfit_model.png",
        "spectrum_R300_1_2_3_sigma.png",
        "spectrum_R300_logwave_1_2_3_sigma.png",
        "combo_R300_1_2_3_sigma.png",
        "spectrum_binned_1_2_3_sigma.png",
        "corner.png",
        "fscale_guess.png",
        "select_wave.png",
    ]:
        assert expected in names, expected
    header = (out / "posterior_samples.csv").read_text().splitlines()[0].split(",")
    assert header[-2:] == ["lnlike", "lnprob"]
    row = next(r for r in (out / "bestfit.csv").read_text().splitlines() if r.startswith("Fscale"))
    fscale = float(row.split(",")[2])
    assert 4.0e-10 < fscale < 5.5e-10  # (R*/d)^2 ~ 4.6e-10 for TRAPPIST-1
    # no overwrite without --overwrite
    assert main(["stellar", "examples/stellar_trappist1.toml", "-o", str(out), "-nsteps=10"]) == 2
    assert "--overwrite" in capsys.readouterr().err


def test_cli_print_config_and_bad_option(capsys):
    assert main(["stellar", "--print-config", "-fitspot=0"]) == 0
    assert "spots = false" in capsys.readouterr().out
    assert main(["stellar", "-sampling.sampler=mcmc"]) == 2
    assert "choose one of" in capsys.readouterr().err


@pytest.mark.slow
def test_compare_cli_writes_table(tmp_path):
    out = tmp_path / "cmp"
    code = main(
        [
            "-q",
            "stellar",
            "--compare",
            "-o",
            str(out),
            "-sampler=dynesty",
            "-nlive=60",
            "-dlogz=1.0",
            "-fit.logg_phot=false",
            "-fit.logg_het=false",
            "-fit.het_temperatures=false",
        ]
    )
    assert code == 0
    table = (out / "model_comparison.csv").read_text()
    for model in ("photosphere", "spots", "faculae", "spots+faculae"):
        assert model in table
    assert (out / "spots" / "bestfit.csv").exists()
