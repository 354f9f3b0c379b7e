"""HASP-compatible co-addition of a folder of HST COS/STIS x1d/sx1 files.

A drop-in for the Hubble Advanced Spectral Products script: keyword filtering,
grouping into visit and program products (or cross-program products) per
grating, flux-based rejection, abutment of gratings by priority, and the same
product names and FITS layout. :func:`run_hasp` computes every product first
and writes nothing when an output exists and ``overwrite`` is False.
"""

from __future__ import annotations

import json
import logging
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import FileFormatError
from ..runs import RunFolder
from ._hasp_abut import abut_products, load_grating_table
from ._hasp_core import HaspProduct, Rejection, coadd_with_rejection
from ._hasp_inputs import (
    EXCLUDED_TARGETS,
    PREFILTERS,
    HstFile,
    find_inputs,
    lifetime_position,
    load_inputs,
    not_moving,
    prefilter,
)
from ._hasp_scale import scale_files
from ._hasp_write import product_name, write_product
from .config import HaspSection, ScalingSection

__all__ = ["HaspResult", "run_hasp"]

log = logging.getLogger(__name__)


@dataclass
class HaspResult:
    """What a HASP-compatible run made and why inputs were left out.

    Attributes
    ----------
    products : dict
        Output file name -> (product, HLSP level).
    skipped : dict
        Input path -> reason it was not used at all (unreadable, keyword filters).
    rejected : list of Rejection
        Members rejected by flux-based filtering (their files were removed from that product).
    targets : list of str
        Target names found.
    scale_factors : dict
        Exposure (``file[EXTVER]``) -> factor applied by the optional scaling to a common flux.
    figures : bool
        Whether :meth:`write` also draws a figure of every product.
    """

    products: dict[str, tuple[HaspProduct, int]] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)
    rejected: list[Rejection] = field(default_factory=list)
    targets: list[str] = field(default_factory=list)
    scale_factors: dict[str, float] = field(default_factory=dict)
    figures: bool = False

    def summary(self) -> str:
        """One line: products, rejected and skipped inputs."""
        files = len({r.file for r in self.rejected})
        scaled = f", {len(self.scale_factors)} exposure(s) scaled" if self.scale_factors else ""
        return (
            f"HASP-compatible mode: {len(self.products)} product(s), {files} file(s) rejected, "
            f"{len(self.skipped)} skipped{scaled}"
        )

    def report(self) -> dict[str, Any]:
        """JSON-serialisable summary."""
        return {
            "products": {name: {"level": lvl, "num_exp": p.num_exp} for name, (p, lvl) in self.products.items()},
            "skipped": self.skipped,
            "rejected": [r.__dict__ for r in self.rejected],
            "targets": self.targets,
            "scale_factors": self.scale_factors,
        }

    def write(self, folder: RunFolder) -> list[Path]:
        """Write every product (HASP's names and layout), ``coadd_report.json`` and the figures asked for."""
        paths = []
        for name, (prod, level) in self.products.items():
            paths.append(folder.write(name, lambda p, pr=prod, lv=level, n=name: write_product(pr, p, lv, filename=n)))
            log.info("   Wrote %s", paths[-1])
        paths.append(folder.write_text("coadd_report.json", json.dumps(self.report(), indent=2, default=str) + "\n"))
        if self.figures:
            from .plots import figures

            paths += [folder.save_figure(name, fig) for name, fig in figures(self).items()]
        return paths


def run_hasp(indir: str | Path, hasp: HaspSection | None = None, scaling: ScalingSection | None = None) -> HaspResult:
    """Make HASP products from a folder of x1d/sx1 files (nothing is written; see :meth:`HaspResult.write`).

    Parameters
    ----------
    indir : str or Path
        Folder with ``*_x1d.fits`` / ``*_sx1.fits`` (optionally gzipped).
    hasp : HaspSection, optional
        Threshold, S/N limit, keyword filtering, cross-program products, grating table
        (default: HASP's own defaults).
    scaling : ScalingSection, optional
        With ``enabled``, exposures are first scaled to a common flux (off by default;
        the factors are in :attr:`HaspResult.scale_factors`).

    Returns
    -------
    HaspResult

    Examples
    --------
    >>> from specola.data import data_path
    >>> result = run_hasp(data_path("coadd", "cos_g140l"))
    >>> sorted(result.products)[0]
    'hst_14933_cos_swiftj1357d2-0933_cg140l_ldfd01_cspec.fits'
    """
    hasp, scaling = hasp or HaspSection(), scaling or ScalingSection()
    threshold, snrmax = hasp.threshold, hasp.snrmax
    indir = Path(indir)
    if not indir.is_dir():
        raise FileFormatError(f"{indir}: input folder not found")
    paths = find_inputs(indir)
    if not paths:
        raise FileFormatError(f"{indir}: no *_x1d.fits or *_sx1.fits files (gzipped allowed) to co-add")
    files, skipped = load_inputs(paths)
    filters = PREFILTERS if hasp.keyword_filtering else ("PRISM",)
    files, removed = prefilter(files, filters)
    result = HaspResult(skipped={**skipped, **removed})
    for path, why in result.skipped.items():
        log.warning("skipping %s: %s", path, why)
    if not files:
        raise FileFormatError(
            f"{indir}: none of {len(paths)} file(s) can be co-added: "
            + "; ".join(f"{Path(p).name}: {w}" for p, w in result.skipped.items())
        )
    if scaling.enabled:
        result.scale_factors = scale_files(files, scaling.reference)
    result.targets = list(dict.fromkeys(str(f.primary["TARGNAME"]) for f in files))
    if len(result.targets) > 1:
        log.warning("%d targets in %s (%s): one product set per target", len(result.targets), indir, result.targets)
    table = load_grating_table(hasp.grating_table, hasp.cross_program)
    if hasp.cross_program:
        target = hasp.target_name or indir.resolve().name
        _cross_program(files, result, threshold, snrmax, filters, table, target)
    else:
        for kind in ("visit", "proposal"):
            _products(kind, files, result, threshold, snrmax, filters, table)
    return result


