"""The full template retrieval (every fit switch on) converges on the real TRAPPIST-1 spectrum with emcee."""

import json

import pytest

from specola.cli import main


@pytest.mark.slow
def test_full_template_converges_on_real_trappist1(tmp_path, capsys):
    out = tmp_path / "full"
    assert main(["-q", "stellar", "examples/stellar_trappist1.toml", "-o", str(out)]) == 0
    diag = json.loads((out / "diagnostics.json").read_text())
    # the template as documented: 9 parameters, 20 x ndim walkers, nsteps = "auto", emcee
    assert diag["nsteps_requested"] == "auto" and diag["nwalkers"] == 180 and len(diag["autocorr_time"]) == 9
    assert diag["moves"] == "kde+de" and diag["sampling_coordinates"].startswith("unconstrained")
    # converged: the integrated autocorrelation time of every parameter, in the physical parameters and in
    # the sampling coordinates, estimated on the post-burn-in chain, is below that chain's length / 50
    taus = [*diag["autocorr_time"].values(), *diag["autocorr_time_sampling_coordinates"].values()]
    assert max(taus) == pytest.approx(diag["autocorr_time_max"])
    assert diag["autocorr_time_max"] <= (diag["nsteps"] - diag["burnin"]) / 50, diag
    assert diag["verdict"]["converged"] and diag["stuck_walkers"] == 0
    assert max(diag["rhat"].values()) < 1.01
    assert 0.05 < diag["acceptance_min"] and diag["acceptance_max"] < 0.5
    stats = json.loads((out / "bestfit_stats.json").read_text())
    assert stats["n_params"] == 9 and stats["n_points"] == 407
    assert 0.8 < stats["reduced_chi2_inflated_errors"] < 1.3
    rows = {r.split(",")[0]: r.split(",") for r in (out / "bestfit.csv").read_text().splitlines()}
    header = rows["parameter"]
    median = {k: float(v[header.index("median")]) for k, v in rows.items() if k != "parameter"}
    assert 4.0e-10 < median["Fscale"] < 5.5e-10  # (R*/d)^2 ~ 4.6e-10 for TRAPPIST-1
    assert 2450 < median["Tphot"] < 2600 and median["fspot"] < 0.2 and median["ffac"] < 0.2
    for name in ("bestfit_model.png", "combo_R300_1_2_3_sigma.png", "corner.png", "chains_full.png"):
        assert (out / name).stat().st_size > 20000, name  # residuals and posteriors are plotted
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
        "chains_after_burnin.png",
        "spectrum_R300_1_2_3_sigma.png",
        "spectrum_R300_logwave_1_2_3_sigma.png",
        "combo_R300_logwave_1_2_3_sigma.png",
        "spectrum_binned_1_2_3_sigma.png",
        "fscale_guess.png",
        "select_wave.png",
    ]:
        assert expected in names, expected
    header = (out / "posterior_samples.csv").read_text().splitlines()[0].split(",")
    assert header[-2:] == ["lnlike", "lnprob"]
    # no overwrite without --overwrite
    assert main(["stellar", "examples/stellar_trappist1.toml", "-o", str(out), "-nsteps=10"]) == 2
    assert "--overwrite" in capsys.readouterr().err
