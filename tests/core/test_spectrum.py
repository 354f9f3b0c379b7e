import astropy.units as u
import numpy as np
import pytest

from specola.errors import SpectrumError
from specola.spectrum import Spectrum, SpectrumSeries, edges_from_centres

FLAM = u.erg / u.s / u.cm**2 / u.AA


def make(n=10, **kw):
    return Spectrum.from_edges(np.linspace(1.0, 2.0, n + 1) * u.um, np.arange(1.0, n + 1) * u.Jy, **kw)


def test_centres_and_widths_derive_from_edges():
    s = Spectrum([1.0, 3.0] * u.um, [2.0, 4.0] * u.um, [1, 1] * u.Jy)
    np.testing.assert_allclose(s.wavelength.to_value(u.um), [1.5, 3.5])
    np.testing.assert_allclose(s.width.value, [1.0, 1.0])


def test_validation_messages_name_the_problem():
    with pytest.raises(SpectrumError, match="length unit"):
        Spectrum([1.0] * u.Jy, [2.0] * u.Jy, [1.0] * u.Jy)
    with pytest.raises(SpectrumError, match="overlap"):
        Spectrum([1.0, 1.5] * u.um, [2.0, 2.5] * u.um, [1, 1] * u.Jy)
    with pytest.raises(SpectrumError, match="compatible units"):
        Spectrum([1.0] * u.um, [2.0] * u.um, [1.0] * u.Jy, error=[1.0] * u.m)
    with pytest.raises(SpectrumError, match="high > low"):
        Spectrum([2.0] * u.um, [1.0] * u.um, [1.0] * u.Jy)
    with pytest.raises(SpectrumError, match="both"):
        Spectrum([1.0] * u.um, [2.0] * u.um, [1.0] * u.Jy, error_low=[1.0] * u.Jy)


def test_nonfinite_values_are_masked_and_arrays_readonly():
    s = Spectrum.from_edges([1, 2, 3] * u.um, [1.0, np.nan] * u.Jy)
    assert s.mask.tolist() == [False, True]
    with pytest.raises(ValueError):
        s.flux.value[0] = 5.0


def test_asymmetric_errors_give_mean_error():
    s = Spectrum.from_edges([1, 2] * u.um, [1.0] * u.Jy, error_low=[0.1] * u.Jy, error_high=[0.3] * u.Jy)
    assert s.error.value[0] == pytest.approx(0.2)


def test_select_mask_ranges_apply_mask():
    s = make()
    assert len(s.select(1.2 * u.um, 1.5 * u.um)) == 3
    assert len(s.select(12000 * u.AA)) == 8
    m = s.mask_ranges([[1.05, 1.15]])
    assert m.mask.tolist()[:3] == [True, True, False]
    assert len(m.apply_mask()) == 8
    assert not s.mask_ranges([]).mask.any()


def test_flux_unit_round_trip_and_error_scaling():
    s = make(error=np.full(10, 0.5) * u.Jy)
    f = s.to_flux_unit(FLAM)
    expected = (s.flux).to(FLAM, u.spectral_density(s.wavelength))
    np.testing.assert_allclose(f.flux.value, expected.value, rtol=1e-12)
    np.testing.assert_allclose(f.error / f.flux, s.error / s.flux, rtol=1e-12)
    back = f.to_flux_unit(u.Jy)
    np.testing.assert_allclose(back.flux.value, s.flux.value, rtol=1e-12)
    with pytest.raises(SpectrumError, match="cannot convert"):
        s.to_flux_unit(u.m)


def test_scale_propagates_factor_error():
    s = make(error=np.full(10, 0.5) * u.Jy)
    t = s.scale(2.0, factor_error=0.2)
    np.testing.assert_allclose(t.error.value, np.hypot(2 * 0.5, s.flux.value * 0.2))
    assert (s * 3).flux[0] == 3 * u.Jy
    assert (s / (2 * u.s)).flux_unit == u.Jy / u.s


def test_specutils_round_trip_is_lossless():
    s = Spectrum(
        [1.0, 2.0, 4.0] * u.um,
        [2.0, 3.0, 5.0] * u.um,
        [1.0, 2.0, 3.0] * FLAM,
        mask=[False, True, False],
        error_low=[0.1, 0.2, 0.3] * FLAM,
        error_high=[0.2, 0.3, 0.4] * FLAM,
        meta={"target": "X"},
    )
    back = Spectrum.from_specutils(s.to_specutils())
    for name in ("low", "high", "flux", "error", "error_low", "error_high"):
        assert u.allclose(getattr(back, name), getattr(s, name), rtol=0), name
    assert back.mask.tolist() == s.mask.tolist()
    assert back.meta["target"] == "X"


def test_edges_from_centres_needs_increasing():
    with pytest.raises(SpectrumError):
        edges_from_centres(np.array([2.0, 1.0]))


def test_series_median_and_time_mask():
    rng = np.random.default_rng(0)
    edges = np.linspace(1, 2, 6) * u.um
    flux = 10 + rng.normal(0, 1, (200, 5))
    flux[50:60] = 100.0  # a flare
    series = SpectrumSeries(edges[:-1], edges[1:], flux * u.Jy, times=np.arange(200.0) * u.day)
    excl = series.time_mask([[49.5, 59.5]])
    assert excl.sum() == 10
    med = series.median(exclude_times=excl)
    np.testing.assert_allclose(med.flux.value, 10, atol=0.3)
    # reported error of the median agrees with its scatter
    assert np.all(np.abs(med.flux.value - 10) < 5 * med.error.value)
    assert series[3].meta["time"] == 3 * u.day
    with pytest.raises(SpectrumError, match="every time"):
        series.median(np.ones(200, bool))


def test_negative_wavelength_edges_are_refused():
    with pytest.raises(SpectrumError, match="wavelengths must be positive; 1 pixel edges are negative"):
        Spectrum.from_edges(np.array([-1.0, 1.0, 2.0]) * u.um, [1.0, 2.0] * u.Jy)
    assert len(Spectrum.from_edges(np.array([0.0, 1.0, 2.0]) * u.um, [1.0, 2.0] * u.Jy)) == 2
