"""Scaling to a common flux in the HASP-compatible mode (off by default; the tutorial's workflow)."""

import json
import logging

import numpy as np
import pytest
from astropy.io import fits

from specola.coadd import CoaddConfig, run_hasp, run_to_folder
from specola.coadd.config import InputSection, ScalingSection


def test_default_hasp_mode_drops_the_whole_file_as_hasp_does(echelle_pair, caplog):
    path, _ = echelle_pair
    with caplog.at_level(logging.INFO, logger="specola.coadd"):
        result = run_hasp(path.parent)
    assert result.products == {} and result.scale_factors == {}
    assert {r.file for r in result.rejected} == {str(path)}
    # rejected from the visit product, then from the program product: one line each, saying which
    assert {r.product for r in result.rejected} == {
        "visit product STIS/E140M of G191B2B (program 8016 visit 99)",
        "program product STIS/E140M of G191B2B (program 8016)",
    }
    removing = [r.getMessage() for r in caplog.records if "removing" in r.getMessage()]
    assert len(removing) == 2 and all(str(path) in m and "42 order(s)" in m for m in removing)


def test_scaling_keeps_both_exposures_and_equals_the_tutorial_done_by_hand(echelle_pair, tmp_path):
    path, _ = echelle_pair
    result = run_to_folder(
        CoaddConfig(input=InputSection(indir=path.parent), scaling=ScalingSection(enabled=True)), tmp_path / "out"
    )
    factors = result.scale_factors
    assert factors[f"{path.name}[1]"] == 1.0
    assert factors[f"{path.name}[2]"] == pytest.approx(1 / 0.6, rel=0.01)
    assert result.rejected == [] and len(result.products) == 2
    report = json.loads((tmp_path / "out" / "coadd_report.json").read_text())
    assert report["scale_factors"] == factors
    # the tutorial by hand: multiply each exposure by median(brightest) / median(its flux), then co-add
    manual = tmp_path / "manual"
    manual.mkdir()
    with fits.open(path) as h:
        for ext, factor in zip(h[1:], factors.values(), strict=True):
            good = (ext.data["DQ"] & ext.header["SDQFLAGS"]) == 0
            assert np.median(ext.data["FLUX"][good]) * factor == pytest.approx(
                np.median(h[1].data["FLUX"][(h[1].data["DQ"] & h[1].header["SDQFLAGS"]) == 0]), rel=1e-6
            )
            for col in ("FLUX", "ERROR"):
                ext.data[col] = (ext.data[col] * factor).astype(ext.data[col].dtype)
        h.writeto(manual / path.name)
    by_hand = run_hasp(manual)
    assert sorted(by_hand.products) == sorted(result.products)
    for name, (prod, _) in result.products.items():
        other = by_hand.products[name][0]
        np.testing.assert_array_equal(prod.output_flux, other.output_flux)
        np.testing.assert_array_equal(prod.output_errors, other.output_errors)
    # both exposures count: twice the exposure time of one where the orders do not overlap
    visit = next(p for n, (p, _) in result.products.items() if "_o4vt02_" in n)
    assert np.median(visit.output_exptime[visit.output_exptime > 0]) == pytest.approx(2 * 3096.2, rel=0.01)
