"""HASP-compatible mode against the peer's own products on the same inputs."""

import gzip
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits

from specola.coadd.config import HaspSection
from specola.coadd.hasp import run_hasp
from specola.runs import RunFolder

REFERENCE = Path(__file__).parents[1] / "data" / "coadd" / "reference_hasp"
COLUMNS = ("WAVELENGTH", "FLUX", "ERROR", "SNR", "EFF_EXPTIME")
#: cards that name the software and the day that wrote a product (the rest must be HASP's to the byte)
OURS = ("FITS_SW", "ORIGIN", "DATE", "CAL_VER", "HLSPLEAD")


@pytest.fixture(scope="module")
def products(hst_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("hasp_out")
    result = run_hasp(hst_dir)
    result.write(RunFolder(out, overwrite=True))
    return out, result


def _open_reference(name):
    with gzip.open(REFERENCE / f"{name}.gz") as fh:
        return fits.HDUList.fromstring(fh.read())


def test_product_names_match_reference(products):
    out, result = products
    expected = sorted(p.name[:-3] for p in REFERENCE.glob("*.fits.gz"))
    assert sorted(result.products) == expected
    assert sorted(p.name for p in out.glob("*.fits")) == expected


@pytest.mark.parametrize("name", sorted(p.name[:-3] for p in REFERENCE.glob("*.fits.gz")))
def test_product_values_match_reference(products, name):
    out, _ = products
    ref = _open_reference(name)
    with fits.open(out / name) as mine:
        assert [h.name for h in mine] == ["PRIMARY", "SCI", "PROVENANCE"]
        assert mine["SCI"].data.columns.names == list(COLUMNS)
        assert mine["SCI"].columns.units == ref["SCI"].columns.units
        assert mine["SCI"].header["NAXIS1"] == ref["SCI"].header["NAXIS1"]
        assert len(mine["SCI"].data) == 1
        for col in COLUMNS:
            a, b = mine["SCI"].data[col][0], ref["SCI"].data[col][0]
            assert a.dtype == np.dtype(">f4")
            assert a.shape == b.shape, col
            np.testing.assert_array_equal(a, b, err_msg=col)  # bit for bit
        for key in ("INSTRUME", "DETECTOR", "GRATING", "CENWAVE", "APERTURE", "TARGNAME", "PROPOSID", "NUM_EXP"):
            assert mine[0].header[key] == ref[0].header[key], key
        for key in ("HLSP_LVL", "IPPPSSOO", "MINWAVE", "MAXWAVE"):
            assert mine[0].header[key] == ref[0].header[key], key
        assert mine["SCI"].header["XPOSURE"] == pytest.approx(ref["SCI"].header["XPOSURE"])
        for mine_hdu, ref_hdu in zip(mine, ref, strict=True):
            # the same cards in the same order (blank separators included), written the same way
            assert [c.keyword for c in mine_hdu.header.cards] == [c.keyword for c in ref_hdu.header.cards]
            same = lambda h: [c.image for c in h.header.cards if c.keyword not in OURS]
            assert same(mine_hdu) == same(ref_hdu)
        assert mine["SCI"].header["DATE-BEG"] == ref["SCI"].header["DATE-BEG"]
        prov, rprov = mine["PROVENANCE"].data, ref["PROVENANCE"].data
        assert prov.columns.names == rprov.columns.names
        for col in prov.columns.names:
            if prov[col].dtype.kind in "SU":
                assert list(prov[col]) == list(rprov[col]), col
            else:
                np.testing.assert_allclose(prov[col], rprov[col], rtol=1e-12, err_msg=col)


def test_cross_program_products(cos_dir, tmp_path):
    result = run_hasp(cos_dir, HaspSection(cross_program=True, target_name="SWIFTJ1357"))
    assert sorted(result.products) == ["hst_cos_swiftj1357_cg140l_lp03_cspec.fits", "hst_swiftj1357_aspec.fits"]
    paths = result.write(RunFolder(tmp_path, overwrite=True))
    with fits.open(paths[0]) as h:
        assert h[0].header["HLSP_LVL"] == 5 and h[0].header["LIFE_ADJ"] == 3
    visit = run_hasp(cos_dir).products["hst_14933_cos_swiftj1357d2-0933_cg140l_ldfd01_cspec.fits"][0]
    single = result.products["hst_cos_swiftj1357_cg140l_lp03_cspec.fits"][0]
    np.testing.assert_array_equal(single.output_flux, visit.output_flux)
