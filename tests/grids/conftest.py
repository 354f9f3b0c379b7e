"""Shared fixtures for the grid tests."""

from pathlib import Path

import pytest

DATA = Path(__file__).resolve().parents[1] / "data" / "grids"


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """Folder of the real grid files copied for the tests (see its PROVENANCE.txt)."""
    return DATA
