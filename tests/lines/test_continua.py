"""Blackbody, B-spline and shared continua: recovery on spectra simulated with NumPy (not the fitter's code)."""

import astropy.units as u
import numpy as np
import pytest
from scipy.interpolate import BSpline
from scipy.special import erf

from specola.errors import ConfigError
from specola.instruments import Constant
from specola.lines import ContinuumSection, LineSpec, build_model, fit
from specola.spectrum import Spectrum

HALPHA, HBETA = 6564.61, 4862.68
FLAM = u.Unit("1e-17 erg / (s cm2 Angstrom)")
C2 = 1.438776877e8  # h c / k in A K


def _spectrum(edges, continuum, rng, lines=((HALPHA, 300.0),), sigma=2.0, noise=0.3):
    """Pixel means on 20 sub-pixels of ``continuum(x)`` plus Gaussian lines, with noise."""
    low, high = edges[:-1], edges[1:]
    sub = low[:, None] + (np.arange(20) + 0.5) / 20 * (high - low)[:, None]
    mean = continuum(sub).mean(axis=1)
    for w, f in lines:
        s = np.sqrt(2) * sigma
        mean = mean + f * 0.5 * (erf((high - w) / s) - erf((low - w) / s)) / (high - low)
    return Spectrum(low * u.AA, high * u.AA, (mean + noise * rng.standard_normal(low.size)) * FLAM,
                    np.full(low.size, noise) * FLAM, meta={"name": "sim", "resolution": Constant(1300.0)})  # fmt: skip


def _planck(x, temperature):
    return x**-5 / np.expm1(C2 / (x * temperature))


@pytest.fixture(scope="module")
def blackbody():
    edges = np.arange(6200.0, 6950.0, 1.5)
    temperature, ref = 7000.0, 6575.0  # region ref: the window centre
    cont = lambda x: 20.0 * _planck(x, temperature) / _planck(ref, temperature)
    s = _spectrum(edges, cont, np.random.default_rng(3))
    cfg = ContinuumSection(form="blackbody", regions=((6200.0, 6950.0),))
    model = build_model([s], [LineSpec("Halpha")], 0.0, continuum=cfg)
    return model, fit(model, "laplace", num_samples=2000, seed=2), temperature


def test_blackbody_temperature_is_recovered(blackbody):
    model, post, temperature = blackbody
    t = post.flat("Tbb_r0")
    assert abs(np.mean(t) - temperature) < 3.5 * np.std(t)
    assert np.std(t) < 0.1 * temperature
    norm = post.flat("cont_r0_norm") * model.plan.cont_unit[0]
    assert abs(np.mean(norm) - 20.0) < 3.5 * np.std(norm)


def test_bspline_follows_a_curved_continuum():
    edges = np.arange(6400.0, 6730.0, 1.0)
    lo, hi, knots = 6400.0, 6729.0, 3
    step = (hi - lo) / (knots + 1)
    kv = lo + (np.arange(knots + 8) - 3) * step
    coef = np.array([12.0, 9.0, 15.0, 11.0, 8.0, 14.0, 10.0])
    truth = BSpline(kv, coef, 3)  # SciPy's spline with the same knots
    s = _spectrum(edges, truth, np.random.default_rng(4))
    cfg = ContinuumSection(form="bspline", knots=knots, regions=((6400.0, 6729.0),))
    model = build_model([s], [LineSpec("Halpha")], 0.0, continuum=cfg)
    post = fit(model, "laplace", num_samples=2000, seed=3)
    mean = {n: np.mean(post.flat(n)) for n in post.samples}
    fitted = model.predict(mean)["continuum"]
    x = 0.5 * (s.low.value + s.high.value)
    resid = fitted - truth(x)
    assert np.max(np.abs(resid)) < 0.2, np.max(np.abs(resid))  # noise 0.3 per pixel; 7 coefficients
    flat = build_model([s], [LineSpec("Halpha")], 0.0, continuum=ContinuumSection(regions=cfg.regions))
    linear = flat.predict({n: np.mean(v) for n, v in fit(flat, "map").samples.items()})["continuum"]
    assert np.max(np.abs(linear - truth(x))) > 1.0  # a straight line cannot follow it


def test_shared_power_law_across_two_windows():
    """Halpha and Hbeta windows with one power law: the two windows constrain one norm and slope."""
    edges = np.arange(4700.0, 6800.0, 2.0)
    beta, ref = -1.7, 0.5 * (0.5 * (4760 + 4960) + 0.5 * (6460 + 6660))
    cont = lambda x: 15.0 * (x / ref) ** beta
    s = _spectrum(edges, cont, np.random.default_rng(6), lines=((HALPHA, 300.0), (HBETA, 100.0)))
    cfg = ContinuumSection(form="powerlaw", regions=((4760.0, 4960.0), (6460.0, 6660.0)), share=("pl", "pl"))
    model = build_model([s], [LineSpec("Halpha"), LineSpec("Hbeta")], 0.0, continuum=cfg)
    assert {n for n in model.plan.sites if n.startswith(("cont_", "Tbb_"))} == {"cont_pl_norm", "cont_pl_beta"}
    post = fit(model, "laplace", num_samples=2000, seed=4)
    b = post.flat("cont_pl_beta")
    assert abs(np.mean(b) - beta) < 3.5 * np.std(b)
    assert np.std(b) < 0.1
    norm = post.flat("cont_pl_norm") * max(model.plan.cont_unit)
    assert abs(np.mean(norm) - 15.0) < 3.5 * np.std(norm)
    with pytest.raises(ConfigError, match=r"continuum\.share has 1 name"):
        bad = ContinuumSection(form="powerlaw", regions=cfg.regions, share=("pl",))
        build_model([s], [LineSpec("Halpha"), LineSpec("Hbeta")], 0.0, continuum=bad)
