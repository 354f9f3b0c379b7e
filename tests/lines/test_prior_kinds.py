"""Prior families of the line model against SciPy's densities, and bad input: one-line errors before compilation."""

import logging
from pathlib import Path

import astropy.units as u
import numpy as np
import pytest
from lines_helpers import pixel_means
from scipy import stats

from specola.errors import ConfigError, SpecolaError
from specola.lines import (
    CalibrationSpec,
    ContinuumSection,
    GroupSpec,
    LineSpec,
    PriorSpec,
    SpectrumSpec,
    build_model,
)
from specola.spectrum import Spectrum

HALPHA = 6564.61
FLAM = u.Unit("1e-17 erg / (s cm2 Angstrom)")


def _spectrum(seed=0, flux_unit=FLAM, name="sim"):
    """Halpha (FWHM 250 km/s, flux 400) on a flat continuum of 10, 1 A pixels, noise 0.5, no instrument."""
    edges = np.arange(6450.0, 6680.0, 1.0)
    low, high = edges[:-1], edges[1:]
    mean = pixel_means(low, high, [(HALPHA, 250.0, 400.0)], 10.0)
    noise = 0.5 * np.random.default_rng(seed).standard_normal(low.size)
    return Spectrum(low * u.AA, high * u.AA, (mean + noise) * flux_unit, np.full(low.size, 0.5) * flux_unit,
                    meta={"name": name})  # fmt: skip


GROUPS = [
    GroupSpec("z", "redshift", PriorSpec("truncnormal", loc=0.001, scale=0.002, low=-0.004, high=0.005)),
    GroupSpec("narrow", "width", PriorSpec("loguniform", low=30.0, high=3000.0)),
]


@pytest.fixture(scope="module")
def model():
    calib = [CalibrationSpec("fs", "flux_scale", PriorSpec("normal", loc=1.0, scale=0.2)),
             CalibrationSpec("po", "pix_offset", PriorSpec("fixed", loc=0.25))]  # fmt: skip
    return build_model([_spectrum()], [LineSpec("Halpha")], 0.0, groups=GROUPS, calibration=calib,
                       bindings=[SpectrumSpec(flux_scale="fs", pix_offset="po")])  # fmt: skip


def test_each_prior_family_has_scipys_density(model):
    plan = model.plan
    x = {"z_z": np.array([-0.003, 0.0, 0.001, 0.0049]), "fwhm_narrow": np.array([31.0, 100.0, 900.0, 2999.0]),
         "flux_scale_fs": np.array([0.5, 1.0, 1.3, 2.0])}  # fmt: skip
    a, b = (-0.004 - 0.001) / 0.002, (0.005 - 0.001) / 0.002
    want = {"z_z": stats.truncnorm(a, b, loc=0.001, scale=0.002).logpdf(x["z_z"]),
            "fwhm_narrow": stats.loguniform(30.0, 3000.0).logpdf(x["fwhm_narrow"]),
            "flux_scale_fs": stats.norm(1.0, 0.2).logpdf(x["flux_scale_fs"])}  # fmt: skip
    for name, values in x.items():
        got = np.asarray(plan.distribution(name, {}).log_prob(values))
        np.testing.assert_allclose(got, want[name], rtol=1e-10, err_msg=name)
    assert plan.sites["fwhm_narrow"].centre() == pytest.approx(np.sqrt(30.0 * 3000.0))  # geometric mean start
    assert "loguniform(30, 3000)" in plan.table() and "truncnormal(0.001, 0.002, -0.004, 0.005)" in plan.table()


def test_a_fixed_prior_is_no_parameter_but_acts(model):
    """PixOffset fixed at +0.25 px: not sampled, and the model equals a free PixOffset set to 0.25."""
    plan = model.plan
    assert "pix_offset_po" not in plan.sites and plan.fixed["pix_offset_po"] == 0.25
    free = build_model([_spectrum()], [LineSpec("Halpha")], 0.0, groups=GROUPS,
                       calibration=[CalibrationSpec("fs", "flux_scale", PriorSpec("normal", loc=1.0, scale=0.2))],
                       bindings=[SpectrumSpec(flux_scale="fs", pix_offset="po")])  # fmt: skip
    p = {n: plan.sites[n].centre() for n in plan.sites}
    np.testing.assert_allclose(model.predict(p)["total"], free.predict({**p, "pix_offset_po": 0.25})["total"],
                               rtol=1e-12)  # fmt: skip
    assert not np.allclose(model.predict(p)["total"], free.predict({**p, "pix_offset_po": 0.0})["total"])


