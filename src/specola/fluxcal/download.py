"""Download a BOSZ-2024 sub-grid from MAST for template flux calibration (dry run, checksums, resumable).

The default sub-grid covers F/G/K spectrophotometric standards: Teff 5000-8000 K in 250 K steps,
log g 3.5-5.0 in 0.5, [M/H] -1.0 to +0.5 in 0.25, [alpha/M] = 0 (and +0.25 for [M/H] <= -0.5),
[C/M] = 0, microturbulence 1 km/s, MARCS ("mp") atmospheres below 7500 K and ATLAS9 ("ap") from
7500 K. Files go to ``<output>/r<R>/m<[M/H]>/`` with the shared wavelength file at the top, as on
MAST (``https://archive.stsci.edu/hlsps/bosz/bosz2024/``). Cite Meszaros et al. 2024 (A&A 688, A197).
"""

from __future__ import annotations

import hashlib
import logging
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import FileFormatError, SpecolaError

__all__ = ["BOSZ_URL", "BoszFile", "alpha_values_for", "atmosphere_for", "bosz_subgrid", "download", "verify"]

log = logging.getLogger(__name__)

BOSZ_URL = "https://archive.stsci.edu/hlsps/bosz/bosz2024"
#: Compressed bytes per wavelength point, measured on BOSZ-2024 r5000 files (387 kB for 75 000 points).
_BYTES_PER_POINT = 5.2
#: Wavelength points per file: 75 000 at R = 5000, scaling with R (log-uniform 500 A - 32 um).
_POINTS_PER_R = 15.0


def atmosphere_for(teff: float) -> str:
    """``"ap"`` (ATLAS9 plane-parallel) from 7500 K, ``"mp"`` (MARCS plane-parallel) below."""
    return "ap" if teff >= 7500 else "mp"


def alpha_values_for(mh: float) -> list[float]:
    """[alpha/M] values included at a metallicity: 0, and +0.25 for [M/H] <= -0.5."""
    return [0.0, 0.25] if mh <= -0.5 else [0.0]


@dataclass(frozen=True)
class BoszFile:
    """One file of the sub-grid: its URL, path below the output folder and estimated size in bytes."""

    url: str
    path: Path
    size: int


def _steps(lo: float, hi: float, step: float) -> np.ndarray:
    return np.round(np.arange(lo, hi + step / 2, step), 4)


def bosz_subgrid(
    teff: tuple[float, float, float] = (5000.0, 8000.0, 250.0),
    logg: tuple[float, float, float] = (3.5, 5.0, 0.5),
    mh: tuple[float, float, float] = (-1.0, 0.5, 0.25),
    resolution: int = 10000,
    vmicro: int = 1,
) -> list[BoszFile]:
    """The files of a BOSZ-2024 sub-grid (``(low, high, step)`` per axis), wavelength file first."""
    r = int(resolution)
    size = int(_BYTES_PER_POINT * _POINTS_PER_R * r)
    wave = f"bosz2024_wave_r{r}.txt"
    files = [BoszFile(f"{BOSZ_URL}/r{r}/{wave}", Path(wave), int(size * 2.2))]
    for m in _steps(*mh):
        folder = f"m{m:+.2f}"
        for a in alpha_values_for(m):
            for t in _steps(*teff):
                for g in _steps(*logg):
                    name = (f"bosz2024_{atmosphere_for(t)}_t{int(t)}_g{g:+.1f}_m{m:+.2f}_a{a:+.2f}_c+0.00"
                            f"_v{vmicro}_r{r}_resam.txt.gz")  # fmt: skip
                    files.append(BoszFile(f"{BOSZ_URL}/r{r}/{folder}/{name}", Path(f"r{r}") / folder / name, size))
    return files


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_checksums(path: str | Path) -> dict[str, str]:
    """``{file name: sha256}`` from a ``sha256sum``-style file (``<hex>  <name>`` per line)."""
    out = {}
    for k, line in enumerate(Path(path).read_text().splitlines(), 1):
        parts = line.split()
        if not parts or line.startswith("#"):
            continue
        if len(parts) != 2 or len(parts[0]) != 64:
            raise FileFormatError(f"{path}, line {k}: expected '<sha256>  <file name>', got {line.strip()!r}")
        out[Path(parts[1].lstrip("*")).name] = parts[0].lower()
    return out


def verify(path: str | Path, sha256: str) -> None:
    """Raise :class:`FileFormatError` when a file's SHA-256 differs from ``sha256``."""
    got = _sha256(Path(path))
    if got != sha256.lower():
        raise FileFormatError(f"{path}: SHA-256 {got} differs from the expected {sha256}; delete it and download again")


def download(
    files: list[BoszFile],
    output: str | Path,
    checksums: dict[str, str] | None = None,
    force: bool = False,
    timeout: float = 60.0,
) -> list[Path]:
    """Fetch the files into ``output`` (existing ones kept unless ``force``), verifying checksums when given.

    Raises
    ------
    SpecolaError
        A file cannot be fetched (the message names its URL), or fails its checksum.
    """
    from tqdm.auto import tqdm

    output = Path(output)
    done = []
    for f in tqdm(files, desc="BOSZ", unit="file", disable=None):
        target = output / f.path
        if target.exists() and not force:
            log.info("%s exists; kept", target)
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            part = target.with_name(target.name + ".part")
            try:
                with urllib.request.urlopen(f.url, timeout=timeout) as response, open(part, "wb") as fh:
                    for block in iter(lambda r=response: r.read(1 << 20), b""):
                        fh.write(block)
            except (urllib.error.URLError, OSError) as exc:
                part.unlink(missing_ok=True)
                raise SpecolaError(f"cannot download {f.url} ({exc}); check the network or the URL") from None
            part.replace(target)
        if checksums and target.name in checksums:
            verify(target, checksums[target.name])
        done.append(target)
    return done
