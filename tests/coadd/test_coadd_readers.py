from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits

from specola.data import data_path
from specola.errors import EmptySpectrumWarning
from specola.io import identify_format, read, read_all

DATA = Path(__file__).parents[1] / "data" / "coadd"


def test_cos_x1d_segments_dq_and_counts():
    path = data_path("coadd", "cos_g140l", "ldfd01vnq_x1d.fits.gz")
    spectra = read_all(path)
    assert identify_format(path)[0] == "hst_x1d"
    assert [s.meta["segment"] for s in spectra] == ["FUVA"]
    s = spectra[0]
    raw = fits.getdata(path, 1)[0]
    assert s.meta["instrument"] == "COS" and s.meta["grating"] == "G140L" and s.meta["cenwave"] == 1105
    assert s.meta["exptime"] == pytest.approx(1116.192)
    assert s.meta["has_variance"] is False  # these CALCOS files lack VARIANCE_* columns
    np.testing.assert_array_equal(s.mask, (raw["DQ"] & fits.getheader(path, 1)["SDQFLAGS"]) != 0)
    np.testing.assert_allclose(s.meta["gcounts"], raw["GCOUNTS"])
    np.testing.assert_allclose(s.flux.value, raw["FLUX"])


def test_stis_echelle_orders():
    with pytest.warns(EmptySpectrumWarning, match="1 of 44 spectra have no good pixel"):
        spectra = read_all(DATA / "stis" / "o4vt02040_x1d.fits.gz")
    assert len(spectra) == 44
    assert [s.meta["order"] for s in spectra] == list(range(86, 130))
    assert all(s.meta["grating"] == "E140M" and s.meta["detector"] == "FUV-MAMA" for s in spectra)
    # wavelengths increase within each order and edges are contiguous
    assert all(np.all(np.diff(s.wavelength.value) > 0) for s in spectra)


def test_hasp_product_reader(tmp_path):
    from specola.coadd import run_hasp
    from specola.runs import RunFolder

    result = run_hasp(data_path("coadd", "cos_g140l"))
    paths = result.write(RunFolder(tmp_path, overwrite=True))
    s = read(paths[0])
    assert s.meta["format"] == "hasp_product"
    assert s.meta["num_exp"] == 4
    assert len(s.meta["provenance"]) == 4
    assert np.all(s.meta["eff_exptime"][s.good] > 0)
