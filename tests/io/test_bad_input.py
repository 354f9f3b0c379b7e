"""Corrupt, truncated, empty, wrong-column and missing files raise FileFormatError naming the file."""

import gzip

import pytest
from astropy.table import Table
from io_helpers import DESI, DJA, SDSS, TRAPPIST, write_x1d, x1d_arrays

from specola.errors import FileFormatError
from specola.io import formats, identify_format, read, read_all, read_series


def _bad_files(tmp_path):
    files = {}
    files["empty.csv"] = b""
    files["truncated.fits.gz"] = SDSS.read_bytes()[:5000]
    raw_fits = gzip.decompress(DJA.read_bytes())
    files["truncated.spec.fits"] = raw_fits[:4000]
    files["half.spec.fits"] = raw_fits[: len(raw_fits) // 2]
    files["garbage.fits"] = b"SIMPLE  = nonsense" + b"\x00" * 100
    files["binary.dat"] = bytes(range(256)) * 4
    files["header_only.csv"] = b"wave,yval,yerrLow,yerrUpp\n"
    files["one_row.csv"] = b"wave,yval,yerrLow,yerrUpp\n1.0,2.0,0.1,0.1\n"
    files["corrupt.h5"] = b"\x89HDF\r\n\x1a\n" + b"\x00" * 64
    files["text.ecsv"] = b"# %ECSV 1.0\n# ---\n# nonsense: [\n"
    paths = []
    for name, data in files.items():
        p = tmp_path / name
        p.write_bytes(data)
        paths.append(p)
    wrong = Table({"time": [1.0, 2.0, 3.0], "counts": [1, 2, 3]})
    wrong.write(tmp_path / "wrong_columns.csv", format="ascii.csv")
    paths.append(tmp_path / "wrong_columns.csv")
    return paths


def test_bad_files_raise_file_format_error_naming_the_file(tmp_path):
    for path in _bad_files(tmp_path):
        assert isinstance(identify_format(path), list)  # sniffing never raises
        with pytest.raises(FileFormatError) as info:
            read_all(path)
        assert path.name in str(info.value), (path.name, str(info.value))


@pytest.mark.parametrize("fmt", sorted(formats()))
def test_every_reader_wraps_errors(tmp_path, fmt):
    """Forcing any registered reader on files it cannot read gives FileFormatError, never a bare traceback."""
    for path in [*_bad_files(tmp_path), TRAPPIST, DJA, SDSS, DESI]:
        try:
            out = read_all(path, format=fmt)
        except FileFormatError as exc:
            assert path.name in str(exc)
        else:  # a reader may legitimately read another family's file (e.g. 'table' reads the DJA SPEC1D)
            assert out


def test_missing_folder_and_unknown_format(tmp_path):
    with pytest.raises(FileFormatError, match=r"nothere\.fits: no such file"):
        read(tmp_path / "nothere.fits")
    with pytest.raises(FileFormatError, match="is a folder"):
        read(tmp_path)
    with pytest.raises(FileFormatError, match=r"trappist1.*unknown format 'nope'"):
        read(TRAPPIST, format="nope")
    with pytest.raises(FileFormatError, match=r"wrong_columns\.csv: format not recognised"):
        _bad_files(tmp_path)
        read(tmp_path / "wrong_columns.csv")
    with pytest.raises(FileFormatError, match="not a time series"):
        read_series(SDSS)


def test_wrong_family_and_bad_options(tmp_path):
    with pytest.raises(FileFormatError, match=r"spec-1678.*no SPEC1D"):
        read(SDSS, format="dja")
    with pytest.raises(FileFormatError, match=r"rubies.*no COADD"):
        read(DJA, format="sdss")
    with pytest.raises(FileFormatError, match=r"rubies.*could not be read as 'dja'.*unexpected keyword"):
        read(DJA, arm="B")
    with pytest.raises(FileFormatError, match=r"x1d\.fits.*no EXTRACT1D"):
        p = tmp_path / "x1d.fits"
        p.write_bytes(gzip.decompress(DJA.read_bytes()))
        read(p, format="jwst_x1d")


def test_x1d_wrong_columns(tmp_path):
    t = x1d_arrays(60, 0)
    path = write_x1d(tmp_path / "w_x1d.fits", [t])
    with pytest.raises(FileFormatError, match=r"w_x1d\.fits.*SURF"):
        read(path, flux_col="SURF")
