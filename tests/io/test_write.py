"""write() -> read() round trips (FITS, FITS.gz, ECSV), headers, overwrite rules, and the specutils bridge."""

import dataclasses
import hashlib
import tempfile
from pathlib import Path

import astropy.units as u
import numpy as np
import pytest
from astropy.io import fits
from astropy.table import Table
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from io_helpers import DESI, DJA, SDSS, TRAPPIST

from specola._version import __version__
from specola.config import option, to_toml
from specola.errors import FileFormatError, OutputExistsError
from specola.io import read, read_all, write
from specola.spectrum import Spectrum

WAVE_UNITS = [u.um, u.AA, u.nm]
FLUX_UNITS = [u.Jy, u.uJy, u.erg / u.s / u.cm**2 / u.AA, u.Unit(1e-17 * u.erg / u.s / u.cm**2 / u.AA), u.ct / u.s]
IGNORED = {"source_file", "written_by", "config_hash"}


@dataclasses.dataclass(frozen=True)
class _Section:
    nsteps: int = option(100, minimum=1)


@dataclasses.dataclass(frozen=True)
class _Config:
    sampling: _Section = dataclasses.field(default_factory=_Section)


def assert_same(a: Spectrum, b: Spectrum) -> None:
    assert a.wave_unit == b.wave_unit and a.flux_unit == b.flux_unit
    for name in ("low", "high", "flux", "error", "error_low", "error_high"):
        x, y = getattr(a, name), getattr(b, name)
        assert (x is None) == (y is None), name
        if x is not None:
            np.testing.assert_array_equal(x.value, y.value, err_msg=name)
    np.testing.assert_array_equal(a.mask, b.mask)
    strip = lambda m: {k: v for k, v in m.items() if k not in IGNORED}
    assert strip(a.meta).keys() == strip(b.meta).keys()
    for key, value in strip(a.meta).items():
        other = b.meta[key]
        if isinstance(value, u.Quantity):
            assert value.unit == other.unit and np.array_equal(value.value, other.value), key
        elif isinstance(value, np.ndarray):
            np.testing.assert_array_equal(value, other, err_msg=key)
        else:
            assert value == other, key


@st.composite
def spectra(draw):
    n = draw(st.integers(2, 30))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    widths = rng.uniform(0.1, 2.0, n)
    gaps = np.where(rng.random(n) < 0.2, rng.uniform(0, 1, n), 0.0)
    steps = np.column_stack([widths, gaps]).ravel()
    points = draw(st.floats(0.5, 1e4)) + np.concatenate([[0.0], np.cumsum(steps)])
    low, high = points[0:-1:2], points[1::2]
    flux = rng.normal(0, 10, n) * 10.0 ** draw(st.integers(-20, 5))
    flux[rng.random(n) < 0.1] = np.nan
    scale = np.abs(flux[np.isfinite(flux)]).max(initial=1.0) or 1.0
    kind = draw(st.sampled_from(["none", "sym", "asym"]))
    kwargs = {}
    if kind == "sym":
        kwargs["error"] = rng.uniform(0.01, 1, n) * scale
    elif kind == "asym":
        kwargs["error_low"], kwargs["error_high"] = rng.uniform(0.01, 1, (2, n)) * scale
    wu, fu = draw(st.sampled_from(WAVE_UNITS)), draw(st.sampled_from(FLUX_UNITS))
    kwargs = {k: v * fu for k, v in kwargs.items()}
    meta = {"target": draw(st.text(min_size=1, max_size=20)), "redshift": draw(st.floats(0, 10))}
    if draw(st.booleans()):
        meta["exptime"] = draw(st.floats(1, 1e5)) * u.s
    return Spectrum(low * wu, high * wu, flux * fu, mask=rng.random(n) < 0.2, meta=meta, **kwargs)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(spec=spectra(), suffix=st.sampled_from([".fits", ".fits.gz", ".ecsv"]))
def test_roundtrip_hypothesis(spec, suffix):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"s{suffix}"
        write(spec, path)
        if not spec.good.any():  # every pixel masked or NaN: the reader refuses the file, naming it
            with pytest.raises(FileFormatError, match="no good pixel"):
                read(path)
            return
        back = read(path)
    assert_same(spec, back)


