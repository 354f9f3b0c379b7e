"""Semantics of the line model: PixOffset sign, priors (expressions, cycles), errors before compilation,
sampler diagnostics, SVI, file resolution, the instrument configuration."""

import logging

import astropy.units as u
import numpy as np
import pytest
from astropy.table import Table
from scipy.special import erf

from specola.data import data_path
from specola.errors import ConfigError, SpectrumError
from specola.instruments import Constant
from specola.io import read
from specola.lines import (
    CalibrationSpec,
    ContinuumSection,
    ErrorsSection,
    GroupSpec,
    InstrumentConfig,
    LinesConfig,
    LineSpec,
    LinesResult,
    PriorSpec,
    SpectrumSpec,
    build_model,
    fit,
    load_spectra,
)
from specola.lines._priors import Prior, order_sites, parse_expression
from specola.lines.inference import _chain_diagnostics
from specola.spectrum import Spectrum

SDSS = data_path("spectra", "spec-1678-53433-0425.fits.gz")
HALPHA = 6564.61
FLAM = u.Unit("1e-17 erg / (s cm2 Angstrom)")


def _numpy_line(low, high, centre, sigma, flux, cont):
    """Pixel means of a Gaussian line plus a flat continuum, written independently of the fitter."""
    s = np.sqrt(2) * sigma
    return cont + flux * 0.5 * (erf((high - centre) / s) - erf((low - centre) / s)) / (high - low)


def _synthetic(shift_px, rng, sigma=2.0, flux=400.0, cont=10.0, noise=0.5):
    """A line at rest (z = 0) on 1 A pixels, the spectrum displaced redward by ``shift_px`` pixels."""
    edges = np.arange(6450.0, 6680.0, 1.0)
    low, high = edges[:-1], edges[1:]
    # displaced by +d pixels: pixel i records the true spectrum over [low - d, high - d]
    mean = _numpy_line(low - shift_px, high - shift_px, HALPHA, sigma, flux, cont)
    err = np.full(low.size, noise)
    res = Constant(HALPHA / 2.3548 / sigma)  # the LSF alone makes the line: sigma_instr = sigma
    return Spectrum(low * u.AA, high * u.AA, (mean + noise * rng.standard_normal(low.size)) * FLAM, err * FLAM,
                    meta={"name": "synthetic", "resolution": res})  # fmt: skip


@pytest.fixture(scope="module")
def shifted_fit():
    s = _synthetic(0.3, np.random.default_rng(5))
    fixed_z = GroupSpec("z", "redshift", PriorSpec("fixed", loc=0.0))
    width = GroupSpec("narrow", "width", PriorSpec("fixed", loc=0.0))
    po = CalibrationSpec("po", "pix_offset", PriorSpec("uniform", low=-1.0, high=1.0))
    model = build_model([s], [LineSpec("Halpha")], 0.0, groups=[fixed_z, width], calibration=[po],
                        bindings=[SpectrumSpec(name="synthetic", pix_offset="po")])  # fmt: skip
    return s, model, fit(model, "laplace", num_samples=1000)


def test_pix_offset_sign_is_unites(shifted_fit):
    s, _, post = shifted_fit
    # the displaced line sits redward of its true wavelength in the calibrated grid
    x, f = s.wavelength.value, s.flux.value - 10.0
    assert np.sum(x * f) / np.sum(f) > HALPHA + 0.2
    po = post.flat("pix_offset_po")
    assert abs(np.median(po) - 0.3) < 3 * np.std(po)
    assert np.std(po) < 0.05  # measured, not the prior


def test_dependent_prior_holds_in_every_draw():
    s = read(SDSS)
    broad = GroupSpec("broad", "width", PriorSpec("uniform", low="fwhm_narrow + 150", high=3000.0))
    narrow = GroupSpec("narrow", "width", PriorSpec("uniform", low=0.0, high=800.0))
    lines = [LineSpec("Halpha"), LineSpec("Halpha", label="Halpha_broad", width="broad", profile="laplace")]
    model = build_model([s], lines, 0.0403, groups=[narrow, broad])
    assert model.plan.sample_order.index("fwhm_broad") > model.plan.sample_order.index("fwhm_narrow")
    assert "fwhm_narrow + 150" in model.plan.table()
    post = fit(model, "laplace", num_samples=500)
    assert np.all(post.flat("fwhm_broad") >= post.flat("fwhm_narrow") + 150 - 1e-9)
    assert np.all(post.flat("flux_Halpha_broad") >= 0) and np.all(post.flat("flux_Halpha") >= 0)  # positivity


