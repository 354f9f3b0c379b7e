"""DJA, SDSS and DESI readers on the bundled real files."""

import astropy.units as u
import numpy as np
import pytest
from astropy.io import fits
from io_helpers import DESI, DJA, SDSS

from specola.errors import FileFormatError
from specola.instruments import DESI as DESIResolution
from specola.instruments import SDSS as SDSSResolution
from specola.instruments import NIRSpec
from specola.io import identify_format, read, read_all
from specola.io.sdss import SDSS_FLUX_UNIT


def test_dja_spec1d():
    spec = read(DJA)
    assert identify_format(DJA)[0] == "dja"
    data = fits.getdata(DJA, "SPEC1D")
    assert len(spec) == len(data) == 473
    assert spec.flux_unit == u.uJy and spec.wave_unit == u.um
    w = data["wave"]
    np.testing.assert_allclose(spec.low.value[1:], 0.5 * (w[1:] + w[:-1]), rtol=1e-12)
    assert np.all((spec.low.value < w) & (w < spec.high.value))
    bad = ~np.isfinite(data["flux"]) | ~np.isfinite(data["err"]) | ~(np.nan_to_num(data["err"]) > 0)
    assert bad.sum() == 5
    np.testing.assert_array_equal(spec.mask, bad)
    good = ~bad
    np.testing.assert_array_equal(spec.flux.value[good], data["flux"][good])
    assert spec.meta["target"] == "4233_154183"
    assert spec.meta["exptime"].to_value(u.s) == pytest.approx(2844.834)
    assert isinstance(spec.meta["resolution"], NIRSpec)
    # f_nu stays f_nu; conversion to f_lambda is the user's (via spectral_density)
    flam = spec.to_flux_unit(u.erg / u.s / u.cm**2 / u.AA)
    i = int(np.flatnonzero(good)[200])
    expect = (data["flux"][i] * u.uJy).to(u.erg / u.s / u.cm**2 / u.AA, u.spectral_density(data["wave"][i] * u.um))
    assert flam.flux[i].value == pytest.approx(expect.value, rel=1e-3)


def test_sdss_coadd():
    spec = read(SDSS)
    assert identify_format(SDSS)[0] == "sdss"
    with fits.open(SDSS) as hdul:
        coadd = hdul["COADD"].data
        z = float(hdul["SPECOBJ"].data["Z"][0])
    assert spec.flux_unit == SDSS_FLUX_UNIT
    lam = 10 ** coadd["loglam"].astype(float)
    np.testing.assert_allclose(spec.wavelength.value, lam, rtol=2e-5)
    # log-uniform bins: edges are geometric midpoints, widths grow with lambda
    np.testing.assert_allclose(np.log10(spec.high.value / spec.low.value)[1:-1], 1e-4, rtol=2e-3)
    np.testing.assert_allclose(np.sqrt(spec.low.value * spec.high.value), lam, rtol=1e-5)
    expect_mask = (coadd["ivar"] <= 0) | (coadd["and_mask"] != 0)
    np.testing.assert_array_equal(spec.mask, expect_mask)
    good = ~expect_mask
    np.testing.assert_allclose(spec.error.value[good], 1 / np.sqrt(coadd["ivar"][good]), rtol=1e-6)
    assert spec.meta["redshift"] == pytest.approx(z) and z == pytest.approx(0.040272, abs=1e-6)
    assert spec.meta["exptime"] == 4800.4 * u.s
    assert isinstance(spec.meta["resolution"], SDSSResolution)
    # and_mask masking can be switched off
    assert read(SDSS, mask_and=False).mask.sum() == int((coadd["ivar"] <= 0).sum())


def test_desi_arms():
    spectra = read_all(DESI)
    assert identify_format(DESI)[0] == "desi"
    assert [s.meta["arm"] for s in spectra] == ["B", "R", "Z"]
    with fits.open(DESI) as hdul:
        for spec in spectra:
            arm = spec.meta["arm"]
            np.testing.assert_allclose(spec.wavelength.value, hdul[f"{arm}_WAVELENGTH"].data)
            np.testing.assert_array_equal(spec.flux.value, hdul[f"{arm}_FLUX"].data[0])
            ivar = hdul[f"{arm}_IVAR"].data[0]
            np.testing.assert_allclose(spec.error.value[ivar > 0], ivar[ivar > 0] ** -0.5, rtol=1e-6)
            np.testing.assert_array_equal(spec.mask, (ivar <= 0) | (hdul[f"{arm}_MASK"].data[0] != 0))
            assert spec.meta["resolution_matrix"].shape == (11, len(spec))
            assert isinstance(spec.meta["resolution"], DESIResolution)
            assert spec.meta["redshift"] == pytest.approx(1.290256, abs=1e-6)
            assert spec.meta["targetid"] == 39627908959964170
            assert spec.wave_unit == u.AA
    # the arms overlap (~40-100 A)
    assert spectra[0].high[-1] > spectra[1].low[0]


def test_desi_options():
    only_r = read(DESI, arm="r")
    assert only_r.meta["arm"] == "R"
    assert len(read_all(DESI, targetid=39627908959964170)) == 3
    assert len(read_all(DESI, row=0, arm=["B", "Z"])) == 2
    with pytest.raises(FileFormatError, match="no arm Q"):
        read(DESI, arm="Q")
    with pytest.raises(FileFormatError, match="targetid 5 not found"):
        read_all(DESI, targetid=5)
    with pytest.raises(FileFormatError, match="holds 3 spectra"):
        read(DESI)
