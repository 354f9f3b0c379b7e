"""--compare reads the data, builds the grid and pre-bins the model once; only the parameter space varies."""

from specola.grids import StellarGrid
from specola.stellar import StellarConfig, compare
from specola.stellar.model import Components
from specola.stellar.run import with_overrides


def test_compare_prepares_once(grid, trappist1, simulate_fn, monkeypatch):
    data = simulate_fn(grid, trappist1, Components(2600, 2450, 2700, 0.1, 0.0, 5.0, 5.0, 4.8e-10), 3.0)
    calls = []
    original = StellarGrid.bin_to
    monkeypatch.setattr(StellarGrid, "bin_to", lambda self, *a, **k: calls.append(1) or original(self, *a, **k))
    cfg = with_overrides(
        StellarConfig(),
        fit={"logg_phot": False, "logg_het": False, "error_inflation": False, "het_temperatures": False},
        sampling={"nsteps": 60, "walkers_per_dim": 4, "optimize_start": False, "progress": False},
    )
    result = compare(cfg, data=data)
    assert len(calls) == 1
    setups = [r.setup for r in result.results.values()]
    assert all(s.model is setups[0].model and s.pre is setups[0].pre for s in setups)
    names = {name: r.setup.space.names for name, r in result.results.items()}
    assert names == {
        "photosphere": ["Tphot", "logFscale"],
        "spots": ["fspot", "Tphot", "logFscale"],
        "faculae": ["ffac", "Tphot", "logFscale"],
        "spots+faculae": ["fspot", "ffac", "Tphot", "logFscale"],
    }
