import shutil
from pathlib import Path

import pytest

from specola.data import data_path

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
