"""JWST x1d reader on files written in the pipeline's EXTRACT1D layout (no real x1d is bundled)."""

import astropy.units as u
import numpy as np
import pytest
from io_helpers import write_x1d, x1d_arrays

from specola.errors import FileFormatError
from specola.instruments import NIRSpec
from specola.io import identify_format, read, read_all


def _check(spec, truth):
    keep = np.isfinite(truth["WAVELENGTH"])
    order = np.argsort(truth["WAVELENGTH"][keep])
    wave = truth["WAVELENGTH"][keep][order]
    assert len(spec) == keep.sum() == 57
    assert spec.wave_unit == u.um and spec.flux_unit == u.Jy
    np.testing.assert_allclose(spec.low.value[1:], 0.5 * (wave[1:] + wave[:-1]))
    np.testing.assert_array_equal(spec.flux.value, truth["FLUX"][keep][order])
    np.testing.assert_array_equal(spec.error.value, truth["FLUX_ERROR"][keep][order])
    np.testing.assert_array_equal(spec.mask, (truth["DQ"][keep][order] & 1) != 0)


def test_x1d_two_extensions(x1d_file):
    path, tables = x1d_file
    assert identify_format(path)[0] == "jwst_x1d"
    spectra = read_all(path)
    assert len(spectra) == 2
    for spec, truth in zip(spectra, tables, strict=True):
        _check(spec, truth)
    assert [s.meta["srcname"] for s in spectra] == ["src1", "src2"]
    assert spectra[1].meta["target"] == "src2" and spectra[1].meta["extver"] == 2
    assert spectra[0].meta["instrument"] == "JWST/NIRSPEC"
    assert spectra[0].meta["exptime"] == 950.0 * u.s
    assert isinstance(spectra[0].meta["resolution"], NIRSpec)


def test_x1d_options(x1d_file):
    path, _ = x1d_file
    spec = read_all(path, dq_bits=0)[0]
    assert spec.mask.sum() == 0
    spec = read_all(path, dq_bits=1 | 4)[0]
    assert spec.mask.sum() == 5
    sb = read_all(path, flux_col="SURF_BRIGHT")[0]
    assert sb.flux_unit == u.MJy / u.sr
    with pytest.raises(FileFormatError, match="NOPE"):
        read_all(path, flux_col="NOPE")


def test_x1dints_vector_rows(tmp_path):
    tables = [x1d_arrays(60, s) for s in (3, 4, 5)]
    path = write_x1d(tmp_path / "jw_x1dints.fits", tables, vector=True)
    spectra = read_all(path)
    assert [s.meta["integration"] for s in spectra] == [1, 2, 3]
    for spec, truth in zip(spectra, tables, strict=True):
        _check(spec, truth)


def test_x1d_single_is_readable_with_read(tmp_path):
    path = write_x1d(tmp_path / "one_x1d.fits", [x1d_arrays(60, 9)])
    _check(read(path), x1d_arrays(60, 9))
