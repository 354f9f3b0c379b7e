"""Fixed-resolution grid building: resolving power, flux conservation, streaming, regridding, the CLI."""

import astropy.units as u
import numpy as np
import pytest
from grid_writers import phoenix_wavelengths, write_phoenix

from specola.cli import main
from specola.errors import GridError
from specola.grids import StellarGrid, load_grid
from specola.grids.build import LogLambdaConvolver, build_grid

FLAM = u.erg / u.s / u.cm**2 / u.AA


def line_grid(r_in=500_000.0, centre=10_000.0, area=5.0):
    """Two models on an R = 500 000 log-lambda grid: flat continuum plus a one-pixel (delta) line."""
    edges = np.exp(np.arange(np.log(9000.0), np.log(11000.0), 1 / r_in))
    low, high = edges[:-1], edges[1:]
    k = np.searchsorted(low, centre)
    flux = np.ones((2, low.size))
    flux[:, k] += area / (high[k] - low[k])
    return StellarGrid({"Teff": np.array([5000.0, 5100.0])}, low, high, flux, u.AA, FLAM), 0.5 * (low[k] + high[k])


def moments(low, high, flux):
    w, d = 0.5 * (low + high), high - low
    area = np.sum(flux * d)
    mean = np.sum(w * flux * d) / area
    return area, mean, np.sum((w - mean) ** 2 * flux * d) / area


@pytest.mark.parametrize(("resolution", "sampling"), [(2000.0, 3.0), (10000.0, 4.0)])
def test_delta_line_gets_the_requested_resolution_and_keeps_its_flux(resolution, sampling):
    grid, centre = line_grid()
    built = build_grid(grid, resolution, (9500.0, 10500.0), sampling=sampling, progress=False)
    assert built.meta["resolution"] == resolution
    line = built.flux[0].astype(float) - 1.0
    area, mean, var = moments(built.low, built.high, line)
    d_out = centre * np.log(built.high[0] / built.low[0])
    # the line lands in one intermediate pixel (1/8 of an output pixel): its centroid moves by at most half of it
    assert abs(area / 5.0 - 1) < 1e-5 and abs(mean - centre) < 0.5 * d_out / 8
    # second moment = kernel sigma^2 + pixelisation (width^2 / 12 of the intermediate and output pixels)
    pixel_var = d_out**2 / 12 * (1 + 1 / 8**2)
    fwhm = np.sqrt(var - pixel_var) * 2 * np.sqrt(2 * np.log(2))
    assert abs(fwhm / (centre / resolution) - 1) < 0.01, fwhm
    assert np.allclose(built.flux[0][:5], 1.0, rtol=1e-6)  # the continuum stays flat
    np.testing.assert_allclose(np.diff(np.log(built.low)), 1 / (resolution * sampling), rtol=1e-9)


def test_initial_resolution_is_removed_in_quadrature():
    grid, centre = line_grid(r_in=500_000.0)
    # pretend the line was already broadened to R = 5000: the added kernel is sqrt(1/2000^2 - 1/5000^2)
    conv = LogLambdaConvolver((9500.0, 10500.0), 2000.0, 10.0, initial_resolution=5000.0)
    out = conv(grid.low, grid.high, grid.flux[:1])[0] - 1
    _, _, var = moments(conv.low, conv.high, out)
    d_out = centre * np.log(conv.high[0] / conv.low[0])
    sigma = np.sqrt(var - d_out**2 / 12 * (1 + 1 / 64))
    expected = centre * np.sqrt(1 / 2000**2 - 1 / 5000**2) / (2 * np.sqrt(2 * np.log(2)))
    assert abs(sigma / expected - 1) < 0.01
    with pytest.raises(GridError, match="must be lower"):
        LogLambdaConvolver((9500.0, 10500.0), 6000.0, initial_resolution=5000.0)


@pytest.fixture(scope="module")
def phoenix_tree(tmp_path_factory):
    root = tmp_path_factory.mktemp("phoenix")
    write_phoenix(root, [(t, g, 0.0, 0.0) for t in (5700.0, 5800.0) for g in (4.0, 4.5)], phoenix_wavelengths(20))
    return root