def test_expression_grammar_is_small_and_safe():
    assert parse_expression("2 * (a - 1) / b + -3").fn({"a": 4.0, "b": 2.0}) == 0.0
    for bad in ("__import__('os').system('true')", "a.b", "a ** 2", "[1]", "a if b else 1", "lambda: 1"):
        with pytest.raises(ConfigError, match=r"not allowed|cannot parse"):
            parse_expression(bad)


def test_unknown_and_circular_priors_are_named():
    def uni(lo):
        return Prior("uniform", parse_expression(lo), 10.0, 0.0, 1.0)

    with pytest.raises(ConfigError, match=r"fwhm_b.*unknown parameter.*fwhm_x"):
        order_sites({"fwhm_b": uni("fwhm_x + 1")}, {})
    with pytest.raises(ConfigError, match=r"cycle: .*fwhm_a -> fwhm_b -> fwhm_a"):
        order_sites({"fwhm_a": uni("fwhm_b"), "fwhm_b": uni("fwhm_a")}, {})


@pytest.fixture(scope="module")
def sdss():
    return read(SDSS)


def test_errors_before_compilation(sdss, caplog):
    with pytest.raises(ConfigError, match=r"Paalpha \(19.*outside every spectrum"):
        build_model([sdss], [LineSpec("Halpha"), LineSpec("Paalpha")], 0.0403)
    with pytest.raises(SpectrumError, match=r"good pixel.*widen continuum.width_kms"):
        build_model([sdss], [LineSpec("Halpha")], 0.0403, continuum=ContinuumSection(order=5, width_kms=100.0))
    bad = GroupSpec("narrow", "width", PriorSpec("uniform", low="fwhm_wide", high=900.0))
    with pytest.raises(ConfigError, match=r"unknown parameter.*fwhm_wide"):
        build_model([sdss], [LineSpec("Halpha")], 0.0403, groups=[bad])
    flux = sdss.flux.value.copy()
    near = np.flatnonzero(np.abs(sdss.wavelength.value - HALPHA * 1.0403) < 20)
    flux[near[:3]] = np.nan
    with caplog.at_level(logging.INFO, logger="specola.lines.model"):
        build_model([sdss.replace(flux=flux * sdss.flux_unit)], [LineSpec("Halpha")], 0.0403)
    assert "3 NaN pixel(s)" in caplog.text


def test_chain_diagnostics_warn_on_disagreeing_chains(caplog):
    rng = np.random.default_rng(0)
    good = {"a": rng.standard_normal((1, 400))}  # one chain: split R-hat is still defined
    d = _chain_diagnostics(good, 0)
    assert np.isfinite(d["r_hat_max"]) and d["r_hat_max"] < 1.02 and not d["warnings"]
    stuck = {"a": np.stack([rng.standard_normal(400), 3 + rng.standard_normal(400)])}
    with caplog.at_level(logging.WARNING, logger="specola.lines.inference"):
        d = _chain_diagnostics(stuck, 4)
    assert d["r_hat_max"] > 1.5
    assert "R-hat" in caplog.text and "4 divergent" in caplog.text
    sticky = {"a": np.cumsum(rng.standard_normal((1, 400)), axis=1)}  # a random walk: few effective draws
    assert any("effective sample size" in w for w in _chain_diagnostics(sticky, 0)["warnings"])


@pytest.mark.slow
def test_svi_from_the_map_agrees_with_laplace(sdss):
    lines = [LineSpec("Halpha"), LineSpec("[NII]6585")]
    model = build_model([sdss], lines, 0.0403, groups=[GroupSpec("narrow", "width", PriorSpec("uniform", low=0.0,
                        high=800.0))])  # fmt: skip
    lap = fit(model, "laplace", num_samples=1000)
    svi = fit(model, "svi", num_samples=1000, svi_steps=800, seed=2)
    assert svi.samples["flux_Halpha"].shape == (1, 1000) and svi.diagnostics["seed"] == 2
    for name in ("flux_Halpha", "flux_[NII]6585", "z_z"):
        a, b = lap.flat(name), svi.flat(name)
        assert abs(np.median(a) - np.median(b)) < 0.5 * np.std(a), name
        assert 0.4 < np.std(b) / np.std(a) < 2.0, name


