import astropy.units as u
import numpy as np
import pytest

from specola.errors import SpectrumError
from specola.fluxcal.continuum import fit_continuum, normalize_continuum, normalize_with_model_continuum, score
from specola.spectrum import Spectrum


def lined_spectrum(rng, snr=200.0):
    """A smooth continuum with 30 absorption lines (10-60% deep) and a telluric-like dip, with noise."""
    edges = np.linspace(4000.0, 8000.0, 4001)
    w = 0.5 * (edges[1:] + edges[:-1])
    cont = 1.0 + 0.3 * np.sin(w / 900.0) + 0.2 * (w - 6000) / 2000
    lines = np.ones_like(w)
    for c in rng.uniform(4100, 7900, 30):
        lines *= 1 - rng.uniform(0.1, 0.6) * np.exp(-0.5 * ((w - c) / 3.0) ** 2)
    lines *= 1 - 0.8 * ((w > 6860) & (w < 6960))
    flux = cont * lines
    err = cont / snr
    return Spectrum.from_edges(edges * u.AA, (flux + rng.normal(0, err)) * u.ct, error=err * u.ct), cont


@pytest.mark.parametrize("method", ["bspline", "legendre", "running_median"])
def test_continuum_methods_recover_the_envelope(method):
    spec, cont = lined_spectrum(np.random.default_rng(1))
    options = {"order": 9} if method == "legendre" else {}
    fit = fit_continuum(spec, method=method, mask_regions=((6860.0, 6960.0),), **options)
    w = spec.wavelength.value
    tolerance = 0.02 if method == "running_median" else 0.01
    assert np.median(np.abs(fit / cont - 1)) < tolerance / 2
    inside = (w > 4200) & (w < 7800)
    assert np.percentile(np.abs(fit / cont - 1)[inside], 95) < tolerance
    if method == "running_median":
        return  # a median is robust to narrow lines by itself
    # without asymmetric clipping the lines drag a least-squares continuum down
    dragged = fit_continuum(spec, method=method, sigma_lo=100.0, mask_regions=((6860.0, 6960.0),), **options)
    assert np.median(dragged / cont - 1) < np.median(fit / cont - 1) - 0.002


def test_normalisation_and_scores():
    rng = np.random.default_rng(2)
    spec, cont = lined_spectrum(rng)
    norm, fitted = normalize_continuum(spec, mask_regions=((6860.0, 6960.0),))
    assert norm.flux_unit == u.dimensionless_unscaled
    assert np.median(np.abs(fitted / cont - 1)) < 0.005
    exact, _ = normalize_with_model_continuum(spec, cont)
    chi2, n = score(exact, exact.flux.value, "chi2")  # a perfect model
    assert chi2 == pytest.approx(0.0, abs=1e-12) and n == len(spec)
    model = np.ones(len(spec))  # a line-free model: lines are outliers
    c2, _ = score(exact, model, "chi2", mask_regions=((6860.0, 6960.0),))
    hub, _ = score(exact, model, "huber", mask_regions=((6860.0, 6960.0),))
    assert hub < c2 / 2
    with pytest.raises(SpectrumError, match="continuum has"):
        normalize_with_model_continuum(spec, cont[:-1])
    with pytest.raises(SpectrumError, match="bspline"):
        fit_continuum(spec, method="spline")
