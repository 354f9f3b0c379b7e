import itertools
import json

import astropy.units as u
import numpy as np
import pytest

from specola.errors import ConfigError, GridError, SpecolaError, SpectrumError
from specola.spectrum import Spectrum
from specola.stellar import StellarConfig, load_stellar_config, prepare, run_to_folder
from specola.stellar.run import with_overrides
from specola.stellar.sampling import run_emcee
from specola.stellar.setup import build_space, fitted_names

PEER_LAYOUT = """
[choice_of_inputs]
label_obs = "visit1"
start_from_timeseries = false
path_to_spec = ""
spec_format = "basic"
stmodfile = ""
[preprocessing]
optimize_param = false
obsmaskpattern = "nomask"
kern_size = 19
jd_range_mask = []
wave_range_mask = [4.1, 4.3]
[saving_options]
save_fit = true
res_suffix = "peer"
[stellar_params]
Teffstar = 2566.0
feh = 0.04
loggstar = 5.2
logg_phot_source = "loggstar"
logg_phot_value = 2.5
[stellar_models]
label_grid = "BTSettl"
logg_range = [2.5, 5.5]
loggstep = 0.1
Teff_range = "default"
Teffstep = 20.0
resPower_target = 10000
wave_range = [0.2, 5.4]
[MCMC_params]
parallel = true
ncpu = 30
nsteps = 3000
frac_burnin = 0.6
fitspot = true
fitfac = true
fitThet = true
fitTphot = true
fitlogg_phot = true
fitlogg_het = true
fitFscale = true
fiterrInfl = true
[priors]
gaussparanames = "Tphot_ffac"
hyperp_gausspriors = "2566_70|0.1_0.05"
fitLogfSpotFac = [1, 0]
hyperp_logpriors = [-4, 0]
[plotting]
pad = 0.25
target_resP = 300
"""


def test_peer_layout_is_translated(tmp_path):
    path = tmp_path / "peer.toml"
    path.write_text(PEER_LAYOUT)
    cfg = load_stellar_config(path, {"fitfac": 0})
    assert cfg.fit.spots is True and cfg.fit.faculae is False
    assert cfg.priors.gaussian == {"Tphot": [2566.0, 70.0], "ffac": [0.1, 0.05]}
    assert cfg.priors.log_fractions == (True, False) and cfg.priors.log_fraction_range == (-4.0, 0.0)
    assert cfg.sampling.nsteps == 3000 and cfg.sampling.burnin_fraction == 0.6 and cfg.sampling.ncpu == 30
    assert cfg.grid.teff_range == (2300.0, 3566.0)  # Teff_range = "default": the peer keeps its 2300 K floor
    assert cfg.grid.teff_step == 20.0 and cfg.grid.file_resolution == 10000 and cfg.grid.file_wave_range == (0.2, 5.4)
    assert cfg.inputs.config_layout == "exotune"
    assert cfg.star.logg_phot_source == "star"
    assert cfg.preprocessing.wave_ranges_masked == ((4.1, 4.3),)
    assert cfg.inputs.label == "visit1" and cfg.saving.suffix == "peer" and cfg.plotting.resolving_power == 300
    assert not cfg.priors.photosphere_dominant  # a peer file keeps the peer's prior
    setup = prepare(cfg)
    assert "log_fspot" in setup.space.names and "ffac" not in setup.space.names


def test_example_config_loads_with_overrides():
    cfg = load_stellar_config("examples/stellar_trappist1.toml", {"sampling.nsteps": 10, "fitfac": False})
    assert cfg.sampling.nsteps == 10 and cfg.fit.faculae is False
    with pytest.raises(ConfigError, match="did you mean"):
        load_stellar_config("examples/stellar_trappist1.toml", {"sampling.nstep": 10})


@pytest.fixture(scope="module")
def base_setup():
    return prepare(StellarConfig())


@pytest.mark.parametrize("log_fractions", [(False, False), (True, True), (True, False)])
def test_every_switch_combination_runs(base_setup, log_fractions):
    """All 256 fit-switch combinations build a posterior with a finite start and take emcee steps."""
    from specola.stellar.likelihood import LogPosterior

    s = base_setup
    spec = s.pre.fitted
    names = ("spots", "faculae", "het_temperatures", "tphot", "logg_phot", "logg_het", "fscale", "error_inflation")
    ran = 0
    for combo in itertools.product((False, True), repeat=len(names)):
        cfg = with_overrides(
            StellarConfig(), fit=dict(zip(names, combo, strict=True)), priors={"log_fractions": log_fractions}
        )
        try:
            fitted = fitted_names(cfg)
        except ConfigError:
            assert not any(combo[i] for i in (0, 1, 3, 4, 6, 7))
            continue
        space = build_space(cfg, fitted, s.model.teff_range, s.model.logg_range, np.log10(s.fscale_guess))
        post = LogPosterior(s.model, spec.flux.value, spec.error.value, spec.good, space)
        assert np.isfinite(post(space.start())), fitted
        if ran % 16 == 0:
            out = run_emcee(post, space.start(), 3, 0.0, 2, seed=1, progress=False)
            assert np.all(np.isfinite(out.lnprob))
        ran += 1
    assert ran == 252  # the 4 combinations that fit nothing raise ConfigError


