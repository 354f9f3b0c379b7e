"""The peer's (stctm/exotune) own files run unchanged: its TOML, grid file layout, spectrum and series formats."""

import json

import h5py
import numpy as np
import pytest

from specola.cli import main
from specola.data import data_path
from specola.errors import ConfigError, FileFormatError
from specola.grids import load_cache
from specola.grids.peer_hdf5 import constant_r_wavelengths
from specola.io import read_series
from specola.stellar import load_stellar_config, prepare

# the peer's template TOML with the paths, the grid's axes and the star changed (its layout and keys as they are)
PEER_TOML = """
[choice_of_inputs]
label_obs = "test_visit"
start_from_timeseries = false
save_median_spectrum = false
path_save_median_spectrum = ""
path_to_stellar_spec_ts = ""
path_to_spec = "observations/spectrum.csv"
spec_format = "basic"
stmodfile = "grids/TEST_pymsg.h5"
[preprocessing]
optimize_param = false
obsmaskpattern= "nomask"
kern_size = 19
jd_range_mask = []
wave_range_mask = []
[saving_options]
save_fit = true
res_suffix = "test_for_GitHub"
[stellar_params]
Teffstar = 2550.0
feh = 0.0
loggstar = 5.0
logg_phot_source = "value"
logg_phot_value = 5.0
[stellar_models]
label_grid = "BTSettl_TEST"
logg_range = [4.0,5.5]
loggstep = 0.5
Teff_range = [2300.0, 3000.0]
Teffstep = 50.0
resPower_target = 400
wave_range = [0.6,5.3]
[MCMC_params]
parallel = false
ncpu = 1
nsteps=NSTEPS
frac_burnin = 0.6
fitspot = true
fitfac = true
fitThet = true
fitTphot = true
fitlogg_phot = false
fitlogg_het = false
fitFscale = true
fiterrInfl = true
[priors]
gaussparanames = "Tphot"
hyperp_gausspriors = [2566,70]
fitLogfSpotFac = [0,0]
hyperp_logpriors = [-5,0]
[plotting]
pad = 0.25
target_resP = 300
"""

TRUTH = {"Tphot": 2550.0, "Tspot": 2400.0, "Tfac": 2750.0, "fspot": 0.2, "ffac": 0.08}


def _peer_grid(path, teff, logg, wave_range, resolution):
    """A grid file in the peer's layout: ``model_grid`` (n_Teff, n_logg, n_wave), W m^-2 um^-1, pymsg wavelengths."""
    base = load_cache(data_path("grids", "btsettl08_prism_trappist1.h5"))
    nodes = constant_r_wavelengths(wave_range[0], wave_range[1], resolution)
    centres = nodes[1:-1]
    bt, bg = base.axes["Teff"], base.axes["logg"]
    cube = np.empty((teff.size, logg.size, centres.size))
    for i, t in enumerate(teff):  # linear in Teff between the 100 K models, logg on the models' nodes
        k = min(np.searchsorted(bt, t, side="right") - 1, bt.size - 2)
        a = (t - bt[k]) / (bt[k + 1] - bt[k])
        for j, g in enumerate(logg):
            m = int(np.argmin(np.abs(bg - g)))
            flux = (1 - a) * base.flux[k, m] + a * base.flux[k + 1, m]  # erg/s/cm2/um
            cube[i, j] = np.interp(centres, base.wavelength.value, flux) * 1e-3  # -> W/m2/um
    path.parent.mkdir(parents=True, exist_ok=True)
    with h5py.File(path, "w") as f:
        f["model_grid"] = cube.astype(np.float32)
    return centres, cube


def _peer_example(tmp_path, nsteps=3000):
    teff, logg = np.arange(2300.0, 3000.0, 50.0), np.arange(4.0, 5.5, 0.5)  # the peer's np.arange axes
    centres, cube = _peer_grid(tmp_path / "grids" / "TEST_pymsg.h5", teff, logg, (0.6, 5.3), 400)
    # data: the three components at grid nodes, averaged over R ~ 100 bins by a plain trapezoid (not specola's)
    j = int(np.flatnonzero(logg == 5.0)[0])
    at = lambda t: cube[int(np.flatnonzero(teff == t)[0]), j]
    fine = (1 - TRUTH["fspot"] - TRUTH["ffac"]) * at(TRUTH["Tphot"])
    fine = fine + TRUTH["fspot"] * at(TRUTH["Tspot"]) + TRUTH["ffac"] * at(TRUTH["Tfac"])
    edges = np.geomspace(0.8, 5.0, 181)
    dense = np.linspace(edges[0], edges[-1], 40000)
    model_dense = np.interp(dense, centres, fine)
    cum = np.concatenate([[0], np.cumsum(0.5 * (model_dense[1:] + model_dense[:-1]) * np.diff(dense))])
    binned = np.diff(np.interp(edges, dense, cum)) / np.diff(edges)
    scale = 4.6e-10 * 1e3 / 1e-10  # (R/d)^2, W/m2/um -> erg/s/cm2/um, file unit 1e-10 erg/s/cm2/um
    flux = binned * scale
    err = flux / 150.0
    rng = np.random.default_rng(8)
    noisy = flux + rng.normal(0, err)
    obs = tmp_path / "observations"
    obs.mkdir()
    rows = ["wave,yval,yerrLow,yerrUpp"] + [
        f"{w:.6f},{f:.8g},{e:.8g},{e:.8g}" for w, f, e in zip(np.sqrt(edges[1:] * edges[:-1]), noisy, err, strict=True)
    ]
    (obs / "spectrum.csv").write_text("\n".join(rows) + "\n")
    toml = tmp_path / "analysis" / "template_ini_exotune.toml"
    toml.parent.mkdir()
    toml.write_text(
        PEER_TOML.replace("NSTEPS", str(nsteps))
        .replace('"observations/', '"../observations/')
        .replace('"grids/', '"../grids/')
    )
    return toml, scale


