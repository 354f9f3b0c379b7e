"""Every grid loader on mutated copies of the bundled grid files: only SpecolaError naming the file, or a sane grid."""

from __future__ import annotations

import gzip
import shutil
import time
import warnings
from pathlib import Path

import numpy as np
import pytest

from specola.data import data_path
from specola.errors import SpecolaError
from specola.grids import load_grid

GRIDS = Path(__file__).resolve().parents[1] / "data" / "grids"


def _sources() -> dict[str, tuple[Path, list[Path]]]:
    """Format -> (the file to mutate, the companions it is loaded with)."""
    bosz = sorted((GRIDS / "bosz2024").glob("*resam.txt.gz"))
    sphinx = sorted((GRIDS / "sphinx").glob("*.txt"))
    return {
        "specola": (data_path("grids", "btsettl08_prism_trappist1.h5"), []),
        "btsettl": (
            GRIDS / "btsettl08" / "models_btsettl08_JWST-NIRSPEC-PRISM.h5",
            [GRIDS / "btsettl08" / "wave_JWST-NIRSPEC-PRISM.csv"],
        ),
        "bosz2024": (bosz[0], [bosz[1], GRIDS / "bosz2024" / "bosz2024_wave_r5000.txt.gz"]),
        "bosz2012": (next((GRIDS / "bosz2012").glob("*.fits")), []),
        "sphinx": (sphinx[0], sphinx[1:]),
    }


def _mutants(path: Path, rng: np.random.Generator) -> dict[str, bytes]:
    raw = path.read_bytes()
    zipped = raw[:2] == b"\x1f\x8b"
    plain = gzip.decompress(raw) if zipped else raw
    rezip = (lambda b: gzip.compress(b, 1)) if zipped else (lambda b: b)
    out = {f"cut{f}": raw[: int(len(raw) * f)] for f in (0.01, 0.5, 0.99)}
    for i in range(6):
        data = bytearray(plain)
        for pos in rng.integers(0, len(data), 1 + i):
            data[pos] ^= 1 << int(rng.integers(0, 8))
        out[f"flip{i}"] = rezip(bytes(data))
    if not plain.startswith((b"SIMPLE", b"\x89HDF")):
        text = plain.decode()
        out["nan"] = rezip(text.replace("1", "nan", 3).encode())
        out["negative"] = rezip(("-" + text.lstrip()).encode())
        out["empty"] = b""
    return out


def check_grid(files: list[Path], label: Path) -> str | None:
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            grid = load_grid(files)
        except SpecolaError as exc:
            return None if label.name in str(exc) or label.parent.name in str(exc) else f"unnamed: {exc}"
        except Exception as exc:
            return f"{type(exc).__name__} (not a SpecolaError): {exc}"
    if time.perf_counter() - start > 5:
        return "took more than 5 s"
    wave = 0.5 * (np.asarray(grid.low) + np.asarray(grid.high))
    if not (np.all(np.isfinite(wave)) and np.all(wave > 0) and np.all(np.diff(wave) > 0)):
        return "non-physical wavelengths"
    flux = np.asarray(grid.flux)
    present = np.isfinite(flux)
    if np.any(flux[present] < 0):
        return "negative flux"
    return None


@pytest.mark.slow
def test_mutated_grid_files(tmp_path):
    rng = np.random.default_rng(7)
    problems = {}
    for fmt, (path, companions) in _sources().items():
        for label, data in _mutants(path, rng).items():
            folder = tmp_path / f"{fmt}-{label}"
            folder.mkdir()
            target = folder / path.name
            target.write_bytes(data)
            files = [target]
            for c in companions:
                shutil.copy(c, folder / c.name)
                files.append(folder / c.name)
            problem = check_grid(files, target)
            if problem:
                problems[f"{fmt}-{label}"] = problem
    assert not problems, "\n".join(f"{k}: {v}" for k, v in sorted(problems.items()))
