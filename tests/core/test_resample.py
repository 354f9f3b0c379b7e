import astropy.units as u
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from specola.errors import SpectrumError
from specola.resample import convolution_matrix, overlap_matrix, rebin_arrays
from specola.spectrum import Spectrum


def random_edges(rng, n, lo=0.0, hi=10.0):
    return np.sort(rng.uniform(lo, hi, n + 1))


@settings(max_examples=200, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n_in=st.integers(2, 60), n_out=st.integers(1, 60))
def test_rebin_conserves_flux_for_random_edges(seed, n_in, n_out):
    rng = np.random.default_rng(seed)
    e_in = random_edges(rng, n_in)
    e_in = e_in[np.concatenate([[True], np.diff(e_in) > 1e-9])]
    inner = np.sort(rng.uniform(e_in[0], e_in[-1], n_out + 1))
    inner = inner[np.concatenate([[True], np.diff(inner) > 1e-9])]
    if e_in.size < 2 or inner.size < 2:
        return
    flux = rng.normal(5.0, 2.0, e_in.size - 1)
    valid = np.ones(flux.size, bool)
    f_out, _, cover = rebin_arrays(e_in[:-1], e_in[1:], flux, None, valid, inner[:-1], inner[1:])
    np.testing.assert_allclose(cover, 1.0, atol=1e-9)
    # integral over the output range equals the exact integral of the step function
    exact = np.sum(flux * np.clip(np.minimum(e_in[1:], inner[-1]) - np.maximum(e_in[:-1], inner[0]), 0, None))
    got = np.sum(f_out * np.diff(inner))
    assert abs(got - exact) <= 1e-12 * max(1.0, np.sum(np.abs(flux) * np.diff(e_in)))


def test_rebin_total_flux_conserved_on_full_range():
    rng = np.random.default_rng(1)
    e_in = np.linspace(1.0, 2.0, 1001)
    e_out = np.sort(np.concatenate([[1.0, 2.0], rng.uniform(1.0, 2.0, 97)]))
    flux = rng.normal(1, 0.1, 1000)
    f_out, _, _ = rebin_arrays(e_in[:-1], e_in[1:], flux, None, np.ones(1000, bool), e_out[:-1], e_out[1:])
    assert np.sum(f_out * np.diff(e_out)) == pytest.approx(np.sum(flux * np.diff(e_in)), rel=1e-12)


def test_rebin_variance_matches_monte_carlo():
    rng = np.random.default_rng(2)
    e_in = np.cumsum(rng.uniform(0.5, 1.5, 81))
    e_out = np.linspace(e_in[0], e_in[-1], 23)
    sigma = rng.uniform(0.5, 2.0, 80)
    truth = rng.normal(10, 1, 80)
    valid = np.ones(80, bool)
    _, var, _ = rebin_arrays(e_in[:-1], e_in[1:], truth, sigma**2, valid, e_out[:-1], e_out[1:])
    draws = truth + sigma * rng.standard_normal((20000, 80))
    f_mc, _, _ = rebin_arrays(e_in[:-1], e_in[1:], draws, None, valid, e_out[:-1], e_out[1:])
    np.testing.assert_allclose(f_mc.var(axis=0), var, rtol=0.05)


def test_masked_pixels_are_excluded_and_reported():
    s = Spectrum.from_edges(np.arange(5.0) * u.um, [1.0, 100.0, 3.0, 4.0] * u.Jy, mask=[False, True, False, False])
    r = s.rebin([0.0, 2.0, 4.0] * u.um)
    np.testing.assert_allclose(r.flux.value, [1.0, 3.5])
    assert r.meta["rebin"]["n_input_masked"] == 1
    r2 = s.rebin([0.0, 2.0, 4.0] * u.um, min_coverage=0.9)
    assert r2.mask.tolist() == [True, False]


def test_rebin_outside_input_is_masked_nan():
    s = Spectrum.from_edges(np.arange(5.0) * u.um, np.ones(4) * u.Jy)
    r = s.rebin([5.0, 6.0, 7.0] * u.um)
    assert r.mask.all() and np.isnan(r.flux.value).all()


def test_rebin_accepts_other_wave_unit():
    s = Spectrum.from_edges(np.arange(5.0) * u.um, [1.0, 2.0, 3.0, 4.0] * u.Jy)
    r = s.rebin([0.0, 20000.0, 40000.0] * u.AA)
    np.testing.assert_allclose(r.flux.value, [1.5, 3.5])
    assert r.wave_unit == u.um


def test_overlap_matrix_rejects_unsorted_output():
    with pytest.raises(SpectrumError, match="sorted"):
        overlap_matrix(np.array([0.0]), np.array([1.0]), np.array([1.0, 0.0]), np.array([2.0, 0.5]))


def test_convolution_preserves_flux_and_gives_requested_fwhm():
    edges = np.geomspace(1.0, 2.0, 20001)
    low, high = edges[:-1], edges[1:]
    centre = 0.5 * (low + high)
    flux = np.zeros(centre.size)
    k = np.argmin(np.abs(centre - 1.5))
    flux[k] = 1.0 / (high[k] - low[k])  # unit-integral delta line
    m = convolution_matrix(low, high, 500.0)
    out = m @ flux
    width = high - low
    assert np.sum(out * width) == pytest.approx(1.0, rel=2e-3)
    mean = np.sum(out * width * centre)
    sd = np.sqrt(np.sum(out * width * (centre - mean) ** 2))
    assert 2.3548 * sd == pytest.approx(1.5 / 500.0, rel=0.01)


def test_convolution_with_initial_resolution_is_quadrature_difference():
    edges = np.linspace(1.0, 2.0, 5001)
    low, high = edges[:-1], edges[1:]
    centre = 0.5 * (low + high)
    line = np.exp(-0.5 * ((centre - 1.5) / (1.5 / 1000 / 2.3548)) ** 2)  # R = 1000 line
    out = convolution_matrix(low, high, 400.0, initial_resolution=1000.0) @ line
    sd = np.sqrt(np.sum(out * (centre - 1.5) ** 2) / np.sum(out))
    assert 2.3548 * sd == pytest.approx(1.5 / 400.0, rel=0.01)
    with pytest.raises(SpectrumError, match="lower"):
        convolution_matrix(low, high, 2000.0, initial_resolution=1000.0)


def test_spectrum_convolve_variable_resolution_callable():
    s = Spectrum.from_edges(np.linspace(1, 2, 1001) * u.um, np.ones(1000) * u.Jy, error=np.ones(1000) * 0.1 * u.Jy)
    c = s.convolve_to_resolution(lambda w: 100 * w.to_value(u.um))
    np.testing.assert_allclose(c.flux.value[50:-50], 1.0, rtol=1e-10)
    assert np.all(c.error.value[50:-50] < 0.1)