def _mode_key(f: HstFile, kind: str) -> tuple:
    p = f.primary
    group = (p["PROPOSID"], f.name[-14:-12]) if kind == "visit" else p["PROPOSID"]
    return (p["INSTRUME"], p["OPT_ELEM"], p["DETECTOR"], p["TARGNAME"], group)


_KINDS = {"visit": "visit", "proposal": "program"}


def _group_label(group: Any) -> str:
    return f"program {group[0]} visit {group[1]}" if isinstance(group, tuple) else f"program {group}"


def _finish(prod: HaspProduct, grating: str, instrument: str) -> None:
    prod.target = prod.get_targname()
    prod.gratinglist = [grating]
    prod.disambiguated_grating = grating.lower()
    if grating in ("G230L", "G140L"):
        prod.disambiguated_grating = instrument.lower()[0] + grating.lower()
    prod.lifetime_position = prod.members[0].lifetime_position


def _products(kind: str, files: list[HstFile], result: HaspResult, threshold, snrmax, filters, table) -> None:
    modes: dict[tuple, list[HstFile]] = defaultdict(list)
    for f in files:
        modes[_mode_key(f, kind)].append(f)
    groups = sorted({key[4] for key in modes})
    for group in groups:
        keys = [k for k in modes if k[4] == group]
        for target in dict.fromkeys(k[3] for k in keys):
            if target in EXCLUDED_TARGETS:
                log.info("%s is an excluded target and will not be processed", target)
                continue
            singles: dict[str, HaspProduct] = {}
            for key in (k for k in keys if k[3] == target):
                instrument, grating = key[0], key[1]
                members = modes[key]
                if kind == "proposal" and "MOVINGTARGET" in filters:
                    members = not_moving(members)
                label = f"{_KINDS[kind]} product {instrument}/{grating} of {target} ({_group_label(group)})"
                prod, rejected = coadd_with_rejection(members, threshold, snrmax, label)
                result.rejected.extend(rejected)
                if prod is None:
                    continue
                _finish(prod, grating, instrument)
                prod.product_type = kind
                level = 1 if kind == "visit" else 3
                result.products[product_name(prod, kind, level)] = (prod, level)
                singles[f"{instrument}/{grating}"] = prod
            if len(singles) > 1:
                abutted = abut_products(singles, table)
                if abutted is not None:
                    level = 2 if kind == "visit" else 4
                    result.products[product_name(abutted, kind, level)] = (abutted, level)


def _cross_program(files, result: HaspResult, threshold, snrmax, filters, table, target: str) -> None:
    by_lp: dict[tuple, list[HstFile]] = defaultdict(list)
    by_mode: dict[tuple, list[HstFile]] = defaultdict(list)
    for f in files:
        p = f.primary
        mode = (p["INSTRUME"], p["OPT_ELEM"], p["DETECTOR"])
        by_lp[(*mode, lifetime_position(p))].append(f)
        by_mode[mode].append(f)
    singles: dict[str, HaspProduct] = {}
    for write, groups in ((True, by_lp), (False, by_mode)):
        for key, members in groups.items():
            if "MOVINGTARGET" in filters:
                members = not_moving(members)
            if not members:
                continue
            label = f"cross-program product {key[0]}/{key[1]}" + (f" LP{key[3]}" if write and key[0] == "COS" else "")
            prod, rejected = coadd_with_rejection(members, threshold, snrmax, label)
            if write:
                result.rejected.extend(rejected)
            if prod is None:
                continue
            _finish(prod, key[1], key[0])
            prod.target = target
            prod.product_type = "cross-program"
            prod.lifetime_position = key[3] if (len(key) == 4 and key[0] == "COS") else "N/A"
            if write:
                result.products[product_name(prod, "cross-program", 5)] = (prod, 5)
            else:
                singles[f"{key[0]}/{key[1]}"] = prod
    if singles:
        abutted = abut_products(singles, table)
        if abutted is not None:
            result.products[product_name(abutted, "cross-program", 6)] = (abutted, 6)
