"""SpectrumSeries in HDF5 and FITS: write_series -> read_series round trips."""

import astropy.units as u
import numpy as np
import pytest
from astropy.time import Time

from specola.errors import FileFormatError, OutputExistsError
from specola.io import identify_format, read_all, read_series, write_series
from specola.spectrum import SpectrumSeries


def _series(times, error=True):
    rng = np.random.default_rng(4)
    n_t, n_w = 6, 40
    edges = np.linspace(0.6, 5.0, n_w + 1) * u.um
    flux = (1 + 0.01 * rng.standard_normal((n_t, n_w))) * u.Unit(1e-10 * u.erg / u.s / u.cm**2 / u.um)
    flux[2, 5] = np.nan * flux.unit
    mask = rng.random((n_t, n_w)) < 0.05
    err = np.full((n_t, n_w), 0.01) * flux.unit if error else None
    return SpectrumSeries(edges[:-1], edges[1:], flux, err, mask, times, {"target": "TRAPPIST-1", "exptime": 10 * u.s})


TIMES = [
    np.linspace(2460000.1, 2460000.2, 6) * u.day,
    Time(np.linspace(2460000.1, 2460000.2, 6), format="jd", scale="tdb"),
    None,
]


@pytest.mark.parametrize("suffix", [".h5", ".fits"])
@pytest.mark.parametrize("times", TIMES, ids=["quantity", "time", "none"])
def test_series_roundtrip(tmp_path, suffix, times):
    s = _series(times, error=times is not None)
    path = write_series(s, tmp_path / f"ts{suffix}")
    assert identify_format(path)[0].startswith("specola_series")
    back = read_series(path)
    for name in ("low", "high", "flux"):
        a, b = getattr(s, name), getattr(back, name)
        assert a.unit == b.unit
        np.testing.assert_array_equal(a.value, b.value)
    assert (back.error is None) == (s.error is None)
    if s.error is not None:
        np.testing.assert_array_equal(back.error.value, s.error.value)
    np.testing.assert_array_equal(back.mask, s.mask)
    if isinstance(times, Time):
        assert back.times.scale == "tdb"
        np.testing.assert_array_equal(back.times.jd, times.jd)
    elif times is None:
        assert back.times is None
    else:
        assert back.times.unit == u.day
        np.testing.assert_array_equal(back.times.value, times.value)
    assert back.meta["target"] == "TRAPPIST-1" and back.meta["exptime"] == 10 * u.s
    # the stellar stage's view: single spectra out of the series
    assert len(read_all(path)) == 6


def test_series_overwrite_and_suffix(tmp_path):
    s = _series(TIMES[0])
    path = write_series(s, tmp_path / "ts.h5")
    with pytest.raises(OutputExistsError):
        write_series(s, path)
    write_series(s, path, overwrite=True)
    with pytest.raises(FileFormatError, match=r"ts\.csv"):
        write_series(s, tmp_path / "ts.csv")


def test_read_series_refuses_single_spectrum(tmp_path):
    from io_helpers import TRAPPIST

    with pytest.raises(FileFormatError, match="not a time series"):
        read_series(TRAPPIST)
