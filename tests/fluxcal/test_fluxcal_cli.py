import json
from pathlib import Path

import astropy.units as u
import numpy as np
import pytest
from astropy.table import Table

from specola.cli import main
from specola.errors import ConfigError, FileFormatError
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
    from specola.runs import RunFolder, read_status

    folder = tmp_path / "fluxcal"
    result = demo(RunFolder(folder))
    assert read_status(folder) == "finished"
    assert read_status(folder / "calspec") == "finished"
    assert (folder / "fluxcal_demo.png").exists()
    assert (folder / "template" / "qc_template.png").exists()
    assert (folder / "template" / "qc_photometry.png").exists()
    cal = result.calibrated["science"]
    assert cal.good.sum() > 0.9 * len(cal)


def bosz_folder(folder):
    """A two-model BOSZ-2024 grid in the release's own layout (text spectra + shared wavelength file)."""
    from astropy.io import fits

    data = Path(__file__).parent / "data"
    grid = folder / "bosz"
    grid.mkdir()
    for teff, name in (
        (4750, "bosz2024_t4750_g45_m000_r5000.fits.gz"),
        (6000, "bosz2024_t6000_g40_m000_r5000.fits.gz"),
    ):
        t = fits.open(data / name)[1].data
        h = np.asarray(t["FLUX"], float) / (4 * np.pi)
        np.savetxt(grid / f"bosz2024_mp_t{teff}_g+4.5_m+0.00_a+0.00_c+0.00_v2_r5000_resam.txt.gz",
                   np.column_stack([h, h]), fmt="%.6e")  # fmt: skip
    np.savetxt(grid / "bosz2024_wave_r5000.txt", np.asarray(t["WAVELENGTH"], float), fmt="%.5f")
    return grid


def test_template_method_with_a_bosz_grid_and_masks_from_the_cli(tmp_path, capsys):
    from specola.fluxcal.photometry import synthetic_magnitude
    from specola.fluxcal.simulate import rippled_throughput

    rng = np.random.default_rng(3)
    star = read_calspec(Path(__file__).parent / "data" / "sun_reference_stis_001.fits.gz").scale(1e-12)
    edges = np.arange(3800.0, 8800.0, 3.0)
    write(observe(star, edges, rippled_throughput, 300.0, rng, resolution=400), tmp_path / "std.fits")
    bands = ["gaiadr2-G", "gaiadr2-BP", "gaiadr2-RP"]
    mags = [round(synthetic_magnitude(star, b, "Vega"), 4) for b in bands]
    bosz_folder(tmp_path)
    (tmp_path / "mask.dat").write_text("# a detector defect\n5000 5100\n")
    (tmp_path / "fluxcal.toml").write_text(
        f'[standard]\nfile = "std.fits"\nmethod = "template"\nexptime = 300.0\n'
        f'[template]\ngrid = ["bosz"]\nresolution = 400.0\nlogg = [4.0, 5.0]\n'
        f"[photometry]\nbands = {bands}\nmagnitudes = {mags}\nerrors = [0.01, 0.01, 0.01]\n"
        f'[masks]\nfiles = ["mask.dat"]\nranges = [7000.0, 7050.0]\n'.replace("'", '"')
    )
    out = tmp_path / "run"
    assert main(["fluxcal", str(tmp_path / "fluxcal.toml"), "-o", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "fluxcal (template)" in printed and "Teff" in printed
    names = {p.name for p in out.iterdir()}
    assert {"qc_template.png", "qc_photometry.png", "qc_sensitivity.png", "summary.txt", "summary.json"} <= names
    summary = json.loads((out / "summary.json").read_text())
    assert 4750 <= summary["template"]["params"]["Teff"] <= 6000
    table = Table.read(out / "sensitivity.ecsv")
    w = np.asarray(table["wavelength"])
    assert not np.any(table["used"][((w > 5000) & (w < 5100)) | ((w > 7000) & (w < 7050))])


def test_bad_inputs_are_one_line_errors(inputs, tmp_path, capsys, monkeypatch):
    from specola.fluxcal import standards
    from specola.spectrum import Spectrum

    nan = Spectrum.from_edges(np.arange(4000.0, 5001.0, 10.0) * u.AA, np.full(100, np.nan) * u.ct)
    write(nan, tmp_path / "nan.fits")
    toml = inputs / "fluxcal.toml"
    code = main(["fluxcal", str(toml), "-o", str(tmp_path / "a"), f"-science.files=['{tmp_path / 'nan.fits'}']"])
    assert code == 2 and "nan.fits: no good pixel" in capsys.readouterr().err
    fake = tmp_path / "calspec"
    fake.mkdir()
    for name in ("bd_1_stis.fits", "bd_2_stis.fits"):
        (fake / name).write_bytes(b"")
    monkeypatch.setattr(standards, "data_path", lambda *parts: fake)
    with pytest.raises(FileFormatError, match="'bd' is ambiguous: matches bd_1_stis, bd_2_stis"):
        standards.standard_path("bd")


def test_multi_fibre_frame_is_calibrated_like_the_spectra(inputs, tmp_path):
    from astropy.io import fits

    from specola.io import read

    sci = read(inputs / "sci.fits")
    counts = np.vstack([sci.flux.value * s for s in (1.0, 0.5, 2.0)])  # three fibres
    header = fits.Header({"EXPTIME": 600.0, "AIRMASS": 1.5})
    for name, data in (("frame", counts), ("frame_t", counts.T)):
        fits.HDUList([fits.PrimaryHDU(data, header=header), fits.ImageHDU(sci.wavelength.value, name="WAVELENGTH"),
                      fits.ImageHDU(data.copy(), name="VARIANCE")]).writeto(tmp_path / f"{name}.fits")  # fmt: skip
    out = tmp_path / "run"
    frames = f'-science.frames=["{tmp_path / "frame.fits"}", "{tmp_path / "frame_t.fits"}"]'
    assert main(["fluxcal", str(inputs / "fluxcal.toml"), "-o", str(out), frames]) == 0
    single = read(out / "sci_fluxcal.fits")
    with fits.open(out / "frame_fluxcal.fits") as hdul:
        flux, var = hdul[0].data, hdul["VARIANCE"].data
        assert hdul[0].header["FLUXCAL"] and hdul[0].header["BUNIT"].startswith("erg")
    with fits.open(out / "frame_t_fluxcal.fits") as hdul:
        np.testing.assert_allclose(hdul[0].data.T, flux, rtol=1e-6)
    good = single.good & np.isfinite(flux[0])
    assert good.sum() > 0.9 * len(single)
    np.testing.assert_allclose(flux[0][good], single.flux.value[good], rtol=1e-5)
    np.testing.assert_allclose(flux[2][good], 2 * single.flux.value[good], rtol=1e-5)
    assert np.all(var[1][good] > 0)
