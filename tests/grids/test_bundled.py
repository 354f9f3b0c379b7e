"""The bundled TRAPPIST-1 grid: provenance, and identical to what the BT-Settl loader makes from the original table."""

import astropy.units as u
import numpy as np

from specola.data import data_path
from specola.grids import load_cache, load_grid


def test_bundled_grid_is_reproduced_by_the_btsettl_loader(data_dir):
    bundled = load_grid(data_path("grids", "btsettl08_prism_trappist1.h5"))
    assert bundled.names == ("Teff", "logg") and bundled.present.all()
    assert bundled.axes["Teff"].tolist() == list(range(2300, 3001, 100)) and bundled.axes["logg"].tolist() == [
        4,
        4.5,
        5,
        5.5,
    ]
    assert bundled.meta["[M/H]"] == 0.0 and "Allard" in bundled.meta["citation"] and bundled.meta["licence"]
    assert bundled.wave_unit == u.um and bundled.flux_unit == u.erg / u.s / u.cm**2 / u.um
    table = load_grid(data_dir / "btsettl08" / "models_btsettl08_JWST-NIRSPEC-PRISM.h5")
    remade = table.select(Teff=(2300, 3000), logg=(4, 5.5), M_H=(0, 0), alpha_M=(0, 0)).squeeze()
    np.testing.assert_array_equal(remade.flux, bundled.flux)
    np.testing.assert_array_equal(remade.low, bundled.low)
    np.testing.assert_array_equal(remade.high, bundled.high)


def test_cache_round_trip(tmp_path):
    from specola.grids import save_grid

    grid = load_cache(data_path("grids", "btsettl08_prism_trappist1.h5"))
    path = save_grid(grid.select(Teff=(2500, 2700)), tmp_path / "sub.h5")
    back = load_grid(path)
    np.testing.assert_array_equal(back.flux, grid.flux[2:5])
    assert back.meta == grid.meta and back.flux_unit == grid.flux_unit
