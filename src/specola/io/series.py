"""Time series of spectra (:class:`SpectrumSeries`) in HDF5 or FITS, specola layout.

HDF5 (``.h5``, ``.hdf5``): datasets ``low``, ``high`` (``n_wave``), ``flux``,
``error``, ``mask`` (``n_times x n_wave``) and ``times`` (``n_times``); root
attributes ``format = "specola.SpectrumSeries"``, ``specola_version``,
``wave_unit``, ``flux_unit``, ``meta`` (JSON) and ``config_hash`` when given;
``times`` has ``unit`` or ``time_format``/``time_scale`` attributes.

Also read: Eureka! Stage-3 style HDF5 (the stellar-retrieval peer's time-series input):
datasets ``wave_1d`` (micron unless a ``wave_units`` attribute says otherwise), ``time``,
``optspec`` (``n_times x n_wave``, or flat) and its error ``opterr`` (or ``optspec_err``,
``error``); units from ``flux_units`` / ``time_units`` attributes where present.

FITS: ``WAVE`` table (``low``, ``high``), ``FLUX``/``ERROR``/``MASK`` images
and a ``TIMES`` table, with the same keys in the primary header
(``SPFORMAT``, ``SPECOLA``, ``SPMETA``, ``CFGHASH``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import astropy.units as u
import numpy as np
from astropy.io import fits
from astropy.time import Time

from .._version import __version__
from ..errors import FileFormatError
from ..runs import atomic_path
from ..spectrum import SpectrumSeries, edges_from_centres
from ._common import FITS_SUFFIXES, head_bytes, is_fits, meta_from_json, meta_to_json, open_fits, parse_unit
from .registry import register_reader
from .write import config_hash, unit_string

__all__ = ["read_series_eureka", "read_series_fits", "read_series_hdf5", "write_series"]

FORMAT_TAG = "specola.SpectrumSeries"
HDF5_SUFFIXES = (".h5", ".hdf5", ".he5")
_HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"


def _times_parts(times: Any) -> tuple[np.ndarray, dict[str, str]] | None:
    if times is None:
        return None
    if isinstance(times, Time):
        return np.asarray(times.jd, float), {"time_format": "jd", "time_scale": times.scale}
    if isinstance(times, u.Quantity):
        return np.asarray(times.value, float), {"unit": unit_string(times.unit)}
    return np.asarray(times, float), {}


def _times_from(values: np.ndarray, attrs: dict[str, Any]) -> Any:
    if "time_format" in attrs:
        return Time(values, format=attrs["time_format"], scale=attrs.get("time_scale", "utc"))
    if "unit" in attrs:
        return values * parse_unit(attrs["unit"], u.dimensionless_unscaled)
    return values


def write_series(series: SpectrumSeries, path: str | Path, overwrite: bool = False, config: Any = None) -> Path:
    """Write a :class:`SpectrumSeries` to HDF5 (``.h5``/``.hdf5``) or FITS (``.fits``), atomically.

    Parameters
    ----------
    series : SpectrumSeries
        The time series.
    path : str or Path
        Destination; the suffix picks the format.
    overwrite : bool
        Replace an existing file.
    config : dataclass, optional
        Configuration whose sha256 is stored as ``config_hash`` / ``CFGHASH``.

    Returns
    -------
    Path
    """
    path = Path(path)
    name = path.name.lower()
    times = _times_parts(series.times)
    info = {"format": FORMAT_TAG, "specola_version": __version__, "meta": meta_to_json(series.meta)}
    if config is not None:
        info["config_hash"] = config_hash(config)
    if name.endswith(HDF5_SUFFIXES):
        import h5py

        with atomic_path(path, overwrite) as tmp, h5py.File(tmp, "w") as h5:
            h5.attrs.update(info, wave_unit=unit_string(series.low.unit), flux_unit=unit_string(series.flux.unit))
            h5["low"], h5["high"] = series.low.value, series.high.to_value(series.low.unit)
            h5.create_dataset("flux", data=series.flux.value, compression="gzip")
            if series.error is not None:
                h5.create_dataset("error", data=series.error.value, compression="gzip")
            h5.create_dataset("mask", data=np.asarray(series.mask, bool), compression="gzip")
            if times is not None:
                h5["times"] = times[0]
                h5["times"].attrs.update(times[1])
    elif name.endswith(FITS_SUFFIXES) and not name.endswith(".gz"):
        primary = fits.PrimaryHDU()
        hdr = primary.header
        hdr["SPFORMAT"], hdr["SPECOLA"], hdr["SPMETA"] = FORMAT_TAG, __version__, info["meta"]
        if "config_hash" in info:
            hdr["CFGHASH"] = info["config_hash"]
        wunit = unit_string(series.low.unit)
        wave = fits.BinTableHDU.from_columns(
            [
                fits.Column("low", "D", unit=wunit, array=series.low.value),
                fits.Column("high", "D", unit=wunit, array=series.high.to_value(series.low.unit)),
            ],
            name="WAVE",
        )
        hdus = [primary, wave, fits.ImageHDU(series.flux.value, name="FLUX")]
        hdus[-1].header["BUNIT"] = unit_string(series.flux.unit)
        if series.error is not None:
            hdus.append(fits.ImageHDU(series.error.value, name="ERROR"))
            hdus[-1].header["BUNIT"] = unit_string(series.flux.unit)
        hdus.append(fits.ImageHDU(np.asarray(series.mask, np.uint8), name="MASK"))
        if times is not None:
            col = fits.Column("time", "D", unit=times[1].get("unit"), array=times[0])
            thdu = fits.BinTableHDU.from_columns([col], name="TIMES")
            for key, value in times[1].items():
                if key != "unit":
                    thdu.header[key.upper().replace("TIME_", "T")] = value
            hdus.append(thdu)
        with atomic_path(path, overwrite) as tmp:
            fits.HDUList(hdus).writeto(tmp)
    else:
        raise FileFormatError(f"{path}: cannot tell the series format; use a .h5, .hdf5 or .fits name")
    return path


def _identify_hdf5(path: Path) -> bool:
    if not head_bytes(path, 8).startswith(_HDF5_MAGIC):
        return False
    import h5py

    with h5py.File(path, "r") as h5:
        return h5.attrs.get("format") == FORMAT_TAG


def read_series_hdf5(path: Path) -> SpectrumSeries:
    """Read a :class:`SpectrumSeries` written by :func:`write_series` to HDF5."""
    import h5py

    with h5py.File(path, "r") as h5:
        missing = {"low", "high", "flux"} - set(h5)
        if missing:
            raise FileFormatError(f"{path}: HDF5 series lacks dataset(s) {', '.join(sorted(missing))}")
        wunit = parse_unit(h5.attrs.get("wave_unit"), u.um)
        funit = parse_unit(h5.attrs.get("flux_unit"), u.dimensionless_unscaled)
        times = None
        if "times" in h5:
            times = _times_from(h5["times"][()], dict(h5["times"].attrs))
        meta = meta_from_json(h5.attrs.get("meta", ""))
        if "config_hash" in h5.attrs:
            meta["config_hash"] = str(h5.attrs["config_hash"])
        return SpectrumSeries(
            h5["low"][()] * wunit,
            h5["high"][()] * wunit,
            h5["flux"][()] * funit,
            h5["error"][()] * funit if "error" in h5 else None,
            h5["mask"][()].astype(bool) if "mask" in h5 else None,
            times,
            dict(meta, source_file=str(path)),
        )


_EUREKA_DATASETS = {"wave_1d", "time", "optspec"}
_EUREKA_ERRORS = ("opterr", "optspec_err", "error")
#: Where a Eureka!-style file may say what its times are: (dataset or "" for the root, attribute).
_TIME_UNIT_KEYS = (("time", "units"), ("time", "time_units"), ("", "time_units"))


def _identify_eureka(path: Path) -> bool:
    if not head_bytes(path, 8).startswith(_HDF5_MAGIC):
        return False
    import h5py

    with h5py.File(path, "r") as h5:
        return h5.attrs.get("format") != FORMAT_TAG and _EUREKA_DATASETS <= set(h5)


def _attr_unit(h5: Any, dataset: str, key: str, default: u.UnitBase) -> u.UnitBase:
    """Unit from the dataset's ``units`` or a ``<key>`` attribute (root or dataset), else ``default``."""
    for value in (h5[dataset].attrs.get("units"), h5[dataset].attrs.get(key), h5.attrs.get(key)):
        if value is not None:
            return parse_unit(value.decode() if isinstance(value, bytes) else str(value), default)
    return default


