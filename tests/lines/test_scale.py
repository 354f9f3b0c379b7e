"""One compiled model serves every spectrum of a configuration, whatever its pixel grid."""

import astropy.units as u
import numpy as np
from scipy.special import erf

from specola.instruments import Constant
from specola.lines import LineSpec, build_model, compiled, fit_many
from specola.lines.inference import _Compiled, find_map
from specola.lines.model import bucket
from specola.spectrum import Spectrum

HALPHA = 6564.61
FLAM = u.Unit("1e-17 erg / (s cm2 Angstrom)")
TRUTH = {"flux": 300.0, "sigma": 2.5, "z": 2e-4, "cont": 8.0}


def _spectrum(start, step, stop, seed):
    """Halpha on a flat continuum, pixel means by erf differences (not the fitter's code), 0.4 noise."""
    edges = np.arange(start, stop, step)
    low, high = edges[:-1], edges[1:]
    c, s = HALPHA * (1 + TRUTH["z"]), np.sqrt(2) * TRUTH["sigma"]
    mean = TRUTH["cont"] + TRUTH["flux"] * 0.5 * (erf((high - c) / s) - erf((low - c) / s)) / (high - low)
    flux = mean + 0.4 * np.random.default_rng(seed).standard_normal(low.size)
    res = Constant(HALPHA / 2.3548 / TRUTH["sigma"])  # the LSF alone makes the line
    return Spectrum(low * u.AA, high * u.AA, flux * FLAM, np.full(low.size, 0.4) * FLAM,
                    meta={"name": f"s{seed}", "resolution": res})  # fmt: skip


def _build(spectrum):
    from specola.lines import ContinuumSection, GroupSpec, PriorSpec

    narrow = GroupSpec("narrow", "width", PriorSpec("fixed", loc=0.0))
    return build_model([spectrum], [LineSpec("Halpha")], 0.0, groups=[narrow],
                       continuum=ContinuumSection(regions=((6480.0, 6650.0),)))  # fmt: skip


def test_padding_leaves_the_likelihood_unchanged():
    model = _build(_spectrum(6470.0, 1.0, 6660.0, 1))
    fns = compiled(model)
    assert bucket(model.npix) == 256 and model.padded["flux"].shape == (256,)
    u = fns.unconstrain(find_map(model)[0])
    full = float(fns.value_and_grad(u, model.padded)[0])
    plain = float(fns.value_and_grad(u, model.args)[0])  # unpadded arrays (another compile, same value)
    assert abs(full - plain) < 1e-9 * max(1.0, abs(plain))


def test_other_pixel_grids_reuse_one_compile_and_give_the_same_fit():
    a, b, c = _spectrum(6470.0, 1.0, 6660.0, 2), _spectrum(6465.0, 0.83, 6665.0, 3), _spectrum(6470.0, 0.6, 6660.0, 4)
    ma, mb, mc = _build(a), _build(b), _build(c)
    assert ma.npix != mb.npix and bucket(ma.npix) == bucket(mb.npix) and bucket(mc.npix) > bucket(mb.npix)
    fns = compiled(ma)
    post_a = fit_many([ma], num_samples=2000, seed=1)[0]
    traces = fns.traces
    post_b = fit_many([mb], num_samples=2000, seed=1)[0]
    assert compiled(mb) is fns and fns.traces == traces  # b compiled nothing
    post_c = fit_many([mc], num_samples=2000, seed=1)[0]
    assert compiled(mc) is fns and fns.traces > traces  # c (a larger bucket) compiled
    alone = _build(b)
    alone.plan.compiled["fns"] = _Compiled(alone)  # a separate build with its own compiled functions
    own = find_map(alone)[0]
    for name, v in post_b.map.items():
        assert abs(v - own[name]) <= 1e-6 * max(1.0, abs(own[name])), name
    for model, post in ((ma, post_a), (mb, post_b), (mc, post_c)):  # injection recovery within 4 sigma
        flux = post.flat("flux_Halpha") * model.args["line_unit"].item()
        assert abs(np.mean(flux) - TRUTH["flux"]) < 4 * np.std(flux)
        z = post.flat("z_z")
        assert abs(np.mean(z) - TRUTH["z"]) < 4 * np.std(z)
