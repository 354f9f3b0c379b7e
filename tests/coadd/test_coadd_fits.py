"""The numpy-only FITS reader/writer of the HASP-compatible mode against astropy.io.fits, the reference."""

import gzip
import json
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits
from astropy.time import Time

from specola.coadd._fits import format_card, read_fits
from specola.coadd._hasp_write import mjd_to_iso
from specola.data import data_path
from specola.errors import ChecksumWarning, FileFormatError

COS = data_path("coadd", "cos_g140l", "ldfd01vnq_x1d.fits.gz")
STIS = Path(__file__).parents[1] / "data" / "coadd" / "stis" / "o4vt02040_x1d.fits.gz"


@pytest.mark.parametrize("path", [COS, STIS], ids=["cos", "stis"])
def test_headers_and_columns_read_as_astropy_reads_them(path):
    hdus = read_fits(path)
    with fits.open(path) as ref:
        assert len(hdus) == len(ref)
        for (header, table), hdu in zip(hdus, ref, strict=True):
            keys = [k for k in hdu.header if k not in ("", "COMMENT", "HISTORY")]
            assert {k: header[k] for k in keys} == {k: hdu.header[k] for k in keys}
            assert all(type(header[k]) is type(hdu.header[k]) for k in keys)
            if table is None:
                continue
            assert table.names == hdu.columns.names
            for name in table.names:
                mine, theirs = table.column(name), hdu.data[name]
                assert mine.shape == theirs.shape, name
                if mine.dtype.kind == "U":
                    assert mine.tolist() == [str(v) for v in theirs], name
                else:
                    assert mine.dtype == theirs.dtype.newbyteorder("="), name
                    np.testing.assert_array_equal(mine, theirs, err_msg=name)


VALUES = [
    0.0,
    -1.5e-300,
    123456789.123456789,
    2.5 / 2 / 3600,
    1e20,
    0,
    -7,
    10**15,
    True,
    False,
    "",
    "O'Brien",
    "PSA",
    "x" * 68,
    "x" * 71,
    "Definition of the FITS standard v4.0 https://fits.gsfc.nasa.gov/standard40/fits_standard40aa-le.pdf",
    "a b " * 40,
    None,
]


@pytest.mark.parametrize("comment", ["", "short comment", "a comment too long to fit beside a long value " * 2])
def test_cards_are_written_as_astropy_writes_them(comment):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", fits.verify.VerifyWarning)  # astropy's "comment will be truncated"
        for value in VALUES:
            assert format_card("KEYWORD", value, comment) == fits.Card("KEYWORD", value, comment).image, repr(value)
    blank = "           / ARCHIVE SEARCH KEYWORDS"
    assert format_card("", blank) == fits.Card("", blank).image


def test_long_strings_read_back(tmp_path):
    header = fits.Header([("LONG", VALUES[15], "with a comment"), ("QUOTE", "it's", "")])
    fits.PrimaryHDU(header=header).writeto(tmp_path / "long.fits")
    primary = read_fits(tmp_path / "long.fits")[0][0]
    assert primary["LONG"] == VALUES[15] and primary["QUOTE"] == "it's"


def test_checksums_verified_and_truncation_refused(tmp_path):
    with fits.open(STIS) as h:
        hdul = fits.HDUList([hdu.copy() for hdu in h])
    hdul.writeto(tmp_path / "sum.fits", checksum=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert len(read_fits(tmp_path / "sum.fits")) == 2  # checksums present and right: silent
    raw = bytearray((tmp_path / "sum.fits").read_bytes())
    raw[-30000] ^= 0x01  # one bit of the table's data
    (tmp_path / "bad.fits").write_bytes(bytes(raw))
    with pytest.warns(ChecksumWarning, match="HDU 1: DATASUM"):
        read_fits(tmp_path / "bad.fits")
    (tmp_path / "short.fits").write_bytes(bytes(raw[:-5000]))
    with pytest.raises(FileFormatError, match="truncated FITS file"):
        read_fits(tmp_path / "short.fits")
    (tmp_path / "short.fits.gz").write_bytes(gzip.compress(bytes(raw))[:-100])
    with pytest.raises(FileFormatError, match="truncated gzip"):
        read_fits(tmp_path / "short.fits.gz")
    (tmp_path / "text.fits").write_text("not FITS")
    with pytest.raises(FileFormatError, match="not a FITS file"):
        read_fits(tmp_path / "text.fits")


def test_dates_as_astropy_time_gives_them():
    rng = np.random.default_rng(3)
    leap_days = [57753.0, 57203.0, 53735.0, 48256.0]  # 2016-12-31, 2015-06-30, 2005-12-31, 1990-12-31
    mjds = [*rng.uniform(48000, 61000, 2000), *(d + f for d in leap_days for f in rng.uniform(0, 0.99998, 50))]
    mjds += [57934.20843387, 58000.0, 58000.5]
    for mjd in mjds:
        assert mjd_to_iso(mjd) == Time(mjd, format="mjd").datetime.strftime("%Y-%m-%dT%H:%M:%S"), mjd


def test_hasp_mode_command_line_imports_neither_astropy_nor_plotting(tmp_path):
    argv = ["coadd", "-i", str(data_path("coadd", "cos_g140l")), "-o", str(tmp_path / "out")]
    code = (
        "import sys, json\nfrom specola.cli import main\n"
        f"assert main({argv!r}) == 0\n"
        "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded = set(json.loads(done.stdout.splitlines()[-1]))
    assert not loaded & {"astropy", "matplotlib", "scipy", "jax"}, loaded
    assert len(list((tmp_path / "out").glob("*_cspec.fits"))) == 2


def test_damaged_headers_are_skipped_with_a_reason_never_a_crash(tmp_path):
    from specola.coadd._hasp_inputs import load_inputs

    raw = gzip.decompress(STIS.read_bytes())
    rng = np.random.default_rng(5)
    keys = [b"NAXIS1  =", b"NAXIS2  =", b"TFIELDS =", b"BITPIX  =", b"NAXIS   =", b"PCOUNT  =", b"TFORM4  ="]
    values = [b"-1", b"0", b"99999999999", b"'abc'", b"3", b"T", b"'9999999E'", b"'1PE(3)'"]
    skipped = 0
    for k in range(120):
        damaged = bytearray(raw)
        pos = damaged.find(keys[k % len(keys)], 2880)
        damaged[pos + 10 : pos + 30] = values[rng.integers(len(values))].rjust(20)
        path = tmp_path / f"o{k:03d}_x1d.fits"
        path.write_bytes(bytes(damaged))
        files, why = load_inputs([path])
        skipped += len(why)
        assert len(files) + len(why) == 1
        assert all(
            reason.startswith(("not a readable FITS file", "no SCI table", "missing column")) for reason in why.values()
        )
        path.unlink()
    assert skipped > 60  # most damage is noticed (a few values are harmless, e.g. NAXIS1 -> its own value)
