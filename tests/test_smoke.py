import astropy.units as u

from specola.cli import main
from specola.data import data_path
from specola.io import read


def test_read_bundled_trappist1():
    spec = read(data_path("spectra", "trappist1_nirspec_prism_outoftransit.csv"))
    assert len(spec) == 481
    assert spec.wave_unit == u.um
    assert spec.mask[:10].all()


def test_cli_info_runs(capsys):
    assert main(["info"]) == 0
    assert "basic" in capsys.readouterr().out
