"""HASP product names and FITS layout (primary header, SCI one-row vector table, PROVENANCE table).

Written with :mod:`specola.coadd._fits` (numpy only), card for card as HASP's astropy-written products.
"""

from __future__ import annotations

import datetime
import math
from pathlib import Path
from typing import Any

import numpy as np

from .._version import __version__
from ._fits import table_cards, write_fits
from ._hasp_core import HaspProduct

#: HLSP levels: 1 visit, 2 abutted visit, 3 program, 4 abutted program, 5 cross-program, 6 abutted cross-program.
LEVELS = {("visit", False): 1, ("visit", True): 2, ("proposal", False): 3, ("proposal", True): 4}


def sanitize_target(name: str) -> str:
    """File-name form of a target name ('.' -> 'd', '+' -> 'p', '_' -> '-')."""
    return name.replace(".", "d").replace("+", "p").replace("_", "-")


def product_name(prod: HaspProduct, product_type: str, level: int) -> str:
    """HASP file name, e.g. ``hst_14933_cos_swiftj1357d2-0933_cg140l_ldfd01_cspec.fits``."""
    instrument = prod.instrument.lower()
    grating = prod.disambiguated_grating.lower()
    target = sanitize_target(prod.target.lower())
    suffix = "aspec" if level == 6 else "cspec"
    if product_type == "visit":
        return f"hst_{prod.propid}_{instrument}_{target}_{grating}_{prod.rootname[:6]}_{suffix}.fits"
    if product_type == "proposal":
        return f"hst_{prod.propid}_{instrument}_{target}_{grating}_{prod.rootname[:4]}_{suffix}.fits"
    if level == 6:
        return f"hst_{target}_{suffix}.fits"
    if instrument == "cos":
        return f"hst_{instrument}_{target}_{grating}_lp{int(prod.lifetime_position):02d}_{suffix}.fits"
    return f"hst_{instrument}_{target}_{grating}_{suffix}.fits"


_KEYS = {  # product key -> (header keyword, 0 primary / 1 SCI header)
    "expstart": ("EXPSTART", 1),
    "expend": ("EXPEND", 1),
    "exptime": ("EXPTIME", 1),
    "expname": ("EXPNAME", 1),
}


def combine(prod: HaspProduct, key: str, method: str) -> Any:
    """Combine a header keyword over the inputs: min, max, sum, multi ('MULTI' when they differ) or arr."""
    keyword, ext = _KEYS.get(key, (key.upper(), 0))
    vals = []
    for p, h in zip(prod.primary_headers, prod.first_headers, strict=True):
        header = p if ext == 0 else h
        vals.append(header[keyword] if keyword in header else "?")
    if method == "multi":
        distinct = list(dict.fromkeys(vals))
        return "MULTI" if len(distinct) > 1 else distinct[0]
    if method == "min":
        return min(vals)
    if method == "max":
        return max(vals)
    if method == "sum":
        return float(np.sum(vals))
    return np.array(vals)


#: Months at whose end UTC had a leap second (TAI - UTC grew by 1 s), 1972 onwards; none since 2016.
_LEAP_SECOND_MONTHS = {(y, 6) for y in (1972, 1981, 1982, 1983, 1985, 1992, 1993, 1994, 1997, 2012, 2015)} | {
    (y, 12) for y in (1972, 1973, 1974, 1975, 1976, 1977, 1978, 1979, 1987, 1989, 1990, 1995, 1998, 2005, 2008, 2016)
}
_MJD0 = datetime.datetime(1858, 11, 17)
_FITS_VER = (
    "Definition of the Flexible Image Transport System (FITS) v4.0 "
    "https://fits.gsfc.nasa.gov/standard40/fits_standard40aa-le.pdf"
)


def _leap_day(day: datetime.date) -> bool:
    return (day.year, day.month) in _LEAP_SECOND_MONTHS and (day + datetime.timedelta(days=1)).day == 1


def mjd_to_iso(mjd: float) -> str:
    """A UTC MJD as ``YYYY-MM-DDThh:mm:ss``, as ``astropy.time.Time(mjd, format="mjd").datetime`` gives it.

    The day's fraction is rounded to the microsecond (ERFA's rule, half away from zero), on a day that ends
    with a leap second stretched over 86401 s, then truncated to the second by the format.
    """
    day = math.floor(mjd)
    fraction = mjd - day
    date = (_MJD0 + datetime.timedelta(days=day)).date()
    if _leap_day(date):
        fraction += fraction / 86400.0
    microseconds = math.floor(1e6 * fraction * 86400.0 + 0.5)
    stamp = datetime.datetime.combine(date, datetime.time()) + datetime.timedelta(microseconds=microseconds)
    return stamp.strftime("%Y-%m-%dT%H:%M:%S")