def test_streamed_phoenix_build_equals_in_memory_and_conserves_flux(phoenix_tree):
    solar = phoenix_tree / "Z-0.0"
    streamed = build_grid(solar, 3000.0, (5000.0, 9000.0) * u.AA, progress=False)
    in_memory = build_grid(load_grid(solar), 3000.0, (0.5, 0.9) * u.um, progress=False)
    np.testing.assert_allclose(streamed.low, in_memory.low, rtol=1e-14)
    np.testing.assert_allclose(streamed.flux, in_memory.flux, rtol=1e-6)
    assert streamed.flux_unit == u.erg / u.s / u.cm**2 / u.cm and streamed.meta["wavelength_grid"] == "log-lambda"
    source = load_grid(solar)
    inside = (source.low >= streamed.low[0]) & (source.high <= streamed.high[-1])
    for node in np.ndindex(2, 2):
        before = source.flux[node][inside].astype(float) @ (source.high - source.low)[inside]
        after = streamed.flux[node].astype(float) @ (streamed.high - streamed.low)
        assert abs(after / before - 1) < 2e-4  # only the partial pixels at the two ends differ


def test_ranges_select_and_regrid(phoenix_tree):
    built = build_grid(
        phoenix_tree / "Z-0.0", 1000.0, (5000.0, 6000.0), ranges={"Teff": (5700, 5800, 50)}, progress=False
    )
    assert built.axes["Teff"].tolist() == [5700.0, 5750.0, 5800.0] and built.meta["interpolated_axes"] == ["Teff"]
    np.testing.assert_allclose(built.flux[1], 0.5 * (built.flux[0] + built.flux[2]), rtol=1e-6)
    kept = build_grid(
        phoenix_tree / "Z-0.0", 1000.0, (5000.0, 6000.0), ranges={"logg": (4.5, 4.5), "mh": (0, 0)}, progress=False
    )
    assert kept.axes["logg"].tolist() == [4.5] and "interpolated_axes" not in kept.meta
    with pytest.raises(GridError, match=r"Teff range \[5000, 5800\] is not inside"):
        build_grid(phoenix_tree / "Z-0.0", 1000.0, (5000.0, 6000.0), ranges={"teff": (5000, 5800)})
    with pytest.raises(GridError, match="less than the requested wavelength range"):
        build_grid(phoenix_tree / "Z-0.0", 1000.0, (400.0, 6000.0), progress=False)


def test_cli_build_and_info(tmp_path, data_dir, capsys):
    out = tmp_path / "ck.h5"
    args = [
        "-q",
        "grid",
        "build",
        "--source",
        str(data_dir / "ck04models" / "ckp00"),
        "-o",
        str(out),
        "-params.teff=[4000,5000]",
        "-params.logg=[4.0,5.0]",
        "-wavelength.range=[0.5,0.9]",
        "-wavelength.resolution=100",
    ]
    assert main(args) == 0
    grid = load_grid(out)
    assert grid.axes["Teff"].tolist() == [4000, 4250, 4500, 4750, 5000] and grid.meta["resolution"] == 100
    assert grid.wave_unit == u.AA and grid.low[0] == pytest.approx(5000.0)
    assert main(args) == 2 and "exists; pass --overwrite" in capsys.readouterr().err
    assert main(["grid", "info", str(out)]) == 0
    text = capsys.readouterr().out
    assert "Teff: 4000 .. 5000  (5 nodes, step 250)" in text and "resolving power R: 100" in text
    assert "nodes present: 15 of 15" in text and "file size" in text


def test_cli_build_from_toml(tmp_path, data_dir, capsys):
    config = tmp_path / "build.toml"
    config.write_text(
        f'[source]\npath = ["{data_dir / "bosz2024"}"]\n[wavelength]\nrange = [4000.0, 9000.0]\nunit = "Angstrom"\n'
        'resolution = 1000.0\nsampling = 2.5\n[output]\npath = "bosz_r1000.h5"\n'
    )
    assert main(["-q", "grid", "build", str(config)]) == 0
    grid = load_grid(tmp_path / "bosz_r1000.h5")
    assert grid.meta["resolution"] == 1000.0 and grid.present.tolist() == [[False, True], [True, False]]
    assert main(["grid", "build", str(config), "-wavelength.range=[4000.0]", "--overwrite"]) == 2
    assert "give [min, max]" in capsys.readouterr().err
    assert main(["grid", "info", "--formats"]) == 0 and "phoenix" in capsys.readouterr().out
