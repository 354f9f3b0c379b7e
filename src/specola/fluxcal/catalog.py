"""Standard-star catalogues (ATLAS Refcat2 layout), AB magnitude conversions and photometric temperatures.

Refcat2 (Tonry et al. 2018, ApJ 867, 105) lists Gaia DR2 G, BP, RP (Vega), Pan-STARRS g, r, i, z (AB)
and 2MASS J, H, K (Vega) with 1-sigma errors; missing values are written as sentinels (99.9 or more for
magnitudes, 9.9 or more for errors). :func:`load_catalog` reads such a CSV (column names in any case),
:func:`match_catalog` finds the row of a star by sky position within a tolerance (never by order), and
:func:`photometry_from_row` returns AB magnitudes (Vega bands converted with
:func:`~specola.fluxcal.photometry.ab_minus_vega` from the CALSPEC spectrum of Vega), dropping sentinel bands.

:func:`teff_from_colour` turns a colour (BP-RP or g-r) into Teff by inverting the synthetic colours of
the bundled Castelli-Kurucz dwarfs (log g 4-5, [M/H] -1 to 0), with the spread over those as its scatter.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Sequence
from pathlib import Path

import astropy.units as u
import numpy as np
from astropy.constants import c
from astropy.table import Table

from ..errors import ConfigError, FileFormatError
from .photometry import ab_minus_vega
from .scaling import SENTINEL_ERROR, SENTINEL_MAG, Photometry

__all__ = [
    "CATALOG_BANDS",
    "ab_mag_to_flam",
    "ab_mag_to_fnu",
    "fnu_to_ab_mag",
    "load_catalog",
    "match_catalog",
    "photometry_from_row",
    "teff_from_colour",
]

log = logging.getLogger(__name__)

#: Refcat2 column (magnitude, error), speclite filter and native system of each band.
CATALOG_BANDS = {
    "gaia_g": ("gaia", "dgaia", "gaiadr2-G", "Vega"),
    "gaia_bp": ("bp", "dbp", "gaiadr2-BP", "Vega"),
    "gaia_rp": ("rp", "drp", "gaiadr2-RP", "Vega"),
    "ps1_g": ("g", "dg", "panstarrs-g", "AB"),
    "ps1_r": ("r", "dr", "panstarrs-r", "AB"),
    "ps1_i": ("i", "di", "panstarrs-i", "AB"),
    "ps1_z": ("z", "dz", "panstarrs-z", "AB"),
    "2mass_j": ("j", "dj", "twomass-J", "Vega"),
    "2mass_h": ("h", "dh", "twomass-H", "Vega"),
    "2mass_k": ("k", "dk", "twomass-Ks", "Vega"),
}

_AB_FNU_ZERO = 48.60


def ab_mag_to_fnu(mag: np.ndarray | float, mag_err: np.ndarray | float | None = None):
    """``f_nu`` (erg/s/cm^2/Hz) of AB magnitudes, ``m = -2.5 log10 f_nu - 48.60``, and its error."""
    mag = np.asarray(mag, float)
    fnu = 10.0 ** (-0.4 * (mag + _AB_FNU_ZERO))
    return fnu, None if mag_err is None else fnu * 0.4 * np.log(10) * np.asarray(mag_err, float)


def fnu_to_ab_mag(fnu: np.ndarray | float, fnu_err: np.ndarray | float | None = None):
    """AB magnitudes of ``f_nu`` (erg/s/cm^2/Hz), and their errors."""
    fnu = np.asarray(fnu, float)
    with np.errstate(divide="ignore", invalid="ignore"):
        mag = -2.5 * np.log10(fnu) - _AB_FNU_ZERO
        err = None if fnu_err is None else 2.5 / np.log(10) * np.asarray(fnu_err, float) / fnu
    return mag, err


def ab_mag_to_flam(mag: np.ndarray | float, wave_eff: u.Quantity, mag_err: np.ndarray | float | None = None):
    """``f_lambda = f_nu c / lambda**2`` (erg/s/cm^2/A) of AB magnitudes at an effective wavelength, and its error."""
    fnu, err = ab_mag_to_fnu(mag, mag_err)
    to = (c / u.Quantity(wave_eff, u.AA) ** 2).to_value(u.AA / u.s / u.AA**2)
    return fnu * to, None if err is None else err * to


def load_catalog(path: str | Path) -> Table:
    """Read a Refcat2-layout CSV (header row; ``ra``/``dec`` in degrees); column names become lower case.

    Raises
    ------
    FileFormatError
        Unreadable file, or no ``ra``/``dec`` columns.
    """
    try:
        table = Table.read(path, format="ascii.csv")
    except (OSError, ValueError) as exc:
        raise FileFormatError(f"{path}: cannot read a catalogue CSV ({exc})") from None
    table.rename_columns(table.colnames, [n.strip().lower() for n in table.colnames])
    for need in ("ra", "dec"):
        if need not in table.colnames:
            raise FileFormatError(f"{path}: no {need!r} column (Refcat2 layout: ra, dec, gaia, dgaia, bp, ...)")
    table.meta["source"] = str(path)
    return table


def match_catalog(table: Table, ra: float, dec: float, tolerance_arcsec: float, name: str = "") -> int:
    """Index of the catalogue row nearest to (ra, dec) in degrees, within ``tolerance_arcsec``.

    Raises
    ------
    ConfigError
        No row within the tolerance (the message gives the nearest distance), or two rows inside it.
    """
    ra0, dec0 = np.radians(ra), np.radians(dec)
    r, d = np.radians(np.asarray(table["ra"], float)), np.radians(np.asarray(table["dec"], float))
    cosd = np.sin(dec0) * np.sin(d) + np.cos(dec0) * np.cos(d) * np.cos(r - ra0)
    sep = np.degrees(np.arccos(np.clip(cosd, -1.0, 1.0))) * 3600.0
    who = name or f"RA {ra:.5f} Dec {dec:.5f}"
    inside = np.flatnonzero(sep <= tolerance_arcsec)
    if inside.size == 0:
        raise ConfigError(f"{who}: no catalogue star within {tolerance_arcsec:g} arcsec (nearest {sep.min():.1f} "
                          f"arcsec in {table.meta.get('source', 'the catalogue')})")  # fmt: skip
    if inside.size > 1:
        raise ConfigError(f"{who}: {inside.size} catalogue stars within {tolerance_arcsec:g} arcsec; "
                          "give a smaller tolerance")  # fmt: skip
    return int(inside[0])


def photometry_from_row(row, bands: Sequence[str] | None = None, name: str = "") -> Photometry:
    """AB photometry of one catalogue row; sentinel, NaN or missing bands are left out (logged).

    Parameters
    ----------
    row : astropy Row or mapping
        One row of :func:`load_catalog`.
    bands : sequence of str, optional
        Keys of :data:`CATALOG_BANDS` (default: all present in the row).
    name : str
        The star (for messages).

    Raises
    ------
    ConfigError
        An unknown band, or no valid band at all.
    """
    keys = list(bands) if bands is not None else [k for k, v in CATALOG_BANDS.items() if v[0] in row.colnames]
    filters, mags, errs, dropped = [], [], [], []
    for key in keys:
        if key not in CATALOG_BANDS:
            raise ConfigError(f"unknown catalogue band {key!r}; known: {', '.join(CATALOG_BANDS)}")
        col, ecol, filt, system = CATALOG_BANDS[key]
        try:
            m, e = float(row[col]), float(row[ecol])
        except (KeyError, ValueError, TypeError):
            dropped.append(f"{key} (missing)")
            continue
        if not (np.isfinite(m) and np.isfinite(e) and m < SENTINEL_MAG and 0 < e < SENTINEL_ERROR):
            dropped.append(f"{key} ({m:g} +- {e:g}: sentinel or invalid)")
            continue
        filters.append(filt)
        mags.append(m + (float(ab_minus_vega(filt)) if system == "Vega" else 0.0))
        errs.append(e)
    if dropped:
        log.info("%s: bands left out: %s", name or "catalogue star", ", ".join(dropped))
    if not filters:
        raise ConfigError(f"{name or 'catalogue star'}: no valid band ({', '.join(dropped) or 'none given'})")
    return Photometry(tuple(filters), tuple(mags), tuple(errs), "AB", star=name)


@functools.cache
def _colour_table(blue: str, red: str) -> tuple[np.ndarray, np.ndarray]:
    """Synthetic AB colours of the bundled CK04 dwarfs: (Teff nodes, colours [n_track, n_teff])."""
    from ..grids import load_grid
    from .colours import SyntheticColours
    from .run import bundled_grid_files

    grid = load_grid(bundled_grid_files(), format="kurucz").select(logg=(4.0, 5.0))
    fake = Photometry((blue, red), (0.0, 0.0), (1.0, 1.0), "AB")
    colours = SyntheticColours(grid, fake, 3.1)
    axes = grid.axes
    teff = axes["Teff"]
    tracks = []
    for g in axes["logg"]:
        for m in axes.get("[M/H]", [0.0]):
            tracks.append([np.subtract(*colours.magnitudes((t, g, m), 0.0)) for t in teff])
    return teff, np.array(tracks)


def teff_from_colour(photometry: Photometry, method: str = "bp_rp") -> tuple[float, float]:
    """Teff (K) of an FGK dwarf from its BP-RP or g-r colour, and the scatter of that estimate.

    Parameters
    ----------
    photometry : Photometry
        Must contain ``gaiadr2-BP`` and ``gaiadr2-RP`` (``method="bp_rp"``) or ``panstarrs-g``/``-r``
        (or ``sdss2010-g``/``-r``) for ``"g_r"``.
    method : {"bp_rp", "g_r"}

    Returns
    -------
    (teff, scatter)
        Median over the grid's dwarf tracks and the half-range between them plus 50 K (colour errors included).

    Raises
    ------
    ConfigError
        Missing bands, or a colour outside the grid's 4500-6750 K range.
    """
    pairs = {
        "bp_rp": [("gaiadr2-BP", "gaiadr2-RP")],
        "g_r": [("panstarrs-g", "panstarrs-r"), ("sdss2010-g", "sdss2010-r")],
    }
    if method not in pairs:
        raise ConfigError(f"method must be 'bp_rp' or 'g_r', got {method!r}")
    bands = list(photometry.bands)
    pair = next(((b, r) for b, r in pairs[method] if b in bands and r in bands), None)
    if pair is None:
        raise ConfigError(f"{photometry.star or 'star'}: {method} needs the bands {pairs[method][0]}")
    offset = 0.0 if photometry.system.upper() == "AB" else float(ab_minus_vega(pair[0]) - ab_minus_vega(pair[1]))
    i, j = bands.index(pair[0]), bands.index(pair[1])
    colour = photometry.magnitudes[i] - photometry.magnitudes[j] + offset
    colour_err = float(np.hypot(photometry.errors[i], photometry.errors[j]))
    teff, tracks = _colour_table(*pair)
    estimates = []
    for track in tracks:
        order = np.argsort(track)
        if not track.min() <= colour <= track.max():
            continue
        t0 = np.interp(colour, track[order], teff[order])
        slope = abs(np.gradient(teff, track)[np.argmin(np.abs(teff - t0))])
        estimates.append((t0, slope * colour_err))
    if not estimates:
        raise ConfigError(f"{photometry.star or 'star'}: {method} = {colour:.3f} lies outside the grid's "
                          f"{teff[0]:.0f}-{teff[-1]:.0f} K dwarfs")  # fmt: skip
    t = np.array([e[0] for e in estimates])
    spread = 0.5 * float(np.ptp(t)) + 50.0
    return float(np.median(t)), float(np.hypot(spread, np.median([e[1] for e in estimates])))
