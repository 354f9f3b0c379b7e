"""The catalogue workflow end to end: several standards matched by position, combined vector, science calibrated."""

import json

import astropy.units as u
import numpy as np
import pytest
from test_fluxcal_injection import AIRMASS, STARS, simulate

from specola.config import load_config
from specola.fluxcal import FluxcalConfig, load_extinction, run_to_folder
from specola.fluxcal.catalog import CATALOG_BANDS
from specola.fluxcal.photometry import synthetic_magnitude
from specola.fluxcal.qc import plot_vectors
from specola.fluxcal.simulate import photon_sensitivity, rippled_throughput
from specola.io import write

POSITIONS = {"F": (10.0, -20.0), "G": (10.01, -20.0), "K": (10.0, -20.01), "X": (50.0, 5.0)}


@pytest.mark.slow
def test_three_standards_and_a_catalogue(tmp_path):
    ext = load_extinction()
    rng = np.random.default_rng(9)
    header = ["ra", "dec"] + [c for k in CATALOG_BANDS.values() for c in k[:2]]
    rows, files, positions = [",".join(header)], [], []
    for name in ("F", "G", "K", "X"):
        make, resolution, _ = STARS["G" if name == "X" else name]
        star = make()
        obs, exptime = simulate(star, resolution, 2.0, ext, rng, rv=50.0)
        write(obs.replace(meta={"exptime": exptime}), tmp_path / f"{name}.fits")
        files.append(f"{name}.fits")
        ra, dec = POSITIONS[name]
        positions += [ra + 0.2 / 3600, dec]  # fibres 0.2" off the catalogue positions
        if name == "X":  # no catalogue row near it: rejected with its reason
            continue
        values = [ra, dec]
        for key, (_, _, filt, system) in CATALOG_BANDS.items():
            if key.startswith("2mass"):  # beyond the BOSZ test spectra: catalogue sentinels
                values += [99.9, 9.99]
            else:
                values += [round(synthetic_magnitude(star, filt, system), 4), 0.01]
        rows.append(",".join(str(v) for v in values))
    (tmp_path / "refcat2.csv").write_text("\n".join(rows) + "\n")
    science, sci_exptime = simulate(STARS["F"][0]().scale(0.05), 1500.0, 2.0, ext, rng, rv=0.0, peak_counts=5e3)
    write(science.replace(meta={"exptime": sci_exptime}), tmp_path / "science.fits")
    (tmp_path / "multi.toml").write_text(
        f'[standard]\nmethod = "template"\n'
        f'[standards]\nfiles = {files}\ncatalog = "refcat2.csv"\ntolerance_arcsec = 1.0\npositions = {positions}\n'
        f"airmass = {AIRMASS}\n[template]\nresolution = 1000.0\n"
        f'[science]\nfiles = ["science.fits"]\nairmass = {AIRMASS}\n[output]\nfigures = false\n'.replace("'", '"')
    )
    config = load_config(FluxcalConfig, tmp_path / "multi.toml")
    result = run_to_folder(config, tmp_path / "run")
    assert [s.name for s in result.stars] == ["F", "G", "K"]
    assert len(result.rejected) == 1 and "X" in result.rejected[0] and "no catalogue star" in result.rejected[0]
    assert result.combined.summary["n_stars_used"] >= 2
    # the science spectrum, calibrated by the combined vector, matches its true flux in broad bins
    cal = result.calibrated["science"]
    truth = STARS["F"][0]().scale(0.05).convolve_to_resolution(1500.0).rebin(cal)
    w = cal.wavelength.to_value(u.AA)
    ratios = []
    for lo in np.arange(4000.0, 8800.0, 400.0):
        sel = (w > lo) & (w < lo + 400) & cal.good & (photon_sensitivity(w, rippled_throughput(w)) > 0)
        ratios.append(np.sum(cal.flux.value[sel]) / np.sum(truth.flux.value[sel]) - 1)
    ratios = np.array(ratios)
    assert np.median(np.abs(ratios)) < 0.03, np.round(100 * ratios, 1)
    assert np.max(np.abs(ratios)) < 0.08, np.round(100 * ratios, 1)
    report = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert report["combined"]["n_stars"] == 3 and any("rejected X" in w for w in report["warnings"])
    assert "science_fluxcal.fits" in {p.name for p in (tmp_path / "run").iterdir()}
    fig = plot_vectors(result.combined)  # written as qc_vectors.png when output.figures is on
    top, bottom = fig.axes[:2]
    assert "Calibration" in top.get_ylabel() and "Wavelength" in bottom.get_xlabel()
    assert len(top.get_lines()) == 4  # three stars and the combination
    assert "combined (weighted_mean)" in (tmp_path / "run" / "summary.txt").read_text()
