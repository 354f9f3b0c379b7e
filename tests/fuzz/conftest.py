"""The fuzz corpus: mutated copies of the bundled real files, generated at test time."""

from __future__ import annotations

import gzip
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "io"))

from io_helpers import write_x1d, x1d_arrays

from specola.data import data_path

TESTS = Path(__file__).resolve().parents[1] / "data"


def sources(folder: Path) -> dict[str, Path]:
    """One real or pipeline-layout file of every format a reader handles."""
    from specola.io import read, write
    from specola.io.series import write_series
    from specola.spectrum import SpectrumSeries

    out = {
        "basic": data_path("spectra", "trappist1_nirspec_prism_outoftransit.csv"),
        "dja": data_path("spectra", "rubies-uds31-v4_prism-clear_4233_154183.spec.fits.gz"),
        "sdss": data_path("spectra", "spec-1678-53433-0425.fits.gz"),
        "desi": data_path("spectra", "desi-spectra-af558177.fits.gz"),
        "hst_x1d": TESTS / "coadd" / "stis" / "o4vt02040_x1d.fits.gz",
        "hasp_product": TESTS
        / "coadd"
        / "reference_hasp"
        / "hst_14933_cos_swiftj1357d2-0933_cg140l_ldfd_cspec.fits.gz",
    }
    out["jwst_x1d"] = write_x1d(folder / "jw_x1d.fits", [x1d_arrays(60, 1), x1d_arrays(60, 2)])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        spec = read(out["basic"])[100:300]
    out["specola"] = write(spec, folder / "native.fits")
    out["specola_ecsv"] = write(spec, folder / "native.ecsv")
    out["table"] = folder / "plain.csv"
    out["table"].write_text(
        "wavelength,flux,err\n"
        + "".join(f"{w:.5f},{f:.4g},{0.1 * abs(f):.4g}\n" for w, f in zip(*_plain(spec), strict=True))
    )
    out["MR_csv"] = folder / "mr.csv"
    rows = zip(np.nan_to_num(spec.flux.value, nan=1.0), spec.low.value, spec.high.value, strict=True)
    out["MR_csv"].write_text(
        "spec,err,wave_low,wave_high\n" + "".join(f"{f:.4g},0.01,{a:.6f},{b:.6f}\n" for f, a, b in rows)
    )
    n = len(spec)
    series = SpectrumSeries(spec.low, spec.high, np.tile(spec.flux, (3, 1)), np.tile(spec.error, (3, 1)))
    out["specola_series_hdf5"] = write_series(series, folder / "series.h5")
    out["specola_series_fits"] = write_series(series, folder / "series.fits")
    out["eureka_stage3"] = _eureka(folder / "eureka.h5", spec)
    assert n > 100
    return out


def _eureka(path: Path, spec) -> Path:
    """A Eureka!-Stage-3-style series (the datasets and attributes that pipeline writes)."""
    import h5py

    flux = np.outer(1 + 0.01 * np.arange(4), np.nan_to_num(spec.flux.value, nan=1.0))
    with h5py.File(path, "w") as f:
        f["wave_1d"] = spec.wavelength.value
        f["wave_1d"].attrs["wave_units"] = "micron"
        f["time"] = 60000.0 + 0.01 * np.arange(4)
        f["optspec"] = flux
        f["opterr"] = 0.01 * flux
        f["optspec"].attrs["flux_units"] = "mJy"
    return path


def _plain(spec):
    return spec.wavelength.value, np.nan_to_num(spec.flux.value, nan=1.0)


