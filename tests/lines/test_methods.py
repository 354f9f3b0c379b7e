"""Inference methods as a user reaches them: SVI with an autoguide from the command line, NUTS with several chains."""

import json
from pathlib import Path

import astropy.units as u
import numpy as np
import pytest
from lines_helpers import pixel_means

from specola.cli import main
from specola.lines import LineSpec, build_model, fit
from specola.spectrum import Spectrum

EXAMPLE = Path(__file__).parents[2] / "examples" / "lines.toml"
HALPHA = 6564.61
FLAM = u.Unit("1e-17 erg / (s cm2 Angstrom)")


@pytest.mark.slow
def test_cli_svi_with_an_autoguide_on_the_dja_example(tmp_path, capsys):
    """``-fit.method=svi -fit.svi_guide=normal``: SVI from the MAP, narrow and broad Halpha both positive."""
    out = tmp_path / "svi"
    args = ["lines", str(EXAMPLE), "-o", str(out), "-fit.method=svi", "-fit.svi_guide=normal", "-fit.svi_steps=400",
            "-fit.num_samples=400", "-fit.seed=3", "-output.figures=false"]  # fmt: skip
    assert main(args) == 0
    assert "lines (svi): 6 lines in 1 spectra, z = 3.55" in capsys.readouterr().out
    sampler = json.loads((out / "summary.json").read_text())["sampler"]
    assert sampler["guide"] == "normal" and sampler["steps"] == 400 and sampler["seed"] == 3
    assert json.loads((out / "run.json").read_text())["seed"] == 3
    with np.load(out / "samples.npz") as s:
        assert s["flux_Halpha"].shape == (1, 400)
        narrow, broad = np.median(s["flux_Halpha"]), np.median(s["flux_Halpha_broad"])
        rscale = np.median(s["rscale_R"])
    assert narrow > 0 and broad > 0 and broad > 0.3 * (narrow + broad)  # no cancelling pair; broad Halpha
    assert 0.65 < rscale < 1.35  # not on a prior bound (0.6, 1.4)


def _spectrum():
    edges = np.arange(6450.0, 6680.0, 1.0)
    low, high = edges[:-1], edges[1:]
    mean = pixel_means(low, high, [(HALPHA * 1.0005, 300.0, 400.0)], 10.0)
    flux = mean + 0.5 * np.random.default_rng(7).standard_normal(low.size)
    return Spectrum(low * u.AA, high * u.AA, flux * FLAM, np.full(low.size, 0.5) * FLAM, meta={"name": "sim"})


@pytest.mark.slow
def test_nuts_keeps_each_chain_and_reports_its_diagnostics():
    model = build_model([_spectrum()], [LineSpec("Halpha")], 0.0)
    post = fit(model, "nuts", num_warmup=150, num_samples=200, num_chains=3, seed=5, progress=False)
    assert all(v.shape == (3, 200) for v in post.samples.values())
    d = post.diagnostics
    assert d["seed"] == 5 and d["r_hat_method"] == "split R-hat over 3 chain(s) x 2 halves"
    assert d["r_hat_max"] < 1.05 and d["n_eff_min"] > 100 and d["divergences"] == 0
    chains = post.samples["flux_Halpha"] * model.plan.line_unit * model.plan.flux_unit.to(FLAM)
    assert not np.allclose(chains[0], chains[1])  # independent chains, not copies
    for c in chains:  # every chain finds the injected flux
        assert abs(np.median(c) - 400.0) < 4 * np.std(c)
    again = fit(model, "nuts", num_warmup=150, num_samples=200, num_chains=3, seed=5, progress=False)
    assert all(np.array_equal(again.samples[k], v) for k, v in post.samples.items())  # the seed fixes every chain
