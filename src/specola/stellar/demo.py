"""A short TRAPPIST-1 retrieval on the bundled NIRSpec PRISM spectrum and BT-Settl08 grid."""

from __future__ import annotations

from ..config import from_dict
from ..runs import RunFolder
from .config import StellarConfig
from .result import StellarResult
from .run import run_to_folder

__all__ = ["DEMO_OPTIONS", "demo", "demo_config"]

#: Options of the demo: photosphere + spots, error inflation, logg fixed at 5.0, short chains. The
#: photosphere-dominance constraint is off: with spots only it would bind (fspot ~ 0.5 here), and this
#: two-component posterior converges without it (nsteps / tau ~ 120).
DEMO_OPTIONS = {
    "inputs": {"label": "trappist1"},
    "saving": {"suffix": "demo"},
    "star": {"teff": 2566.0, "logg_phot_value": 5.0},
    "fit": {"faculae": False, "logg_phot": False, "logg_het": False},
    "sampling": {"nsteps": 3000, "walkers_per_dim": 8, "burnin_fraction": 0.5},
    "priors": {"gaussian": {"Tphot": [2566.0, 70.0]}, "photosphere_dominant": False},
}


def demo_config(**sections: dict) -> StellarConfig:
    """The demo configuration, with optional per-section changes."""
    data = {k: dict(v) for k, v in DEMO_OPTIONS.items()}
    for name, values in sections.items():
        data.setdefault(name, {}).update(values)
    return from_dict(StellarConfig, data)


def demo(folder: RunFolder) -> StellarResult:
    """Run the short TRAPPIST-1 retrieval (about 20 s) and write its outputs and ``run.json`` into ``folder``.

    The sampler's progress bar follows tqdm's ``TQDM_DISABLE`` (``specola -q`` sets it).

    Parameters
    ----------
    folder : RunFolder
        The stage's own output folder.

    Returns
    -------
    StellarResult
    """
    return run_to_folder(demo_config(), folder.path, overwrite=folder.overwrite)
