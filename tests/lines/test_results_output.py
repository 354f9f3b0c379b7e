"""Results of a line fit against known answers: EW, velocity, FWHM, model tables, FITS output and the figures."""

import astropy.units as u
import numpy as np
import pytest
from astropy.io import fits
from astropy.table import QTable
from lines_helpers import pixel_means

from specola.errors import SpecolaError
from specola.lines import ErrorsSection, LineSpec, LinesResult, build_model, fit
from specola.lines.plots import plot_corner, plot_error_scales, plot_fit
from specola.runs import RunFolder
from specola.spectrum import Spectrum

HALPHA, HBETA = 6564.61, 4862.68
C_KMS = 299792.458
FLAM = u.Unit("1e-17 erg / (s cm2 Angstrom)")
Z_TRUE, FWHM, CONT = 0.002, 250.0, 10.0
FLUX = {"Halpha": 400.0, "Hbeta": 140.0}


def _spectrum(seed=1, noise=0.5):
    """Halpha and Hbeta at z = 0.002 on a flat continuum (1 A pixels), 40-point pixel means, no instrument."""
    edges = np.arange(4750.0, 6700.0, 1.0)
    low, high = edges[:-1], edges[1:]
    lines = [(HALPHA * (1 + Z_TRUE), FWHM, FLUX["Halpha"]), (HBETA * (1 + Z_TRUE), FWHM, FLUX["Hbeta"])]
    mean = pixel_means(low, high, lines, CONT)
    flux = mean + noise * np.random.default_rng(seed).standard_normal(low.size)
    return Spectrum(low * u.AA, high * u.AA, flux * FLAM, np.full(low.size, noise) * FLAM, meta={"name": "sim"})


@pytest.fixture(scope="module")
def result():
    model = build_model([_spectrum()], [LineSpec("Halpha"), LineSpec("Hbeta")], 0.0)
    return LinesResult(model, fit(model, "laplace", num_samples=1500, seed=4))


def test_ew_velocity_fwhm_flux_are_the_injected_ones(result):
    """Rest EW = F / C / (1 + z); velocity = c (z - z0) / (1 + z0) with z0 = 0; FWHM intrinsic; flux in FLAM A."""
    t = {r["line"]: r for r in result.table()}
    d = result.draws()
    for i, name in enumerate(result.model.plan.labels):
        truth = {"flux": FLUX[name], "ew": FLUX[name] / CONT / (1 + Z_TRUE), "velocity": C_KMS * Z_TRUE,
                 "fwhm": FWHM, "z": Z_TRUE}  # fmt: skip
        for key, want in truth.items():
            draws = d[key][:, i] * (result.model.plan.flux_unit.to(FLAM) if key == "flux" else 1.0)
            mid, sd = np.median(draws), np.std(draws)
            assert abs(mid - want) < 4 * sd, (name, key, mid, sd, want)
            assert sd < 0.05 * abs(want), (name, key, sd)  # measured, not the prior
        row = t[name]
        assert row["flux_p16"] < row["flux_p50"] < row["flux_p84"]
        assert row["ew_p50"].unit == u.AA and row["velocity_p50"].unit == u.km / u.s
        assert row["flux_p50"].to_value(FLAM * u.AA) == pytest.approx(np.median(d["flux"][:, i]) *
                                                                     result.model.plan.flux_unit.to(FLAM))  # fmt: skip


def test_parameter_table_has_prior_map_and_percentiles(result):
    p = result.parameters()
    plan = result.model.plan
    assert list(p["parameter"]) == list(plan.sites)
    assert np.all(p["p16"] < p["p50"]) and np.all(p["p50"] < p["p84"])
    row = p[list(p["parameter"]).index("z_z")]
    assert row["prior"] == plan.sites["z_z"].describe() and abs(row["map"] - Z_TRUE) < 2e-5


def test_model_tables_are_total_continuum_and_each_component(result):
    """With one draw (MAP) the tables are exact: model = continuum + sum of the line columns, each in flux units."""
    model = result.model
    (t,) = LinesResult(model, fit(model, "map")).model_spectra()
    assert t.colnames == ["low", "high", "flux", "error", "model", "model_p16", "model_p84", "continuum", "Halpha",
                          "Hbeta"]  # fmt: skip
    comp = t["continuum"] + t["Halpha"] + t["Hbeta"]
    np.testing.assert_allclose(t["model"].value, comp.to_value(t["model"].unit), rtol=1e-12)
    x = 0.5 * (t["low"] + t["high"]).value
    far = np.abs(x - HALPHA * (1 + Z_TRUE)) > 30
    assert np.max(np.abs(t["Halpha"].value[far])) < 1e-3 * np.max(t["Halpha"].value)  # each column is one line
    assert np.sum(t["Halpha"] * (t["high"] - t["low"])).to_value(FLAM * u.AA) == pytest.approx(FLUX["Halpha"],
                                                                                              rel=0.03)  # fmt: skip


