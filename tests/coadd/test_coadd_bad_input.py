"""Bad input: clear messages, skipped files with reasons, nothing overwritten."""

import shutil
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits

from specola.cli import main
from specola.coadd import CoaddConfig, read_inputs, run_hasp, run_to_folder
from specola.coadd.config import HaspSection, InputSection
from specola.data import data_path
from specola.errors import FileFormatError, OutputExistsError, SpecolaError

COS = data_path("coadd", "cos_g140l")


def _copy_cos(d):
    for p in COS.glob("*_x1d.fits.gz"):
        shutil.copy(p, d / p.name)
    return sorted(d.glob("*_x1d.fits.gz"))


def _edit(path, out, primary=None, sci=None, flux=None, dq=None):
    with fits.open(path) as h:
        hdul = fits.HDUList([hdu.copy() for hdu in h])
    for key, value in (primary or {}).items():
        if value is None:
            del hdul[0].header[key]
        else:
            hdul[0].header[key] = value
    for key, value in (sci or {}).items():
        hdul[1].header[key] = value
    if dq is not None:
        hdul[1].data["DQ"] = dq
    hdul.writeto(out)
    path.unlink()


def test_empty_directory(tmp_path):
    with pytest.raises(FileFormatError, match=r"no \*_x1d.fits"):
        run_hasp(tmp_path)
    with pytest.raises(FileFormatError, match=r"no \*_x1d.fits"):
        read_inputs(CoaddConfig(input=InputSection(indir=tmp_path)))
    assert main(["coadd", "-i", str(tmp_path), "-o", str(tmp_path / "out")]) == 2


def test_missing_keywords_zero_exptime_and_flagged_pixels_are_skipped_with_reasons(tmp_path):
    files = _copy_cos(tmp_path)
    _edit(files[0], tmp_path / "ldfd01vnq_x1d.fits", primary={"TARGNAME": None})
    _edit(files[1], tmp_path / "ldfd01vpq_x1d.fits", sci={"EXPTIME": 0.0})
    _edit(files[2], tmp_path / "ldfd01vrq_x1d.fits", dq=np.full((1, 16384), 8, np.int16))
    result = run_hasp(tmp_path)
    assert "TARGNAME" in result.skipped[str(tmp_path / "ldfd01vnq_x1d.fits")]
    assert "EXPTIME = 0.0" in result.skipped[str(tmp_path / "ldfd01vpq_x1d.fits")]
    spectra, skipped = read_inputs(CoaddConfig(input=InputSection(indir=tmp_path)))
    assert "TARGNAME" in skipped[str(tmp_path / "ldfd01vnq_x1d.fits")]
    assert {s.meta["exposure"] for s in spectra} == {"ldfd01vtq_x1d.fits.gz[1]"}
    assert "zero exposure time" in skipped[str(tmp_path / "ldfd01vpq_x1d.fits")]
    assert "no good pixel" in skipped[str(tmp_path / "ldfd01vrq_x1d.fits")]


def test_mixed_targets(tmp_path):
    _copy_cos(tmp_path)
    stis = Path(__file__).parents[1] / "data" / "coadd" / "stis" / "o3zx02070_x1d.fits.gz"
    shutil.copy(stis, tmp_path / stis.name)
    with pytest.raises(SpecolaError, match=r"2 targets .*-n TARGET"):
        read_inputs(CoaddConfig(input=InputSection(indir=tmp_path)))
    spectra, _ = read_inputs(CoaddConfig(input=InputSection(indir=tmp_path, target="BD+28D4211")))
    assert {s.meta["target"] for s in spectra} == {"BD+28D4211"}
    result = run_hasp(tmp_path)  # HASP mode makes one product set per target
    assert sorted(result.targets) == ["BD+28D4211", "SWIFTJ1357.2-0933"]
    assert len(result.products) == 4


def test_nothing_overwritten(tmp_path):
    indir = tmp_path / "in"
    indir.mkdir()
    _copy_cos(indir)
    out = tmp_path / "out"
    assert main(["coadd", "-i", str(indir), "-o", str(out)]) == 0
    product = next(out.glob("*_cspec.fits"))
    before = product.read_bytes()
    with pytest.raises(OutputExistsError):
        run_to_folder(CoaddConfig(input=InputSection(indir=indir), hasp=HaspSection(threshold=-1.0)), out)
    assert main(["coadd", "-i", str(indir), "-o", str(out), "-t", "-1"]) == 2
    assert product.read_bytes() == before
    assert main(["coadd", "-i", str(indir), "-o", str(out), "--overwrite"]) == 0
