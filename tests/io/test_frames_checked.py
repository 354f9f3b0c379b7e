import gzip

import pytest

from specola.data import data_path
from specola.errors import FileFormatError
from specola.io import read_frames


def test_truncated_gzipped_frame_is_refused_not_read_short(tmp_path):
    raw = data_path("frames", "sprat_v_s_20180810_27_1_0_0_Hilt102_raw.fits.gz").read_bytes()
    cut = tmp_path / "sprat_cut.fits.gz"
    cut.write_bytes(raw[: len(raw) * 2 // 3])
    with pytest.raises(FileFormatError, match=r"sprat_cut\.fits\.gz"):
        read_frames(cut)


def test_frame_that_is_not_fits_names_the_file(tmp_path):
    bad = tmp_path / "notes.fits.gz"
    bad.write_bytes(gzip.compress(b"just text, no FITS header" * 10))
    with pytest.raises(FileFormatError, match=r"notes\.fits\.gz: not a FITS file"):
        read_frames(bad)


def test_bundled_frames_still_read():
    frames = read_frames(data_path("frames", "sprat_v_s_20180810_27_1_0_0_Hilt102_raw.fits.gz"))
    assert frames.data.ndim == 3 and frames.data.size > 10_000