def test_bad_inputs_name_the_option(grid, trappist1):
    # spectrum outside the grid's wavelengths
    far = Spectrum.from_centres(np.linspace(8, 10, 50) * u.um, np.ones(50) * u.Jy, error=np.full(50, 0.1) * u.Jy)
    with pytest.raises(SpectrumError, match=r"inputs\.grid_path"):
        prepare(StellarConfig(), far)
    # a prior outside the grid's axes
    cfg = with_overrides(StellarConfig(), priors={"uniform": {"Tphot": [2000.0, 2800.0]}})
    with pytest.raises(ConfigError, match=r"priors\.uniform\.Tphot"):
        prepare(cfg)
    cfg = with_overrides(StellarConfig(), priors={"uniform": {"deltaTspot": [-1500.0, -100.0]}})
    with pytest.raises(ConfigError, match=r"priors\.uniform\.deltaTspot"):
        prepare(cfg)
    # no overlap after masking
    cfg = with_overrides(StellarConfig(), preprocessing={"wave_ranges_masked": ((0.1, 7.0),)})
    with pytest.raises(SpectrumError, match="wave_ranges_masked"):
        prepare(cfg)
    cfg = with_overrides(StellarConfig(), grid={"wave_range": (5.8, 5.9)})
    with pytest.raises(SpectrumError, match=r"grid\.wave_range"):
        prepare(cfg)
    # all-NaN data
    nan = trappist1.replace(flux=np.full(len(trappist1), np.nan) * trappist1.flux_unit)
    with pytest.raises(SpectrumError, match="NaN everywhere"):
        prepare(StellarConfig(), nan)
    # star outside the grid
    with pytest.raises(SpecolaError, match=r"star\.teff"):
        prepare(with_overrides(StellarConfig(), star={"teff": 3500.0}))
    with pytest.raises((ConfigError, GridError)):
        prepare(with_overrides(StellarConfig(), grid={"teff_range": (3500.0, 4000.0)}))


def _bad_pixels(spec):
    error = spec.error.value.copy()
    flux = spec.flux.value.copy()
    error[[10, 20]] = 0.0
    flux[30] = np.nan
    return spec.replace(flux=flux * spec.flux_unit, error=error * spec.error.unit)


def test_reversed_ranges_and_bad_pixels_are_reported(trappist1, caplog):
    cfg = with_overrides(StellarConfig(), preprocessing={"wave_ranges_masked": ((4.3, 4.1),)})
    with pytest.raises(ConfigError, match=r"wave_ranges_masked: range \[4\.3, 4\.1\] is reversed"):
        prepare(cfg)
    spec = trappist1.apply_mask()
    bad = _bad_pixels(spec)
    n0 = prepare(StellarConfig(), spec).posterior.n_dropped
    setup = prepare(StellarConfig(), bad)
    assert setup.posterior.n_dropped == n0 + 3
    assert f"{n0 + 3} pixel(s) with NaN flux or NaN/zero/negative error are not fitted" in caplog.text


@pytest.mark.slow
def test_bad_pixels_run_with_figures_without_numpy_warnings(trappist1, tmp_path):
    # the whole run, figures included, on zero-error and NaN pixels: no NumPy warning (pytest makes them errors)
    spec = trappist1.apply_mask()
    bad = _bad_pixels(spec)
    n0 = prepare(StellarConfig(), spec).posterior.n_dropped
    cfg = with_overrides(
        StellarConfig(),
        fit={"faculae": False, "logg_phot": False, "logg_het": False},
        sampling={"nsteps": 30, "walkers_per_dim": 4, "progress": False, "optimize_start": False},
    )
    run_to_folder(cfg, tmp_path / "bad", data=bad)
    stats = json.loads((tmp_path / "bad" / "bestfit_stats.json").read_text())
    assert stats["n_pixels_dropped"] == n0 + 3
    assert json.loads((tmp_path / "bad" / "run.json").read_text())["status"] == "finished"
