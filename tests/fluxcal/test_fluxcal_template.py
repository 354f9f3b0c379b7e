import glob

import astropy.units as u
import numpy as np
import pytest

from specola.data import data_path
from specola.fluxcal import load_extinction
from specola.fluxcal.photometry import FLAM, synthetic_magnitude
from specola.fluxcal.scaling import Photometry, scale_to_photometry, template_sensitivity
from specola.fluxcal.simulate import optical_throughput, photon_sensitivity
from specola.fluxcal.template import fit_template, prepare_templates
from specola.grids import load_grid
from specola.spectrum import Spectrum

TRUTH = {"Teff": 6130.0, "logg": 4.3, "[M/H]": -0.35}
RV = 87.0
BANDS = ("gaiadr2-G", "gaiadr2-BP", "gaiadr2-RP")


@pytest.fixture(scope="module")
def grid():
    return load_grid(sorted(glob.glob(str(data_path("fluxcal", "ck04", "*", "*.fits.gz")))), format="kurucz")


@pytest.fixture(scope="module")
def templates(grid):
    return prepare_templates(grid, (3800, 8800), resolution=1500, step_kms=10, max_rv=500, logg=(3.0, 5.0))


def simulate_star(templates, rng, scale=1.0, snr=80.0, airmass=0.0, ext=None, exptime=100.0):
    """Counts of a star with the TRUTH parameters and RV through optical_throughput (truth known)."""
    edges = np.arange(3800.0, 8800.0, 2.0)
    w = 0.5 * (edges[1:] + edges[:-1])
    flux = scale * templates.model(tuple(TRUTH.values()), RV, edges[:-1], edges[1:])
    rate = flux * photon_sensitivity(w, optical_throughput(w))
    if airmass:
        rate = rate * ext.transmission(w * u.AA, airmass)
    counts = rate * exptime * np.diff(edges)
    counts = counts * (snr**2 / counts.max())  # peak S/N = snr
    err = np.sqrt(counts)
    exptime = exptime * snr**2 / (rate * exptime * np.diff(edges)).max()
    obs = Spectrum.from_edges(edges * u.AA, (counts + rng.normal(0, err)) * u.ct, error=err * u.ct)
    return obs, exptime


@pytest.mark.parametrize("seed", [0, 1])
def test_template_fit_recovers_parameters_and_rv(templates, seed):
    rng = np.random.default_rng(seed)
    obs, _ = simulate_star(templates, rng)
    fit = fit_template(obs, templates)
    for name, truth in TRUTH.items():
        assert abs(fit.params[name] - truth) < 3.5 * fit.errors[name], (name, fit.summary())
    assert abs(fit.rv - RV) < 3.5 * fit.rv_error
    assert fit.rv_error < 10.0
    assert abs(fit.params["Teff"] - TRUTH["Teff"]) < 100.0
    # interpolated, not the nearest node (6000 or 6250 K)
    assert min(abs(fit.params["Teff"] - 6000.0), abs(fit.params["Teff"] - 6250.0)) > 3 * fit.errors["Teff"]
    assert fit.chi2 / fit.ndof == pytest.approx(1.0, abs=0.1)


@pytest.mark.slow
def test_rv_errors_are_calibrated_over_noise_draws(templates):
    rng = np.random.default_rng(42)
    pulls = []
    for _ in range(6):
        obs, _ = simulate_star(templates, rng, snr=40.0)
        fit = fit_template(obs, templates)
        pulls.append((fit.rv - RV) / fit.rv_error)
    assert np.sqrt(np.mean(np.square(pulls))) < 2.0


def test_scale_to_photometry_recovers_the_scale(grid):
    rng = np.random.default_rng(7)
    model = grid.spectrum(**TRUTH)
    true_scale = 3.2e-20
    obs_mags = [synthetic_magnitude(model.scale(true_scale), b, "Vega") + rng.normal(0, 0.01) for b in BANDS]
    result = scale_to_photometry(model, Photometry(BANDS, obs_mags, [0.01] * 3, "Vega"))
    assert abs(np.log(result.scale / true_scale)) < 3 * result.log_error
    assert set(result.residuals) == set(BANDS)
    assert max(abs(r) for r in result.residuals.values()) < 0.04


def test_template_calibration_recovers_throughput(grid, templates):
    rng = np.random.default_rng(3)
    ext = load_extinction()
    true_scale = 2.0e-20
    obs, exptime = simulate_star(templates, rng, scale=true_scale, snr=150.0, airmass=1.3, ext=ext)
    mags = [synthetic_magnitude(grid.spectrum(**TRUTH).scale(true_scale), b, "Vega") for b in BANDS]
    phot = Photometry(BANDS, mags, [0.01] * 3, "Vega")
    fit = fit_template(obs, templates, phot, grid)
    assert not fit.tension
    sens = template_sensitivity(obs, fit, exptime=exptime, airmass=1.3, extinction=ext)
    w = np.linspace(4000.0, 8600.0, 30)
    truth = photon_sensitivity(w, optical_throughput(w))
    fitted = sens(w * u.AA).value
    pulls = np.log(fitted / truth) / sens.log_error(w * u.AA)
    assert np.max(np.abs(pulls)) < 4.0
    assert np.max(np.abs(fitted / truth - 1)) < 0.05
    # calibrating the star itself gives back its (scaled) model flux
    cal = sens.calibrate(obs, exptime=exptime, airmass=1.3, extinction=ext)
    assert cal.flux_unit == FLAM