def test_a_written_spectrum_without_a_good_pixel_is_refused_on_reading(tmp_path):
    """The example hypothesis found: two pixels, both masked."""
    wave = np.array([1.0, 2.0, 3.0]) * u.um
    spec = Spectrum(wave[:-1], wave[1:], np.array([1.0, 2.0]) * u.Jy, mask=np.array([True, True]))
    write(spec, tmp_path / "s.fits")
    with pytest.raises(FileFormatError, match="no good pixel"):
        read(tmp_path / "s.fits")


@pytest.mark.parametrize("path", [TRAPPIST, DJA, SDSS, DESI])
@pytest.mark.parametrize("suffix", [".fits", ".ecsv"])
def test_roundtrip_real(tmp_path, path, suffix):
    for i, spec in enumerate(read_all(path)):
        out = write(spec, tmp_path / f"{i}{suffix}")
        back = read(out)
        storable = {k: v for k, v in spec.meta.items() if k not in ("resolution", "resolution_matrix", "and_mask")}
        assert_same(spec.replace(meta=storable), back)


def test_fits_header_units_version_and_config_hash(tmp_path):
    spec = read(SDSS)
    write(spec, tmp_path / "s.fits", config=_Config())
    with fits.open(tmp_path / "s.fits") as hdul:
        hdr = hdul["SPECTRUM"].header
        assert hdul[0].header["SPECOLA"] == hdr["SPECOLA"] == __version__
        assert hdr["CFGHASH"] == hashlib.sha256(to_toml(_Config()).encode()).hexdigest()
        units = {hdr[f"TTYPE{i}"]: hdr.get(f"TUNIT{i}") for i in range(1, hdr["TFIELDS"] + 1)}
        assert u.Unit(units["low"]) == u.AA
        assert u.Unit(units["flux"], format="fits") == spec.flux_unit
        assert "mask" in units and units["mask"] is None
        assert hdr["OBJECT"] == spec.meta["target"] and hdr["REDSHIFT"] == pytest.approx(0.040272, abs=1e-6)
    assert read(tmp_path / "s.fits").meta["config_hash"] == hdr["CFGHASH"]


def test_ecsv_meta_and_config_hash(tmp_path):
    spec = read(TRAPPIST)
    write(spec, tmp_path / "s.ecsv", config=_Config())
    t = Table.read(tmp_path / "s.ecsv")
    assert t.meta["specola_version"] == __version__
    assert t.meta["config_hash"] == hashlib.sha256(to_toml(_Config()).encode()).hexdigest()
    assert t["flux"].unit == spec.flux_unit and t["mask"].dtype == bool


def test_refuses_overwrite_and_unknown_suffix(tmp_path):
    spec = read(TRAPPIST)
    path = write(spec, tmp_path / "s.fits")
    before = path.read_bytes()
    with pytest.raises(OutputExistsError, match=r"s\.fits"):
        write(spec[200:210], path)
    assert path.read_bytes() == before
    write(spec[200:210], path, overwrite=True)
    assert len(read(path)) == 10
    with pytest.raises(FileFormatError, match=r"s\.txt"):
        write(spec, tmp_path / "s.txt")
    assert not any(p.name.endswith(".part") for p in tmp_path.iterdir())


@pytest.mark.parametrize("path", [TRAPPIST, DJA, SDSS, DESI])
def test_specutils_roundtrip_lossless(path):
    for spec in read_all(path):
        back = Spectrum.from_specutils(spec.to_specutils())
        assert_same(spec, back)
        if "resolution" in spec.meta:
            assert back.meta["resolution"] is spec.meta["resolution"]


def test_from_native_specutils_keeps_unit_and_order():
    from specutils import Spectrum as SUSpectrum

    su = SUSpectrum(flux=np.arange(5.0) * u.Jy, spectral_axis=np.arange(1.0, 6.0) * u.THz)
    spec = Spectrum.from_specutils(su)
    assert spec.wave_unit == u.um
    np.testing.assert_array_equal(spec.flux.value, [4, 3, 2, 1, 0])
    su = SUSpectrum(flux=np.arange(5.0) * u.Jy, spectral_axis=np.arange(1.0, 6.0) * u.AA)
    assert Spectrum.from_specutils(su).wave_unit == u.AA