def write_product(prod: HaspProduct, path: Path, level: int, filename: str | None = None) -> None:
    """Write ``prod`` in HASP's layout to ``path`` (overwrites; callers check first).

    ``filename`` is the name recorded in the header (default: ``path``'s name). Comments that do not fit
    beside long values (S_REGION, names) are truncated, as in HASP's products.
    """
    rec, sci = _sci(prod)
    prov_rec, prov = _provenance(prod)
    write_fits(path, _primary_cards(prod, level, filename or path.name), [(sci, rec), (prov, prov_rec)])


def _sci(prod: HaspProduct) -> tuple[np.ndarray, list[tuple[str, Any, str]]]:
    """The SCI table's one row (the good range of the product, big-endian float32) and its header cards."""
    good = np.flatnonzero(prod.output_exptime != 0.0)
    sl = slice(good[0], good[-1] + 1) if good.size else slice(None)
    ra, dec = prod.get_coords()
    region = f"CIRCLE {ra} {dec} {2.5 / 2 / 3600}"
    mjd_beg, mjd_end = combine(prod, "expstart", "min"), combine(prod, "expend", "max")
    n = str(len(prod.output_wavelength[sl]))
    flam = "erg /s /cm**2 /Angstrom"
    columns = (
        ("WAVELENGTH", prod.output_wavelength, "Angstrom"),
        ("FLUX", prod.output_flux, flam),
        ("ERROR", prod.output_errors, flam),
        ("SNR", prod.signal_to_noise, None),
        ("EFF_EXPTIME", prod.output_exptime, "s"),
    )
    rec = np.zeros(1, dtype=[(name, ">f4", (int(n),)) for name, _, _ in columns])
    for name, values, _ in columns:
        rec[name][0] = values[sl]
    return rec, [
        *table_cards([(name, f"{n}E", unit) for name, _, unit in columns], rec),
        ("EXTNAME", "SCI", "Spectrum science arrays"),
        ("TIMESYS", "UTC", "Time system in use"),
        ("TIMEUNIT", "s", "Time unit for durations"),
        ("TREFPOS", "GEOCENTER", "Time reference position"),
        ("", "", ""),
        ("", "              / FITS TIME COORDINATE KEYWORDS", ""),
        ("DATE-BEG", mjd_to_iso(mjd_beg), "Date-time of first observation start"),
        ("DATE-END", mjd_to_iso(mjd_end), "Date-time of last observation end"),
        ("MJD-BEG", mjd_beg, "MJD of first exposure start"),
        ("MJD-END", mjd_end, "MJD of last exposure end"),
        ("XPOSURE", combine(prod, "exptime", "sum"), "[s] Sum of exposure durations"),
        ("S_REGION", region, "Region footprint"),
    ]


