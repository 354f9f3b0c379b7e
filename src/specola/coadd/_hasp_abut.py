"""Abutment of single-grating HASP products by grating priority.

Each grating covers ``[max(table min, first good), min(table max, last good)]``;
where gratings overlap the one with the better (lower) priority number wins.
Transitions are found by walking the sorted range ends with power-of-two scores.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import numpy as np

from ..data import data_path
from ..errors import ConfigError
from ._hasp_core import HaspProduct

log = logging.getLogger(__name__)


def load_grating_table(path: str | Path | None = None, cross_program: bool = False) -> dict[str, dict[str, Any]]:
    """Grating priorities and wavelength limits: ``{"COS/G130M": {"minwave", "maxwave", "priority"}}``.

    Parameters
    ----------
    path : str or Path, optional
        A JSON file of the same shape; default: the table shipped with specola.
    cross_program : bool
        Use the cross-program default (HSLA priority order).
    """
    if path is None:
        name = "grating_priorities_cross_program.json" if cross_program else "grating_priorities.json"
        path = data_path("coadd", name)
    path = Path(path)
    try:
        table = json.loads(path.read_text())
    except FileNotFoundError:
        raise ConfigError(f"grating table {path} not found") from None
    except json.JSONDecodeError as exc:
        raise ConfigError(f"grating table {path} is not valid JSON ({exc})") from None
    if not isinstance(table, dict):
        raise ConfigError(f"grating table {path}: expected an object of settings, got {type(table).__name__}")
    for key, row in table.items():
        if not isinstance(row, dict) or not {"minwave", "maxwave", "priority"} <= set(row):
            raise ConfigError(f"grating table {path}: entry {key!r} needs minwave, maxwave and priority")
    return table


def _highest_power_of_two(number: int, largest: int) -> int:
    if number == 0:
        return 0
    i = largest
    for i in range(largest, 0, -1):
        if number & (2**i):
            break
    return 2**i


def abut_products(products: dict[str, HaspProduct], table: dict[str, dict[str, Any]]) -> HaspProduct | None:
    """Abut single-grating products (keyed ``"INSTRUMENT/GRATING"``) by the table's priorities."""
    used = sorted(
        (dict(table[s], name=s) for s in products if s in table),
        key=lambda g: g["priority"],
    )
    if not used:
        log.warning("No valid input grating products")
        return None
    score = 2 ** len(used)
    for g in used:
        g["score"] = score
        score //= 2
    transitions = []
    for g in used:
        prod = products[g["name"]]
        lo = max(prod.first_good_wavelength, g["minwave"])
        hi = min(prod.last_good_wavelength, g["maxwave"])
        transitions += [(lo, g["name"], g["score"]), (hi, g["name"], -g["score"])]
    transitions.sort(key=lambda t: t[0])
    total, current, result = 0, None, None
    for wavelength, _, delta in transitions:
        total += delta
        best = _highest_power_of_two(total, len(used))
        rows = [g for g in used if g["score"] == best]
        new = rows[0]["name"] if len(rows) == 1 else None
        if new != current:
            if result is None:
                result = _abut(None, products[new], wavelength)
            elif new is None:
                result = _abut(result, None, wavelength)
            else:
                result = _abut(result, products[new], wavelength)
            if result is None:
                return None
            current = new
    return result


def _copy_arrays(dst: HaspProduct, src: HaspProduct, sl: slice) -> None:
    dst.output_wavelength = src.output_wavelength[sl]
    dst.output_flux = src.output_flux[sl]
    dst.output_errors = np.abs(src.output_errors[sl])
    dst.signal_to_noise = src.signal_to_noise[sl]
    dst.output_exptime = src.output_exptime[sl]


def _abut(short: HaspProduct | None, long: HaspProduct | None, wavelength: float) -> HaspProduct | None:
    out = HaspProduct()
    if short is not None and long is not None:
        gratings = list(short.gratinglist)
        if long.grating not in gratings:
            gratings.append(long.grating)
            out.grating = f"{short.grating}-{long.disambiguated_grating}"
        else:
            out.grating = short.grating
        i_short = np.flatnonzero(short.output_wavelength <= wavelength)
        if i_short.size == 0:
            log.info("No valid data in short-wavelength spectrum")
            return long
        i_long = np.flatnonzero(long.output_wavelength > wavelength)
        if i_long.size == 0:
            log.info("No valid data in long-wavelength spectrum")
            return short
        cut_s, cut_l = i_short[-1], i_long[0]
        for name in ("output_wavelength", "output_flux", "output_errors", "signal_to_noise", "output_exptime"):
            a, b = getattr(short, name)[:cut_s], getattr(long, name)[cut_l:]
            if name == "output_errors":
                a, b = np.abs(a), np.abs(b)
            setattr(out, name, np.concatenate([a, b]))
        out.primary_headers = short.primary_headers + long.primary_headers
        out.first_headers = short.first_headers + long.first_headers
        out.disambiguated_grating = out.grating
        out.gratinglist = gratings
        out.aperturelist = sorted(set(short.aperturelist + long.aperturelist))
        out.instrument = _instrument(short.instrument, long.instrument)
        if long.product_type != "cross-program":
            if short.target == long.target:
                out.target, out.targnames = short.target, [short.target, long.target]
            else:
                common = [t for t in short.targnames if t in long.targnames]
                if not common:
                    log.warning("Trying to abut spectra from 2 different targets: %s and %s", short.target, long.target)
                    return None
                out.target, out.targnames = common[-1], [common[-1]]
        else:
            out.target = short.target
        out.propid, out.rootname = short.propid, short.rootname
        out.num_exp = short.num_exp + long.num_exp
        same_lp = long.lifetime_position == short.lifetime_position
        out.lifetime_position = short.lifetime_position if same_lp else "N/A"
        out.product_type = short.product_type or long.product_type
    elif short is not None:
        cut = np.flatnonzero(short.output_wavelength < wavelength)[-1]
        _copy_arrays(out, short, slice(None, cut))
        _inherit(out, short, short.grating, short.disambiguated_grating)
        out.targnames = [short.target]
    elif long is not None:
        cut = np.flatnonzero(long.output_wavelength > wavelength)[0]
        _copy_arrays(out, long, slice(cut, None))
        _inherit(out, long, long.disambiguated_grating, long.disambiguated_grating)
        if long.product_type != "cross-program":
            long.target = long.get_targname()
        out.target, out.targnames = long.target, [long.target]
    else:
        return None
    return out


def _inherit(out: HaspProduct, src: HaspProduct, grating: str, disambiguated: str) -> None:
    out.primary_headers, out.first_headers = src.primary_headers, src.first_headers
    out.grating, out.disambiguated_grating = grating, disambiguated
    out.gratinglist, out.aperturelist = list(src.gratinglist), list(src.aperturelist)
    out.instrument, out.target = src.instrument, src.target
    out.propid, out.rootname, out.num_exp = src.propid, src.rootname, src.num_exp
    out.lifetime_position, out.product_type = src.lifetime_position, src.product_type
    out.detector = src.detector


def _instrument(short: str, long: str) -> str:
    # the peer's rule: its if/if/else makes COS + COS-STIS give COS-COS-STIS
    return short if long in short else "-".join(sorted([short, long]))
