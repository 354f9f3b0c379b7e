"""A photosphere + spots retrieval of TRAPPIST-1 (JWST NIRSpec PRISM) on the bundled BT-Settl08 grid.

Makes docs/figures/stellar_combo.png and docs/figures/stellar_bestfit.png (or writes them into the folder
given as first argument); the full run folder is written to a temporary folder.
"""

import shutil
import sys
import tempfile
from pathlib import Path

from specola.stellar import run_to_folder
from specola.stellar.demo import demo_config


def main(folder: Path) -> None:
    # photosphere + spots, error inflation, logg fixed at 5.0, Gaussian prior Tphot ~ N(2566, 70) K
    config = demo_config(sampling={"nsteps": 1500, "progress": False}, saving={"suffix": "docs"})
    run = Path(tempfile.mkdtemp()) / "stellar_run"
    result = run_to_folder(config, run)
    print(result.best_fit()["parameter", "median", "err_minus", "err_plus"])
    stats = result.statistics()
    print(
        f"reduced chi2 {stats['reduced_chi2']:.0f} (data errors), "
        f"{stats['reduced_chi2_inflated_errors']:.2f} (inflated errors); BIC {stats['BIC']:.1f}"
    )
    shutil.copy(run / "combo_R300_1_2_3_sigma.png", folder / "stellar_combo.png")
    shutil.copy(run / "bestfit_model.png", folder / "stellar_bestfit.png")
    shutil.rmtree(run.parent)


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).parents[1] / "figures")
