"""Rejection that knows which exposure is wrong: two exposures, the majority rule, single orders."""

import gzip
import os
import subprocess
import sys
from pathlib import Path

import astropy.units as u
import numpy as np
import pytest
from astropy.io import fits

from specola.cli import main
from specola.coadd import CoaddConfig, coadd
from specola.coadd.config import RejectSection, ScalingSection
from specola.errors import EmptySpectrumWarning
from specola.spectrum import Spectrum

OFF = RejectSection(max_flux_deviation=0, sigma_clip=0)


def test_two_exposures_the_faint_one_goes_and_the_good_one_stays_in_every_order(echelle_pair):
    path, spectra = echelle_pair
    good = [s for s in spectra if s.meta["exposure"].endswith("[1]")]
    result = coadd(spectra)
    assert [(d.exposure, d.segment, d.action) for d in result.decisions] == [(f"{path.name}[2]", "all", "rejected")]
    decision = result.decisions[0]
    assert decision.factor == pytest.approx(0.6, abs=0.02)
    assert f"brightest exposure {path.name}[1]" in decision.reason
    s = result.spectrum
    kept = set(s.meta["segments"])
    alone = coadd(good, CoaddConfig(reject=OFF)).spectrum
    # every order of the good exposure is in the co-add ...
    assert set(alone.meta["segments"]) <= kept
    # ... and no pixel the good exposure covers comes out empty (same grid: same wavelengths)
    np.testing.assert_array_equal(s.low.value, alone.low.value)
    assert np.all(s.meta["n_exposures"][alone.good] == 1)
    np.testing.assert_array_equal(s.good, alone.good)
    np.testing.assert_allclose(s.flux.value, alone.flux.value, rtol=1e-12)


def test_two_exposures_scaled_to_a_common_flux_both_stay(echelle_pair):
    path, spectra = echelle_pair
    result = coadd(spectra, CoaddConfig(scaling=ScalingSection(enabled=True)))
    assert result.rejected == []
    scaled = {d.exposure: d.factor for d in result.decisions if d.action == "scaled"}
    assert scaled[f"{path.name}[1]"] == pytest.approx(1.0)
    assert scaled[f"{path.name}[2]"] == pytest.approx(1 / 0.6, rel=0.01)
    assert np.median(result.spectrum.meta["n_exposures"][result.spectrum.good]) == 2


def test_decisions_in_the_product_and_logged_once(echelle_pair, tmp_path, capsys):
    path, _ = echelle_pair
    out = tmp_path / "out"
    with pytest.warns(EmptySpectrumWarning):
        assert main(["coadd", "--method", "resample", "-i", str(path.parent), "-o", str(out)]) == 0
    lines = [line for line in capsys.readouterr().err.splitlines() if "flux 0.6" in line]
    assert len(lines) == 1 and lines[0].startswith(f"rejected {path.name}[2]: flux 0.6")
    with fits.open(next(out.glob("specola_*.fits"))) as h:
        table = h["REJECTION"].data
        assert list(table["EXPOSURE"]) == [f"{path.name}[2]"]
        assert list(table["ACTION"]) == ["rejected"] and list(table["SEGMENT"]) == ["all"]
        assert table["FACTOR"][0] == pytest.approx(0.6, abs=0.02)
        assert "brightest" in table["REASON"][0]


def _exposure(rng, name, factors, parts=((1000, 1040), (1035, 1075), (1070, 1110)), sigma=0.01):
    """An exposure of three overlapping segments ``A``, ``B``, ``C``, each scaled by its factor."""
    out = []
    for (lo, hi), part, f in zip(parts, "ABC", factors, strict=True):
        edges = np.arange(lo, hi, 0.1)
        w = 0.5 * (edges[:-1] + edges[1:])
        truth = 1.0 + 0.2 * np.sin(w / 5.0)
        out.append(
            Spectrum.from_edges(
                edges * u.AA,
                (f * truth + rng.normal(0, sigma, w.size)) * u.Jy,
                error=np.full(w.size, sigma) * u.Jy,
                meta={"exposure": name, "exptime": 500.0, "segment": part, "instrument": "X", "grating": "Y"},
            )
        )
    return out


