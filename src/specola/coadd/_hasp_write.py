"""HASP product names and FITS layout (primary header, SCI one-row vector table, PROVENANCE table)."""

from __future__ import annotations

import datetime
import io
import warnings
from pathlib import Path
from typing import Any

import astropy
import numpy as np
from astropy.io import fits
from astropy.time import Time

from .._version import __version__
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


def write_product(prod: HaspProduct, path: Path, level: int, filename: str | None = None) -> None:
    """Write ``prod`` in HASP's layout to ``path`` (overwrites; callers check first).

    ``filename`` is the name recorded in the header (default: ``path``'s name).
    """
    with warnings.catch_warnings():
        # long S_REGION / name values leave no room for the comment; HASP's products truncate it the same way
        warnings.filterwarnings("ignore", "Card is too long", fits.verify.VerifyWarning)
        _write_product(prod, path, level, filename)


def _write_product(prod: HaspProduct, path: Path, level: int, filename: str | None) -> None:
    ipppssoo = {1: prod.rootname[:6], 2: prod.rootname[:6], 3: prod.rootname[:4], 4: prod.rootname[:4]}
    ipppssoo = ipppssoo.get(level, "N/A")
    ra, dec = prod.get_coords()
    region = f"CIRCLE {ra} {dec} {2.5 / 2 / 3600}"
    good = np.flatnonzero(prod.output_exptime != 0.0)
    sl = slice(good[0], good[-1] + 1) if good.size else slice(None)

    hdr1 = fits.Header()
    hdr1["EXTNAME"] = ("SCI", "Spectrum science arrays")
    hdr1["TIMESYS"] = ("UTC", "Time system in use")
    hdr1["TIMEUNIT"] = ("s", "Time unit for durations")
    hdr1["TREFPOS"] = ("GEOCENTER", "Time reference position")
    mjd_beg, mjd_end = combine(prod, "expstart", "min"), combine(prod, "expend", "max")
    fmt = "%Y-%m-%dT%H:%M:%S"
    hdr1["DATE-BEG"] = (Time(mjd_beg, format="mjd").datetime.strftime(fmt), "Date-time of first observation start")
    hdr1.add_blank("", before="DATE-BEG")
    hdr1.add_blank("              / FITS TIME COORDINATE KEYWORDS", before="DATE-BEG")
    hdr1["DATE-END"] = (Time(mjd_end, format="mjd").datetime.strftime(fmt), "Date-time of last observation end")
    hdr1["MJD-BEG"] = (mjd_beg, "MJD of first exposure start")
    hdr1["MJD-END"] = (mjd_end, "MJD of last exposure end")
    hdr1["XPOSURE"] = (combine(prod, "exptime", "sum"), "[s] Sum of exposure durations")
    hdr1["S_REGION"] = (region, "Region footprint")
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
    sci = _table_header([(name, f"{n}E", unit) for name, _, unit in columns], rec, hdr1)

    h0 = fits.Header()
    h0["EXTEND"] = (True, "FITS file may contain extensions")
    h0["NEXTEND"] = 3
    h0["FITS_VER"] = "Definition of the Flexible Image Transport System (FITS) v4.0"
    h0["FITS_SW"] = (f"astropy.io.fits v{astropy.__version__}", "FITS file creation software")
    h0["ORIGIN"] = ("specola (HASP-compatible mode)", "FITS file originator")
    h0["DATE"] = (str(datetime.date.today()), "Date this file was written")
    h0["FILENAME"] = (filename or path.name, "Name of this file")
    h0["IPPPSSOO"] = (ipppssoo, "IPPP or IPPPSS for product")
    h0["TELESCOP"] = (combine(prod, "telescop", "multi"), "Telescope used to acquire data")
    h0["INSTRUME"] = (prod.instrument, "Instrument used to acquire data")
    h0.add_blank("", after="TELESCOP")
    h0.add_blank("              / SCIENCE INSTRUMENT CONFIGURATION", before="INSTRUME")
    h0["DETECTOR"] = (combine(prod, "detector", "multi"), "Detector or channel used to acquire data")
    h0["NUM_EXP"] = (prod.num_exp, "Number of exposures combined")
    h0["GRATING"] = ("-".join(prod.gratinglist), "Grating(s) used")
    h0["CENWAVE"] = (combine(prod, "cenwave", "multi"), "Central wavelength setting for disperser")
    h0["SPORDER"] = (1, "Spectral order")
    h0["APERTURE"] = (",".join(prod.aperturelist), "Identifier(s) of entrance aperture")
    h0["OBSMODE"] = (combine(prod, "obsmode", "multi"), "Instrument operating mode (ACCUM | TIME-TAG)")
    h0["TARGNAME"] = prod.target
    if level in (5, 6):
        h0["LIFE_ADJ"] = "N/A" if prod.instrument == "STIS" else prod.lifetime_position
    h0.add_blank(after="OBSMODE")
    h0.add_blank("              / TARGET INFORMATION", before="TARGNAME")
    h0["RADESYS"] = ("ICRS ", "World coordinate reference frame")
    h0["TARG_RA"] = (ra, "[deg] Target right ascension")
    h0["TARG_DEC"] = (dec, "[deg] Target declination")
    h0["PROPOSID"] = (combine(prod, "proposid", "multi"), "Program identifier")
    h0["PINAME"] = (combine(prod, "pr_inv_l", "multi"), "Principal Investigator")
    h0["MTFLAG"] = (combine(prod, "mtflag", "multi"), "Moving Target Flag")
    h0["EXTENDED"] = (combine(prod, "extended", "max"), "Is target extended?")
    h0.add_blank(after="TARG_DEC")
    h0.add_blank("           / PROVENANCE INFORMATION", before="PROPOSID")
    h0["CAL_VER"] = (f"specola {__version__} (HASP-compatible)", "HLSP processing software version")
    h0["HLSPID"] = ("HSLA", "Name ID of this HLSP collection")
    h0["HSLPNAME"] = ("Hubble Spectroscopic Legacy Archive", "Name ID of this HLSP collection")
    h0["HLSPLEAD"] = ("specola", "Software that made this product")
    h0["HLSP_LVL"] = (level, "HASP HLSP Level")
    h0["LICENSE"] = ("CC BY 4.0", "License for use of these data")
    h0["LICENURL"] = ("https://creativecommons.org/licenses/by/4.0/", "Data license URL")
    h0["REFERENC"] = ("https://ui.adsabs.harvard.edu/abs/2020RNAAS...4..205R", "Bibliographic ref")
    h0["MINWAVE"] = (combine(prod, "minwave", "min"), "Minimum wavelength in spectrum")
    h0.add_blank(after="REFERENC")
    h0.add_blank("           / ARCHIVE SEARCH KEYWORDS", before="MINWAVE")
    h0["MAXWAVE"] = (combine(prod, "maxwave", "max"), "Maximum wavelength in spectrum")
    try:
        h0["CENTRWV"] = (0.5 * (h0["MAXWAVE"] + h0["MINWAVE"]), "Central wavelength of the data")
        h0["BANDWID"] = h0["MAXWAVE"] - h0["MINWAVE"]
    except TypeError:
        h0["CENTRWV"], h0["BANDWID"] = "?", "?"

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
    hdr2 = fits.Header()
    hdr2["EXTNAME"] = ("PROVENANCE", "Metadata for contributing observations")
    table2 = _table_header([(name, form, unit) for name, form, unit, _ in prov], prov_rec, hdr2)
    _write_hdus(path, fits.PrimaryHDU(header=h0), (sci, rec), (table2, prov_rec))


