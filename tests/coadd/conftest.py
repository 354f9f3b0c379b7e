import shutil
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits

from specola.data import data_path
from specola.errors import EmptySpectrumWarning
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
    with pytest.warns(EmptySpectrumWarning, match="order=86"):  # order 86 of this E140M file is all flagged
        return path, read_all(path)


def _same_target_second_grating(folder):
    """G191-B2B seen with E140M (bundled) and with E230M: the bundled E230M exposure of BD+28D4211 given
    G191-B2B's target, program and visit, its flux scaled to meet E140M in their overlap (1607-1727 A)."""
    e140m = DATA / "stis" / "o4vt02040_x1d.fits.gz"
    shutil.copy(e140m, folder / e140m.name)
    with fits.open(e140m) as h:
        target = {k: h[0].header[k] for k in ("TARGNAME", "PROPOSID", "RA_TARG", "DEC_TARG")}
        blue = h[1].data
        in_blue = (blue["WAVELENGTH"] > 1620) & (blue["WAVELENGTH"] < 1715) & (blue["DQ"] == 0)
        level_blue = np.median(blue["FLUX"][in_blue])
    with fits.open(DATA / "stis" / "o3zx02070_x1d.fits.gz") as h:
        hdul = fits.HDUList([hdu.copy() for hdu in h])
    red = hdul[1].data
    in_red = (red["WAVELENGTH"] > 1620) & (red["WAVELENGTH"] < 1715) & (red["DQ"] == 0)
    factor = level_blue / np.median(red["FLUX"][in_red])
    for col in ("FLUX", "ERROR"):
        red[col] = red[col] * factor
    for key, value in target.items():
        hdul[0].header[key] = value
    hdul[0].header["ROOTNAME"] = "o4vt02050"
    hdul[1].header["ROOTNAME"] = "o4vt02050"
    hdul.writeto(folder / "o4vt02050_x1d.fits")
    return folder


@pytest.fixture(scope="session")
def two_gratings(tmp_path_factory):
    """A folder with two gratings of one target (E140M and E230M of G191-B2B, overlapping 1607-1727 A)."""
    return _same_target_second_grating(tmp_path_factory.mktemp("two_gratings"))
