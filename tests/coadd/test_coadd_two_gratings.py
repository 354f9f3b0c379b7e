"""Two gratings of one target (E140M + E230M of G191-B2B, overlapping 1607-1727 A): abutment and stitching."""

import gzip
import json
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits

from specola.coadd import CoaddConfig, coadd, read_inputs, run_hasp
from specola.coadd._hasp_abut import load_grating_table
from specola.coadd.config import HaspSection, InputSection
from specola.errors import EmptySpectrumWarning
from specola.runs import RunFolder

REFERENCE = Path(__file__).parents[1] / "data" / "coadd" / "reference_hasp_two_gratings"
ABUTTED = "hst_8016_stis_g191b2b_e140m-e230m_o4vt_cspec.fits"
SINGLES = ("hst_8016_stis_g191b2b_e140m_o4vt_cspec.fits", "hst_8016_stis_g191b2b_e230m_o4vt_cspec.fits")


@pytest.fixture(scope="module")
def hasp(two_gratings):
    return run_hasp(two_gratings)


def test_products_and_the_abutted_one_equal_hasp_bit_for_bit(hasp, tmp_path):
    assert sorted(hasp.products) == sorted(
        f"hst_8016_stis_g191b2b_{g}_o4vt{v}_cspec.fits" for g in ("e140m", "e230m", "e140m-e230m") for v in ("", "02")
    )
    hasp.write(RunFolder(tmp_path))
    with gzip.open(REFERENCE / f"{ABUTTED}.gz") as fh:
        ref = fits.HDUList.fromstring(fh.read())
    with fits.open(tmp_path / ABUTTED) as mine:
        for col in ("WAVELENGTH", "FLUX", "ERROR", "SNR", "EFF_EXPTIME"):
            np.testing.assert_array_equal(mine["SCI"].data[col][0], ref["SCI"].data[col][0], err_msg=col)
        for col in ref["PROVENANCE"].columns.names:
            assert list(mine["PROVENANCE"].data[col]) == list(ref["PROVENANCE"].data[col]), col
        assert set(mine[0].header) == set(ref[0].header)
        assert mine[0].header["GRATING"] == ref[0].header["GRATING"]


def _seam_checks(abutted, blue, red, seam):
    """Below the seam the abutted product is the blue grating's product, above it the red one's."""
    w = abutted.output_wavelength
    for prod, part in ((blue, w <= seam), (red, w > seam)):
        idx = np.searchsorted(prod.output_wavelength, w[part])
        np.testing.assert_array_equal(prod.output_wavelength[idx], w[part])
        np.testing.assert_array_equal(prod.output_flux[idx], abutted.output_flux[part])
        np.testing.assert_array_equal(prod.output_exptime[idx], abutted.output_exptime[part])
    assert w[w <= seam].size and w[w > seam].size


def test_the_priority_table_sets_the_seam(hasp, two_gratings, tmp_path):
    blue, red = (hasp.products[n][0] for n in SINGLES)
    table = load_grating_table()
    assert table["STIS/E140M"]["priority"] < table["STIS/E230M"]["priority"]
    # E140M (priority 1) keeps its whole range; E230M starts where E140M's range ends
    seam = min(blue.last_good_wavelength, table["STIS/E140M"]["maxwave"])
    _seam_checks(hasp.products[ABUTTED][0], blue, red, seam)
    # the other way round with a table of one's own: E230M keeps its range, E140M stops where it begins
    swapped = {**table, "STIS/E140M": {**table["STIS/E140M"], "priority": 9}}
    path = tmp_path / "table.json"
    path.write_text(json.dumps(swapped))
    other = run_hasp(two_gratings, HaspSection(grating_table=path))
    seam = max(red.first_good_wavelength, table["STIS/E230M"]["minwave"])
    assert seam < 1727.2 - 100
    # abutted products keep the blue part up to (not including) the pixel at the transition
    _seam_checks(other.products[ABUTTED][0], blue, red, seam - 1e-9)


def test_resample_stitch_averages_the_overlap_and_meets_both_gratings(two_gratings):
    config = CoaddConfig(input=InputSection(indir=two_gratings))
    with pytest.warns(EmptySpectrumWarning, match="order=86"):
        result = coadd(read_inputs(config)[0], config)
    s = result.spectrum
    assert set(result.settings) == {"STIS/E140M", "STIS/E230M"}
    w, good = s.wavelength.value, s.good
    blue, red = (result.settings[k] for k in ("STIS/E140M", "STIS/E230M"))
    b_hi = blue.high.value[blue.good].max()
    r_lo = red.low.value[red.good].min()
    # outside the overlap the stitched spectrum is each grating's co-add (same photons, flux conserved)
    for part, lo, hi in ((blue, 1300, r_lo - 1), (red, b_hi + 1, 2300)):
        sel = good & (w > lo) & (w < hi)
        mine = s.flux.value[sel].sum()
        theirs = part.rebin((s.low[sel], s.high[sel])).flux.value.sum()
        assert mine == pytest.approx(theirs, rel=1e-3)
    # in the overlap both gratings count: smaller errors than either alone, and no jump at either seam
    overlap = good & (w > r_lo + 2) & (w < b_hi - 2)
    for part in (blue, red):
        alone = part.rebin((s.low[overlap], s.high[overlap]))
        assert np.median(s.error.value[overlap][alone.good]) < 0.9 * np.median(alone.error.value[alone.good])
    for seam in (r_lo, b_hi):
        left = np.median(s.flux.value[good & (w > seam - 8) & (w < seam - 1)])
        right = np.median(s.flux.value[good & (w > seam + 1) & (w < seam + 8)])
        assert right / left == pytest.approx(1.0, abs=0.08)
