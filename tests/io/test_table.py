"""Generic astropy tables: ECSV, FITS tables and CSV with named columns."""

import logging

import astropy.units as u
import numpy as np
import pytest
from astropy.io import fits
from astropy.table import Table

from specola.errors import FileFormatError
from specola.io import identify_format, read


def _table(n=50, seed=0):
    rng = np.random.default_rng(seed)
    t = Table()
    t["Wavelength"] = np.linspace(4000, 5000, n) * u.AA
    t["FLUX"] = (1 + rng.standard_normal(n) * 0.1) * u.erg / u.s / u.cm**2 / u.AA
    t["ERR"] = np.full(n, 0.1) * u.erg / u.s / u.cm**2 / u.AA
    return t


def test_ecsv_with_units(tmp_path):
    t = _table()
    t.write(tmp_path / "a.ecsv")
    assert identify_format(tmp_path / "a.ecsv") == ["table"]
    spec = read(tmp_path / "a.ecsv")
    assert spec.wave_unit == u.AA and spec.flux_unit == u.erg / u.s / u.cm**2 / u.AA
    np.testing.assert_array_equal(spec.flux.value, t["FLUX"].value)
    np.testing.assert_array_equal(spec.error.value, t["ERR"].value)


def test_fits_table_second_hdu_and_ivar(tmp_path):
    t = _table()
    ivar = 1 / np.asarray(t["ERR"]) ** 2
    ivar[3] = 0
    other = fits.BinTableHDU(Table({"a": [1, 2]}), name="OTHER")
    spec_hdu = fits.BinTableHDU(Table({"lambda": t["Wavelength"], "flux": t["FLUX"], "ivar": ivar}), name="SPEC")
    fits.HDUList([fits.PrimaryHDU(), other, spec_hdu]).writeto(tmp_path / "t.fits")
    spec = read(tmp_path / "t.fits")
    assert spec.mask[3] and spec.mask.sum() == 1
    np.testing.assert_allclose(spec.error.value[~spec.mask], 0.1)
    assert read(tmp_path / "t.fits", hdu="SPEC").flux.unit == spec.flux.unit


def test_csv_options_and_unit_guess(tmp_path, caplog):
    t = _table()
    plain = Table({"x": t["Wavelength"].value, "y": t["FLUX"].value, "s": t["ERR"].value, "mask": np.arange(50) == 7})
    plain.write(tmp_path / "p.csv", format="ascii.csv")
    with pytest.raises(FileFormatError, match=r"p\.csv.*wave_col"):
        read(tmp_path / "p.csv", format="table")
    with caplog.at_level(logging.WARNING):
        spec = read(tmp_path / "p.csv", format="table", wave_col="x", flux_col="y", error_col="s")
    assert "assuming Angstrom" in caplog.text
    assert spec.wave_unit == u.AA and spec.flux_unit == u.dimensionless_unscaled
    assert spec.mask[7] and spec.mask.sum() == 1
    spec = read(tmp_path / "p.csv", format="table", wave_col="x", flux_col="y", wave_unit="nm", flux_unit="Jy")
    assert spec.wave_unit == u.nm and spec.flux_unit == u.Jy and spec.error is None


def test_decreasing_wavelengths_are_sorted(tmp_path):
    t = _table()[::-1]
    t.write(tmp_path / "rev.ecsv")
    spec = read(tmp_path / "rev.ecsv")
    np.testing.assert_array_equal(spec.flux.value, t["FLUX"].value[::-1])
