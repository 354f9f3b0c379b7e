"""`specola demo` (the README's first command) runs on the bundled data, writes a gallery of every figure with a
note on what to look for, and every figure has labelled axes with units and matches its baseline image.

The baselines are the gallery's own images, docs/figures/gallery/ (what docs/gallery.md shows is what CI checks).
Figures drawn from an MCMC chain (the stellar demo's emcee run) differ pixel by pixel between numpy/scipy/emcee
releases, which draw other random streams with the same seed: they are checked by their layout (image size) and by
the posterior they show, not pixel by pixel.
After an intended change of a figure, regenerate both with ``specola demo -o /tmp/demo --gallery docs`` and look at
every changed image before committing.
"""

import json
import re
from pathlib import Path

import pytest

from specola.cli import main
from specola.runs import RunFolder

BASELINES = Path(__file__).parents[1] / "docs" / "figures" / "gallery"
#: RMS difference (0-255 grey levels) allowed against a baseline: anti-aliasing and font hinting, not a changed plot
TOLERANCE = 8.0
#: A label naming a physical quantity must carry its unit in brackets.
PHYSICAL = re.compile(r"wavelength|flux|time|frequency|velocity", re.I)
#: Figures drawn from MCMC samples (see the module docstring), by file name in the gallery.
SAMPLED = re.compile(r"^stellar__(chains_.*|corner|bestfit_model|combo_.*)\.png$")
#: The stellar demo's posterior (TRAPPIST-1 photosphere + spots, logg fixed): median and 1-sigma of the baseline run.
STELLAR_POSTERIOR = {"Tphot": (2692.0, 17.0), "fspot": (0.52, 0.062), "Tspot": (2377.0, 30.0), "errInfl": (38.4, 1.4)}
UNITLESS_OK = re.compile(r"normali[sz]ed|relative|ratio|residual|S/N|\[|fraction|pull", re.I)


def _axes_report(figure) -> list[dict]:
    report = []
    for ax in figure.axes:
        drawn = bool(ax.lines or ax.collections or ax.images or ax.patches or ax.containers)
        report.append(
            {
                "visible": ax.get_visible() and ax.axison,
                "drawn": drawn,
                "xlabel": ax.get_xlabel(),
                "ylabel": ax.get_ylabel(),
                "title": ax.get_title(),
            }
        )
    return report


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo") / "specola-demo"
    captured: dict[str, list[dict]] = {}
    original = RunFolder.save_figure

    def spy(self, name, figure, dpi=150):
        captured[(self.path / name).relative_to(out).as_posix()] = _axes_report(figure)
        return original(self, name, figure, dpi)

    RunFolder.save_figure = spy
    try:
        assert main(["-q", "demo", "-o", str(out)]) == 0
    finally:
        RunFolder.save_figure = original
    return out, captured


def test_demo_finishes_and_records_it(demo_run):
    out, _ = demo_run
    info = json.loads((out / "run.json").read_text())
    assert info["status"] == "finished" and info["stage"] == "demo" and info["error"] is None
    for run_json in out.rglob("run.json"):
        assert json.loads(run_json.read_text())["status"] == "finished", run_json


def test_gallery_lists_every_figure_with_a_note(demo_run):
    out, captured = demo_run
    figures = sorted(p.relative_to(out).as_posix() for p in out.rglob("*.png"))
    assert len(figures) >= 20 and set(figures) == set(captured)
    gallery = (out / "gallery.md").read_text()
    for name in figures:
        line = next((x for x in gallery.splitlines() if f"({name})" in x), None)
        assert line is not None, f"{name} is not in gallery.md"
        assert len(line.split(":", 1)[-1].strip()) > 25, f"{name} has no note on what to look for"


def test_every_figure_has_labelled_axes_with_units(demo_run):
    _, captured = demo_run
    problems = []
    for name, axes in captured.items():
        drawn = [a for a in axes if a["visible"] and a["drawn"]]
        if not drawn:
            problems.append(f"{name}: nothing drawn")
            continue
        if not any(a["xlabel"] for a in drawn) or not any(a["ylabel"] for a in drawn):
            problems.append(f"{name}: no x or y label on any panel")
        for a in drawn:
            for label in (a["xlabel"], a["ylabel"]):
                if PHYSICAL.search(label) and not UNITLESS_OK.search(label):
                    problems.append(f"{name}: label {label!r} has no unit")
                if re.search(r"e-1[0-9]|[+]-nan|\bnan\b", a["title"]):
                    problems.append(f"{name}: title {a['title']!r} prints round-off or nan")
    assert problems == [], "\n".join(problems)


def test_figures_match_their_baselines(demo_run):
    from matplotlib.testing.compare import compare_images
    from matplotlib.testing.exceptions import ImageComparisonFailure

    out, _ = demo_run
    made = {png.relative_to(out).as_posix().replace("/", "__"): png for png in sorted(out.rglob("*.png"))}
    missing = sorted(set(made) - {p.name for p in BASELINES.glob("*.png")})
    stale = sorted({p.name for p in BASELINES.glob("*.png")} - set(made))
    assert not missing, f"no baseline for {missing}: regenerate the gallery (see this module's docstring)"
    assert not stale, f"baselines of figures the demo no longer makes: {stale}"
    failures = []
    for key, png in made.items():
        if SAMPLED.match(key):
            failures += _layout_differs(BASELINES / key, png)
            continue
        try:
            diff = compare_images(str(BASELINES / key), str(png), tol=TOLERANCE, in_decorator=True)
        except ImageComparisonFailure as exc:  # e.g. a different image size
            failures.append(f"{key}: {str(exc).splitlines()[0]}")
            continue
        if diff is not None:
            failures.append(f"{key}: RMS {diff['rms']:.1f} > {TOLERANCE}")
    assert failures == [], "\n".join(failures)


def _layout_differs(baseline: Path, png: Path) -> list[str]:
    from matplotlib.image import imread

    shapes = imread(baseline).shape, imread(png).shape
    return [] if shapes[0] == shapes[1] else [f"{png.name}: size {shapes[1]} differs from the baseline's {shapes[0]}"]


def test_sampled_figures_show_the_baseline_posterior(demo_run):
    """The MCMC figures are not compared pixel by pixel: the posterior they draw must be the baseline's."""
    import numpy as np
    from astropy.table import Table

    out, _ = demo_run
    samples = Table.read(out / "stellar" / "posterior_samples.csv", format="ascii.csv")
    for name, (median, sigma) in STELLAR_POSTERIOR.items():
        assert abs(np.median(samples[name]) - median) < 0.5 * sigma, name
        assert 0.8 < np.std(samples[name]) / sigma < 1.25, name
