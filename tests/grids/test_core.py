"""StellarGrid: interpolation, missing nodes, errors, selection and pre-binning accuracy."""

import astropy.units as u
import numpy as np
import pytest

from specola.data import data_path
from specola.errors import GridError
from specola.grids import StellarGrid, load_cache
from specola.io import read
from specola.spectrum import Spectrum


@pytest.fixture(scope="module")
def bundled():
    return load_cache(data_path("grids", "btsettl08_prism_trappist1.h5"))


@pytest.fixture(scope="module")
def trappist():
    return read(data_path("spectra", "trappist1_nirspec_prism_outoftransit.csv"))


def linear_grid(missing=()):
    """A 3-axis grid whose flux is linear in the parameters, so interpolation is exact."""
    axes = {
        "Teff": np.array([3000.0, 3500, 4200]),
        "logg": np.array([4.0, 4.5, 5.0, 5.5]),
        "[M/H]": np.array([-0.5, 0]),
    }
    wave = np.linspace(1, 2, 11)
    lo, hi = wave[:-1], wave[1:]
    t, g, m = np.meshgrid(*axes.values(), indexing="ij")
    flux = (t[..., None] * 1e-3 + 2 * g[..., None] - m[..., None]) * (1 + lo)
    for node in missing:
        flux[node] = np.nan
    return StellarGrid(axes, lo, hi, flux.astype(np.float64), u.um, u.erg / u.s / u.cm**2 / u.um)


def truth(teff, logg, mh, lo):
    return (teff * 1e-3 + 2 * logg - mh) * (1 + lo)


def test_interpolate_vectorised_and_at_agree_and_are_exact_for_linear_models():
    grid = linear_grid()
    rng = np.random.default_rng(1)
    pts = np.column_stack([rng.uniform(3000, 4200, 50), rng.uniform(4, 5.5, 50), rng.uniform(-0.5, 0, 50)])
    many = grid.interpolate(pts)
    for p, row in zip(pts, many, strict=True):
        np.testing.assert_allclose(row, truth(*p, grid.low), rtol=1e-12)
        np.testing.assert_allclose(grid.at(*p), row, rtol=1e-12)
    by_name = grid.interpolate({"Teff": pts[:, 0], "logg": pts[:, 1], "[M/H]": pts[:, 2]})
    np.testing.assert_allclose(by_name, many)
    # nodes and the upper edges of each axis are exact too
    np.testing.assert_allclose(grid.at(4200.0, 5.5, 0.0), truth(4200, 5.5, 0, grid.low), rtol=1e-12)


def test_at_two_axis_fast_path_matches_interpolate(bundled):
    rng = np.random.default_rng(2)
    for teff, logg in zip(rng.uniform(2300, 3000, 30), rng.uniform(4, 5.5, 30), strict=True):
        np.testing.assert_allclose(
            bundled.at(teff, logg), bundled.interpolate({"Teff": [teff], "logg": [logg]})[0], rtol=1e-6
        )
    np.testing.assert_array_equal(bundled.at(3000.0, 5.5), bundled.flux[-1, -1])


def test_out_of_range_error_names_the_axis():
    grid = linear_grid()
    with pytest.raises(GridError, match=r"logg = 6 is outside the grid \(4 to 5.5\)"):
        grid.at(3500.0, 6.0, 0.0)
    with pytest.raises(GridError, match=r"Teff = 2900"):
        grid.interpolate({"Teff": [2900], "logg": [4.5], "[M/H]": [0]})
    with pytest.raises(GridError, match=r"\[M/H\] = nan"):
        grid.at(3500.0, 4.5, float("nan"))


def test_missing_nodes_are_reported_never_zero_filled():
    grid = linear_grid(missing=[(1, 2, 0)])
    assert grid.present.sum() == grid.present.size - 1
    assert "23/24 nodes present" in repr(grid)
    with pytest.raises(GridError, match=r"missing model at Teff=3500, logg=5, \[M/H\]=-0.5"):
        grid.interpolate({"Teff": [3400.0], "logg": [4.9], "[M/H]": [-0.3]})
    assert np.all(np.isnan(grid.at(3400.0, 4.9, -0.3)))
    # points whose enclosing nodes all exist are unaffected
    np.testing.assert_allclose(grid.at(3100.0, 4.2, -0.2), truth(3100, 4.2, -0.2, grid.low), rtol=1e-12)
    params, flux = grid.nearest(Teff=3500.0, logg=5.0, **{"[M/H]": -0.5})
    assert params != {"Teff": 3500.0, "logg": 5.0, "[M/H]": -0.5} and np.all(np.isfinite(flux))


def test_from_models_rejects_duplicates_and_bad_flux():
    wave = np.linspace(1, 2, 5)
    with pytest.raises(GridError, match="duplicated"):
        StellarGrid.from_models({"Teff": [3000, 3000]}, wave, np.ones((2, 5)), source="x.h5")
    with pytest.raises(GridError, match=r"x\.h5: .*negative"):
        StellarGrid.from_models({"Teff": [3000]}, wave, -np.ones((1, 5)), source="x.h5")
    with pytest.raises(GridError, match="NaN"):
        StellarGrid.from_models({"Teff": [3000]}, wave, np.full((1, 5), np.nan))


