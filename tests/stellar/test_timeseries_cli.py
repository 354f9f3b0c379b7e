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
