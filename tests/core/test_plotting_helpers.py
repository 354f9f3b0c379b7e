import math
import os
import subprocess
import sys

import astropy.units as u
import matplotlib
import numpy as np
import pytest

from specola.plotting import (
    binned_mean,
    figure,
    flux_label,
    format_value,
    mark_bounds,
    piled_at_edge,
    residual_panel,
    robust_limits,
    wavelength_label,
)

matplotlib.use("Agg")


def test_a_spike_does_not_move_the_limits():
    rng = np.random.default_rng(3)
    y = 1.0 + 0.05 * rng.standard_normal(4000)
    base = robust_limits(y)
    spiked = y.copy()
    spiked[[100, 2000, 3999]] = [1e4, -5e3, 1e6]  # sky-line residuals, a cosmic ray
    assert robust_limits(spiked) == pytest.approx(base, rel=0.02)
    assert base[0] < 0.9 and base[1] > 1.1 and base[1] < 1.5


def test_limits_ignore_masked_and_non_finite_values():
    y = np.r_[np.ones(100), 1e9 * np.ones(5), np.nan, np.inf]
    mask = np.r_[np.zeros(100, bool), np.ones(5, bool), False, False]
    lo, hi = robust_limits(y, mask)
    assert hi < 2 and lo > 0
    assert robust_limits(np.full(5, np.nan)) == (0.0, 1.0)


def test_values_at_a_grid_edge_print_as_such():
    text = format_value(5508.0, 0.0, bounds=(3500.0, 5500.0), step=250.0, name="Teff", unit="K")
    assert text == "Teff = 5508 K (at grid edge 5500)"
    text = format_value(-1.066e-15, math.nan, bounds=(-1.0, 0.5), name="[M/H]")
    assert "e-15" not in text and "nan" not in text and text.startswith("[M/H] = 0.00")
    assert format_value(4.02, 0.03, bounds=(4.0, 5.5), step=0.5) == "4.020 +- 0.030 (near grid edge 4)"


@pytest.mark.parametrize(
    ("value", "error", "expected"),
    [(2514.31, 13.2, "2514 +- 13"), (0.52131, 0.0412, "0.521 +- 0.041"), (24.812, (1.1, 2.35), "24.8 -1.1 +2.4")],
)
def test_values_carry_two_significant_figures_of_their_error(value, error, expected):
    assert format_value(value, error) == expected


def test_one_unit_notation():
    assert wavelength_label(u.AA) == wavelength_label("Angstrom") == r"Wavelength [$\mathrm{\mathring{A}}$]"
    assert wavelength_label(u.um, frame="rest") == r"Rest wavelength [$\mathrm{\mu m}$]"
    assert "erg" in flux_label(u.erg / u.s / u.cm**2 / u.AA) and "$" in flux_label(u.Jy)


def test_piled_posteriors_are_named_and_marked():
    rng = np.random.default_rng(0)
    piled = 4.0 + np.abs(rng.normal(0, 0.1, 5000))
    assert piled_at_edge(piled, 4.0, 5.5, step=0.5) == "low"
    assert piled_at_edge(5.5 - np.abs(rng.normal(0, 0.1, 5000)), 4.0, 5.5, step=0.5) == "high"
    assert piled_at_edge(rng.normal(4.75, 0.1, 5000), 4.0, 5.5, step=0.1) is None
    _, ax = figure()
    ax.hist(piled, 40)
    assert mark_bounds(ax, 4.0, 5.5, piled, step=0.5) == "low"
    assert any("piled at grid edge" in t.get_text() for t in ax.texts)
    assert sorted(line.get_xdata()[0] for line in ax.lines) == [4.0, 5.5]


def test_residual_panel_shows_a_one_percent_trend():
    rng = np.random.default_rng(2)
    x = np.linspace(4000, 9000, 3000)
    snr = 20.0
    trend = 0.01 * (x - x.mean()) / (x.max() - x.mean())  # +-1%: 0.2 sigma per pixel at S/N 20
    resid = trend * snr + rng.standard_normal(x.size)
    centres, means, errors = binned_mean(x, resid, 30)
    (slope, _), cov = np.polyfit(centres, means, 1, w=1 / errors, cov="unscaled")
    assert slope / np.sqrt(cov[0, 0]) > 5  # the binned trace shows the trend far above its noise
    _, ax = figure()
    residual_panel(ax, x, resid, xlabel=wavelength_label(u.AA))
    assert ax.get_ylabel() == r"Residual [$\sigma$]" and ax.get_xlabel().startswith("Wavelength")
    assert ax.get_ylim()[1] >= 3


def test_corner_imports_without_arviz_daily_refactor_warning(tmp_path):
    # ArviZ 0.23 warns once a day, on its first import (a stamp in the user's cache folder): a fresh cache
    # folder makes it warn, and warnings are errors in this process
    code = "from specola.plotting import corner_module; corner_module()"
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path)}
    done = subprocess.run([sys.executable, "-W", "error", "-c", code], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    assert (tmp_path / "arviz").is_dir()  # the check that warns did run