def test_fits_output_round_trips_the_tables(result, tmp_path):
    hdul = result.to_hdulist()
    assert [h.name for h in hdul] == ["PRIMARY", "LINES", "PARAMETERS", "MODEL_SIM"]
    assert hdul[0].header["METHOD"] == "laplace" and hdul[0].header["Z0"] == 0.0
    hdul.writeto(tmp_path / "lines.fits")
    with fits.open(tmp_path / "lines.fits") as back:
        lines = QTable.read(back["LINES"])
        model = QTable.read(back["MODEL_SIM"])
    want = result.table()
    np.testing.assert_allclose(lines["flux_p50"].value, want["flux_p50"].value, rtol=1e-12)
    assert lines["flux_p50"].unit == want["flux_p50"].unit and list(lines["line"]) == ["Halpha", "Hbeta"]
    assert len(model) == result.model.npix and "Halpha" in model.colnames


def test_fit_figure_has_one_labelled_panel_per_window(result):
    fig = plot_fit(result, 0)
    legends = [{t.get_text() for t in ax.get_legend().get_texts()} for ax in fig.axes]
    top = [ax for ax, legend in zip(fig.axes, legends, strict=True) if "model" in legend]
    assert len(fig.axes) == 4 and len(top) == 2  # two windows: data panels over residual panels
    legends = [legend for legend in legends if "model" in legend]
    assert {"Hbeta", "continuum", "model", "data"} <= legends[0] and "Halpha" not in legends[0]
    assert {"Halpha", "continuum", "model", "data"} <= legends[1] and "Hbeta" not in legends[1]
    assert "erg" in top[0].get_ylabel() and all("[" in ax.get_xlabel() for ax in fig.axes if ax not in top)
    for ax, centre in zip(top, (HBETA, HALPHA), strict=True):  # each panel spans its own window only
        lo, hi = ax.get_xlim()
        assert lo < centre * (1 + Z_TRUE) < hi and hi - lo < 0.04 * centre


def test_corner_shows_the_selected_parameters(result):
    fig = plot_corner(result, ["z_z", "flux_Halpha"])
    assert len(fig.axes) == 4
    labels = [ax.get_xlabel() for ax in fig.axes if ax.get_xlabel()]
    assert labels[0] == "z (z)" and labels[1].startswith("F(Halpha)") and "erg" in labels[1]
    default = plot_corner(result)
    assert default.axes[-1].get_xlabel().startswith("F(Hbeta)")  # z, FWHM, F(Halpha), F(Hbeta) in config order
    assert len(default.axes) == 16
    with pytest.raises(SpecolaError, match=r"corner plot: no parameter\(s\) fwhm_broad"):
        plot_corner(result, ["fwhm_broad"])


def test_error_rescaling_writes_its_diagnostic_figure(tmp_path):
    s = _spectrum(seed=2)
    s = s.replace(error=3 * s.error)  # errors overestimated by 3
    model = build_model([s], [LineSpec("Halpha"), LineSpec("Hbeta")], 0.0,
                        errors=ErrorsSection(rescale=True, line_mask_kms=1000.0))  # fmt: skip
    assert [r["factor"] for r in model.plan.error_scales] == pytest.approx([1 / 3, 1 / 3], rel=0.15)
    fig = plot_error_scales(model)
    assert len(fig.axes) == 2 and "errors x 0.3" in fig.axes[0].get_title()
    assert {t.get_text() for t in fig.axes[0].get_legend().get_texts()} >= {"continuum fit", "data (input errors)"}
    written = LinesResult(model, fit(model, "map")).write(RunFolder(tmp_path / "run"))
    assert tmp_path / "run" / "error_scales.png" in written


def test_diagnostics_count_parameters_and_flag_too_wide_approximations(result):
    """Data simulated with their true errors: chi2/dof ~ 1 and draws ~ chi2_k above the MAP; draws spread 3x: warned."""
    from specola.lines import Posterior

    d = result.diagnostics()
    k, dof = len(result.model.plan.sites), result.model.npix - len(result.model.plan.sites)
    assert d["free_parameters"] == k == 8 and d["pixels"] == result.model.npix
    assert abs(d["reduced_chi2"] - 1) < 4 * np.sqrt(2 / dof)
    assert abs(d["draw_chi2_excess"] - k) < 3 * np.sqrt(2 * k) and not d["approximation_warnings"]
    post = result.posterior
    wide = {n: np.mean(v) + 3 * (v - np.mean(v)) for n, v in post.samples.items()}
    wide["flux_Halpha"] = np.abs(wide["flux_Halpha"])
    inflated = LinesResult(result.model, Posterior(wide, "laplace", post.map, dict(post.diagnostics)))
    d = inflated.diagnostics()
    assert d["draw_chi2_excess"] > 5 * k and "laplace draws are wider than the posterior" in inflated.summary()


def test_velocity_is_relative_to_the_systemic_redshift():
    """With z0 = 0.001 the lines at z = 0.002 move at c (z - z0) / (1 + z0) = 299.5 km/s."""
    z0 = 0.001
    model = build_model([_spectrum()], [LineSpec("Halpha"), LineSpec("Hbeta")], z0)
    res = LinesResult(model, fit(model, "laplace", num_samples=1000, seed=2))
    v = res.draws()["velocity"][:, 0]
    assert abs(np.median(v) - C_KMS * (Z_TRUE - z0) / (1 + z0)) < 4 * np.std(v) and np.std(v) < 5.0
    assert res.table()["z_p50"][0].value == pytest.approx(Z_TRUE, abs=4 * np.std(res.draws()["z"][:, 0]))
