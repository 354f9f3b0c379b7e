import astropy.units as u
import numpy as np
import pytest

from specola.errors import SpectrumError
from specola.fluxcal import fit_sensitivity, load_extinction, rate_density, read_calspec, standard_path
from specola.fluxcal.simulate import cos_throughput, observe, optical_throughput, perturbed, photon_sensitivity
from specola.spectrum import Spectrum


@pytest.fixture(scope="module")
def bd17():
    return read_calspec(standard_path("bd_17d4708_stisnic_007"))


def recovery_pulls(sens, wavelengths, throughput):
    truth = photon_sensitivity(wavelengths, throughput(wavelengths))
    fitted = sens(wavelengths * u.AA).value
    return np.log(fitted / truth) / sens.log_error(wavelengths * u.AA), fitted / truth - 1


@pytest.mark.parametrize("seed", [0, 1])
def test_ground_based_sensitivity_recovers_throughput_with_extinction_and_tellurics(bd17, seed):
    rng = np.random.default_rng(seed)
    ext = load_extinction()
    edges = np.arange(3600.0, 8800.0, 2.0)
    obs = observe(perturbed(bd17, rng), edges, optical_throughput, 60.0, rng, airmass=1.4, extinction=ext,
                  resolution=1000, telluric_depth=0.5)  # fmt: skip
    sens = fit_sensitivity(obs, bd17, airmass=1.4, extinction=ext, resolution=1000)
    assert sens.meta["chi2"] / sens.meta["ndof"] == pytest.approx(1.0, abs=0.15)
    pulls, frac = recovery_pulls(sens, np.linspace(3800, 8600, 40), optical_throughput)
    assert np.max(np.abs(pulls)) < 4.0
    assert np.sqrt(np.mean(pulls**2)) < 2.0
    assert np.max(np.abs(frac)) < 0.005


def test_ignoring_extinction_is_detected(bd17):
    rng = np.random.default_rng(5)
    ext = load_extinction()
    edges = np.arange(3600.0, 8800.0, 2.0)
    obs = observe(perturbed(bd17, rng), edges, optical_throughput, 60.0, rng, airmass=1.4, extinction=ext)
    wrong = fit_sensitivity(obs, bd17, telluric=True)  # no extinction correction
    _, frac = recovery_pulls(wrong, np.array([3800.0, 4500.0]), optical_throughput)
    assert np.all(frac < -0.2)  # 1.4 airmasses of ~0.35 mag in the blue are missing
    with pytest.raises(SpectrumError, match="extinction"):
        fit_sensitivity(obs, bd17, airmass=1.4)


def test_space_sensitivity_recovers_cos_throughput():
    rng = np.random.default_rng(2)
    grw = read_calspec(standard_path("grw_70d5824_stisnic_005"))
    cos = cos_throughput()
    edges = np.arange(1160.0, 1285.0, 0.1)
    obs = observe(perturbed(grw, rng), edges, cos, 300.0, rng, area=np.pi * (120 * u.cm) ** 2, read_noise=0.0)
    # the COS throughput has ~2% wiggles on 10 A scales: knots every 5 A follow them
    sens = fit_sensitivity(obs, grw, knot_spacing=5.0)
    w = np.linspace(1165.0, 1280.0, 40)
    truth = photon_sensitivity(w, cos(w), np.pi * (120 * u.cm) ** 2)
    pulls = np.log(sens(w * u.AA).value / truth) / sens.log_error(w * u.AA)
    assert np.max(np.abs(pulls)) < 4.0
    assert np.sqrt(np.mean(pulls**2)) < 2.0
    assert np.max(np.abs(sens(w * u.AA).value / truth - 1)) < 0.04


def test_calibrating_a_science_spectrum_recovers_its_flux_within_errors(bd17):
    rng = np.random.default_rng(11)
    ext = load_extinction()
    edges = np.arange(3600.0, 8800.0, 4.0)
    std = observe(perturbed(bd17, rng), edges, optical_throughput, 60.0, rng, airmass=1.2, extinction=ext)
    sens = fit_sensitivity(std, bd17, airmass=1.2, extinction=ext)
    # the "science" target: the same star twice as faint, at another airmass and exposure time
    star = bd17.scale(0.5)
    sci = observe(star, edges, optical_throughput, 300.0, rng, airmass=1.8, extinction=ext)
    cal = sens.calibrate(sci, airmass=1.8, extinction=ext)
    assert cal.flux_unit == u.erg / u.s / u.cm**2 / u.AA
    truth = star.rebin(cal)
    keep = cal.good & truth.good & (cal.wavelength.value > 3800) & (cal.wavelength.value < 8600)
    pull = ((cal.flux - truth.flux) / cal.error).value[keep]
    assert np.mean(pull) == pytest.approx(0.0, abs=0.3)
    assert np.std(pull) == pytest.approx(1.0, abs=0.15)
    # the calibration error is part of the propagated error, and kept apart
    assert np.all(cal.meta["calibration_error"][cal.good] > 0)
    assert cal.good[-1]  # the spline spans every observed standard-star pixel, masked ends too
    raw = sens.calibrate(sci, airmass=1.8, extinction=ext, include_calibration_error=False)
    assert np.all(cal.error.value[keep] >= raw.error.value[keep])


def test_rate_density_units():
    edges = np.array([1000.0, 1002.0, 1006.0]) * u.AA
    s = Spectrum.from_edges(edges, [10.0, 20.0] * u.ct)
    assert rate_density(s, exptime=5.0).flux.value.tolist() == [1.0, 1.0]
    assert rate_density(Spectrum.from_edges(edges, [10.0, 20.0] * u.ct / u.s)).flux.value.tolist() == [5.0, 5.0]
    with pytest.raises(SpectrumError, match="exposure time"):
        rate_density(s)
    with pytest.raises(SpectrumError, match="counts"):
        rate_density(Spectrum.from_edges(edges, [1.0, 2.0] * u.Jy))


def test_calibration_is_not_extrapolated(bd17):
    rng = np.random.default_rng(0)
    edges = np.arange(4000.0, 7000.0, 4.0)
    sens = fit_sensitivity(observe(bd17, edges, optical_throughput, 60.0, rng), bd17)
    with pytest.raises(SpectrumError, match="outside the fitted range"):
        sens(np.array([3000.0, 5000.0]) * u.AA)
