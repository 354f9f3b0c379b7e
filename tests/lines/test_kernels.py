"""Pixel-space LSF kernels: a DESI resolution matrix and a tabulated LSF applied to the model.

The simulations are written independently of the fitter: the true spectrum is averaged over 40 points per pixel
(not erf differences) and blurred with a dense matrix built here row by row (DESI) or by a fine-grid NumPy
convolution (tabulated LSF), not through the band arrays of the model.
"""

import astropy.units as u
import numpy as np
import pytest
from astropy.table import QTable
from lines_helpers import desi_dense, desi_diagonals, pixel_means

from specola.data import data_path
from specola.errors import ConfigError, SpectrumError
from specola.instruments import DESI, Tabulated, TabulatedLSF
from specola.io import read_all
from specola.lines import GroupSpec, LineSpec, LinesResult, PriorSpec, SpectrumSpec, build_model, fit
from specola.lines.run import resolution_from_text
from specola.spectrum import Spectrum

C = 299792.458
FLAM = u.Unit("1e-17 erg / (s cm2 Angstrom)")
LINE = 8540.0  # A, observed (z = 0)
TRUTH = {"flux": 60.0, "fwhm": 100.0, "cont": 2.0}
WIDTH = [GroupSpec("z", "redshift", PriorSpec("uniform", low=-0.002, high=0.002)),
         GroupSpec("narrow", "width", PriorSpec("uniform", low=10.0, high=800.0))]  # fmt: skip


@pytest.fixture(scope="module")
def desi_sim():
    edges = np.arange(8400.0, 8680.0, 0.8)
    low, high = edges[:-1], edges[1:]
    dense = desi_dense(low.size)
    mean = dense @ pixel_means(low, high, [(LINE, TRUTH["fwhm"], TRUTH["flux"])], TRUTH["cont"])
    err = np.full(low.size, 0.15)
    res = DESI(0.5 * (low + high) * u.AA, desi_diagonals(dense))

    def spectrum(seed, resolution=res):
        flux = mean + err * np.random.default_rng(seed).standard_normal(low.size)
        return Spectrum(low * u.AA, high * u.AA, flux * FLAM, err * FLAM, meta={"name": "b", "resolution": resolution})

    return spectrum, (low, mean), res


def test_desi_matrix_model_matches_dense_numpy(desi_sim):
    spectrum, (low, mean), _ = desi_sim
    model = build_model([spectrum(0)], [LineSpec("l", wavelength=LINE)], 0.0, groups=WIDTH)
    p = model.plan
    truth = {"z_z": 0.0, "fwhm_narrow": TRUTH["fwhm"], "flux_l": TRUTH["flux"] / p.line_unit,
             "cont_r0_c0": TRUTH["cont"] / p.cont_unit[0], "cont_r0_c1": 0.0}  # fmt: skip
    got = model.predict(truth)["total"]
    fitted = np.searchsorted(low, np.asarray(model.args["low"]) - 1e-6)
    assert fitted.size > 150 and fitted.min() > 5  # the window ends inside the grid: bands reach past its edges
    np.testing.assert_allclose(got, mean[fitted], rtol=0, atol=2e-4 * mean.max())


def test_desi_matrix_fit_recovers_flux_and_width(desi_sim):
    spectrum, _, res = desi_sim
    lines = [LineSpec("l", wavelength=LINE)]
    model = build_model([spectrum(1)], lines, 0.0, groups=WIDTH)
    post = LinesResult(model, fit(model, "laplace", num_samples=2000)).draws()
    for key, true in (("flux", TRUTH["flux"]), ("fwhm", TRUTH["fwhm"]), ("velocity", 0.0)):
        d = post[key][:, 0] * (model.plan.flux_unit.to(FLAM) if key == "flux" else 1.0)
        assert abs(np.median(d) - true) < 3 * np.std(d), (key, np.median(d), np.std(d))
    # a Gaussian of the rows' width (the R(lambda) path) misses the shoulder: row i takes flux from pixels i + 1.6,
    # so the observed line sits blueward, and only the matrix model puts it back
    gauss = Tabulated(res.pixels, res(res.pixels), name="gaussian-equivalent")
    g = build_model([spectrum(1, gauss)], lines, 0.0, groups=WIDTH)
    gd = LinesResult(g, fit(g, "laplace", num_samples=2000)).draws()
    assert np.median(gd["velocity"]) < -10 * np.std(gd["velocity"]), (np.median(gd["velocity"]), np.std(gd["velocity"]))


