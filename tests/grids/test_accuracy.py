"""Leave-one-node-out interpolation accuracy on the real BT-Settl and CK04 grids (the distribution is printed)."""

import numpy as np
import pytest

from specola.errors import GridError
from specola.grids import load_grid
from specola.grids.accuracy import leave_one_out


def summary(name, errors):
    p50, p90, p99 = np.percentile(errors, [50, 90, 99])
    print(
        f"\n{name}: {errors.size} pixels, |rel err| median {p50:.4f}, 90% {p90:.4f}, 99% {p99:.4f}, "
        f"max {errors.max():.3f}"
    )
    return p50, p90


@pytest.fixture(scope="module")
def btsettl(data_dir):
    grid = load_grid(data_dir / "btsettl08" / "models_btsettl08_JWST-NIRSPEC-PRISM.h5")
    return grid.select(Teff=(2300, 3000), M_H=(0, 0), alpha_M=(0, 0)).squeeze()


def test_leave_one_out_btsettl(btsettl):
    # BT-Settl [M/H]=0 on the PRISM-like sampling, Teff step 100 K: each left-out node is predicted across 200 K
    p50, p90 = summary("BT-Settl Teff (2300-3000 K, 100 K grid)", leave_one_out(btsettl, "Teff"))
    assert p50 < 0.015 and p90 < 0.06
    p50, p90 = summary("BT-Settl logg (4.0-5.5, 0.5 dex grid)", leave_one_out(btsettl, "logg"))
    assert p50 < 0.02 and p90 < 0.08


def test_leave_one_out_ck04(data_dir):
    grid = load_grid(data_dir / "ck04models" / "ckp00").select(logg=(3.5, 5.0))
    p50, p90 = summary("CK04 Teff (3500-6000 K, 250 K grid)", leave_one_out(grid, "Teff"))
    assert p50 < 0.025 and p90 < 0.2
    p50, p90 = summary("CK04 logg (3.5-5.0, 0.5 dex grid)", leave_one_out(grid, "logg"))
    assert p50 < 0.005 and p90 < 0.03


def test_leave_one_out_is_zero_for_linear_models_and_checks_its_axis(btsettl):
    t = btsettl.axes["Teff"][:, None, None]
    linear = type(btsettl)(
        btsettl.axes,
        btsettl.low,
        btsettl.high,
        np.broadcast_to(1 + t * 1e-3, btsettl.flux.shape),
        btsettl.wave_unit,
        btsettl.flux_unit,
    )
    assert np.max(leave_one_out(linear, "Teff")) < 1e-6
    with pytest.raises(GridError, match="unknown grid axis"):
        leave_one_out(btsettl, "[M/H]")
