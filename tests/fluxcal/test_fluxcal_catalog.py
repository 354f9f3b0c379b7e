from pathlib import Path

import astropy.units as u
import numpy as np
import pytest

from specola.errors import ConfigError
from specola.fluxcal import read_calspec, standard_path
from specola.fluxcal.catalog import (
    CATALOG_BANDS,
    ab_mag_to_flam,
    ab_mag_to_fnu,
    fnu_to_ab_mag,
    load_catalog,
    match_catalog,
    photometry_from_row,
    teff_from_colour,
)
from specola.fluxcal.photometry import ab_minus_vega, synthetic_magnitude
from specola.fluxcal.scaling import Photometry

DATA = Path(__file__).parent / "data"
#: BD+17 4708 (calspec_info.txt: 22:11:31.375 +18:05:34.16)
BD17_RADEC = (332.880729, 18.092822)
STANDARD_BANDS = ["gaiadr2-G", "gaiadr2-BP", "gaiadr2-RP", "panstarrs-g", "panstarrs-r", "panstarrs-i", "panstarrs-z",
                  "panstarrs-y", "sdss2010-u", "sdss2010-g", "sdss2010-r", "sdss2010-i", "sdss2010-z", "twomass-J",
                  "twomass-H", "twomass-Ks", "bessell-U", "bessell-B", "bessell-V", "bessell-R"]  # fmt: skip


def test_ab_conversions():
    fnu, err = ab_mag_to_fnu(0.0, 0.1)
    assert fnu == pytest.approx((3631 * u.Jy).to_value(u.erg / u.s / u.cm**2 / u.Hz), rel=1e-3)
    mag, merr = fnu_to_ab_mag(fnu, err)
    assert mag == pytest.approx(0.0, abs=1e-12) and merr == pytest.approx(0.1)
    flam, _ = ab_mag_to_flam(0.0, 5500 * u.AA)
    expect = (3631 * u.Jy).to_value(u.erg / u.s / u.cm**2 / u.AA, u.spectral_density(5500 * u.AA))
    assert flam == pytest.approx(expect, rel=1e-3)


def test_calspec_files_give_every_standard_band():
    """DATAQUAL = 0 pixels (BD+17 4708's O2 6280 A region) no longer count as missing coverage."""
    bd17 = read_calspec(standard_path("bd_17d4708_stisnic_007"))
    assert (bd17.meta["dataqual"] == 0).sum() > 0 and bd17.good.all()
    mags = [synthetic_magnitude(bd17, b) for b in STANDARD_BANDS]
    assert np.all(np.isfinite(mags)) and len(mags) == 20


def catalogue(tmp_path, rows):
    cols = ["RA", "Dec"] + [c for k in CATALOG_BANDS.values() for c in k[:2]]
    lines = [",".join(cols)] + [",".join(str(v) for v in r) for r in rows]
    path = tmp_path / "refcat2.csv"
    path.write_text("\n".join(lines) + "\n")
    return path


def bd17_row(sentinel_band=None):
    bd17 = read_calspec(standard_path("bd_17d4708_stisnic_007"))
    values = list(BD17_RADEC)
    for key, (_, _, filt, system) in CATALOG_BANDS.items():
        m = synthetic_magnitude(bd17, filt, system)
        values += [99.9, 9.99] if key == sentinel_band else [round(m, 4), 0.01]
    return values


def test_catalogue_match_by_position_vega_to_ab_and_sentinels(tmp_path):
    other = [BD17_RADEC[0] + 0.01, BD17_RADEC[1]] + [15.0, 0.02] * len(CATALOG_BANDS)
    table = load_catalog(catalogue(tmp_path, [other, bd17_row(sentinel_band="2mass_h")]))
    ra, dec = BD17_RADEC[0] + 0.3 / 3600, BD17_RADEC[1]  # the fibre is 0.3" off
    k = match_catalog(table, ra, dec, tolerance_arcsec=1.0, name="fibre 12")
    assert k == 1
    phot = photometry_from_row(table[k], name="BD+17 4708")
    assert "twomass-H" not in phot.bands and len(phot.bands) == len(CATALOG_BANDS) - 1
    bd17 = read_calspec(standard_path("bd_17d4708_stisnic_007"))
    for band, mag in zip(phot.bands, phot.magnitudes, strict=True):
        assert mag == pytest.approx(synthetic_magnitude(bd17, band, "AB"), abs=2e-4)
    assert phot.magnitudes[0] - table[k]["gaia"] == pytest.approx(float(ab_minus_vega("gaiadr2-G")), abs=1e-4)
    with pytest.raises(ConfigError, match="fibre 3: no catalogue star within 1 arcsec"):
        match_catalog(table, ra + 0.05, dec, 1.0, name="fibre 3")


def test_sentinel_and_nan_magnitudes_are_refused_naming_star_and_band():
    with pytest.raises(ConfigError, match=r"photometry of HD 1.*band gaiadr2-G magnitude 99\.9"):
        Photometry(["gaiadr2-G"], [99.9], [0.01], "Vega", star="HD 1")
    with pytest.raises(ConfigError, match="band gaiadr2-RP magnitude nan"):
        Photometry(["gaiadr2-G", "gaiadr2-RP"], [9.0, float("nan")], [0.01, 0.01])
    with pytest.raises(ConfigError, match="no valid band"):
        photometry_from_row({"gaia": 99.9, "dgaia": 9.99}, bands=["gaia_g"], name="X")


@pytest.mark.parametrize(
    ("star", "teff"),
    [("sun", 5772.0), ("bd17", 6141.0)],  # IAU nominal Sun; BD+17 4708 (Ramirez et al. 2006)
)
@pytest.mark.parametrize("method", ["bp_rp", "g_r"])
def test_teff_from_colour_on_calspec_stars(star, teff, method):
    spec = (read_calspec(DATA / "sun_reference_stis_001.fits.gz") if star == "sun"
            else read_calspec(standard_path("bd_17d4708_stisnic_007")))  # fmt: skip
    bands = ("gaiadr2-BP", "gaiadr2-RP") if method == "bp_rp" else ("panstarrs-g", "panstarrs-r")
    phot = Photometry(bands, [synthetic_magnitude(spec, b) for b in bands], [0.01, 0.01], "AB", star=star)
    t, scatter = teff_from_colour(phot, method)
    assert abs(t - teff) < 2 * scatter, (t, scatter)
    assert 50 < scatter < 400


def test_nan_staterror_and_dataqual_keep_pixels(tmp_path):
    from astropy.io import fits

    wave = np.linspace(3000.0, 10000.0, 200)
    flux = np.full(200, 1e-14)
    err = np.full(200, 1e-16)
    err[50:60] = np.nan
    dq = np.ones(200)
    dq[100:110] = 0
    arrays = {"WAVELENGTH": wave, "FLUX": flux, "STATERROR": err, "SYSERROR": err, "DATAQUAL": dq}
    cols = [fits.Column(name=n, format="E", array=a) for n, a in arrays.items()]
    path = tmp_path / "star_stis_001.fits"
    fits.HDUList([fits.PrimaryHDU(), fits.BinTableHDU.from_columns(cols)]).writeto(path)
    spec = read_calspec(path)
    assert spec.good.all() and np.all(spec.error.value[50:60] == 0)
    assert np.all(spec.meta["dataqual"][100:110] == 0)
    assert np.isfinite(synthetic_magnitude(spec, "sdss2010-r"))
