"""Scaling to a common flux before the HASP-compatible co-add (the HASP scaling tutorial's workflow).

Off by default, so the exact mode stays exact. Every exposure (SCI extension) of
one instrument / grating / detector / target gets the factor ``median(reference) /
median(its FLUX)`` over its good pixels (``DQ & SDQFLAGS == 0``); the reference is
the brightest exposure (the tutorial's choice: light losses from focus or small
apertures only lower the flux), the median of all, or the one whose name contains
``reference``. ``FLUX`` and ``ERROR`` are multiplied (the tutorial scales ``FLUX``
only, which leaves the errors of a scaled exposure too small for its flux).
"""

from __future__ import annotations

import logging
from collections import defaultdict

import numpy as np

from ..errors import ConfigError
from ._hasp_inputs import HstFile

__all__ = ["scale_files"]

log = logging.getLogger(__name__)


def _label(f: HstFile, k: int, header) -> str:
    return f"{f.name}[{header.get('EXTVER', k + 1)}]"


def _median(header, data) -> float:
    good = (np.asarray(data["DQ"]) & int(header["SDQFLAGS"])) == 0
    flux = np.asarray(data["FLUX"])[good]
    return float(np.median(flux)) if flux.size else np.nan


def scale_files(files: list[HstFile], reference: str) -> dict[str, float]:
    """Scale the exposures of ``files`` in place to a common flux; returns ``{exposure: factor}``.

    Parameters
    ----------
    files : list of HstFile
        Inputs after the keyword filters.
    reference : str
        ``"brightest"``, ``"median"`` or part of an exposure's name (``file[EXTVER]``).
    """
    groups: dict[tuple, list[tuple[str, object, float]]] = defaultdict(list)
    for f in files:
        p = f.primary
        key = (p["INSTRUME"], p["OPT_ELEM"], p["DETECTOR"], p["TARGNAME"])
        for k, (header, data) in enumerate(f.sci):
            if len(data):
                groups[key].append((_label(f, k, header), data, _median(header, data)))
    factors = {}
    for key, members in groups.items():
        medians = np.array([m for _, _, m in members])
        if reference == "brightest":
            ref = float(np.nanmax(medians))
        elif reference == "median":
            ref = float(np.nanmedian(medians))
        else:
            hits = [m for name, _, m in members if reference in name]
            if len(hits) != 1:
                names = [name for name, _, _ in members]
                raise ConfigError(f"scaling.reference {reference!r} matches {len(hits)} exposures of {key}: {names}")
            ref = hits[0]
        for name, data, median in members:
            factor = ref / median if np.isfinite(median) and median > 0 else 1.0
            for col in ("FLUX", "ERROR"):
                data.arrays[col] = (data.arrays[col] * factor).astype(data.arrays[col].dtype)
            factors[name] = factor
            log.info("scaled %s by %.4f to a common flux (%s/%s)", name, factor, key[0], key[1])
    return factors
