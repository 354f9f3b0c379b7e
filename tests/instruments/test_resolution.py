"""Resolution curves: ranges on the real tables/files and injection-recovery of the LSF width."""

import astropy.units as u
import numpy as np
import pytest
from scipy.optimize import curve_fit

from specola.data import data_path
from specola.errors import SpectrumError
from specola.instruments import DESI, DISPERSERS, SDSS, Constant, NIRSpec, available, get, wdisp_to_resolution
from specola.io import read, read_all
from specola.spectrum import Spectrum

SDSS_FILE = data_path("spectra", "spec-1678-53433-0425.fits.gz")
DESI_FILE = data_path("spectra", "desi-spectra-af558177.fits.gz")


def _gauss(x, a, mu, sigma, c):
    return a * np.exp(-0.5 * ((x - mu) / sigma) ** 2) + c


def _fit_fwhm(x, y):
    i = int(np.argmax(y))
    p, _ = curve_fit(_gauss, x, y, p0=(y[i], x[i], (x[1] - x[0]) * 2, 0.0))
    return 2 * np.sqrt(2 * np.log(2)) * abs(p[2]), p[1]


def test_nirspec_tables():
    prism = NIRSpec("prism")
    w = np.linspace(0.5, 6.0, 500) * u.um
    r = prism(w)
    assert 29 < r.min() < 32 and 415 < r.max() < 425
    assert r[np.argmin(np.abs(w - 1.1 * u.um))] < 40  # minimum near 1 um, rising to the red
    for d in DISPERSERS:
        lo, hi = NIRSpec(d).wave_range.value
        grid = np.linspace(max(lo, 1.0), hi, 50) * u.um
        rr = NIRSpec(d)(grid)
        assert np.all(rr > 300 if d != "prism" else rr > 25)
        assert np.median(NIRSpec(d, source="point")(grid) / rr) > 1.2  # compact sources see a higher R
        # the tables' R is lambda over a 2.2-pixel resolution element
        np.testing.assert_allclose((grid / (2.2 * u.pix * NIRSpec(d).dispersion(grid))).value, rr, rtol=0.01)
    assert prism(30000 * u.AA) == pytest.approx(prism(3 * u.um))
    assert NIRSpec("PRISM", scale=1.5)(3 * u.um) == pytest.approx(1.5 * prism(3 * u.um))


def test_registry_and_errors():
    assert {"constant", "nirspec", "sdss", "desi"} <= set(available())
    assert isinstance(get("NIRSpec", "g395h"), NIRSpec)
    assert get("constant", 2700)(np.ones(3) * u.um).tolist() == [2700.0] * 3
    with pytest.raises(SpectrumError, match="unknown instrument 'hubble'"):
        get("hubble")
    with pytest.raises(SpectrumError, match="g999"):
        NIRSpec("g999")
    with pytest.raises(SpectrumError, match="Quantity"):
        NIRSpec("prism")(np.array([1.0, 2.0]))
    assert NIRSpec("prism").in_unit("nm")(np.array([3000.0])) == pytest.approx(NIRSpec("prism")(3 * u.um))
    with pytest.raises(SpectrumError):
        Constant(-1)


@pytest.mark.parametrize("curve", [Constant(800.0), NIRSpec("prism"), NIRSpec("g235m", source="point")])
def test_convolve_recovers_instrument_fwhm(curve):
    """Inject a very narrow line, convolve to the instrument's R, recover R from the fitted FWHM."""
    centre = 2.4 * u.um
    r_true = float(curve(centre))
    fwhm = centre.to_value(u.AA) / r_true
    edges = np.arange(-8 * fwhm, 8 * fwhm, fwhm / 40) + centre.to_value(u.AA)  # spectrum in Angstrom
    mid = 0.5 * (edges[1:] + edges[:-1])
    sigma0 = fwhm / 200 / 2.3548
    flux = np.exp(-0.5 * ((mid - centre.to_value(u.AA)) / sigma0) ** 2)
    spec = Spectrum.from_edges(edges * u.AA, flux * u.Jy)
    out = spec.convolve_to_resolution(curve, initial_resolution=r_true * 200)
    got, mu = _fit_fwhm(mid, out.flux.value)
    r_rec = mu / got
    assert r_rec == pytest.approx(float(curve(mu * u.AA)), rel=0.01)


def test_sdss_wdisp_range_and_units():
    spec = read(SDSS_FILE)
    res = spec.meta["resolution"]
    assert isinstance(res, SDSS)
    r = res(spec.wavelength)
    assert 1500 < r.min() and r.max() < 3000
    assert 1800 < np.median(r) < 2300
    assert float(wdisp_to_resolution(1.0)) == pytest.approx(1 / (2.3548 * 1e-4 * np.log(10)), rel=1e-4)


def test_sdss_lsf_injection():
    """A Gaussian of sigma = wdisp log-lambda pixels, drawn on the real loglam grid, has FWHM = lambda / R."""
    from astropy.io import fits

    coadd = fits.getdata(SDSS_FILE, "COADD")
    loglam, wdisp = coadd["loglam"].astype(float), coadd["wdisp"].astype(float)
    res = SDSS(10**loglam * u.AA, wdisp)
    for i in (300, 1900, 3500):
        x = 10 ** loglam[i - 40 : i + 40]
        pix = np.arange(-40, 40)
        y = np.exp(-0.5 * (pix / wdisp[i]) ** 2)
        fwhm, mu = _fit_fwhm(x, y)
        assert mu / fwhm == pytest.approx(float(res(mu * u.AA)), rel=0.01)


def test_desi_resolution_range_and_injection():
    spectra = read_all(DESI_FILE)
    medians = []
    for spec in spectra:
        res = spec.meta["resolution"]
        assert isinstance(res, DESI)
        r = res(spec.wavelength)
        assert 2000 < r.min() and r.max() < 5500, (spec.meta["arm"], r.min(), r.max())
        medians.append(np.median(r))
        wave = spec.wavelength.value
        matrix = res.matrix()
        for i in (500, 1200, 2000):
            sl = slice(i - 12, i + 13)
            # the LSF of pixel i (row i of the matrix), fitted non-linearly: R within 3%
            fwhm, _ = _fit_fwhm(wave[sl], matrix.getrow(i).toarray().ravel()[sl])
            assert wave[i] / fwhm == pytest.approx(float(res(wave[i] * u.AA)), rel=0.03)
            # an unresolved line observed through the matrix: its fitted width gives R within 10%
            line = np.zeros(len(wave))
            line[i] = 1.0
            fwhm, mu = _fit_fwhm(wave[sl], (matrix @ line)[sl])
            assert mu / fwhm == pytest.approx(float(res(mu * u.AA)), rel=0.10)
    assert medians[0] < medians[1] < medians[2]  # R grows from B to Z
