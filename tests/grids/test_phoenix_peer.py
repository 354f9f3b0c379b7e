"""PHOENIX ACES HiRes and stctm/exotune HDF5 loaders, tested on small files written in exactly their layouts."""

import astropy.units as u
import numpy as np
import pytest
from grid_writers import SIGMA_SB, phoenix_wavelengths, planck_surface_flux, write_peer, write_phoenix

from specola.errors import FileFormatError, GridError
from specola.grids import identify_grid, load_grid
from specola.grids.peer_hdf5 import constant_r_wavelengths


@pytest.fixture(scope="module")
def phoenix_tree(tmp_path_factory):
    root = tmp_path_factory.mktemp("PHOENIX-ACES-AGSS-COND-2011")
    nodes = [(t, g, 0.0, 0.0) for t in (5700.0, 5800.0) for g in (4.0, 4.5)] + [(5800.0, 4.5, -0.5, 0.2)]
    write_phoenix(root, nodes, phoenix_wavelengths())
    return root


def test_phoenix_names_units_and_flux(phoenix_tree):
    solar = phoenix_tree / "Z-0.0"
    assert identify_grid(solar) == ["phoenix"]
    grid = load_grid(solar)  # the WAVE file is found one folder up, as in the published tree
    assert grid.names == ("Teff", "logg") and grid.present.all()
    assert grid.wave_unit == u.AA and grid.flux_unit == u.erg / u.s / u.cm**2 / u.cm
    wave = phoenix_wavelengths()
    np.testing.assert_allclose(grid.flux[1, 0], planck_surface_flux(wave * 1e-8, 5800.0) * 1.04, rtol=1e-6)
    total = (grid.flux[1, 0].astype(float) @ (grid.high - grid.low)) * grid.flux_unit * grid.wave_unit / 1.04
    ratio = total.to_value(u.erg / u.s / u.cm**2) / (SIGMA_SB * 5800.0**4)
    assert 0.98 < ratio < 1.0  # 500-55000 A holds 99.x% of a 5800 K blackbody


def test_phoenix_alpha_and_metallicity_axes(phoenix_tree):
    grid = load_grid(phoenix_tree)
    assert grid.names == ("Teff", "logg", "[M/H]", "[alpha/M]")
    assert int(grid.present.sum()) == 5 and grid.present[1, 1, 0, 1]
    cropped = load_grid(phoenix_tree / "Z-0.0", wave_range=(5000.0, 6000.0))
    assert 5000 <= cropped.wavelength.value.min() and cropped.wavelength.value.max() <= 6000


def test_phoenix_wrong_length_and_missing_wave_file(tmp_path):
    write_phoenix(tmp_path, [(3000.0, 5.0, 0.0, 0.0)], phoenix_wavelengths(200))
    model = next((tmp_path / "Z-0.0").glob("lte*"))
    write_phoenix(tmp_path / "other", [], phoenix_wavelengths(100))
    with pytest.raises(FileFormatError, match="flux has shape"):
        load_grid(model, wave_file=tmp_path / "other" / "WAVE_PHOENIX-ACES-AGSS-COND-2011.fits")
    (tmp_path / "WAVE_PHOENIX-ACES-AGSS-COND-2011.fits").unlink()
    with pytest.raises(FileFormatError, match=r"WAVE_PHOENIX-ACES-AGSS-COND-2011\.fits not found"):
        load_grid(model)


def peer_cube(teff, logg, n_wave):
    t, g = np.meshgrid(teff, logg, indexing="ij")
    return (t[..., None] * 1e-3 + g[..., None]) * np.ones(n_wave)


def test_peer_hdf5_with_tool_config_axes(tmp_path):
    # the tool's defaults: Teff arange(2300, 3000, 20), logg arange(2.5, 5.5, 0.1), R = 10000, 0.2-5.4 um, pymsg
    nodes = constant_r_wavelengths(0.2, 5.4, 10000.0)
    teff, logg = np.arange(2300.0, 3000.0, 20.0), np.arange(2.5, 5.5, 0.1)
    path = write_peer(tmp_path / "TRAPPIST_1_pymsg.h5", peer_cube(teff[:3], logg[:2], nodes.size - 2))
    assert identify_grid(path) == ["peer_hdf5"]
    with pytest.raises(GridError, match=r"model_grid has shape .* but the axes give"):
        load_grid(path, teff_range=(2300, 3000), teff_step=20, logg_range=(2.5, 5.5), logg_step=0.1)
    grid = load_grid(path, teff=teff[:3], logg=logg[:2])
    assert grid.meta["pymsg_wavelengths"] and grid.flux_unit == u.W / u.m**2 / u.um and grid.wave_unit == u.um
    edges = 0.5 * (nodes[1:] + nodes[:-1])  # pymsg: centres w[1:-1], edges the midpoints
    np.testing.assert_allclose(grid.low, edges[:-1]) and np.testing.assert_allclose(grid.high, edges[1:])
    sampling_r = grid.wavelength.value / (grid.high - grid.low)
    np.testing.assert_allclose(sampling_r, 10000.0, rtol=1e-3)
    np.testing.assert_allclose(grid.at(2320.0, 2.55), 2.32 + 2.55, rtol=1e-6)


def test_peer_hdf5_plain_wavelengths_zero_models_and_bad_flux(tmp_path):
    nodes = constant_r_wavelengths(1.0, 2.0, 100.0)
    cube = peer_cube([3000.0, 3100.0], [4.5, 5.0], nodes.size)
    cube[1, 0] = 0.0
    grid = load_grid(
        write_peer(tmp_path / "g.h5", cube), teff=[3000, 3100], logg=[4.5, 5.0], wave_range=(1, 2), resolution=100
    )
    assert not grid.meta["pymsg_wavelengths"] and grid.present.tolist() == [[True, True], [False, True]]
    with pytest.raises(GridError, match="wavelengths in model_grid"):
        load_grid(tmp_path / "g.h5", teff=[3000, 3100], logg=[4.5, 5.0], wave_range=(1, 2), resolution=200)
    cube[0, 1, 5] = np.nan
    with pytest.raises(GridError, match=r"bad.h5\[Teff=3000, logg=5\]: 1 flux value\(s\) are NaN"):
        load_grid(
            write_peer(tmp_path / "bad.h5", cube), teff=[3000, 3100], logg=[4.5, 5.0], wave_range=(1, 2), resolution=100
        )
