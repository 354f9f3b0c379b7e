"""The vectorised log density (specola.lines._density) against NumPyro's potential_energy of model.model_fn."""

import astropy.units as u
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from lines_helpers import pixel_means
from numpyro.infer.util import constrain_fn, potential_energy

from specola.lines import CalibrationSpec, GroupSpec, LineSpec, PriorSpec, SpectrumSpec, build_model
from specola.lines._exported import supported
from specola.lines.inference import _OPTIONS, _preconditioner, compiled, find_map
from specola.lines.model import _on_grid
from specola.spectrum import Spectrum

HALPHA, NII = 6564.61, 6585.27


@pytest.fixture(scope="module")
def model():
    """Every prior family, static and dependent (bounds and a location that are expressions), a fixed value."""
    edges = np.arange(6450.0, 6680.0, 1.0)
    low, high = edges[:-1], edges[1:]
    mean = pixel_means(low, high, [(HALPHA, 250.0, 400.0), (HALPHA, 2500.0, 300.0), (NII, 250.0, 100.0)], 10.0)
    noise = 0.5 * np.random.default_rng(3).standard_normal(low.size)
    flam = u.Unit("1e-17 erg / (s cm2 Angstrom)")
    spectrum = Spectrum(low * u.AA, high * u.AA, (mean + noise) * flam, np.full(low.size, 0.5) * flam,
                        meta={"name": "sim"})  # fmt: skip
    mid = PriorSpec("truncnormal", loc="2 * fwhm_narrow", scale=300.0, low="fwhm_narrow", high=5000.0)
    groups = [
        GroupSpec("z", "redshift", PriorSpec("truncnormal", loc=0.001, scale=0.002, low=-0.004, high=0.005)),
        GroupSpec("narrow", "width", PriorSpec("loguniform", low=30.0, high=3000.0)),
        GroupSpec("broad", "width", PriorSpec("uniform", low="fwhm_narrow + 150", high=10000.0)),
        GroupSpec("mid", "width", mid),
        GroupSpec("far", "width", PriorSpec("loguniform", low="fwhm_mid / 2", high=8000.0)),
    ]
    lines = [LineSpec("Halpha"), LineSpec("Halpha", label="Halpha_broad", width="broad", profile="laplace"),
             LineSpec("[NII]6585", width="mid"), LineSpec("[NII]6550", width="far")]  # fmt: skip
    calib = [CalibrationSpec("fs", "flux_scale", PriorSpec("normal", loc=1.0, scale=0.2)),
             CalibrationSpec("po", "pix_offset", PriorSpec("fixed", loc=0.25))]  # fmt: skip
    return build_model([spectrum], lines, 0.0, groups=groups, calibration=calib,
                       bindings=[SpectrumSpec(flux_scale="fs", pix_offset="po")])  # fmt: skip


def test_the_gradient_compiles_to_no_loop(model):
    """No gather with a gradient: XLA's CPU code (as specola compiles it) runs a scatter-add as a loop (_indexing)."""
    fns = compiled(model)
    lowered = jax.jit(jax.value_and_grad(fns.potential)).lower(jnp.zeros(len(fns.names)), model.padded)
    assert " while(" not in lowered.compile(supported(_OPTIONS)).as_text()


def _unravel(fns, u):
    return {n: u[i] for i, n in enumerate(fns.names)}


@pytest.mark.parametrize("z0", [0.0, 0.002])  # z0 travels in args: the redshift prior is shifted at run time
def test_potential_and_constrain_equal_numpyros(model, z0):
    fns = compiled(model)
    args = {**model.padded, "z0": jnp.asarray(z0)}
    kinds = {model.plan.sites[n].kind for n in fns.names}
    assert kinds == {"uniform", "loguniform", "normal", "truncnormal"}
    assert any(model.plan.sites[n].names for n in fns.names if model.plan.sites[n].kind == "truncnormal")

    def numpyro_pe(u):
        return potential_energy(model.model_fn, (args,), {}, _unravel(fns, u))

    rng = np.random.default_rng(0)
    for _ in range(3):
        u = jnp.asarray(rng.normal(0.0, 2.0, len(fns.names)))
        want, got = numpyro_pe(u), fns.potential(u, args)
        assert abs(float(got) - float(want)) < 1e-9 * abs(float(want))
        np.testing.assert_allclose(jax.grad(fns.potential)(u, args), jax.grad(numpyro_pe)(u), rtol=1e-9, atol=1e-9)
        want_x = constrain_fn(model.prior_fn, (args,), {}, _unravel(fns, u))
        got_x = fns.constrain(u[None], args)
        for n in fns.names:
            assert float(got_x[n][0]) == pytest.approx(float(want_x[n]), rel=1e-12, abs=1e-15)


@pytest.mark.parametrize("z0", [0.0, 0.002])
def test_host_transforms_match_the_compiled_one(model, z0):
    fns = compiled(model)
    args = {**model.padded, "z0": jnp.asarray(z0)}
    u = np.random.default_rng(1).normal(0.0, 1.5, len(fns.names))
    x = fns.constrain(jnp.asarray(u)[None], args)
    point = fns.constrain_point(u, args)
    for n in fns.names:
        assert point[n] == pytest.approx(float(x[n][0]), rel=1e-13, abs=1e-16)
    np.testing.assert_allclose(fns.unconstrain(point, args), u, rtol=1e-8, atol=1e-8)