def test_select_and_squeeze(bundled):
    sub = bundled.select(wave_range=(1.0, 2.0), Teff=(2500, 2700), logg=(5.0, 5.0))
    assert sub.axes["Teff"].tolist() == [2500, 2600, 2700] and sub.axes["logg"].tolist() == [5.0]
    assert sub.low[0] < 1.0 + 0.006 and sub.high[-1] > 2.0 - 0.006
    flat = sub.squeeze()
    assert flat.names == ("Teff",) and flat.meta["logg"] == 5.0
    np.testing.assert_array_equal(flat.at(2600.0), sub.at(2600.0, 5.0))
    with pytest.raises(GridError, match="no Teff node"):
        bundled.select(Teff=(3100, 3200))


def brute_force_bin(low, high, flux, out_low, out_high):
    """Flux-conserving integration of a piecewise-constant model: cumulative integral at the output edges."""
    cum = np.concatenate([[0.0], np.cumsum(flux * (high - low))])
    edges = np.concatenate([low, [high[-1]]])

    def integral(x):
        i = np.clip(np.searchsorted(edges, x, side="right") - 1, 0, low.size - 1)
        return cum[i] + flux[i] * (x - edges[i])

    return (integral(out_high) - integral(out_low)) / (out_high - out_low)


def test_bin_to_matches_brute_force_integration(bundled, trappist):
    binned = bundled.bin_to(trappist)
    assert binned.flux.shape == (8, 4, len(trappist)) and binned.flux.flags["C_CONTIGUOUS"]
    lo, hi = trappist.low.to_value(u.um), trappist.high.to_value(u.um)
    worst = 0.0
    for node in np.ndindex(8, 4):
        expected = brute_force_bin(bundled.low, bundled.high, bundled.flux[node].astype(float), lo, hi)
        worst = max(worst, np.max(np.abs(binned.flux[node] / expected - 1)))
    assert worst < 1e-10, worst
    # interpolating the binned grid equals binning the interpolated model (both are linear maps)
    direct = brute_force_bin(bundled.low, bundled.high, bundled.at(2566.0, 5.21), lo, hi)
    np.testing.assert_allclose(binned.at(2566.0, 5.21), direct, rtol=1e-10)


def test_bin_to_with_partial_pixels_and_resolution(bundled):
    edges = np.array([1.0, 1.0031, 1.2, 1.2001, 3.3]) * u.um  # partial-pixel overlaps, tiny and wide bins
    binned = bundled.bin_to((edges[:-1], edges[1:]))
    expected = brute_force_bin(
        bundled.low, bundled.high, bundled.flux[3, 2].astype(float), edges[:-1].value, edges[1:].value
    )
    np.testing.assert_allclose(binned.flux[3, 2], expected, rtol=1e-10)
    smooth = bundled.bin_to((edges[:-1], edges[1:]), resolution=50.0)
    # convolution conserves flux: a wide bin changes little, the tiny bin changes a lot
    assert abs(smooth.flux[3, 2, 3] / binned.flux[3, 2, 3] - 1) < 0.01
    with pytest.raises(GridError, match="extends beyond the grid"):
        bundled.bin_to((np.array([0.3]) * u.um, np.array([0.6]) * u.um))


def test_bin_to_spectrum_in_other_units(bundled, trappist):
    in_aa = Spectrum(trappist.low.to(u.AA), trappist.high.to(u.AA), trappist.flux, trappist.error)
    np.testing.assert_allclose(bundled.bin_to(in_aa).flux, bundled.bin_to(trappist).flux, rtol=1e-12)


def test_injection_recovery_with_prebinned_grid(bundled, trappist):
    """Simulate TRAPPIST-1-like data from the pre-binned grid off the nodes, fit with at(), recover the truth."""
    from scipy.optimize import least_squares

    binned = bundled.bin_to(trappist)
    good = trappist.good
    truth_p = np.array([2566.0, 5.21, 3.1e-21])  # Teff, logg, dilution (R/d)^2
    model = binned.at(*truth_p[:2]) * truth_p[2]
    sigma = 0.01 * model[good].mean() * np.ones(good.sum())
    rng = np.random.default_rng(7)
    data = model[good] + rng.normal(0, sigma)

    def resid(p):
        return (binned.at(p[0], p[1])[good] * p[2] * 1e-21 - data) / sigma

    fit = least_squares(resid, [2700.0, 4.8, 3.0], bounds=([2300, 4.0, 0.1], [3000, 5.5, 10]), x_scale=[100, 0.3, 0.3])
    cov = np.linalg.inv(fit.jac.T @ fit.jac)
    err = np.sqrt(np.diag(cov))
    recovered = fit.x * [1, 1, 1e-21]
    pulls = (recovered - truth_p) / (err * [1, 1, 1e-21])
    assert np.all(np.abs(pulls) < 4), pulls