def test_bad_prior_families_are_refused():
    with pytest.raises(ConfigError, match="loguniform prior needs low > 0"):
        build_model([_spectrum()], [LineSpec("Halpha")], 0.0,
                    groups=[GroupSpec("narrow", "width", PriorSpec("loguniform", low=0.0, high=10.0))])  # fmt: skip
    with pytest.raises(ConfigError, match="truncnormal prior needs high > low"):
        PriorSpec("truncnormal", loc=0.0, scale=1.0, low=1.0, high=0.0)


def _message(exc_info) -> str:
    text = str(exc_info.value)
    assert "\n" not in text, text  # one line
    return text


def test_bad_input_gives_one_line_errors_before_anything_compiles(caplog):
    """Each refusal names the culprit in one line (``build_model`` compiles nothing); NaN pixels are counted."""
    s = _spectrum()
    cycle = [GroupSpec("narrow", "width", PriorSpec("uniform", low="fwhm_broad - 500", high=1000.0)),
             GroupSpec("broad", "width", PriorSpec("uniform", low="fwhm_narrow + 150", high=5000.0))]  # fmt: skip
    broad = [LineSpec("Halpha"), LineSpec("Halpha", label="Halpha_broad", width="broad")]
    cases = [
        (ConfigError, r"Hbeta \(4862.7 A\) at z = 0 fall outside every spectrum \(sim 6450.0-6679.0 A\)",
         dict(lines=[LineSpec("Halpha"), LineSpec("Hbeta")])),
        (ConfigError, r"cycle: fwhm_narrow -> fwhm_broad -> fwhm_narrow", dict(lines=broad, groups=cycle)),
        (ConfigError, r"prior of fwhm_narrow refers to unknown parameter\(s\) fwhm_wide",
         dict(groups=[GroupSpec("narrow", "width", PriorSpec("uniform", low="fwhm_wide", high=900.0))])),
        (SpecolaError, r"window 6477.\d-6652.\d A \(rest\) has 7 good pixel\(s\) for 9 continuum and 1 line",
         dict(spectra=[s[111:118]], continuum=ContinuumSection(order=8))),
        (SpecolaError, r"spectrum other: cannot fit flux in ct with 1e-17 erg",
         dict(spectra=[s, _spectrum(flux_unit=u.ct, name="other")])),
    ]  # fmt: skip
    for kind, pattern, changes in cases:
        kwargs = {"spectra": [s], "lines": [LineSpec("Halpha")], **changes}
        with pytest.raises(kind) as exc:
            build_model(kwargs.pop("spectra"), kwargs.pop("lines"), 0.0, **kwargs)
        assert exc.match(pattern), _message(exc)
        _message(exc)
    flux = s.flux.value.copy()
    flux[[10, 50, 51, 120]] = np.nan  # pixel 10 (6460 A) lies outside the +-4000 km/s window
    with caplog.at_level(logging.INFO, logger="specola.lines.model"):
        model = build_model([s.replace(flux=flux * s.flux_unit)], [LineSpec("Halpha")], 0.0)
    assert "spectrum sim: 3 NaN pixel(s)" in caplog.text
    assert model.npix == build_model([s], [LineSpec("Halpha")], 0.0).npix - 3


def test_unknown_corner_parameter_is_refused_before_the_fit():
    from dataclasses import replace

    from specola.lines import OutputSection, run
    from specola.lines.demo import demo_config

    cfg = replace(demo_config(), output=OutputSection(corner=("z_z", "fwhm_wide")))
    with pytest.raises(ConfigError, match=r"output.corner: fwhm_wide is not a free parameter.*free: z_z, fwhm_narrow"):
        run(cfg)


def test_error_rescaling_with_a_mask_wider_than_the_windows_is_refused(tmp_path, capsys):
    from specola.cli import main
    from specola.lines import ContinuumSection, ErrorsSection, LinesConfig

    with pytest.raises(ConfigError, match=r"errors.line_mask_kms = 5000 masks the whole \+-4000 km/s"):
        LinesConfig(errors=ErrorsSection(rescale=True))
    LinesConfig(errors=ErrorsSection(rescale=True), continuum=ContinuumSection(width_kms=15000.0))
    example = str(Path(__file__).parents[2] / "examples" / "lines.toml")
    args = ["lines", example, "-o", str(tmp_path / "o"), "-errors.rescale=true", "-continuum.width_kms=3000"]
    assert main(args) == 2 and "errors.line_mask_kms = 5000 masks" in capsys.readouterr().err