def test_the_reverse_mode_potential_has_the_potentials_value_and_gradient(model):
    """NUTS differentiates ``reverse_potential`` (the shared trace of the gradient): same value and gradient."""
    fns = compiled(model)
    args = model.padded
    for x in np.random.default_rng(2).normal(0.0, 1.5, (3, len(fns.names))):
        want_v, want_g = jax.value_and_grad(fns.potential)(jnp.asarray(x), args)
        got_v, got_g = jax.jit(jax.value_and_grad(fns.reverse_potential))(jnp.asarray(x), args)
        assert float(got_v) == pytest.approx(float(want_v), rel=1e-13)
        np.testing.assert_allclose(got_g, want_g, rtol=1e-10, atol=1e-10)


def test_the_starting_scans_design_matrix_holds_the_linear_parameters_columns(model):
    """The model is linear in ``fns.linear`` (not in a FluxScale token): each column is the model at a unit vector."""
    from specola.lines.model import predict

    fns = compiled(model)
    args = model.padded
    values = np.random.default_rng(4).uniform(0.2, 2.0, len(fns.names))
    p = {**dict(zip(fns.names, values, strict=True)), "z_z": 0.001, "fwhm_narrow": 300.0}
    assert "flux_scale_fs" in fns.names and "flux_scale_fs" not in fns.linear
    got = np.asarray(fns.design_many({n: np.asarray([v]) for n, v in p.items()}, args))[0]
    for j, name in enumerate(fns.linear):
        q = {n: jnp.asarray(1.0 if n == name else 0.0 if n in fns.linear else v) for n, v in p.items()}
        want = np.asarray(predict(model.plan, q, args)["total"])
        assert np.abs(want).max() > 0
        np.testing.assert_allclose(got[:, j], want, rtol=1e-10, atol=1e-12 * np.abs(want).max())


def test_resolution_tables_interpolate_as_numpy():
    grid = np.stack([np.linspace(4000.0, 5000.0, 64), np.linspace(6000.0, 9000.0, 64), np.full(64, 7000.0)])
    table = np.random.default_rng(2).uniform(1e-4, 1e-3, (3, 64))
    x = np.array([3000.0, 4000.0, 4321.5, 5000.0, 6000.0, 6500.25, 8999.9, 9000.0, 9500.0])
    got = np.asarray(_on_grid(jnp.asarray(x), jnp.asarray(grid), jnp.asarray(table)))
    for k in range(2):
        np.testing.assert_allclose(got[k], np.interp(x, grid[k], table[k]), rtol=1e-13)
    np.testing.assert_allclose(got[2], table[2, 0])  # a degenerate grid (no pixels of that spectrum): its first value


def test_a_flux_prior_in_physical_units_compiles_once_for_any_flux_scale(model):
    """The prior's 1 / line_unit travels in args: a spectrum 3x brighter has the same structure and density."""
    flux = PriorSpec("uniform", low=0.0, high=2000.0)
    lines = [LineSpec("Halpha", prior=flux), LineSpec("[NII]6585", prior=flux)]
    s = model.spectra[0]
    spectra = [s.replace(flux=s.flux * k, error=s.error * k) for k in (1.0, 3.0)]
    a, b = (build_model([s], lines, 0.0) for s in spectra)
    assert a.plan.line_unit != pytest.approx(b.plan.line_unit)
    assert a.plan.structure_key() == b.plan.structure_key()
    fns = compiled(a)  # b shares a's compiled functions
    assert compiled(b) is fns
    u = jnp.asarray(np.random.default_rng(4).normal(0.0, 1.0, len(fns.names)))
    want = potential_energy(b.model_fn, (b.padded,), {}, _unravel(fns, u))
    assert float(fns.potential(u, b.padded)) == pytest.approx(float(want), rel=1e-10)
    x = fns.constrain_point(np.asarray(u), b.padded)
    assert 0.0 < x["flux_Halpha"] * b.plan.line_unit < 2000.0  # the config's bounds, in the flux unit x A


def test_the_preconditioner_whitens_the_curvature_negative_directions_by_their_magnitude():
    rng = np.random.default_rng(4)
    q, _ = np.linalg.qr(rng.standard_normal((5, 5)))
    h = q @ np.diag([1e8, 3.0, 1e-1, -2.0, 0.5]) @ q.T  # ill-conditioned, one negative curvature
    s = _preconditioner(h)
    np.testing.assert_allclose(s.T @ h @ s, np.diag([-1.0, 1, 1, 1, 1]), atol=1e-6)  # eigenvalues ascending
    np.testing.assert_array_equal(_preconditioner(np.full((2, 2), np.nan)), np.eye(2))


def test_the_map_is_a_stationary_point_below_an_unpreconditioned_search(model):
    """The MAP's gradient vanishes in units of the posterior widths; plain L-BFGS from the same start ends no lower."""
    from scipy.optimize import minimize

    from specola.lines.inference import _initial, hessian

    fns = compiled(model)
    _, u = find_map(model)
    value, grad = fns.value_and_grad(u, model.padded)
    s = _preconditioner(hessian(model, u))
    assert np.max(np.abs(s.T @ np.asarray(grad))) < 1e-4  # within 1e-4 posterior sigma of the optimum
    u0 = fns.unconstrain(_initial(model, fns), model.padded)
    f = lambda x: tuple(np.asarray(r, float) for r in fns.value_and_grad(x, model.padded))
    plain = minimize(f, u0, jac=True, method="L-BFGS-B", options={"maxiter": 5000, "ftol": 1e-13, "gtol": 1e-8})
    assert float(value) <= plain.fun + 1e-9
