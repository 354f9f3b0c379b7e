"""Loaders of the real grid files: axes, units (surface flux: integral F_lambda = sigma T^4), sniffing, bad input."""

import shutil

import astropy.units as u
import numpy as np
import pytest
from astropy.io import fits

from specola.errors import FileFormatError, GridError
from specola.grids import identify_grid, load_grid

SIGMA_SB = 5.670374419e-5 * u.erg / u.s / u.cm**2 / u.K**4


def bolometric_ratio(grid, node):
    """integral(F_lambda d lambda) / (sigma Teff^4) for one node, in the grid's own units."""
    total = (grid.flux[node].astype(float) @ (grid.high - grid.low)) * grid.flux_unit * grid.wave_unit
    teff = grid.axes["Teff"][node[0]] * u.K
    return (total / (SIGMA_SB * teff**4)).to_value(u.one)


def test_btsettl_table(data_dir):
    path = data_dir / "btsettl08" / "models_btsettl08_JWST-NIRSPEC-PRISM.h5"
    assert identify_grid(path) == ["btsettl"]
    grid = load_grid(path)
    assert grid.names == ("Teff", "logg", "[M/H]", "[alpha/M]")
    assert int(grid.present.sum()) == 274 and grid.low.size == 1001
    assert grid.wave_unit == u.um and grid.flux_unit == u.erg / u.s / u.cm**2 / u.um
    assert "Allard" in grid.meta["citation"]
    solar = grid.select(M_H=(0, 0), alpha_M=(0, 0)).squeeze()
    assert solar.present[list(solar.axes["Teff"]).index(2300) :].all()
    # 0.5-6 um holds ~97% of the bolometric flux at 2600 K (PROVENANCE): surface flux in erg/s/cm^2/um
    node = (list(solar.axes["Teff"]).index(2600), list(solar.axes["logg"]).index(5.0))
    assert 0.93 < bolometric_ratio(solar, node) < 1.0


def test_kurucz_ck04_folder_and_metallicity_axis(data_dir):
    grid = load_grid(data_dir / "ck04models")
    assert identify_grid(data_dir / "ck04models") == ["kurucz"]
    assert grid.names == ("Teff", "logg", "[M/H]") and grid.axes["[M/H]"].tolist() == [-0.5, 0.0]
    assert grid.wave_unit == u.AA and grid.flux_unit == u.erg / u.s / u.cm**2 / u.AA
    assert not grid.present[0, 0, 0]  # ckm05 only has Teff 5000: the other [M/H]=-0.5 nodes are missing
    solar = load_grid(data_dir / "ck04models" / "ckp00")
    assert solar.axes["Teff"].tolist() == list(range(3500, 6001, 250)) and solar.present.all()
    ratios = [bolometric_ratio(solar, node) for node in np.ndindex(solar.present.shape)]
    assert np.max(np.abs(np.array(ratios) - 1)) < 2e-3  # PROVENANCE: sigma T^4 to 0.1%


def test_kurucz_zero_columns_become_missing_nodes(tmp_path, data_dir):
    with fits.open(data_dir / "ck04models" / "ckp00" / "ckp00_5000.fits.gz") as hdul:
        hdul[1].data["g50"][:] = 0.0
        hdul.writeto(tmp_path / "ckp00_5000.fits")
    grid = load_grid(tmp_path / "ckp00_5000.fits")
    assert grid.axes["logg"][-1] == 4.5  # g50 absent; on one file the axis stops at 4.5


def test_kurucz_single_gzipped_file(data_dir):
    grid = load_grid(data_dir / "ck04models" / "ckp00" / "ckp00_5000.fits.gz")
    assert grid.meta["name"] == "ck04" and grid.axes["Teff"].tolist() == [5000.0]
    assert grid.axes["logg"].tolist() == [x / 2 for x in range(11)] and grid.meta["[M/H]"] == 0.0


def test_bosz2024(data_dir):
    folder = data_dir / "bosz2024"
    assert identify_grid(folder) == ["bosz2024"]
    grid = load_grid(folder)
    assert grid.axes["Teff"].tolist() == [4750, 6000] and grid.axes["logg"].tolist() == [4.0, 4.5]
    assert grid.present.tolist() == [[False, True], [True, False]]
    assert grid.meta["resolution"] == 5000 and grid.meta["[M/H]"] == 0.0 and grid.meta["vturb"] == 2.0
    assert grid.low.size == 75000 and grid.flux_unit == u.erg / u.s / u.cm**2 / u.AA
    for node in ((0, 1), (1, 0)):  # 4 pi H_lambda: sigma T^4 to <1%
        assert abs(bolometric_ratio(grid, node) - 1) < 0.01


