import pickle

import numpy as np
import pytest

from specola.errors import GridError
from specola.stellar.model import BinnedModel, Components


def test_evaluate_matches_grid_interpolation(grid, trappist1):
    binned = grid.bin_to(trappist1.apply_mask())
    model = BinnedModel(binned)
    c = Components(2566.0, 2345.0, 2777.0, 0.2, 0.1, 4.8, 4.3, 3.0)
    expected = 3.0 * (0.7 * binned.at(2566.0, 4.8) + 0.2 * binned.at(2345.0, 4.3) + 0.1 * binned.at(2777.0, 4.3))
    np.testing.assert_allclose(model.evaluate(c), expected, rtol=1e-12)
    many = model.evaluate_many(
        [2566.0, 2500.0], [2345.0, 2400.0], [2777.0, 2600.0], [0.2, 0.0], [0.1, 0.3], [4.8, 5.5], [4.3, 4.0], [3.0, 1.0]
    )
    np.testing.assert_allclose(many[0], expected, rtol=1e-12)
    exp2 = 0.7 * binned.at(2500.0, 5.5) + 0.3 * binned.at(2600.0, 4.0)
    np.testing.assert_allclose(many[1], exp2, rtol=1e-12)


def test_interpolation_is_not_nearest_node(grid):
    # between nodes the model varies continuously (a nearest-node lookup would be a staircase)
    model = BinnedModel(grid)
    f = [model.evaluate(Components(t, t, t, 0, 0, 5.0, 5.0)).sum() for t in (2510.0, 2530.0, 2550.0)]
    assert f[0] < f[1] < f[2]


def test_outside_grid_raises(grid):
    model = BinnedModel(grid)
    with pytest.raises(GridError, match="outside"):
        model.evaluate(Components(2566.0, 2000.0, 2700.0, 0.1, 0.1, 5.0, 5.0))


def test_model_pickles_small(grid, trappist1):
    model = BinnedModel(grid.bin_to(trappist1.apply_mask()))
    assert len(pickle.dumps(model)) < 1_000_000
