"""Small real data files bundled with specola (see each folder's PROVENANCE.txt)."""

from importlib.resources import files
from pathlib import Path

__all__ = ["data_path"]


def data_path(*parts: str) -> Path:
    """Path of a bundled data file, e.g. ``data_path("spectra", "spec-1678-53433-0425.fits.gz")``."""
    return Path(str(files(__name__).joinpath(*parts)))
