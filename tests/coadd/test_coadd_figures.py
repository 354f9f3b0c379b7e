"""Coadd figures: one wavelength notation (astropy LaTeX units), limits not set by a spike."""

import astropy.units as u
import numpy as np

from specola.coadd import CoaddConfig, coadd, run_hasp
from specola.coadd.config import CoaddSection
from specola.coadd.plots import figures, plot_comparison
from specola.data import data_path
from specola.plotting import flux_label, wavelength_label
from specola.spectrum import Spectrum


def _spectrum(name, spike=None, rng=None):
    edges = np.arange(1000.0, 1100.0, 0.1)
    flux = 1.0 + 0.01 * (rng or np.random.default_rng(0)).normal(size=edges.size - 1)
    if spike is not None:
        flux[spike] = 50.0
    return Spectrum.from_edges(
        edges * u.AA, flux * u.Jy, error=np.full(flux.size, 0.01) * u.Jy, meta={"exposure": name, "exptime": 100.0}
    )


def test_coadd_figure_labels_and_a_spike_does_not_set_the_limits():
    result = coadd([_spectrum("a", spike=300), _spectrum("b")], CoaddConfig(coadd=CoaddSection(figures=True)))
    (fig,) = figures(result).values()
    ax = fig.axes[0]
    assert ax.get_xlabel() == wavelength_label(u.AA)
    assert ax.get_ylabel() == flux_label(u.Jy)
    assert ax.get_ylim()[1] < 2.0  # the 50 Jy one-pixel spike is out of the way


def test_comparison_and_hasp_figures_use_one_notation():
    spectra = {"x": _spectrum("x"), "y": _spectrum("y", rng=np.random.default_rng(1))}
    fig = plot_comparison(spectra, _spectrum("ref", rng=np.random.default_rng(2)), 1010.0, 1090.0)
    hasp = figures(run_hasp(data_path("coadd", "cos_g140l")))
    labels = {fig.axes[1].get_xlabel()} | {f.axes[0].get_xlabel() for f in hasp.values()}
    assert labels == {wavelength_label(u.AA)}
    assert all(f.axes[0].get_ylabel().startswith("Flux density [") for f in hasp.values())
