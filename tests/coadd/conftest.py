import shutil
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits

from specola.data import data_path
from specola.io import read_all

DATA = Path(__file__).parents[1] / "data" / "coadd"
COS = data_path("coadd", "cos_g140l")


@pytest.fixture(scope="session")
def hst_dir(tmp_path_factory):
    """A folder holding the bundled COS set and the three STIS echelle files (gzipped x1d)."""
    d = tmp_path_factory.mktemp("hst_inputs")
    for p in [*COS.glob("*_x1d.fits.gz"), *(DATA / "stis").glob("*_x1d.fits.gz")]:
        shutil.copy(p, d / p.name)
    return d


@pytest.fixture(scope="session")
def cos_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("cos_inputs")
    for p in COS.glob("*_x1d.fits.gz"):
        shutil.copy(p, d / p.name)
    return d


def _two_exposure_echelle(path, factor=0.6, seed=1):
    """One STIS E140M file holding two exposures of G191-B2B, the second ``factor`` times fainter.

    Each exposure gets its own noise at the level of the pipeline errors (so they are not copies); the
    light lost (as to a focus change in the small aperture) lowers NET and FLUX alike, the sensitivity
    NET / FLUX and the background stay.
    """
    rng = np.random.default_rng(seed)
    with fits.open(DATA / "stis" / "o4vt02040_x1d.fits.gz") as h:
        primary, sci = h[0].header.copy(), h[1].copy()
    hdus = [fits.PrimaryHDU(header=primary)]
    for k, f in enumerate([1.0, factor]):
        ext = sci.copy()
        d = ext.data
        flux0, net0 = d["FLUX"].astype(float), d["NET"].astype(float)
        sens = np.where(flux0 != 0, net0 / np.where(flux0 != 0, flux0, 1.0), 0.0)
        flux = (flux0 + rng.normal(0.0, 1.0, flux0.shape) * d["ERROR"]) * f
        d["FLUX"], d["NET"] = flux, flux * sens
        d["GROSS"] = d["GROSS"] + (flux * sens - net0)
        d["ERROR"] *= f
        ext.header["EXTVER"] = k + 1
        hdus.append(ext)
    fits.HDUList(hdus).writeto(path)
    return path


@pytest.fixture(scope="session")
def echelle_pair(tmp_path_factory):
    """A folder holding one two-exposure E140M file (the second exposure 40% fainter) and its spectra."""
    path = _two_exposure_echelle(tmp_path_factory.mktemp("pair") / "o4vt99040_x1d.fits")
    return path, read_all(path)