def _table_header(columns: list[tuple[str, str, str | None]], rec: np.ndarray, extra: fits.Header) -> fits.Header:
    """The header astropy's ``BinTableHDU.from_columns`` writes for ``rec`` (big-endian, one field per column).

    Built by hand: constructing a table HDU with data makes astropy import ``astropy.table`` (a quarter of a
    second of start-up for every ``specola coadd`` process).
    """
    head = fits.Header()
    head["XTENSION"] = ("BINTABLE", "binary table extension")
    head["BITPIX"] = (8, "array data type")
    head["NAXIS"] = (2, "number of array dimensions")
    head["NAXIS1"] = (rec.dtype.itemsize, "length of dimension 1")
    head["NAXIS2"] = (len(rec), "length of dimension 2")
    head["PCOUNT"] = (0, "number of group parameters")
    head["GCOUNT"] = (1, "number of groups")
    head["TFIELDS"] = (len(columns), "number of table fields")
    for k, (name, form, unit) in enumerate(columns, start=1):
        head[f"TTYPE{k}"] = name
        head[f"TFORM{k}"] = form
        if unit is not None:
            head[f"TUNIT{k}"] = unit
    for card in extra.cards:
        head.append(card, useblanks=False, end=True)
    return head


def _hdu_bytes(hdu: fits.PrimaryHDU) -> bytes:
    """The primary HDU (header only) as it appears in a FITS file."""
    buffer = io.BytesIO()
    hdu.writeto(buffer)
    return buffer.getvalue()


def _write_hdus(path: Path, primary: fits.PrimaryHDU, *tables: tuple[fits.Header, np.ndarray]) -> None:
    # astropy byte-swaps a vector column element by element in a Python loop when writing (the SCI
    # table's one row holds ~10^4-10^5 floats: 0.25 s per product), and building a table HDU with data
    # imports astropy.table: the tables, already big-endian records, are written as raw bytes after
    # their headers.
    with open(path, "wb") as fh:
        fh.write(_hdu_bytes(primary))
        for header, rec in tables:
            data = rec.tobytes()
            fh.write(header.tostring().encode("ascii"))
            fh.write(data + b"\0" * (-len(data) % 2880))