def test_never_the_majority_a_second_outlier_is_flagged_not_rejected():
    rng = np.random.default_rng(7)
    spectra = [s for k, f in enumerate([1.0, 0.6, 1.3]) for s in _exposure(rng, f"e{k}", [f] * 3)]
    result = coadd(spectra, CoaddConfig(reject=RejectSection(sigma_clip=0)))
    actions = {(d.exposure, d.segment): d.action for d in result.decisions}
    assert actions == {("e1", "all"): "rejected", ("e2", "all"): "flagged"}
    assert "majority" in result.decisions[1].reason
    assert result.spectrum.meta["n_exposures"].max() == 2  # e0 and the flagged e2 stay


def test_one_bad_segment_is_rejected_alone():
    rng = np.random.default_rng(8)
    spectra = [s for k in range(3) for s in _exposure(rng, f"e{k}", [1.0, 0.5 if k == 2 else 1.0, 1.0])]
    result = coadd(spectra)
    assert [(d.exposure, d.segment, d.action) for d in result.decisions] == [("e2", "B", "rejected")]
    assert result.decisions[0].factor == pytest.approx(0.5, rel=0.01)
    assert "median of the 2 other exposures" in result.decisions[0].reason
    w = result.spectrum.wavelength.value
    n = result.spectrum.meta["n_exposures"]
    assert np.all(n[(w > 1045) & (w < 1065)] == 2) and np.all(n[(w > 1080) & (w < 1105)] == 3)


def test_longest_exposure_is_the_reference_when_asked():
    rng = np.random.default_rng(9)
    short, long = _exposure(rng, "short", [1.0] * 3), _exposure(rng, "long", [0.7] * 3)
    for s in long:
        s.meta["exptime"] = 2000.0
    result = coadd(short + long, CoaddConfig(reject=RejectSection(reference="longest")))
    assert [(d.exposure, d.action) for d in result.decisions] == [("short", "rejected")]
    assert "longest exposure long" in result.decisions[0].reason
    assert coadd(short + long).decisions[0].exposure == "long"  # default: the brightest wins a pair


def _cli(*args):
    """``python -m specola ARGS`` in a fresh interpreter (astropy imported only once the run needs it)."""
    cmd = [sys.executable, "-m", "specola", *map(str, args)]
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[2] / "src")}
    return subprocess.run(cmd, capture_output=True, text=True, check=True, env=env).stderr


def test_a_truncated_file_is_reported_once(cos_dir, tmp_path):
    indir = tmp_path / "in"
    indir.mkdir()
    for p in sorted(cos_dir.glob("*_x1d.fits.gz"))[1:]:
        (indir / p.name).write_bytes(p.read_bytes())
    raw = gzip.decompress(next(iter(sorted(cos_dir.glob("*_x1d.fits.gz")))).read_bytes())
    (indir / "ldfd01vnq_x1d.fits").write_bytes(raw[:-30000])
    err = _cli("coadd", "-i", indir, "-o", tmp_path / "out")
    assert sum("truncated FITS file" in line for line in err.splitlines()) == 1
    assert sum("skipping" in line for line in err.splitlines()) == 1


def test_astropy_warnings_and_decisions_printed_once_when_astropy_loads_late(echelle_pair, tmp_path):
    path, _ = echelle_pair  # the CLI sets up logging before the resample method imports astropy
    err = _cli("coadd", "--method", "resample", "-i", path.parent, "-o", tmp_path / "out").splitlines()
    assert sum("order=86" in line for line in err) == 1  # EmptySpectrumWarning, printed by astropy's logger
    assert sum(f"rejected {path.name}[2]" in line for line in err) == 1
