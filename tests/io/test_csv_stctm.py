import astropy.units as u
import numpy as np
import pytest
from astropy.table import Table
from io_helpers import TRAPPIST

from specola.io import identify_format, read
from specola.io.csv_stctm import BASIC_FLUX_UNIT


def test_basic_real_file():
    spec = read(TRAPPIST)
    raw = Table.read(TRAPPIST, format="ascii.csv")
    assert identify_format(TRAPPIST)[0] == "basic"
    assert spec.meta["format"] == "basic"
    assert len(spec) == len(raw) == 481
    assert spec.flux_unit == BASIC_FLUX_UNIT and spec.wave_unit == u.um
    w = np.asarray(raw["wave"], float)
    np.testing.assert_allclose(spec.low.value[1:], 0.5 * (w[1:] + w[:-1]), rtol=1e-12)
    assert np.all((spec.low.value < w) & (w < spec.high.value))
    np.testing.assert_array_equal(spec.error_high.value, np.abs(raw["yerrUpp"]))
    assert np.array_equal(spec.mask, ~np.isfinite(np.asarray(raw["yval"], float)))
    # contiguous edges derived from the centres
    assert np.allclose(spec.low[1:].value, spec.high[:-1].value)


def test_basic_with_edges(tmp_path):
    raw = Table.read(TRAPPIST, format="ascii.csv")[200:260]
    w = np.asarray(raw["wave"])
    raw["waveMin"], raw["waveMax"] = w - 0.001, w + 0.001  # gapped bins
    path = tmp_path / "gapped.csv"
    raw.write(path, format="ascii.csv")
    spec = read(path)
    np.testing.assert_allclose(spec.width.value, 0.002, rtol=1e-9)
    assert np.all(spec.low[1:] > spec.high[:-1])


def test_mr_csv_matches_basic(tmp_path):
    basic = read(TRAPPIST).apply_mask()
    t = Table()
    t["spec"] = basic.flux.to_value(u.erg / u.s / u.cm**2 / u.um)
    t["err"] = basic.error.to_value(u.erg / u.s / u.cm**2 / u.um)
    t["wave_low"], t["wave_high"] = basic.low.value, basic.high.value
    path = tmp_path / "mr.csv"
    t.write(path, format="ascii.csv")
    assert identify_format(path)[0] == "MR_csv"
    mr = read(path)
    assert mr.meta["format"] == "MR_csv"
    np.testing.assert_allclose(mr.flux.to_value(BASIC_FLUX_UNIT), basic.flux.value, rtol=1e-12)
    np.testing.assert_allclose(mr.low.value, basic.low.value)


@pytest.mark.parametrize("drop", ["yval", "yerrUpp"])
def test_basic_missing_column_is_not_basic(tmp_path, drop):
    raw = Table.read(TRAPPIST, format="ascii.csv")
    raw.remove_column(drop)
    path = tmp_path / "x.csv"
    raw.write(path, format="ascii.csv")
    assert "basic" not in identify_format(path)
