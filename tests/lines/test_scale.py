"""One compiled model serves every spectrum of a configuration, whatever its pixel grid."""

import astropy.units as u
import numpy as np
from scipy.special import erf

from specola.instruments import Constant
from specola.lines import ContinuumSection, LineSpec, build_model, compiled, fit
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
    assert bucket(model.npix) == 192 and model.padded["flux"].shape == (192,)  # 170 pixels
    u = fns.unconstrain(find_map(model)[0])
    full = float(fns.value_and_grad(u, model.padded)[0])
    plain = float(fns.value_and_grad(u, model.args)[0])  # unpadded arrays (another compile, same value)
    assert abs(full - plain) < 1e-9 * max(1.0, abs(plain))


def test_other_pixel_grids_reuse_one_compile_and_give_the_same_fit():
    a, b, c = _spectrum(6470.0, 1.0, 6660.0, 2), _spectrum(6468.0, 1.05, 6662.0, 3), _spectrum(6470.0, 0.6, 6660.0, 4)
    ma, mb, mc = _build(a), _build(b), _build(c)
    assert ma.npix != mb.npix and bucket(ma.npix) == bucket(mb.npix) and bucket(mc.npix) > bucket(mb.npix)
    fns = compiled(ma)
    post_a = fit(ma, "laplace", num_samples=2000, seed=1)
    traces = fns.traces
    post_b = fit(mb, "laplace", num_samples=2000, seed=1)
    assert compiled(mb) is fns and fns.traces == traces  # b compiled nothing
    post_c = fit(mc, "laplace", num_samples=2000, seed=1)
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


def test_a_fixed_redshift_comes_from_the_model_args():
    from specola.lines import GroupSpec, PriorSpec

    fixed_z = [
        GroupSpec("z", "redshift", PriorSpec("fixed", loc=0.0)),
        GroupSpec("narrow", "width", PriorSpec("fixed", loc=0.0)),
    ]
    spectrum = _spectrum(6470.0, 1.0, 6660.0, 5)
    m0, m1 = (build_model([spectrum], [LineSpec("Halpha")], z0, groups=fixed_z,
                          continuum=ContinuumSection(regions=((6480.0, 6650.0),))) for z0 in (0.0, 1e-3))  # fmt: skip
    assert m0.plan.structure_key() == m1.plan.structure_key() and m1.plan.fixed["z_z"] == 1e-3
    fns = compiled(m0)
    params = {"flux_Halpha": 1.0, "cont_r0_c0": 0.0, "cont_r0_c1": 0.0}
    for model, z0 in ((m0, 0.0), (m1, 1e-3)):
        line = np.asarray(fns.predict(params, model.padded)["lines"])[: model.npix, 0]
        centre = 0.5 * (np.asarray(model.args["low"]) + np.asarray(model.args["high"]))
        assert abs(np.sum(centre * line) / np.sum(line) - HALPHA * (1 + z0)) < 0.01


def test_spectra_at_other_redshifts_share_one_compile():
    """A survey: each object at its own catalogue redshift, one compiled model (the DJA object, stretched)."""
    from specola import batch
    from specola.lines import fit
    from specola.lines.demo import demo_config
    from specola.lines.run import load_spectra

    cfg = demo_config()
    (prism,), bindings = load_spectra(cfg)
    stretch = (1 + 3.60) / (1 + 3.55)
    moved = prism.replace(low=prism.low * stretch, high=prism.high * stretch)
    kw = dict(groups=cfg.groups, calibration=cfg.calibration, continuum=cfg.continuum, bindings=bindings)
    m1, m2 = build_model([prism], cfg.lines, 3.55, **kw), build_model([moved], cfg.lines, 3.60, **kw)
    assert m1.plan.structure_key() == m2.plan.structure_key()
    assert m1.plan.sites["z_z"] != m2.plan.sites["z_z"]  # the priors differ by their run-time shift only
    batch._WORKER_CACHE.pop(("specola.lines.compiled", m1.plan.structure_key()), None)  # start cold
    fns = compiled(m1)
    z1, z2 = fit(m1, "map").map["z_z"], fit(m2, "map").map["z_z"]
    assert compiled(m2) is fns and fns.traces == 1
    assert abs(z1 - 3.55) < 0.01 and abs(z2 - 3.60) < 0.01
    assert abs((1 + z2) / (1 + z1) - stretch) < 5e-5, (z1, z2)  # each fit finds its own object's redshift