def _time_label(h5: Any) -> Any:
    """The first of the attributes in :data:`_TIME_UNIT_KEYS` that is present (None if none)."""
    for dataset, key in _TIME_UNIT_KEYS:
        value = (h5[dataset] if dataset else h5).attrs.get(key)
        if value is not None:
            return value
    return None


def read_series_eureka(path: Path) -> SpectrumSeries:
    """Read a Eureka! Stage-3 style time series (``wave_1d``, ``time``, ``optspec``, ``opterr``).

    Wavelengths are sorted ascending; ``optspec`` may be ``(n_times, n_wave)`` or flat (reshaped as the
    peer does, times first).

    Raises
    ------
    FileFormatError
        Missing datasets or shapes that do not fit ``time`` x ``wave_1d`` (the message names them).
    """
    import h5py

    with h5py.File(path, "r") as h5:
        missing = _EUREKA_DATASETS - set(h5)
        if missing:
            raise FileFormatError(f"{path}: Eureka-style series lacks dataset(s) {', '.join(sorted(missing))}")
        wave = np.asarray(h5["wave_1d"][()], float).ravel()
        times = np.asarray(h5["time"][()], float).ravel()
        flux = np.asarray(h5["optspec"][()], float)
        err_name = next((n for n in _EUREKA_ERRORS if n in h5), None)
        error = np.asarray(h5[err_name][()], float) if err_name else None
        wunit = _attr_unit(h5, "wave_1d", "wave_units", u.um)
        funit = _attr_unit(h5, "optspec", "flux_units", u.dimensionless_unscaled)
        tlabel = _time_label(h5)
    shape = (times.size, wave.size)
    for name, arr in (("optspec", flux), (err_name, error)):
        if arr is not None and arr.size != times.size * wave.size:
            raise FileFormatError(
                f"{path}: {name} has shape {arr.shape} but time x wave_1d is {shape}; the datasets do not match"
            )
    order = np.argsort(wave)
    if np.any(np.diff(wave[order]) <= 0):
        raise FileFormatError(f"{path}: wave_1d has repeated wavelengths; expected one value per column of optspec")
    flux = flux.reshape(shape)[:, order]
    error = None if error is None else error.reshape(shape)[:, order]
    low, high = edges_from_centres(wave[order])
    meta = {"source_file": str(path), "format": "eureka_stage3"}
    tunit = u.day
    if tlabel is not None:  # Eureka! writes time scales such as "BMJD_TDB" (days) rather than a unit
        tlabel = tlabel.decode() if isinstance(tlabel, bytes) else str(tlabel)
        try:
            tunit = u.Unit(tlabel)
        except ValueError:
            meta["time_scale"] = tlabel
    return SpectrumSeries(
        low * wunit,
        high * wunit,
        flux * funit,
        None if error is None else error * funit,
        None,
        times * tunit,
        meta,
    )


