"""Wavelength masks: ranges (A) left out of calibration fits, from files, names or the config.

A mask file has two numbers per line, start and end wavelength in Angstrom, and ``#``
comments (``6860 6960  # O2 B band``). Named masks: ``"telluric"`` (:data:`~specola.fluxcal.sensitivity.TELLURIC_BANDS`)
and ``"stellar_lines"`` (+-``line_half_width_kms`` around :data:`~specola.fluxcal.sensitivity.STELLAR_LINES`,
given as ranges).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ..errors import ConfigError, FileFormatError
from .sensitivity import STELLAR_LINES, TELLURIC_BANDS

__all__ = ["NAMED_MASKS", "load_mask_file", "mask_array", "mask_coverage_fraction", "mask_regions"]

C_KMS = 299792.458


def _stellar_lines(half_width_kms: float = 1500.0) -> tuple[tuple[float, float], ...]:
    return tuple((c * (1 - half_width_kms / C_KMS), c * (1 + half_width_kms / C_KMS)) for c in STELLAR_LINES)


#: Masks known by name.
NAMED_MASKS = {"telluric": lambda: TELLURIC_BANDS, "stellar_lines": _stellar_lines}


def load_mask_file(path: str | Path) -> tuple[tuple[float, float], ...]:
    """Ranges from a two-column mask file (start, end in A; ``#`` comments).

    Raises
    ------
    FileFormatError
        Missing file, or a line without two numbers (the message names the line).
    """
    path = Path(path)
    try:
        lines = path.read_text().splitlines()
    except OSError as exc:
        raise FileFormatError(f"{path}: cannot read the mask file ({exc})") from None
    out = []
    for k, line in enumerate(lines, 1):
        text = line.split("#", 1)[0].split()
        if not text:
            continue
        try:
            lo, hi = float(text[0]), float(text[1])
        except (ValueError, IndexError):
            raise FileFormatError(f"{path}, line {k}: need two wavelengths (A), got {line.strip()!r}") from None
        out.append((min(lo, hi), max(lo, hi)))
    return tuple(out)


def mask_regions(
    names: Sequence[str] = (), files: Sequence[str | Path] = (), ranges: Sequence[float] = ()
) -> tuple[tuple[float, float], ...]:
    """All ranges of named masks, mask files and a flat ``[start1, end1, start2, end2, ...]`` list, sorted.

    Raises
    ------
    ConfigError
        An unknown name, or an odd number of range values.
    """
    out: list[tuple[float, float]] = []
    for name in names:
        if name not in NAMED_MASKS:
            raise ConfigError(f"unknown mask {name!r}; named masks: {', '.join(NAMED_MASKS)}")
        out += NAMED_MASKS[name]()
    for f in files:
        out += load_mask_file(f)
    if len(ranges) % 2:
        raise ConfigError(f"masks.ranges needs pairs (start, end in A); got {len(ranges)} numbers")
    out += [(min(a, b), max(a, b)) for a, b in zip(ranges[::2], ranges[1::2], strict=True)]
    return tuple(sorted(out))


def mask_array(wavelength: np.ndarray, regions: Sequence[tuple[float, float]]) -> np.ndarray:
    """True where a wavelength (A) lies inside any range."""
    w = np.asarray(wavelength, float)
    bad = np.zeros(w.shape, bool)
    for lo, hi in regions:
        bad |= (w >= lo) & (w <= hi)
    return bad


def mask_coverage_fraction(wavelength: np.ndarray, regions: Sequence[tuple[float, float]]) -> float:
    """Fraction of pixels masked (a large value hints at a wavelength-unit mistake)."""
    return float(np.mean(mask_array(wavelength, regions))) if np.size(wavelength) else 0.0
