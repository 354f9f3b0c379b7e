import json

import numpy as np
import pytest

from specola.cli import main
from specola.errors import ConfigError
from specola.fluxcal import FluxcalConfig, load_extinction, read_calspec, standard_path
from specola.fluxcal.simulate import observe, optical_throughput
from specola.io import write


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("fluxcal_inputs")
    rng = np.random.default_rng(0)
    star = read_calspec(standard_path("bd_17d4708_stisnic_007"))
    ext = load_extinction()
    edges = np.arange(3800.0, 8700.0, 4.0)
    std = observe(star, edges, optical_throughput, 60.0, rng, airmass=1.2, extinction=ext)
    sci = observe(star.scale(0.2), edges, optical_throughput, 600.0, rng, airmass=1.5, extinction=ext)
    write(std, folder / "std.fits")
    write(sci, folder / "sci.fits")
    (folder / "fluxcal.toml").write_text(
        '[standard]\nfile = "std.fits"\nreference = "bd_17d4708_stisnic_007"\nexptime = 60.0\nairmass = 1.2\n'
        '[science]\nfiles = ["sci.fits"]\nexptime = 600.0\nairmass = 1.5\n'
    )
    return folder


def test_cli_runs_with_overrides_and_records_the_run(inputs, tmp_path, capsys):
    out = tmp_path / "run"
    code = main(["fluxcal", str(inputs / "fluxcal.toml"), "-o", str(out), "-sensitivity.knot_spacing=400"])
    assert code == 0
    names = {p.name for p in out.iterdir()}
    assert {"config.toml", "run.json", "sensitivity.ecsv", "summary.json", "sci_fluxcal.fits",
            "qc_sensitivity.png"} <= names  # fmt: skip
    assert "knot_spacing = 400.0" in (out / "config.toml").read_text()
    assert "specola_version" in json.loads((out / "run.json").read_text())
    summary = json.loads((out / "summary.json").read_text())
    assert summary["chi2_per_ndof"] == pytest.approx(1.0, abs=0.3)
    # no overwrite without --overwrite
    assert main(["fluxcal", str(inputs / "fluxcal.toml"), "-o", str(out)]) == 2
    assert "--overwrite" in capsys.readouterr().err


def test_cli_reports_bad_options(inputs, tmp_path, capsys):
    assert main(["fluxcal", str(inputs / "fluxcal.toml"), "-o", str(tmp_path / "x"), "-standard.method=magic"]) == 2
    assert "calspec" in capsys.readouterr().err
    with pytest.raises(ConfigError, match="knot_spacing"):
        from specola.config import load_config

        load_config(FluxcalConfig, None, {"sensitivity.knot_spacng": 3})


@pytest.mark.slow
def test_demo_writes_both_methods(tmp_path):
    from specola.fluxcal import demo

    results = demo(tmp_path)
    folder = tmp_path / "fluxcal"
    assert (folder / "fluxcal_demo.png").exists()
    assert (folder / "template" / "qc_template.png").exists()
    assert (folder / "template" / "qc_photometry.png").exists()
    cal = results["calspec"].calibrated["science"]
    assert cal.good.sum() > 0.9 * len(cal)