def test_desi_matrix_needs_its_own_pixels_and_no_rscale(desi_sim):
    spectrum, _, res = desi_sim
    s = spectrum(2)
    with pytest.raises(SpectrumError, match="resolution matrix is for"):
        res.pixel_kernel(s.low[:-3], s.high[:-3])
    with pytest.raises(ConfigError, match="rscale"):
        build_model([s], [LineSpec("l", wavelength=LINE)], 0.0, groups=WIDTH,
                    bindings=[SpectrumSpec(name="b", rscale="R")])  # fmt: skip


def test_real_desi_band_rows_are_the_matrix_rows():
    """The band form of each arm equals the rows of SciPy's dia_matrix of the file's diagonals (desispec layout)."""
    for arm in read_all(data_path("spectra", "desi-spectra-af558177.fits.gz")):
        res = arm.meta["resolution"]
        offsets, w = res.pixel_kernel(arm.low, arm.high)
        dense = res.matrix().toarray()
        i = np.arange(len(arm))[:, None]
        j = i + offsets
        inside = (j >= 0) & (j < len(arm))
        np.testing.assert_array_equal(w[inside], dense[np.broadcast_to(i, j.shape)[inside], j[inside]])
        assert np.all(w[~inside] == 0) and abs(np.median(w.sum(axis=1)) - 1) < 0.01  # rows conserve flux


def test_inconsistent_flux_units_are_named():
    arms = read_all(data_path("spectra", "desi-spectra-af558177.fits.gz"))
    counts = arms[2].replace(flux=arms[2].flux.value * u.ct, error=arms[2].error.value * u.ct,
                             meta={**arms[2].meta, "name": "zcounts"})  # fmt: skip
    with pytest.raises(SpectrumError, match=r"spectrum zcounts: cannot fit flux in ct"):
        build_model([arms[0], counts], [LineSpec("[OII]3727")], arms[0].meta["redshift"])


@pytest.mark.slow
def test_real_desi_oii_with_the_file_matrix():
    """The DESI coadd at z = 1.29: [OII] in the Z arm through each arm's own matrix, vs its Gaussian width."""
    arms = read_all(data_path("spectra", "desi-spectra-af558177.fits.gz"))
    lines = [LineSpec("[OII]3727"), LineSpec("[OII]3730")]
    z = arms[0].meta["redshift"]
    model = build_model(arms, lines, z)
    assert model.args["kern_w"].shape[1] == 11  # the file's 11 diagonals
    res = LinesResult(model, fit(model, "laplace", num_samples=1000))
    flux = res.draws()["flux"].sum(axis=1)
    gauss = [a.replace(meta={**a.meta, "resolution": Tabulated(a.meta["resolution"].pixels,
                                                               a.meta["resolution"](a.meta["resolution"].pixels))})
             for a in arms]  # fmt: skip
    gm = build_model(gauss, lines, z)
    gflux = LinesResult(gm, fit(gm, "laplace", num_samples=1000)).draws()["flux"].sum(axis=1)
    assert np.median(flux) > 10 * np.std(flux)  # [OII] detected
    assert abs(np.median(flux) - np.median(gflux)) < 0.5 * np.std(flux)  # the matrix is near-Gaussian for DESI
    d = res.draws()
    assert abs(np.median(d["z"][:, 0]) - z) < 2e-4  # the pipeline redshift within 30 km/s
    assert 0.9 < np.median(d["flux"][:, 1] / d["flux"][:, 0]) < 1.5  # 3730/3727: the doublet resolved, physical