def test_bosz2012(data_dir):
    grid = load_grid(data_dir / "bosz2012")
    assert identify_grid(data_dir / "bosz2012") == ["bosz2012"]
    assert grid.axes["Teff"].tolist() == [5000.0] and grid.axes["logg"].tolist() == [4.5]
    assert grid.meta["resolution"] == 2000.0 and grid.meta["[M/H]"] == 0.0
    assert abs(bolometric_ratio(grid, (0, 0)) - 1) < 0.01  # pi x column: sigma T^4 to 0.5%


def test_sphinx(data_dir):
    grid = load_grid(data_dir / "sphinx")
    assert grid.flux_unit == u.W / u.m**2 / u.m and grid.axes["logg"].tolist() == [4.0, 4.5]
    ratios = [bolometric_ratio(grid, (0, j)) for j in range(2)]
    np.testing.assert_allclose(ratios, [0.962, 1.003], atol=2e-3)  # measured on these files (PROVENANCE)


def test_unknown_layout_names_the_file(tmp_path):
    junk = tmp_path / "notes.dat"
    junk.write_text("1 2 3\n")
    assert identify_grid(junk) == []
    with pytest.raises(FileFormatError, match=r"notes\.dat: unknown grid file layout"):
        load_grid(junk)
    with pytest.raises(FileFormatError, match="no such file"):
        load_grid(tmp_path / "absent.h5")
    empty = tmp_path / "empty.h5"
    empty.write_bytes(b"")
    assert identify_grid(empty) == []


def test_inconsistent_wavelengths_name_the_file(tmp_path, data_dir):
    for t in (4000, 4250):
        shutil.copy(data_dir / "ck04models" / "ckp00" / f"ckp00_{t}.fits.gz", tmp_path)
    with fits.open(tmp_path / "ckp00_4250.fits.gz") as hdul:
        hdul[1].data["WAVELENGTH"] *= 1.001
        hdul.writeto(tmp_path / "ckp00_4500.fits", overwrite=True)
    with pytest.raises(GridError, match=r"ckp00_4500.fits: wavelength grid .* differs from that of .*ckp00_4000"):
        load_grid(tmp_path)


@pytest.mark.parametrize("bad", [np.nan, -1.0])
def test_nan_or_negative_flux_names_the_file(tmp_path, data_dir, bad):
    with fits.open(data_dir / "bosz2012" / "amp00cp00op00t5000g45v20modrt0b2000rs.fits") as hdul:
        hdul[1].data["SpecificIntensity"][100] = bad
        hdul.writeto(tmp_path / "amp00cp00op00t5000g45v20modrt0b2000rs.fits")
    with pytest.raises(GridError, match=r"amp00cp00op00t5000g45v20modrt0b2000rs.fits: 1 flux value\(s\) are"):
        load_grid(tmp_path)


def test_duplicated_nodes_name_both_files(tmp_path, data_dir):
    src = data_dir / "sphinx" / "Teff_3000.0_logg_4.00_logZ_+0.00_CtoO_0.5_spectra.txt"
    shutil.copy(src, tmp_path / src.name)
    (tmp_path / "copy").mkdir()
    shutil.copy(src, tmp_path / "copy" / "Teff_3000_logg_4.0_logZ_+0.0_CtoO_0.5_spectra.txt")
    with pytest.raises(GridError, match=r"duplicated grid node Teff=3000, logg=4 .*also in"):
        load_grid(tmp_path)


def test_bosz2024_missing_wave_file_says_what_to_pass(tmp_path, data_dir):
    name = "bosz2024_mp_t4750_g+4.5_m+0.00_a+0.00_c+0.00_v2_r5000_resam.txt.gz"
    shutil.copy(data_dir / "bosz2024" / name, tmp_path)
    with pytest.raises(FileFormatError, match=r"bosz2024_wave_r5000\.txt not found .* pass wave_file="):
        load_grid(tmp_path / name)
    grid = load_grid(tmp_path / name, wave_file=data_dir / "bosz2024" / "bosz2024_wave_r5000.txt.gz")
    assert grid.present.all()
