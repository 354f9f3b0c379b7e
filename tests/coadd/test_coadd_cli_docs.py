import json
from pathlib import Path

import pytest
from astropy.io import fits

from specola.cli import main
from specola.coadd import CoaddConfig, CoaddResult, HaspResult, demo, run
from specola.coadd.config import CoaddSection, InputSection
from specola.data import data_path
from specola.errors import ConfigError
from specola.runs import RunFolder

ROOT = Path(__file__).parents[2]


def test_cli_resample_with_example_config(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # input.indir is relative to the TOML's folder, not the working directory
    out = tmp_path / "out"
    assert main(["coadd", str(ROOT / "examples" / "coadd.toml"), "-o", "out", "-reject.sigma_clip=0"]) == 0
    product = out / "specola_swiftj1357.2-0933.fits"
    with fits.open(product) as h:
        names = h["SCI"].data.columns.names
        assert {"FLUX", "ERROR", "N_EXPOSURES", "DQ", "EFF_EXPTIME"} <= set(names)
        assert h["SCI"].data["N_EXPOSURES"][0].max() == 4
    assert "sigma_clip = 0" in (out / "config.toml").read_text()
    assert (out / "specola_swiftj1357.2-0933.png").stat().st_size > 10_000  # figures = true in the example


def test_method_is_a_config_option_for_python_users(tmp_path):
    config = CoaddConfig(input=InputSection(indir=data_path("coadd", "cos_g140l")))
    assert isinstance(run(config), HaspResult)  # the default: the HASP drop-in
    resampled = run(CoaddConfig(input=config.input, coadd=CoaddSection(method="resample")))
    assert isinstance(resampled, CoaddResult) and "4 exposure(s)" in resampled.summary()
    with pytest.raises(ConfigError, match=r"input\.indir"):
        run(CoaddConfig(input=InputSection(files=(tmp_path / "a.fits",))))


def test_cli_rejects_bad_option(tmp_path):
    assert main(["coadd", "-i", str(data_path("coadd", "cos_g140l")), "-o", str(tmp_path), "-reject.sigma=-1"]) == 2


@pytest.mark.slow
def test_demo_compares_both_methods_with_x1dsum(tmp_path):
    result = demo(RunFolder(tmp_path / "demo"))
    assert (tmp_path / "demo" / "coadd_cos_vs_x1dsum.png").stat().st_size > 10_000
    assert result.spectrum.good.sum() > 0.9 * len(result.spectrum)
    stats = json.loads((tmp_path / "demo" / "run.json").read_text())["x1dsum_median_pull"]
    assert set(stats) == {"specola resample", "HASP mode"}
    # both agree with CALCOS's own combination well within the errors; resampling more closely
    assert stats["specola resample"] < stats["HASP mode"] < 0.5