def _lsf_table(path):
    """A synthetic (made-up, for the test only) non-Gaussian LSF: a flat top 2.4 detector pixels wide plus wings."""
    x = (np.arange(41) - 20) * 0.25
    kern = np.where(np.abs(x) <= 1.2, 1.0, 0.0) + 0.15 * np.exp(-np.abs(x) / 1.0)
    t = QTable()
    t["wavelength"] = [2.8, 3.2] * u.um
    t["dispersion"] = [1.8e-3, 1.8e-3] * u.um
    t["kernel"] = np.stack([kern, kern])
    t.meta["offset_step"] = 0.25
    t.write(path, format="ascii.ecsv")
    return x, kern


def test_tabulated_lsf_is_applied_as_a_kernel(tmp_path):
    x, kern = _lsf_table(tmp_path / "lsf.ecsv")
    lsf = resolution_from_text(f"lsf:{tmp_path / 'lsf.ecsv'}", None)
    assert isinstance(lsf, TabulatedLSF) and 100 < float(lsf(3.0 * u.um)) < 2000
    disp = 18.0  # A per detector pixel; the spectrum is resampled to 1.3 detector pixels
    edges = np.arange(29400.0, 30600.0, 1.3 * disp)
    low, high = edges[:-1], edges[1:]
    # independent path: fine grid (0.05 A), intrinsic line convolved with the kernel by np.convolve, pixel means
    fine = np.arange(29000.0, 31000.0, 0.05)
    truth = {"flux": 5000.0, "fwhm": 600.0, "cont": 3.0, "centre": 30000.0}
    sig = truth["centre"] * truth["fwhm"] / C / 2.3548200450309493
    intrinsic = truth["flux"] * np.exp(-0.5 * ((fine - truth["centre"]) / sig) ** 2) / (np.sqrt(2 * np.pi) * sig)
    k = np.interp(np.arange(-5 * disp, 5 * disp + 0.01, 0.05) / disp, x, kern, left=0, right=0)
    blurred = truth["cont"] + np.convolve(intrinsic, k / k.sum(), mode="same")
    mean = np.asarray([blurred[(fine >= a) & (fine < b)].mean() for a, b in zip(low, high, strict=True)])
    err = np.full(low.size, 0.5)  # peak S/N ~ 100
    flux = mean + err * np.random.default_rng(3).standard_normal(low.size)
    s = Spectrum(low * u.AA, high * u.AA, flux * FLAM, err * FLAM, meta={"name": "nrs", "resolution": lsf})
    groups = [GroupSpec("narrow", "width", PriorSpec("uniform", low=10.0, high=3000.0))]
    model = build_model([s], [LineSpec("l", wavelength=truth["centre"])], 0.0, groups=groups,
                        continuum=None)  # fmt: skip
    d = LinesResult(model, fit(model, "laplace", num_samples=2000)).draws()
    for key in ("flux", "fwhm"):
        v = d[key][:, 0] * (model.plan.flux_unit.to(FLAM) if key == "flux" else 1.0)
        assert abs(np.median(v) - truth[key]) < 3 * np.std(v), (key, np.median(v), np.std(v))


def test_lsf_config_errors_name_the_option(tmp_path):
    with pytest.raises(ConfigError, match=r"spectra\[0\]\.resolution: .*missing\.ecsv"):
        resolution_from_text(f"lsf:{tmp_path / 'missing.ecsv'}", None, "spectra[0].resolution")
    bad = QTable({"wavelength": [3.0] * u.um, "kernel": [[1.0, 2.0, 1.0]]})
    bad.write(tmp_path / "nodisp.ecsv", format="ascii.ecsv")
    with pytest.raises(ConfigError, match="no dispersion column"):
        resolution_from_text(f"lsf:{tmp_path / 'nodisp.ecsv'}", None)
    lsf = resolution_from_text(f"lsf:{tmp_path / 'nodisp.ecsv'}:g395m", None)  # the disperser supplies it
    assert lsf.unit == u.um and lsf.dispersion[0] == pytest.approx(1.79e-3, rel=0.02)