def test_file_resolution_from_ecsv_meta(tmp_path):
    t = Table({"wavelength": np.linspace(6500, 6600, 50) * u.AA, "flux": np.ones(50) * FLAM,
               "error": 0.1 * np.ones(50) * FLAM})  # fmt: skip
    t.meta["R"] = 1200
    t.write(tmp_path / "s.ecsv")
    spectra, _ = load_spectra(LinesConfig(spectra=(SpectrumSpec(file=tmp_path / "s.ecsv"),)))
    assert float(spectra[0].meta["resolution"](6550 * u.AA)) == 1200
    del t.meta["R"]
    t.write(tmp_path / "n.ecsv")
    with pytest.raises(ConfigError, match=r"spectra\[0\].resolution.*carries no resolution"):
        load_spectra(LinesConfig(spectra=(SpectrumSpec(file=tmp_path / "n.ecsv"),)))


def test_instrument_config_prints_tokens_and_round_trips():
    cfg = InstrumentConfig(
        spectra=(SpectrumSpec(name="PRISM", resolution="nirspec:prism:point", rscale="a", pix_offset="p"),
                 SpectrumSpec(name="G395M", resolution="nirspec:g395m:point", rscale="a", flux_scale="f")),
        calibration=(CalibrationSpec("p", "pix_offset", PriorSpec("truncnormal", loc=0.2, scale=0.1, low=-0.2,
                                                                  high=0.6)),),
    )  # fmt: skip
    text = str(cfg)
    assert "truncnormal(0.2, 0.1, -0.2, 0.6)" in text and text.count("(fixed)") == 2
    assert InstrumentConfig.from_toml(cfg.to_toml()) == cfg
    with pytest.raises(ConfigError, match=r"'q'.*not used"):
        InstrumentConfig(spectra=cfg.spectra, calibration=(CalibrationSpec("q", "rscale"),))


def test_error_rescaling_per_window_with_pixel_guard(caplog):
    s = _synthetic(0.0, np.random.default_rng(8), noise=0.5)
    s = s.replace(error=2 * s.error)  # errors overestimated by 2
    lines = [LineSpec("Halpha")]
    model = build_model([s], lines, 0.0, errors=ErrorsSection(rescale=True, line_mask_kms=1500.0))
    (rec,) = model.plan.error_scales
    assert rec["factor"] == pytest.approx(0.5, rel=0.15) and rec["pixels"] > 100
    np.testing.assert_allclose(np.asarray(model.args["error"]), 2 * 0.5 * rec["factor"])
    np.testing.assert_allclose(model.spectra[0].error.value, np.asarray(model.args["error"]))
    with caplog.at_level(logging.WARNING, logger="specola.lines.model"):
        guarded = build_model([s], lines, 0.0, errors=ErrorsSection(rescale=True, min_pixels=1000))
    assert guarded.plan.error_scales[0]["factor"] == 1.0 and "errors not rescaled" in caplog.text


def test_absorption_line_is_recovered():
    s = _synthetic(0.0, np.random.default_rng(4), flux=-150.0)  # 150 units absorbed out of a continuum of 10
    fixed = [GroupSpec("z", "redshift", PriorSpec("fixed", loc=0.0)), GroupSpec("narrow", "width",
             PriorSpec("uniform", low=0.0, high=300.0))]  # fmt: skip
    model = build_model([s], [LineSpec("Halpha", absorption=True)], 0.0, groups=fixed)
    result = LinesResult(model, fit(model, "laplace", num_samples=1000))
    assert np.all(result.posterior.flat("flux_Halpha") >= 0)  # the depth is positive ...
    flux = result.draws()["flux"][:, 0]  # ... and the line's flux negative
    assert abs(np.median(flux) * model.plan.flux_unit.to(FLAM) + 150.0) < 3 * np.std(flux)
    assert np.median(result.draws()["ew"][:, 0]) < 0
