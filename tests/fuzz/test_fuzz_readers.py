"""Every reader on mutated real files: only SpecolaError naming the file, never a non-physical result."""

from __future__ import annotations

import time
import warnings
from pathlib import Path

import astropy.units as u
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from specola.errors import EmptySpectrumWarning, SpecolaError
from specola.io import read_all
from specola.io.registry import MAX_WAVELENGTH

LIMIT_S = 5.0


def check_read(path: Path, format: str | None, reader=read_all, errors: list | None = None) -> str | None:
    """Read ``path``; return a description of what is wrong with the outcome, or None when it is acceptable.

    The messages of the SpecolaErrors raised are appended to ``errors`` when given.
    """
    start = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            spectra = reader(path, format=format)
        except SpecolaError as exc:
            if errors is not None:
                errors.append(str(exc))
            if path.name not in str(exc):
                return f"message does not name the file: {exc}"
            spectra = None
        except Exception as exc:  # the finding the suite exists to report
            return f"{type(exc).__name__} (not a SpecolaError): {exc}"
    took = time.perf_counter() - start
    if took > LIMIT_S:
        return f"took {took:.1f} s"
    if spectra is None:
        return None
    warned_empty = any(issubclass(w.category, EmptySpectrumWarning) for w in caught)
    for s in spectra:
        low, high = u.Quantity(s.low), u.Quantity(s.high)
        if not (np.all(np.isfinite(low.value)) and np.all(low.value >= 0) and np.all(high > low)):
            return "non-finite, non-positive or empty pixels returned"
        if np.any(low[1:] < high[:-1]) or high.max() > MAX_WAVELENGTH:
            return "unsorted or non-physical wavelengths returned"
        if not np.any(s.good) and not warned_empty:
            return "a spectrum with no good pixel returned without EmptySpectrumWarning"
    if all(not np.any(s.good) for s in spectra):
        return "only spectra without a good pixel returned"
    return None


def _run(items):
    problems, errors = {}, []
    for label, (fmt, path) in items:
        for format in (None, fmt):
            problem = check_read(path, format, errors=errors)
            if problem:
                problems[f"{label} (format={format})"] = problem
    assert not problems, "\n".join(f"{k}: {v}" for k, v in sorted(problems.items()))
    # reader-internal exceptions that no check explains ("could not be read as ...") stay rare
    unexplained = [e for e in errors if "could not be read as" in e]
    assert len(unexplained) <= 0.03 * len(errors), "\n".join(unexplained)


def _subset(corpus, slow):
    """Text formats and the first few mutations of every file run by default; the rest is marked slow."""
    quick = ("cut0.05", "cut0.7", "gzcut0.3", "gzcut0.999", "flip0", "flip1", "NAXIS0", "TFORM0", "nan_data")
    text = ("basic", "table", "specola_ecsv")
    pick = lambda label: label.startswith(text) or label.endswith(quick)
    return [(k, v) for k, v in corpus.items() if pick(k) != slow]


def test_mutated_files_quick(corpus):
    _run(_subset(corpus, slow=False))


@pytest.mark.slow
def test_mutated_files_all(corpus):
    _run(_subset(corpus, slow=True))


def test_corpus_covers_every_reader(corpus):
    from specola.io import formats

    assert {fmt for fmt, _ in corpus.values()} == set(formats())
    assert len(corpus) > 300


_number = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.integers(-(10**40), 10**40).map(str),
    st.sampled_from(["", "nan", "-inf", "1e308", "abc", "1,2", '"x"']),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    header=st.sampled_from(["wave,flux,error", "wave,yval,yerrLow,yerrUpp", "spec,err,wave_low,wave_high", "a,b"]),
    rows=st.lists(st.lists(_number, min_size=1, max_size=5), max_size=12),
    newline=st.booleans(),
)
def test_random_csv_tables(tmp_path, header, rows, newline):
    path = tmp_path / "random.csv"
    path.write_text(header + "\n" + "\n".join(",".join(r) for r in rows) + ("\n" if newline else ""))
    problem = check_read(path, None)
    assert problem is None, problem


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_random_edits_of_a_real_fits_file(tmp_path, corpus, data):
    fmt, path = data.draw(st.sampled_from(sorted(v for k, v in corpus.items() if k.endswith("flip0"))))
    raw = bytearray(path.read_bytes())
    for _ in range(data.draw(st.integers(1, 8))):
        raw[data.draw(st.integers(0, len(raw) - 1))] = data.draw(st.integers(0, 255))
    target = tmp_path / f"edited{''.join(path.suffixes[-2:])}"
    target.write_bytes(bytes(raw))
    problem = check_read(target, fmt)
    assert problem is None, problem


def test_the_check_can_fail(tmp_path):
    from specola.spectrum import Spectrum

    path = tmp_path / "x.csv"
    empty = Spectrum.from_centres([1.0, 2.0] * u.um, [np.nan, np.nan] * u.Jy)

    def raising(exc):
        def reader(p, format=None):
            raise exc

        return reader

    assert "not a SpecolaError" in check_read(path, None, raising(IndexError("index 0 is out of bounds")))
    assert "does not name the file" in check_read(path, None, raising(SpecolaError("somewhere: bad")))
    assert "no good pixel" in check_read(path, None, lambda p, format=None: [empty])
