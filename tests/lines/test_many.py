"""fit_many's batched MAP + Laplace gives what fit gives, spectrum by spectrum (coverage: test_coverage.py)."""

import astropy.units as u
import numpy as np
import pytest
from lines_helpers import C, pixel_means

from specola.errors import SpecolaError
from specola.instruments import Constant
from specola.lines import ContinuumSection, GroupSpec, LineSpec, PriorSpec, build_model, fit, fit_many
from specola.lines._batched import _box_lsq
from specola.lines.model import bucket
from specola.spectrum import Spectrum

FLAM = u.Unit("1e-17 erg / (s cm2 Angstrom)")
R = 3000.0
LINES = [("Halpha", 6564.61, "narrow", 400.0), ("Halpha_broad", 6564.61, "broad", 900.0),
         ("[NII]6585", 6585.27, "narrow", 150.0)]  # fmt: skip
WIDTH = {"narrow": 250.0, "broad": 2500.0}
GROUPS = [
    GroupSpec("z", "redshift", PriorSpec("uniform", low=-0.002, high=0.002)),
    GroupSpec("narrow", "width", PriorSpec("uniform", low=20.0, high=800.0)),
    GroupSpec("broad", "width", PriorSpec("uniform", low="fwhm_narrow + 300", high=8000.0)),
]
Z = 0.01


def _model(step, seed, z=Z):
    """Narrow + broad Halpha and [NII] (pixel means of Gaussians whose widths add the LSF's), on ``step``-A pixels."""
    edges = np.arange(6400.0, 6760.0, step)
    low, high = edges[:-1], edges[1:]
    lines = [(rest * (1 + z), np.hypot(WIDTH[g], C / R), flux) for _, rest, g, flux in LINES]
    err = np.full(low.size, 0.15 * np.sqrt(step))
    flux = pixel_means(low, high, lines, 3.0) + err * np.random.default_rng(seed).standard_normal(low.size)
    s = Spectrum(low * u.AA, high * u.AA, flux * FLAM, err * FLAM, meta={"name": "s", "resolution": Constant(R)})
    specs = [LineSpec(label, wavelength=rest, width=g) for label, rest, g, _ in LINES]
    return build_model([s], specs, z, groups=GROUPS, continuum=ContinuumSection(width_kms=6000.0))


@pytest.fixture(scope="module")
def models():
    """Five spectra: four pixel grids in one length bucket (the last at another redshift), one in a larger bucket."""
    out = [_model(step, seed) for step, seed in ((2.1, 1), (2.2, 2), (1.5, 3), (2.3, 4))] + [_model(2.5, 5, 0.0115)]
    assert len({bucket(m.npix) for m in out}) == 2 and len({m.npix for m in out}) == 5
    assert len({m.plan.structure_key() for m in out}) == 1  # one structure: batched together
    return out


def test_batched_laplace_matches_separate_fits(models):
    """Same MAP (to 1e-3 sigma) and the same Laplace widths (1e-3) as fit, for every model, in order."""
    many = fit_many(models, "laplace", num_samples=4000, seed=3)
    for model, post in zip(models, many, strict=True):
        one = fit(model, "laplace", num_samples=4000, seed=3)
        assert post.method == "laplace" and post.diagnostics["hessian_nonpositive"] == 0
        assert post.samples.keys() == one.samples.keys()
        for name in one.samples:
            sigma = np.std(one.flat(name))
            assert abs(post.map[name] - one.map[name]) < 1e-3 * sigma, name
            assert post.samples[name].shape == one.samples[name].shape == (1, 4000)
            assert abs(np.std(post.flat(name)) / sigma - 1) < 1e-3, name


def test_work_queue_and_padding_give_the_same_maps(models, monkeypatch):
    """Two slots for three models (each slot takes the next model when done; the segment repeats the last one)."""
    from specola.lines import _batched

    three = [models[0], models[1], models[3]]
    ref = fit_many(three, "map")
    monkeypatch.setattr(_batched, "_CHUNK", 2)
    for a, b in zip(ref, fit_many(three, "map"), strict=True):
        for name, v in a.map.items():
            assert abs(b.map[name] - v) <= 1e-9 * max(1.0, abs(v)), name


def test_batched_map_matches_fit_map(models):
    many = fit_many(models[:2], "map")
    for model, post in zip(models[:2], many, strict=True):
        one = fit(model, "laplace", num_samples=1000)
        assert post.method == "map" and post.samples["z_z"].shape == (1, 1)
        for name, v in one.map.items():
            assert abs(post.map[name] - v) < 1e-3 * np.std(one.flat(name)), name


def test_the_batched_functions_are_kept_on_disk(models, tmp_path, monkeypatch):
    """The scans and Newton steps are stored as traces (jax.export), so a later process need not trace them."""
    from specola.lines._exported import export_dir
    from specola.lines.inference import compiled

    monkeypatch.setenv("SPECOLA_CACHE_DIR", str(tmp_path))
    compiled(models[0]).extra.pop("batched", None)  # fresh batched functions: set up (and stored) here
    fit_many(models[:2], "laplace", num_samples=10)
    stored = {p.name.rsplit("-", 1)[0] for p in export_dir().glob("*.jaxexport")}
    assert {"batched_scan", "batched_newton_2"} <= stored, stored


def test_fit_many_rejects_what_fit_rejects(models):
    with pytest.raises(SpecolaError, match="fit method"):
        fit_many(models[:1], "mcmc")
    with pytest.raises(TypeError):
        fit_many(models[:1], "laplace", num_draws=10)


@pytest.mark.parametrize("n", [6, 14])  # the unrolled Cholesky solve, and LU beyond _UNROLL unknowns
def test_box_lsq_matches_scipy_bvls(n):
    """The active-set bounded least squares equals SciPy's BVLS on random problems with every kind of bound."""
    from scipy.optimize import lsq_linear

    from specola.lines._jax import configure

    configure()  # float64, as in fit_many (run alone, this test would otherwise solve in float32)
    rng = np.random.default_rng(0)
    for _ in range(30):
        a = rng.standard_normal((40, n)) * rng.uniform(0.01, 100, n)
        y = rng.standard_normal(40) * 3
        lo = np.where(rng.random(n) < 0.3, -np.inf, rng.uniform(-0.5, 0, n) / np.abs(a).max(axis=0))
        hi = np.where(rng.random(n) < 0.3, np.inf, rng.uniform(0, 0.5, n) / np.abs(a).max(axis=0))
        want = lsq_linear(a, y, bounds=(lo, hi), method="bvls", tol=1e-15).x
        got = np.asarray(_box_lsq(a, y, lo, hi))
        np.testing.assert_allclose(got, want, rtol=1e-7, atol=1e-9 * np.abs(want).max())
