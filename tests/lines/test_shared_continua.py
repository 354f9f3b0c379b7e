"""Chebyshev and B-spline continua shared across regions: one function over both windows, known curved truth."""

import astropy.units as u
import numpy as np
import pytest
from lines_helpers import pixel_means

from specola.lines import ContinuumSection, LineSpec, build_model, fit
from specola.spectrum import Spectrum

HALPHA, HBETA = 6564.61, 4862.68
FLAM = u.Unit("1e-17 erg / (s cm2 Angstrom)")
REGIONS = ((4760.0, 4960.0), (6460.0, 6660.0))


def _truth(x):
    """A curved continuum (a parabola in wavelength over both windows), exactly representable by both forms."""
    t = x / 5700.0 - 1
    return 12.0 + 8.0 * t - 40.0 * t**2


def _spectrum(seed=3, noise=0.3):
    edges = np.arange(4700.0, 6750.0, 1.0)
    low, high = edges[:-1], edges[1:]
    mean = pixel_means(low, high, [(HALPHA, 250.0, 300.0), (HBETA, 250.0, 100.0)], 0.0)
    mean += np.asarray([np.mean(_truth(np.linspace(a, b, 9))) for a, b in zip(low, high, strict=True)])
    flux = mean + noise * np.random.default_rng(seed).standard_normal(low.size)
    return Spectrum(low * u.AA, high * u.AA, flux * FLAM, np.full(low.size, noise) * FLAM, meta={"name": "sim"})


@pytest.mark.parametrize(("form", "extra"), [("chebyshev", {"order": 2}), ("bspline", {"knots": 2})])
def test_a_shared_continuum_is_one_function_over_both_windows(form, extra):
    s = _spectrum()
    lines = [LineSpec("Halpha"), LineSpec("Hbeta")]
    shared = ContinuumSection(form=form, regions=REGIONS, share=("all", "all"), **extra)
    model = build_model([s], lines, 0.0, continuum=shared)
    ncoef = 3 if form == "chebyshev" else 6
    assert {n for n in model.plan.sites if n.startswith("cont_")} == {f"cont_all_c{k}" for k in range(ncoef)}
    post = fit(model, "laplace", num_samples=1000, seed=1)
    mean = {n: np.mean(post.flat(n)) for n in post.samples}
    x = 0.5 * (np.asarray(model.args["low"]) + np.asarray(model.args["high"]))
    resid = model.predict(mean)["continuum"] - _truth(x)
    assert np.max(np.abs(resid)) < 0.15, np.max(np.abs(resid))  # noise 0.3 per pixel, ~400 pixels
    flux = post.flat("flux_Halpha") * model.plan.line_unit
    assert abs(np.mean(flux) - 300.0) < 4 * np.std(flux)
    if form == "chebyshev":  # the coefficients are those of the truth on the union of the windows
        from numpy.polynomial import chebyshev

        lo, hi = REGIONS[0][0], REGIONS[1][1]
        grid = np.linspace(lo, hi, 50)
        want = chebyshev.chebfit((2 * grid - lo - hi) / (hi - lo), _truth(grid), 2)
        unit = max(model.plan.cont_unit)
        for k in range(3):
            c = post.flat(f"cont_all_c{k}") * unit
            assert abs(np.mean(c) - want[k]) < 4 * np.std(c), (k, np.mean(c), np.std(c), want[k])
