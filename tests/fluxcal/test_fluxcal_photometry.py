import astropy.units as u
import numpy as np
import pytest
import speclite.filters

from specola.errors import ConfigError, SpectrumError
from specola.fluxcal import (
    Bandpass,
    Photometer,
    ab_minus_vega,
    load_bandpass,
    synthetic_magnitude,
    vega_spectrum,
)
from specola.spectrum import Spectrum

# Measured facts (shared/data/fluxcal/PROVENANCE.txt): CALSPEC Vega through Gaia DR2 and 2MASS.
VEGA_AB_GAIA = {"gaiadr2-G": 0.13, "gaiadr2-BP": 0.05, "gaiadr2-RP": 0.38}
AB_MINUS_VEGA = {"gaiadr2-G": 0.10, "gaiadr2-BP": 0.03, "gaiadr2-RP": 0.35}
AB_MINUS_VEGA_2MASS = {"twomass-J": 0.91, "twomass-H": 1.39, "twomass-Ks": 1.86}


def flat_fnu(edges, jy=3631.0):
    centres = 0.5 * (edges[1:] + edges[:-1])
    return (jy * u.Jy).to_value(u.erg / u.s / u.cm**2 / u.AA, u.spectral_density(centres * u.AA))


@pytest.mark.parametrize("band", sorted(VEGA_AB_GAIA))
def test_vega_ab_magnitudes_through_gaia_dr2(band):
    assert synthetic_magnitude(vega_spectrum(), band) == pytest.approx(VEGA_AB_GAIA[band], abs=0.01)
    assert ab_minus_vega(band) == pytest.approx(AB_MINUS_VEGA[band], abs=0.01)


def test_gaia_rp_offset_has_the_right_sign():
    # AB magnitudes of Vega are fainter than its Vega magnitudes in the red: the offset is positive.
    assert ab_minus_vega("gaiadr2-RP") > 0.3


@pytest.mark.parametrize("band", sorted(AB_MINUS_VEGA_2MASS))
def test_vega_ab_minus_vega_2mass(band):
    assert ab_minus_vega(band) == pytest.approx(AB_MINUS_VEGA_2MASS[band], abs=0.005)


def test_vega_is_its_own_zero_point():
    vega = vega_spectrum()
    assert synthetic_magnitude(vega, "gaiadr2-G", "Vega") == pytest.approx(0.03, abs=1e-9)
    assert synthetic_magnitude(vega, "twomass-Ks", "Vega") == pytest.approx(0.0, abs=1e-9)


def test_agrees_with_speclite_for_photon_counting_bands():
    vega = vega_spectrum().select(1000 * u.AA, 30000 * u.AA)
    for band in ("gaiadr2-G", "gaiadr2-RP", "sdss2010-g", "twomass-H"):
        ours = synthetic_magnitude(vega, band)
        theirs = speclite.filters.load_filter(band).get_ab_magnitude(vega.flux, vega.wavelength)
        assert ours == pytest.approx(float(theirs), abs=1e-3)


@pytest.mark.parametrize("detector", ["photon", "energy"])
def test_flat_fnu_is_zero_ab_for_either_detector(detector):
    edges = np.linspace(3000.0, 11000.0, 2001)
    band = load_bandpass("gaiadr2-BP", detector=detector)
    mag = Photometer.from_edges(edges, [band]).magnitudes(flat_fnu(edges))
    assert float(mag[0]) == pytest.approx(0.0, abs=2e-4)


def test_box_filter_matches_analytic_integrals():
    # f_lambda = const through a box [l1, l2]: photon m = -2.5 log10(A (l2^2 - l1^2) / 2 / (c 3631 ln(l2/l1))),
    # energy m = -2.5 log10(A (l2 - l1) / (c 3631 (1/l1 - 1/l2))).
    l1, l2, flam = 4000.0, 6000.0, 3e-12
    c3631 = (3631 * u.Jy * 2.99792458e18 * u.AA / u.s).to_value(u.erg / u.s / u.cm**2 * u.AA)
    edges = np.linspace(3000.0, 7000.0, 4001)
    flux = np.full(edges.size - 1, flam)
    box = ([l1 - 1e-6, l1, l2, l2 + 1e-6] * u.AA, [0, 1, 1, 0])
    photon = Photometer.from_edges(edges, [Bandpass.from_arrays("box", *box)]).magnitudes(flux)[0]
    energy = Photometer.from_edges(edges, [Bandpass.from_arrays("box", *box, detector="energy")]).magnitudes(flux)[0]
    assert photon == pytest.approx(-2.5 * np.log10(flam * (l2**2 - l1**2) / 2 / (c3631 * np.log(l2 / l1))), abs=1e-5)
    assert energy == pytest.approx(-2.5 * np.log10(flam * (l2 - l1) / (c3631 * (1 / l1 - 1 / l2))), abs=1e-5)
    assert abs(photon - energy) > 0.01  # the two conventions differ measurably for a non-flat f_nu


def test_partial_coverage_raises_a_clear_error():
    vega = vega_spectrum().select(3000 * u.AA, 6000 * u.AA)
    with pytest.raises(SpectrumError, match="gaiadr2-RP"):
        synthetic_magnitude(vega, "gaiadr2-RP")
    # masked pixels inside the band count as missing too
    full = vega_spectrum()
    holed = full.mask_ranges([(6500, 7500)], u.AA)
    with pytest.raises(SpectrumError, match="covers only"):
        synthetic_magnitude(holed, "gaiadr2-RP")
    # a one-pixel hole (0.3% of the band) is tolerated when allowed, and barely moves the magnitude
    small = full.mask_ranges([(7000, 7000.5)], u.AA)
    with pytest.raises(SpectrumError, match="max_uncovered"):
        synthetic_magnitude(small, "gaiadr2-RP")
    assert synthetic_magnitude(small, "gaiadr2-RP", max_uncovered=0.005) == pytest.approx(
        synthetic_magnitude(full, "gaiadr2-RP"), abs=2e-3
    )


def test_vectorised_photometer_equals_single_spectra_and_errors_match_monte_carlo():
    rng = np.random.default_rng(3)
    edges = np.linspace(3200.0, 11000.0, 1500)
    base = flat_fnu(edges, 1.0) * (1 + 0.3 * np.sin(edges[:-1] / 700.0))
    fluxes = base * rng.uniform(0.5, 2.0, (20, 1))
    phot = Photometer.from_edges(edges, ["gaiadr2-G", "gaiadr2-BP", "gaiadr2-RP"])
    many = phot.magnitudes(fluxes)
    for i in (0, 7, 19):
        one = Spectrum.from_edges(edges * u.AA, fluxes[i] * u.erg / u.s / u.cm**2 / u.AA)
        assert many[i, 2] == pytest.approx(synthetic_magnitude(one, "gaiadr2-RP"), abs=1e-12)
    err = 0.05 * base
    _, sigma = phot.magnitudes(base, error=err)
    draws = phot.magnitudes(base + rng.normal(0, 1, (400, base.size)) * err)
    assert np.std(draws, axis=0) == pytest.approx(sigma, rel=0.15)


def test_unknown_filter_suggests_names():
    with pytest.raises(ConfigError, match="gaiadr2-G"):
        load_bandpass("gaiadr2-GG")


def test_non_flux_units_are_refused():
    s = Spectrum.from_edges(np.linspace(3000, 11000, 100) * u.AA, np.ones(99) * u.ct)
    with pytest.raises(SpectrumError, match="flux density"):
        synthetic_magnitude(s, "gaiadr2-G")