def _primary_cards(prod: HaspProduct, level: int, filename: str) -> list[tuple[str, Any, str]]:
    """The primary header, HASP's cards in HASP's order (blank separators included)."""
    ipppssoo = {1: prod.rootname[:6], 2: prod.rootname[:6], 3: prod.rootname[:4], 4: prod.rootname[:4]}
    ipppssoo = ipppssoo.get(level, "N/A")
    ra, dec = prod.get_coords()
    life = [("LIFE_ADJ", "N/A" if prod.instrument == "STIS" else prod.lifetime_position, "")] if level in (5, 6) else []
    minwave, maxwave = combine(prod, "minwave", "min"), combine(prod, "maxwave", "max")
    try:
        centre, bandwidth = 0.5 * (maxwave + minwave), maxwave - minwave
    except TypeError:
        centre, bandwidth = "?", "?"
    return [
        ("SIMPLE", True, "conforms to FITS standard"),
        ("BITPIX", 8, "array data type"),
        ("NAXIS", 0, "number of array dimensions"),
        ("EXTEND", True, ""),
        ("NEXTEND", 3, ""),
        ("FITS_VER", _FITS_VER, ""),
        ("FITS_SW", f"specola {__version__} numpy FITS writer", "FITS file creation software"),
        ("ORIGIN", "specola (HASP-compatible mode)", "FITS file originator"),
        ("DATE", str(datetime.date.today()), "Date this file was written"),
        ("FILENAME", filename, "Name of this file"),
        ("IPPPSSOO", ipppssoo, "IPPP or IPPPSS for product"),
        ("TELESCOP", combine(prod, "telescop", "multi"), "Telescope used to acquire data"),
        ("", "", ""),
        ("", "              / SCIENCE INSTRUMENT CONFIGURATION", ""),
        ("INSTRUME", prod.instrument, "Instrument used to acquire data"),
        ("DETECTOR", combine(prod, "detector", "multi"), "Detector or channel used to acquire data"),
        ("NUM_EXP", prod.num_exp, "Number of exposures combined"),
        ("GRATING", "-".join(prod.gratinglist), "Grating(s) used"),
        ("CENWAVE", combine(prod, "cenwave", "multi"), "Central wavelength setting for disperser"),
        ("SPORDER", 1, "Spectral order"),
        ("APERTURE", ",".join(prod.aperturelist), "Identifier(s) of entrance aperture"),
        ("OBSMODE", combine(prod, "obsmode", "multi"), "Instrument operating mode (ACCUM | TIME-TAG)"),
        ("", "", ""),
        ("", "              / TARGET INFORMATION", ""),
        ("TARGNAME", prod.target, ""),
        *life,
        ("RADESYS", "ICRS ", "World coordinate reference frame"),
        ("TARG_RA", ra, "[deg] Target right ascension"),
        ("TARG_DEC", dec, "[deg] Target declination"),
        ("", "", ""),
        ("", "           / PROVENANCE INFORMATION", ""),
        ("PROPOSID", combine(prod, "proposid", "multi"), "Program identifier"),
        ("PINAME", combine(prod, "pr_inv_l", "multi"), "Principal Investigator"),
        ("MTFLAG", combine(prod, "mtflag", "multi"), "Moving Target Flag"),
        ("EXTENDED", combine(prod, "extended", "max"), "Is target extended?"),
        ("CAL_VER", f"specola {__version__} (HASP-compatible)", "HLSP processing software version"),
        ("HLSPID", "HSLA", "Name ID of this HLSP collection"),
        ("HSLPNAME", "Hubble Spectroscopic Legacy Archive", "Name ID of this HLSP collection"),
        ("HLSPLEAD", "specola", "Software that made this product"),
        ("HLSP_LVL", level, "HASP HLSP Level"),
        ("LICENSE", "CC BY 4.0", "License for use of these data"),
        ("LICENURL", "https://creativecommons.org/licenses/by/4.0/", "Data license URL"),
        ("REFERENC", "https://ui.adsabs.harvard.edu/abs/2020RNAAS...4..205R", "Bibliographic ref"),
        ("", "", ""),
        ("", "           / ARCHIVE SEARCH KEYWORDS", ""),
        ("MINWAVE", minwave, "Minimum wavelength in spectrum"),
        ("MAXWAVE", maxwave, "Maximum wavelength in spectrum"),
        ("CENTRWV", centre, "Central wavelength of the data"),
        ("BANDWID", bandwidth, ""),
    ]


def _provenance(prod: HaspProduct) -> tuple[np.ndarray, list[tuple[str, Any, str]]]:
    """The PROVENANCE table: one row per input exposure, and its header cards."""
    text = lambda key: np.array([str(v).strip() for v in combine(prod, key, "arr")])
    number = lambda key: np.array([v if isinstance(v, int | float) else np.nan for v in combine(prod, key, "arr")])
    beg, end = number("expstart"), number("expend")
    prov = [
        ("FILENAME", "64A", None, text("filename")),
        ("EXPNAME", "32A", None, text("expname")),
        ("PROPOSID", "32A", None, text("proposid")),
        ("TELESCOPE", "32A", None, text("telescop")),
        ("INSTRUMENT", "32A", None, text("instrume")),
        ("DETECTOR", "32A", None, text("detector")),
        ("DISPERSER", "32A", None, text("opt_elem")),
        ("CENWAVE", "32A", None, text("cenwave")),
        ("APERTURE", "32A", None, text("aperture")),
        ("LIFE_ADJ", "32A", None, text("life_adj")),
        ("SPECRES", "D", None, number("specres")),
        ("CAL_VER", "32A", None, text("cal_ver")),
        ("MJD_BEG", "D", "d", beg),
        ("MJD_MID", "D", "d", (beg + end) / 2.0),
        ("MJD_END", "D", "d", end),
        ("XPOSURE", "D", "s", number("exptime")),
        ("MINWAVE", "D", "Angstrom", number("minwave")),
        ("MAXWAVE", "D", "Angstrom", number("maxwave")),
    ]
    dtype = [(name, f"S{form[:-1]}" if form.endswith("A") else ">f8") for name, form, _, _ in prov]
    prov_rec = np.zeros(len(prov[0][3]), dtype=dtype)
    for name, form, _, values in prov:
        prov_rec[name] = np.char.encode(values.astype(str), "ascii") if form.endswith("A") else values
    cards = table_cards([(name, form, unit) for name, form, unit, _ in prov], prov_rec)
    return prov_rec, [*cards, ("EXTNAME", "PROVENANCE", "Metadata for contributing observations")]
