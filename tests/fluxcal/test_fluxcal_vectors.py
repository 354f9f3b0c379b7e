import numpy as np
import pytest

from specola.errors import SpectrumError
from specola.fluxcal import fit_sensitivity, load_extinction, read_calspec, standard_path
from specola.fluxcal.simulate import observe, optical_throughput, perturbed
from specola.fluxcal.vectors import CalibrationVector, apply_calibration, combine_vectors


@pytest.fixture(scope="module")
def setup():
    rng = np.random.default_rng(4)
    bd17 = read_calspec(standard_path("bd_17d4708_stisnic_007"))
    ext = load_extinction()
    edges = np.arange(3800.0, 8800.0, 4.0)
    stars = [observe(perturbed(bd17, rng), edges, optical_throughput, 60.0, rng, airmass=1.2, extinction=ext)
             for _ in range(3)]  # fmt: skip
    sens = [fit_sensitivity(s, bd17, airmass=1.2, extinction=ext) for s in stars]
    vectors = [x.vector(stars[0], airmass=1.2, extinction=ext, meta={"star_name": f"s{i}"}) for i, x in enumerate(sens)]
    return bd17, ext, stars, sens, vectors


def test_vector_times_counts_is_the_calibrated_spectrum(setup):
    _, ext, stars, sens, vectors = setup
    cal = sens[0].calibrate(stars[1], airmass=1.2, extinction=ext)
    flux, var, header = apply_calibration(stars[1].flux.value, stars[1].error.value ** 2, vectors[0])
    good = cal.good & np.isfinite(flux)
    assert good.sum() > 0.9 * len(cal)
    np.testing.assert_allclose(flux[good], cal.flux.value[good], rtol=1e-10)
    np.testing.assert_allclose(np.sqrt(var[good]), cal.error.value[good], rtol=1e-8)
    assert header["BUNIT"].startswith("erg") and header["FLUXCAL"]


def test_frame_on_either_axis_and_variance():
    rng = np.random.default_rng(0)
    vec = CalibrationVector(np.linspace(4000, 8000, 50), rng.uniform(1, 2, 50), np.full(50, 0.01), np.zeros(50, bool))
    frame = rng.uniform(100, 200, (7, 50))
    var = frame.copy()
    flux, fvar, _ = apply_calibration(frame, var, vec)
    np.testing.assert_allclose(flux, frame * vec.factor)
    np.testing.assert_allclose(fvar, var * vec.factor**2 + frame**2 * 0.01)
    flux_t, fvar_t, _ = apply_calibration(frame.T, var.T, vec)
    np.testing.assert_allclose(flux_t, flux.T)
    np.testing.assert_allclose(fvar_t, fvar.T)
    with pytest.raises(SpectrumError, match="no axis"):
        apply_calibration(frame[:, :40], None, vec)


def test_combination_clips_a_bad_star_even_with_three(setup):
    *_, vectors = setup
    good = combine_vectors(vectors)
    assert good.summary["n_stars_used"] == 3 and not good.summary["rejected_stars"]
    bad = CalibrationVector(vectors[2].wavelength, vectors[2].factor * 1.05, vectors[2].variance, vectors[2].mask,
                            {"star_name": "bad"})  # fmt: skip
    combined = combine_vectors([vectors[0], vectors[1], bad])
    assert "bad" in combined.summary["rejected_stars"]
    ok = ~combined.vector.mask & ~good.vector.mask
    ratio = combined.vector.factor[ok] / good.vector.factor[ok]
    assert np.median(np.abs(ratio - 1)) < 0.01  # not dragged by the 5% outlier
    # errors of the weighted mean shrink as 1/N
    assert np.median(good.vector.variance[ok]) < 0.5 * np.median(vectors[0].variance[ok])
    assert len(good.residuals) == 3 and good.summary["rms_scatter"] < 0.05


def test_single_star_passes_through_and_median_and_smoothing(setup):
    *_, vectors = setup
    one = combine_vectors(vectors[:1])
    ok = ~one.vector.mask
    np.testing.assert_allclose(one.vector.factor[ok], vectors[0].factor[ok])
    med = combine_vectors(vectors, method="median", smooth_window=31)
    ok = ~med.vector.mask
    assert np.all(np.isfinite(med.vector.factor[ok]))
    with pytest.raises(SpectrumError, match="weighted_mean"):
        combine_vectors(vectors, method="mode")