@pytest.mark.slow
def test_peer_example_runs_unchanged_and_recovers_truth(tmp_path, caplog):
    toml, scale = _peer_example(tmp_path)
    out = tmp_path / "results"
    assert main(["-q", "stellar", str(toml), "-o", str(out)]) == 0
    assert "peer's prior" in caplog.text  # the prior choice is announced ...
    info = json.loads((out / "run.json").read_text())
    assert info["config_layout"] == "exotune" and "photosphere_dominant = false" in info["prior"]  # ... and recorded
    rows = [r.split(",") for r in (out / "bestfit.csv").read_text().splitlines()]
    head = rows[0]
    get = {r[0]: {k: float(v) for k, v in zip(head[1:], r[1:], strict=True) if k != "fitted"} for r in rows[1:]}
    for name, true in [*TRUTH.items(), ("Fscale", scale)]:
        lo, hi = get[name]["p0.135"], get[name]["p99.865"]
        assert lo <= true <= hi, (name, true, lo, hi)
    assert get["Tphot"]["p15.87"] - 60 < TRUTH["Tphot"] < get["Tphot"]["p84.13"] + 60
    assert get["errInfl"]["median"] < 1.5  # exact model, exact errors: no inflation needed


def test_peer_grid_axes_come_from_the_toml(tmp_path):
    toml, _ = _peer_example(tmp_path, nsteps=10)
    setup = prepare(load_stellar_config(toml))
    assert setup.model.teff_range == (2300.0, 2950.0) and setup.model.logg_range == (4.0, 5.0)
    assert setup.grid.flux_unit.to_string() == "W / (um m2)"
    # without the axes the one-line error names every option to give
    cfg = load_stellar_config(toml, {"grid.teff_step": 0.0, "grid.file_resolution": 0.0})
    with pytest.raises(ConfigError, match=r"grid\.teff_step \(peer Teffstep\).*grid\.file_resolution"):
        prepare(cfg)


def test_peer_default_teff_range_keeps_the_floor(tmp_path):
    path = tmp_path / "p.toml"
    path.write_text(PEER_TOML.replace("Teff_range = [2300.0, 3000.0]", 'Teff_range = "default"').replace("NSTEPS", "5"))
    assert load_stellar_config(path).grid.teff_range == (2300.0, 3550.0)


def _eureka(path, n_t=6, n_w=50, flat=False, wrong=False):
    wave = np.linspace(5.0, 1.0, n_w)  # descending, as some pipelines write it
    times = 60000.0 + np.arange(n_t) * 0.01
    flux = np.outer(np.ones(n_t), 1.0 + wave)
    with h5py.File(path, "w") as f:
        f["wave_1d"] = wave
        f["time"] = times
        f["optspec"] = flux.ravel() if flat else flux
        f["opterr"] = 0.01 * (flux[:, :-1] if wrong else flux)
        f["optspec"].attrs["flux_units"] = "mJy"
        f["time"].attrs["time_units"] = "BMJD_TDB"


def test_eureka_stage3_series_is_read(tmp_path):
    path = tmp_path / "S3_SpecData.h5"
    _eureka(path, flat=True)
    series = read_series(path)
    assert series.flux.shape == (6, 50) and series.flux.unit.to_string() == "mJy"
    assert np.all(np.diff(series.low.value) > 0)
    assert series.times.unit == "d" and series.meta["time_scale"] == "BMJD_TDB"
    np.testing.assert_allclose(series.flux.value[0], 1.0 + np.linspace(1.0, 5.0, 50))
    bad = tmp_path / "bad.h5"
    _eureka(bad, wrong=True)
    with pytest.raises(FileFormatError, match=r"opterr has shape \(6, 49\) but time x wave_1d is \(6, 50\)"):
        read_series(bad)
