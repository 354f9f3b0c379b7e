"""The instrument configuration as a config file gives it: spectra named by their files, saved and loaded."""

from pathlib import Path

from specola.config import load_config
from specola.lines import InstrumentConfig, LinesConfig, SpectrumSpec

EXAMPLE = Path(__file__).parents[2] / "examples" / "lines.toml"


def test_spectra_without_a_name_are_listed_by_their_file(tmp_path):
    cfg = InstrumentConfig(spectra=(SpectrumSpec(file=Path("/data/run 1/obj.spec.fits.gz"), rscale="a"),
                                    SpectrumSpec(resolution="constant:2000", rscale="a")))  # fmt: skip
    rows = str(cfg).splitlines()
    assert rows[3].split()[:3] == ["obj", "file", "a"] and rows[4].split()[:2] == ["spectra[1]", "constant:2000"]
    path = tmp_path / "instrument.toml"
    path.write_text(cfg.to_toml())
    assert InstrumentConfig.from_toml(path.read_text()) == cfg


def test_the_examples_instrument_prints_its_tokens():
    cfg = load_config(LinesConfig, EXAMPLE)
    text = str(cfg.instrument)
    assert "prism  nirspec:prism:point  R       (fixed)     po" in text
    assert "truncnormal(0, 0.5, -2, 2)" in text and "truncnormal(1, 0.1, 0.6, 1.4)" in text
    back = InstrumentConfig.from_toml(EXAMPLE.read_text())  # the [[spectra]] and [[calibration]] of a full config
    assert back.calibration == cfg.calibration and str(back) == text
