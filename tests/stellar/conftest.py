import astropy.units as u
import numpy as np
import pytest
from scipy import stats

from specola.data import data_path
from specola.grids import load_cache
from specola.io import read
from specola.spectrum import Spectrum
from specola.stellar.model import BinnedModel, Components


@pytest.fixture(scope="session")
def grid():
    return load_cache(data_path("grids", "btsettl08_prism_trappist1.h5"))


@pytest.fixture(scope="session")
def trappist1():
    return read(data_path("spectra", "trappist1_nirspec_prism_outoftransit.csv"))


def simulate(grid, template, truth: Components, snr_scale=1.0, seed=0, error_inflation=1.0):
    """Spectrum from the grid at the template's PRISM bins, with its errors (times snr_scale) and Gaussian noise.

    ``error_inflation`` > 1 draws the noise from errors that large while reporting the template's errors.
    """
    spec = template.apply_mask()
    model = BinnedModel(grid.bin_to(spec))
    flux = model.evaluate(truth)
    err = spec.error.value * snr_scale
    rng = np.random.default_rng(seed)
    noisy = flux + rng.normal(0, err * error_inflation)
    return Spectrum(spec.low, spec.high, noisy * spec.flux_unit, err * spec.flux_unit)


@pytest.fixture(scope="session")
def simulate_fn():
    return simulate


def importance_moments(post, runs, n=240000, seed=0):
    """Posterior mean and std by importance sampling from a mixture of Student-t fits to ``runs`` (an arbiter
    independent of either sampler's dynamics), and the effective sample size."""
    scale = np.concatenate(runs).std(axis=0)
    comps = [stats.multivariate_t(x.mean(0) / scale, 2 * np.cov((x / scale).T), df=5) for x in runs]
    rng = np.random.default_rng(seed)
    draws = np.concatenate([c.rvs(n // len(comps), random_state=rng) for c in comps])
    log_q = np.logaddexp.reduce([c.logpdf(draws) for c in comps], axis=0)
    log_w = np.concatenate([post.batch(d)[:, 0] for d in np.array_split(draws * scale, 24)]) - log_q
    w = np.exp(log_w - np.max(log_w))
    w /= w.sum()
    mean = w @ (draws * scale)
    std = np.sqrt(w @ (draws * scale - mean) ** 2)
    return mean, std, 1.0 / np.sum(w**2)


@pytest.fixture(scope="session")
def importance():
    return importance_moments


def prism_bins(template):
    spec = template.apply_mask()
    return spec.low, spec.high


__all__ = ["importance_moments", "prism_bins", "simulate", "u"]
