"""Readers check what they read: gzip to the trailer, FITS HDUs, complete CSV rows, checksums, physical values."""

import gzip
import warnings
import zlib

import astropy.units as u
import numpy as np
import pytest
from astropy.io import fits
from io_helpers import DESI, TRAPPIST

from specola.errors import (
    ChecksumWarning,
    EmptySpectrumWarning,
    FileFormatError,
    NegativeErrorWarning,
    UnknownUnitWarning,
)
from specola.io import identify_format, read, read_all
from specola.io._common import head_bytes


def _bomb(megabytes):
    """Gzip bytes of ``megabytes`` MiB of zeros (about 1000:1)."""
    c = zlib.compressobj(6, zlib.DEFLATED, 31)
    zeros = bytes(2**20)
    return b"".join(c.compress(zeros) for _ in range(megabytes)) + c.flush()


@pytest.fixture(scope="module")
def bomb():
    return _bomb(200)


@pytest.mark.parametrize("name", ["bomb.fits.gz", "bomb.csv.gz", "bomb.ecsv.gz"])
def test_gzip_bomb_is_refused(tmp_path, name, bomb):
    path = tmp_path / name
    path.write_bytes(bomb)
    assert path.stat().st_size < 300_000
    assert identify_format(path) == []
    with pytest.raises(FileFormatError, match=rf"{name}: gzip stream expands beyond 32 MiB.*bomb"):
        read_all(path)


def test_sniffing_reads_only_the_head(tmp_path):
    path = tmp_path / "x.gz"
    path.write_bytes(_bomb(50))
    assert head_bytes(path, 1024) == bytes(1024)


@pytest.mark.parametrize("fraction", [0.2, 0.5, 0.8, 0.95, 0.999])
def test_truncated_fits_gz_fails_instead_of_losing_arms(tmp_path, fraction):
    data = DESI.read_bytes()
    path = tmp_path / "desi-cut.fits.gz"
    path.write_bytes(data[: int(len(data) * fraction)])
    with pytest.raises(FileFormatError, match=r"desi-cut\.fits\.gz: (truncated|corrupt) gzip"):
        read_all(path, format="desi")


def test_complete_desi_file_reads_every_arm():
    assert [s.meta["arm"] for s in read_all(DESI)][:3] == ["B", "R", "Z"]


def test_checksum_mismatch_warns(tmp_path):
    raw = bytearray(gzip.decompress(DESI.read_bytes()))
    with fits.open(DESI) as hdul:
        start = hdul["B_FLUX"].fileinfo()["datLoc"]
    raw[start + 100] ^= 0x40
    path = tmp_path / "desi-flipped.fits"
    path.write_bytes(bytes(raw))
    with pytest.warns(ChecksumWarning, match=r"desi-flipped\.fits: .*(Checksum|Datasum).*B_FLUX"):
        read_all(path)


@pytest.mark.parametrize("cut", [0.03, 0.5, 0.97])
def test_truncated_csv_is_an_error(tmp_path, cut):
    text = TRAPPIST.read_text()
    path = tmp_path / "cut.csv"
    end = int(len(text) * cut)
    path.write_text(text[:end] + ("x" if text[end - 1] == "\n" else ""))  # always mid-line
    with pytest.raises(FileFormatError, match=r"cut\.csv: ends mid-line"):
        read(path)


def test_short_row_is_an_error(tmp_path):
    lines = TRAPPIST.read_text().splitlines()
    lines[-1] = ",".join(lines[-1].split(",")[:2])
    path = tmp_path / "short.csv"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(FileFormatError, match=rf"short\.csv: line {len(lines)} has a different number of fields"):
        read(path)


def _csv(path, wave, flux, error, header="wave,flux,error", unit_line=""):
    rows = "\n".join(f"{w},{f},{e}" for w, f, e in zip(wave, flux, error, strict=True))
    path.write_text(unit_line + header + "\n" + rows + "\n")
    return path


@pytest.mark.parametrize(
    ("wave", "match"),
    [
        ([1.0, 2.0, -3.0, 4.0], "negative wavelength"),
        ([1.0, 2.0, 3.0, 1e31], "not physical"),
    ],
)
def test_nonphysical_wavelengths_are_errors(tmp_path, wave, match):
    path = _csv(tmp_path / "w.csv", wave, [1.0] * 4, [0.1] * 4)
    with pytest.raises(FileFormatError, match=rf"w\.csv: .*{match}"):
        read(path, wave_unit="um")


def test_no_good_pixel_is_an_error(tmp_path):
    path = _csv(tmp_path / "nan.csv", [1.0, 2.0, 3.0], ["nan"] * 3, [0.1] * 3)
    with pytest.raises(FileFormatError, match=r"nan\.csv: no good pixel"):
        read(path, wave_unit="um")


def test_one_empty_spectrum_among_several_is_a_named_warning(tmp_path):
    with fits.open(DESI) as hdul:
        hdul["R_IVAR"].data = np.zeros_like(hdul["R_IVAR"].data)
        path = tmp_path / "desi-dead-r.fits"
        hdul.writeto(path, checksum=True)
    with pytest.warns(EmptySpectrumWarning, match=r"desi-dead-r\.fits: \d+ of \d+ spectra have no good pixel \(arm=R"):
        spectra = read_all(path)
    assert {s.meta["arm"] for s in spectra} == {"B", "R", "Z"}


def test_photlam_is_converted_and_an_unknown_unit_warns(tmp_path):
    header = "# %ECSV 1.0\n# ---\n# datatype:\n"
    cols = "# - {{name: wave, unit: Angstrom, datatype: float64}}\n# - {{name: flux, unit: {u}, datatype: float64}}\n"
    body = "# schema: astropy-2.0\nwave flux\n5000.0 1.0\n5001.0 2.0\n5002.0 3.0\n"
    good = tmp_path / "photlam.ecsv"
    good.write_text(header + cols.format(u="PHOTLAM") + body)
    spec = read(good)
    assert spec.flux_unit == u.ph / (u.s * u.cm**2 * u.AA)
    bad = tmp_path / "blarg.ecsv"
    bad.write_text(header + cols.format(u="BLARGS") + body)
    with pytest.warns(UnknownUnitWarning, match=r"blarg\.ecsv column 'flux': unit 'BLARGS' not understood"):
        read(bad)


def test_negative_errors_in_peer_csv_are_masked_with_a_warning(tmp_path):
    lines = TRAPPIST.read_text().splitlines()
    head = next(i for i, line in enumerate(lines) if line.startswith("wave"))
    names = lines[head].split(",")
    k = names.index("yerrLow")
    row = lines[head + 50].split(",")
    row[k] = "-" + row[k].lstrip("-")
    lines[head + 50] = ",".join(row)
    path = tmp_path / "neg.csv"
    path.write_text("\n".join(lines) + "\n")
    with pytest.warns(NegativeErrorWarning, match=r"neg\.csv: 1 negative value\(s\) in yerrLow \(first at data row 50"):
        spec = read(path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clean = read(TRAPPIST)
    assert spec.mask[49] and not clean.mask[49]
    assert spec.error_low[49] < 0  # kept as given, not made positive
