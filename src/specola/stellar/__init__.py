"""Stellar retrievals: photosphere + spots + faculae fits of stellar spectra.

>>> from specola.stellar import load_stellar_config, run_to_folder   # doctest: +SKIP
>>> result = run_to_folder(load_stellar_config("stellar.toml"))      # doctest: +SKIP
"""

from .compare import CompareResult, compare
from .config import StellarConfig, load_stellar_config
from .demo import demo
from .likelihood import LogPosterior
from .model import BinnedModel, Components
from .priors import ParameterSpace, Prior
from .result import StellarResult
from .run import run, run_folder_name, run_to_folder, with_overrides
from .setup import prepare

__all__ = [
    "BinnedModel",
    "CompareResult",
    "Components",
    "LogPosterior",
    "ParameterSpace",
    "Prior",
    "StellarConfig",
    "StellarResult",
    "compare",
    "demo",
    "load_stellar_config",
    "prepare",
    "run",
    "run_folder_name",
    "run_to_folder",
    "with_overrides",
]