def mutations(name: str, path: Path, rng: np.random.Generator, n_flips: int) -> dict[str, bytes]:
    """Truncations, bit flips, header/column corruption and bad values of one file, as bytes."""
    raw = path.read_bytes()
    zipped = raw[:2] == b"\x1f\x8b"
    plain = gzip.decompress(raw) if zipped else raw
    rezip = (lambda b: gzip.compress(b, 1)) if zipped else (lambda b: b)
    out: dict[str, bytes] = {}
    for f in (0.001, 0.05, 0.3, 0.7, 0.999):
        out[f"cut{f}"] = plain[: max(1, int(len(plain) * f))]
        if zipped:
            out[f"gzcut{f}"] = raw[: max(1, int(len(raw) * f))]
    for i in range(n_flips):
        data = bytearray(plain)
        for pos in rng.integers(0, len(data), 1 + i % 4):
            data[pos] ^= 1 << int(rng.integers(0, 8))
        out[f"flip{i}"] = rezip(bytes(data))
    if plain.startswith(b"SIMPLE"):
        out.update({k: rezip(v) for k, v in _fits_corruptions(plain).items()})
    elif not plain.startswith(b"\x89HDF"):
        out.update(_text_corruptions(plain.decode()))
    return out


def _fits_corruptions(data: bytes) -> dict[str, bytes]:
    out = {}
    for key, values in {
        b"NAXIS2  =": (b"0", b"-1", b"999999999"),
        b"NAXIS1  =": (b"0", b"3"),
        b"TFORM1  =": (b"'QQ'", b"'0D'"),
        b"TUNIT1  =": (b"'PHOTLAM'", b"'blah/s'"),
        b"BUNIT   =": (b"'nonsense'",),
        b"XTENSION=": (b"'IMAGE   '",),
    }.items():
        at = data.find(key, 2880)
        if at < 0:
            continue
        for j, value in enumerate(values):
            card = (key + b" " + value).ljust(80)[:80]
            out[f"{key[:5].decode().strip()}{j}"] = data[:at] + card + data[at + 80 :]
    out["zeros_data"] = data[:5760] + bytes(len(data) - 5760)
    out["nan_data"] = data[:5760] + np.full((len(data) - 5760) // 8, np.nan, ">f8").tobytes()
    return out


def _text_corruptions(text: str) -> dict[str, bytes]:
    lines = text.splitlines()
    head = next(i for i, line in enumerate(lines) if line.strip() and not line.startswith("#"))
    body = lines[head + 1 :]
    mid = len(body) // 2

    def edit(new_body, header=None):
        return ("\n".join([*lines[:head], header or lines[head], *new_body]) + "\n").encode()

    sep = "," if "," in lines[head] else " "

    def with_value(value, column=0):
        rows = [r.split(sep) for r in body]
        for r in rows[mid : mid + 3]:
            if column < len(r):
                r[column] = value
        return edit([sep.join(r) for r in rows])

    out = {
        "header_only": edit([]),
        "one_row": edit(body[:1]),
        "renamed": edit(body, header=lines[head].replace("wave", "wafe").replace("flux", "flox")),
        "short_row": edit([*body[:mid], body[mid].split(sep)[0], *body[mid + 1 :]]),
        "extra_field": edit([*body[:mid], body[mid] + sep + "1.0", *body[mid + 1 :]]),
        "no_newline": edit(body)[:-1],
        "reversed": edit(body[::-1]),
        "duplicated": edit(body + body),
        "empty": b"",
    }
    for label, value in [("nan", "nan"), ("inf", "inf"), ("huge", "1e300"), ("neg", "-2.0"), ("text", "abc")]:
        out[f"wave_{label}"] = with_value(value, 0)
        out[f"flux_{label}"] = with_value(value, 1)
    out["wave_absurd"] = with_value("1e31", 0)
    out["all_flux_nan"] = edit([",".join([r.split(sep)[0], "nan", *r.split(sep)[2:]]) for r in body])
    return out


@pytest.fixture(scope="session")
def corpus(tmp_path_factory) -> dict[str, tuple[str, Path]]:
    """Mutated files, as ``label -> (original format, path)``."""
    folder = tmp_path_factory.mktemp("fuzz")
    rng = np.random.default_rng(20261202)
    out = {}
    for fmt, path in sources(folder).items():
        suffix = "".join(path.suffixes[-2:]) if path.name.endswith(".gz") else path.suffix
        for label, data in mutations(fmt, path, rng, n_flips=12).items():
            target = folder / f"{fmt}-{label}{suffix}"
            target.write_bytes(data)
            out[f"{fmt}-{label}"] = (fmt.replace("_ecsv", ""), target)
    return out