def _identify_fits(path: Path) -> bool:
    if not is_fits(path):
        return False
    # the primary header's cards, from the first blocks only (sniffing never decompresses a whole file)
    head = head_bytes(path, 10 * 2880)
    cards = (head[i : i + 80] for i in range(0, len(head) - 79, 80))
    return any(c.startswith(b"SPFORMAT=") and f"'{FORMAT_TAG}".encode() in c for c in cards)


def read_series_fits(path: Path) -> SpectrumSeries:
    """Read a :class:`SpectrumSeries` written by :func:`write_series` to FITS."""
    with open_fits(path) as hdul:
        for ext in ("WAVE", "FLUX"):
            if ext not in hdul:
                raise FileFormatError(f"{path}: series file lacks the {ext} extension")
        wave = hdul["WAVE"]
        wunit = parse_unit(wave.columns["low"].unit, u.um)
        funit = parse_unit(hdul["FLUX"].header.get("BUNIT"), u.dimensionless_unscaled)
        times = None
        if "TIMES" in hdul:
            th = hdul["TIMES"]
            attrs = {"unit": th.columns["time"].unit} if th.columns["time"].unit else {}
            if "TFORMAT" in th.header:
                attrs = {"time_format": th.header["TFORMAT"], "time_scale": th.header.get("TSCALE", "utc")}
            times = _times_from(np.asarray(th.data["time"], float), attrs)
        meta = meta_from_json(hdul[0].header.get("SPMETA", ""))
        if "CFGHASH" in hdul[0].header:
            meta["config_hash"] = hdul[0].header["CFGHASH"]
        return SpectrumSeries(
            np.asarray(wave.data["low"], float) * wunit,
            np.asarray(wave.data["high"], float) * wunit,
            np.asarray(hdul["FLUX"].data, float) * funit,
            np.asarray(hdul["ERROR"].data, float) * funit if "ERROR" in hdul else None,
            np.asarray(hdul["MASK"].data, bool) if "MASK" in hdul else None,
            times,
            dict(meta, source_file=str(path)),
        )


register_reader("specola_series_hdf5", _identify_hdf5, read_series_hdf5, "SpectrumSeries in specola's HDF5 layout")
register_reader("eureka_stage3", _identify_eureka, read_series_eureka, "Eureka! Stage-3 style time series HDF5")
register_reader("specola_series_fits", _identify_fits, read_series_fits, "SpectrumSeries in specola's FITS layout")
