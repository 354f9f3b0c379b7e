"""Reading back the FITS and ECSV files written by :func:`specola.io.write`."""

from __future__ import annotations

import json
from pathlib import Path

from astropy.io import fits
from astropy.table import Table

from ..spectrum import Spectrum
from ._common import _decode, check_rows, fits_source, head_bytes, is_fits, meta_from_json, open_fits, read_text
from .registry import register_reader
from .table import spectrum_from_table

__all__ = ["read_specola"]


def _identify(path: Path) -> bool:
    if is_fits(path):
        with fits.open(fits_source(path), memmap=False) as hdul:
            return len(hdul) > 1 and hdul[1].name == "SPECTRUM" and "SPECOLA" in hdul[1].header
    head = head_bytes(path, 4096).decode("utf-8", errors="replace")
    return head.startswith("# %ECSV") and "specola_version" in head


def _read_ecsv(path: Path) -> Table:
    text = read_text(path)
    check_rows(path, text, " ")
    return Table.read(text, format="ascii.ecsv")


def read_specola(path: Path) -> list[Spectrum]:
    """Read a spectrum written by :func:`specola.io.write` (FITS or ECSV), restoring its meta."""
    if is_fits(path):
        with open_fits(path) as hdul:
            table = Table.read(hdul["SPECTRUM"])
            hdr = hdul["SPECTRUM"].header
            meta = meta_from_json(hdr.get("SPMETA", ""))
            extra = {k: hdr[k] for k in ("SPECOLA", "CFGHASH") if k in hdr}
    else:
        table = _read_ecsv(path)
        meta = _decode(json.loads(json.dumps(table.meta.get("meta", {}))))
        extra = {"SPECOLA": table.meta.get("specola_version")}
        if "config_hash" in table.meta:
            extra["CFGHASH"] = table.meta["config_hash"]
    spec = spectrum_from_table(table, path, wave_col=None, flux_col="flux", error_col=None)
    # the file's meta replaces the reader's defaults, except where the data came from
    meta.update(source_file=str(path), written_by=f"specola {extra.get('SPECOLA')}")
    if "CFGHASH" in extra:
        meta["config_hash"] = extra["CFGHASH"]
    return [spec.replace(meta=meta)]


register_reader("specola", _identify, read_specola, "FITS / ECSV spectra written by specola.io.write")
