"""Fixtures for the I/O tests."""

import pytest
from io_helpers import write_x1d, x1d_arrays


@pytest.fixture
def x1d_file(tmp_path):
    tables = [x1d_arrays(60, 1), x1d_arrays(60, 2, decreasing=True)]
    return write_x1d(tmp_path / "jw01234_nrs1_x1d.fits", tables), tables
