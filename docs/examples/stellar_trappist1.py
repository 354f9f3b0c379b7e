"""The full TRAPPIST-1 template retrieval (JWST NIRSpec PRISM, bundled BT-Settl08 grid), two ways.

Photosphere + spots + faculae, every temperature and gravity fitted, error inflation, nsteps = "auto"
(examples/stellar_trappist1.toml), first with the grid-wide uniform logg prior, then with the physically
motivated logg prior from TRAPPIST-1's mass and radius (Agol et al. 2021). Makes docs/figures/stellar_combo.png
(the README's figure), stellar_bestfit.png, stellar_corner.png and stellar_combo_logg_prior.png (or writes
them into the folder given as first argument); the run folders go to a temporary folder.
"""

import shutil
import sys
import tempfile
from pathlib import Path

from specola.stellar import load_stellar_config, run_to_folder

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "stellar_trappist1.toml"
#: TRAPPIST-1: M = 0.0898 +- 0.0023 Msun, R = 0.1192 +- 0.0013 Rsun (Agol et al. 2021, PSJ 2, 1) -> logg 5.239 +- 0.015
LOGG_PRIOR = {"priors.logg_from_mass_radius": True, "star.mass": [0.0898, 0.0023], "star.radius": [0.1192, 0.0013]}


def fit(tmp: Path, name: str, overrides: dict):
    config = load_stellar_config(EXAMPLE, {"sampling.progress": False, **overrides})
    result = run_to_folder(config, tmp / name)
    table = result.best_fit()
    keep = [
        p in ("Tphot", "Tspot", "Tfac", "fspot", "ffac", "logg_phot", "logg_het", "errInfl") for p in table["parameter"]
    ]
    print(f"--- {name}: {result.summary()}")
    print(table[keep]["parameter", "median", "err_minus", "err_plus"])
    stats = result.statistics()
    print(f"reduced chi2 {stats['reduced_chi2_inflated_errors']:.2f} (inflated errors); BIC {stats['BIC']:.1f}")
    return tmp / name


def main(folder: Path) -> None:
    tmp = Path(tempfile.mkdtemp())
    flat = fit(tmp, "uniform_logg", {})
    prior = fit(tmp, "logg_from_mass_radius", LOGG_PRIOR)
    shutil.copy(flat / "combo_R300_1_2_3_sigma.png", folder / "stellar_combo.png")
    shutil.copy(flat / "bestfit_model.png", folder / "stellar_bestfit.png")
    shutil.copy(flat / "corner.png", folder / "stellar_corner.png")
    shutil.copy(prior / "combo_R300_1_2_3_sigma.png", folder / "stellar_combo_logg_prior.png")
    shutil.rmtree(tmp)


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).parents[1] / "figures")
