"""HASP-compatible single-grating co-addition: output grid, nearest-bin weighting, errors, rejection.

The rules (measured on the peer and documented in the HASP/ULLYSES papers):

* output grid: linear from ``int(min lambda)`` to ``int(max lambda) + 1`` with the
  largest input pixel spacing as the step (every pixel of every member counts);
* each good pixel (``DQ & SDQFLAGS == 0``; bit 16 is ignored for STIS) goes to the
  nearest output bin (round half to even) with weight ``EXPTIME * NET / FLUX``
  (COS interpolates the throughput across NaNs);
* errors from summed gross counts (COS: summed ``VARIANCE_*`` columns when present,
  floored at 0.5 counts) converted to flux with ``F / sum(net counts)``;
* STIS CCD (``sx1``): weighted errors ``sqrt(sum (err w)^2) / sum w``, and a single
  member keeps its own grid;
* flux-based filtering: an exposure is rejected when the median of
  ``(f - F_coadd) / max(err, f / snrmax)`` times ``sqrt(N)`` is below ``threshold``.
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ._hasp_inputs import BAD_SEGMENTS, HstFile, lifetime_position

log = logging.getLogger(__name__)

_COLUMNS = ("WAVELENGTH", "FLUX", "ERROR", "GROSS", "NET", "DQ", "VARIANCE_COUNTS", "VARIANCE_BKG", "VARIANCE_FLAT")


@dataclass
class Member:
    """One segment (COS) or order (STIS) of one exposure, arrays as stored in the file."""

    data: dict[str, np.ndarray]
    exptime: float
    sdqflags: int
    file: HstFile
    instrument: str
    name: str
    spectral_order: int
    rownum: int
    lifetime_position: int

    @property
    def good(self) -> np.ndarray:
        """Pixels without serious data-quality flags."""
        return (self.data["dq"] & self.sdqflags) == 0


@dataclass
class Rejection:
    """A member whose scaled median deviation fell below the threshold (``product``: the group it left)."""

    file: str
    segment: str
    order: int
    scaled_median: float
    product: str = ""


@dataclass
class HaspProduct:
    """A single-grating (or abutted) HASP product and the headers of its inputs."""

    instrument: str = ""
    grating: str = ""
    detector: str = ""
    members: list[Member] = field(default_factory=list)
    primary_headers: list[Any] = field(default_factory=list)
    first_headers: list[Any] = field(default_factory=list)
    files: list[HstFile] = field(default_factory=list)
    gratinglist: list[str] = field(default_factory=list)
    aperturelist: list[str] = field(default_factory=list)
    targnames: list[str] = field(default_factory=list)
    num_exp: int = 0
    propid: Any = None
    rootname: str = ""
    target: str = ""
    disambiguated_grating: str = ""
    lifetime_position: Any = 0
    product_type: str = ""
    snrmax: float = 20.0
    output_wavelength: np.ndarray | None = None
    output_flux: np.ndarray | None = None
    output_errors: np.ndarray | None = None
    signal_to_noise: np.ndarray | None = None
    output_exptime: np.ndarray | None = None
    first_good_wavelength: float | None = None
    last_good_wavelength: float | None = None
    min_wavelength: float = 0.0
    delta_wavelength: float | None = None

    # ------------------------------------------------------------------ inputs
    @classmethod
    def from_files(cls, files: list[HstFile]) -> HaspProduct:
        """Collect every SCI row of ``files`` as members (COS G230L NUVC segments are dropped)."""
        prod = cls()
        for f in files:
            p = f.primary
            prod.instrument = p["INSTRUME"].upper()
            prod.grating = p["OPT_ELEM"].upper()
            prod.propid = p["PROPOSID"]
            prod.rootname = p["ROOTNAME"]
            prod.detector = p["DETECTOR"]
            if prod.grating not in prod.gratinglist:
                prod.gratinglist.append(prod.grating)
            aperture = p["APERTURE"] if prod.instrument == "COS" else p.get("PROPAPER", p.get("APERTURE"))
            if aperture not in prod.aperturelist:
                prod.aperturelist.append(aperture)
            target = str(p["TARGNAME"]).strip()
            if target not in prod.targnames:
                prod.targnames.append(target)
            prod.files.append(f)
            for header, data in f.sci:
                if len(data) == 0:
                    continue
                prod.num_exp += 1
                prod.primary_headers.append(p)
                prod.first_headers.append(header)
                prod._add_members(f, header, data)
        return prod

    def _add_members(self, f: HstFile, header: Any, data: Any) -> None:
        p = f.primary
        setting = f"{p['INSTRUME']}/{p['OPT_ELEM']}"
        sdqflags = int(header["SDQFLAGS"])
        if self.instrument == "STIS" and (sdqflags & 16) == 16:
            sdqflags -= 16
        names = {n.upper(): n for n in data.columns.names}
        arrays = {c.lower(): np.asarray(data[names[c]]) for c in _COLUMNS if c in names}
        arrays = {k: v.astype(v.dtype.newbyteorder("=")) for k, v in arrays.items()}
        segments = data[names["SEGMENT"]] if "SEGMENT" in names else None
        orders = data[names["SPORDER"]] if "SPORDER" in names else None
        for row in range(len(data)):
            name = str(segments[row]).strip() if segments is not None else str(header.get("EXPNAME", "")).strip()
            if setting in BAD_SEGMENTS and name in BAD_SEGMENTS[setting]:
                log.info("Segment %s removed from product for setting %s", name, setting)
                continue
            self.members.append(
                Member(
                    {k: v[row] for k, v in arrays.items()},
                    float(header["EXPTIME"]),
                    sdqflags,
                    f,
                    p["INSTRUME"],
                    name,
                    int(orders[row]) if (orders is not None and p["INSTRUME"] == "STIS") else 1,
                    row,
                    lifetime_position(p),
                )
            )

    def get_targname(self) -> str:
        """The single target name, else the first file's."""
        return self.targnames[0] if len(self.targnames) == 1 else self.primary_headers[0]["TARGNAME"]

    def get_coords(self) -> tuple[float, float]:
        """Mean of the distinct target coordinates."""
        ras = list({h["RA_TARG"] for h in self.primary_headers})
        decs = list({h["DEC_TARG"] for h in self.primary_headers})
        return float(np.average(ras)), float(np.average(decs))

    @property
    def is_ccd(self) -> bool:
        """STIS CCD products follow their own rules."""
        return self.instrument == "STIS" and self.detector == "CCD"

    # ------------------------------------------------------------------ grid and coadd
    def create_output_wavelength_grid(self) -> np.ndarray:
        """The linear output grid (a single STIS CCD member keeps its own wavelengths)."""
        if self.is_ccd and len(self.members) == 1:
            self.output_wavelength = np.asarray(self.members[0].data["wavelength"])
            self.min_wavelength = float(self.output_wavelength.min())
            self.delta_wavelength = None
        else:
            lo = min(float(m.data["wavelength"].min()) for m in self.members)
            hi = max(float(m.data["wavelength"].max()) for m in self.members)
            self.min_wavelength = int(lo)
            max_wavelength = int(hi) + 1
            self.delta_wavelength = max(float(np.diff(m.data["wavelength"]).max()) for m in self.members)
            self.output_wavelength = np.arange(
                self.min_wavelength, max_wavelength + self.delta_wavelength, self.delta_wavelength
            )
        return self.output_wavelength

    def wavelength_to_index(self, wavelength: np.ndarray) -> np.ndarray:
        """Nearest output bin (ties to even, like Python's ``round``)."""
        return np.rint((wavelength - self.min_wavelength) / self.delta_wavelength).astype(np.intp)

    def flux_weight(self, m: Member) -> np.ndarray:
        """``|EXPTIME * NET / FLUX|`` (COS: throughput interpolated over NaNs)."""
        with np.errstate(divide="ignore", invalid="ignore"):
            thru = m.data["net"] / m.data["flux"]
        if m.instrument == "COS":
            nans = np.isnan(thru)
            if nans.any():
                x = np.arange(thru.size)
                thru = np.interp(x, x[~nans], thru[~nans])
            return np.abs(thru * m.exptime)
        return np.abs(m.exptime * thru)

    def coadd(self) -> None:
        """Co-add the members onto the output grid (sets the ``output_*`` arrays)."""
        if self.is_ccd:
            self._coadd_ccd()
            return
        n = self.output_wavelength.size
        idx, w, fw, gc, nc, et, var = [], [], [], [], [], [], []
        use_variance = self.instrument == "COS"
        for m in self.members:
            good = m.good
            idx.append(self.wavelength_to_index(m.data["wavelength"][good]))
            weight = self.flux_weight(m)[good]
            w.append(weight)
            fw.append(m.data["flux"][good] * weight)
            gcounts = np.abs(m.data["gross"] * m.exptime)[good]
            gc.append(gcounts)
            nc.append(m.data["net"][good] * m.exptime)
            et.append(np.full(good.sum(), m.exptime))
            if use_variance:
                if all(k in m.data for k in ("variance_counts", "variance_bkg", "variance_flat")):
                    var.append(
                        m.data["variance_counts"][good] + m.data["variance_bkg"][good] + m.data["variance_flat"][good]
                    )
                else:
                    var.append(gcounts)
        index = np.concatenate(idx) if idx else np.zeros(0, np.intp)
        acc = lambda parts: np.bincount(index, weights=np.concatenate(parts).astype(float), minlength=n)[:n]
        sumweight, sumflux, sumgcounts, sumnet, exptime = acc(w), acc(fw), acc(gc), acc(nc), acc(et)
        self.output_exptime = exptime
        self.output_flux = np.zeros(n)
        self.output_errors = np.zeros(n)
        self.signal_to_noise = np.zeros(n)
        if not np.any(exptime > 0):
            self.first_good_wavelength = self.last_good_wavelength = None
            log.warning("No good pixels in product")
            return
        self._set_good_range()
        nz = sumweight != 0
        if use_variance:
            varsum = acc(var)[nz]
            self.output_errors[nz] = np.sqrt(np.where(varsum < 0.5, 0.5, varsum))
        else:
            self.output_errors[nz] = np.sqrt(sumgcounts[nz])
        with np.errstate(divide="ignore", invalid="ignore"):
            self.output_flux[nz] = sumflux[nz] / sumweight[nz]
            conversion = self.output_flux[nz] / sumnet[nz]
        bad = np.flatnonzero(np.isnan(conversion))
        good = np.flatnonzero(~np.isnan(conversion))
        if bad.size and good.size:
            # positions within the non-zero subset index the full grid: the peer's behaviour, kept for exactness
            conversion[bad] = np.interp(self.output_wavelength[bad], self.output_wavelength[good], conversion[good])
        with np.errstate(divide="ignore", invalid="ignore"):
            self.output_errors[nz] = self.output_errors[nz] * conversion
            self.signal_to_noise[nz] = self.output_flux[nz] / self.output_errors[nz]

    def _set_good_range(self) -> None:
        good = self.output_exptime > 0
        self.first_good_wavelength = float(self.output_wavelength[good][0])
        self.last_good_wavelength = float(self.output_wavelength[good][-1])

    def _coadd_ccd(self) -> None:
        n = self.output_wavelength.size
        self.output_flux, self.output_errors = np.zeros(n), np.zeros(n)
        self.signal_to_noise, self.output_exptime = np.zeros(n), np.zeros(n)
        if len(self.members) == 1:
            m = self.members[0]
            good = m.good
            self.output_exptime[good] = m.exptime
            self.output_flux[good] = m.data["flux"][good]
            self.output_errors[good] = m.data["error"][good]
            nz = self.output_errors != 0
            self.signal_to_noise[nz] = self.output_flux[nz] / self.output_errors[nz]
        else:
            idx, w, fw, ew, et = [], [], [], [], []
            for m in self.members:
                good = m.good
                weight = self.flux_weight(m)[good]
                idx.append(self.wavelength_to_index(m.data["wavelength"][good]))
                w.append(weight)
                fw.append(m.data["flux"][good] * weight)
                ew.append((m.data["error"][good] * weight) ** 2)
                et.append(np.full(good.sum(), m.exptime))
            index = np.concatenate(idx)
            acc = lambda parts: np.bincount(index, weights=np.concatenate(parts).astype(float), minlength=n)[:n]
            sumweight, sumflux, sumsq = acc(w), acc(fw), acc(ew)
            self.output_exptime = acc(et)
            nz = sumweight != 0
            with np.errstate(divide="ignore", invalid="ignore"):
                self.output_flux[nz] = sumflux[nz] / sumweight[nz]
                self.output_errors[nz] = np.sqrt(sumsq[nz]) / sumweight[nz]
                self.signal_to_noise[nz] = self.output_flux[nz] / self.output_errors[nz]
        if np.any(self.output_exptime > 0):
            self._set_good_range()
        else:
            self.first_good_wavelength = self.last_good_wavelength = None

    # ------------------------------------------------------------------ flux-based filtering
    def scaled_median_deviations(self) -> list[tuple[Member, float]]:
        """``median(dev) * sqrt(N)`` of every member against the current coadd.

        Returns the (member, value) pairs the way the peer pairs them (its list of
        members skips members without deviations, so a value can be attributed to
        a neighbouring member; kept for exactness).
        """
        if len(self.members) == 1:
            return []
        n = len(self.members)
        median = np.zeros(n)
        count = np.zeros(n, int)
        listed = []
        for k, m in enumerate(self.members):
            good = m.good
            if not good.any():
                listed.append(m)
                continue
            idx = self.wavelength_to_index(m.data["wavelength"][good])
            flux, error = m.data["flux"][good], m.data["error"][good]
            use = (error != 0.0) & (m.exptime != self.output_exptime[idx])
            min_error = flux / self.snrmax
            denom = np.where(min_error > error, min_error, error)
            with np.errstate(divide="ignore", invalid="ignore"):
                dev = np.where(use, (flux - self.output_flux[idx]) / denom, 0.0)
            count[k] = int(use.sum())
            nonzero = dev[dev != 0.0]
            if nonzero.size:
                median[k] = np.median(nonzero)
                listed.append(m)
        scaled = median * np.sqrt(count)
        return [(listed[k] if k < len(listed) else self.members[k], float(scaled[k])) for k in range(n)]

    def rejections(self, threshold: float) -> list[Rejection]:
        """Members whose scaled median deviation is below ``threshold``."""
        return [
            Rejection(str(m.file.path), m.name, m.spectral_order, value)
            for m, value in self.scaled_median_deviations()
            if value < threshold
        ]


def coadd_with_rejection(
    files: list[HstFile], threshold: float, snrmax: float, product: str = ""
) -> tuple[HaspProduct | None, list[Rejection]]:
    """Co-add ``files`` and drop, iteratively, every file holding a member fainter than the threshold.

    ``product`` names the group in the log and the rejections (a file rejected from a visit product is
    rejected again, and said so, for the program product). One line per rejected file; its members'
    values are logged at debug level and kept in the returned rejections.

    Returns
    -------
    product : HaspProduct or None
        None when no good data remain.
    rejections : list of Rejection
        Every rejected member (its whole file is removed, as in HASP).
    """
    files = list(files)
    rejected: list[Rejection] = []
    while files:
        prod = HaspProduct.from_files(files)
        prod.snrmax = snrmax
        if not prod.members:
            log.warning("No valid data in %s", [str(f.path) for f in files])
            return None, rejected
        prod.create_output_wavelength_grid()
        prod.coadd()
        if prod.first_good_wavelength is None:
            log.warning("No good data, skipping")
            return None, rejected
        cull = [dataclasses.replace(r, product=product) for r in prod.rejections(threshold)]
        if not cull:
            return prod, rejected
        rejected.extend(cull)
        _log_rejections(cull, threshold, product)
        names = {r.file for r in cull}
        files = [f for f in files if str(f.path) not in names]
    log.warning("No good files")
    return None, rejected


def _log_rejections(cull: list[Rejection], threshold: float, product: str) -> None:
    for r in cull:
        log.debug(
            "Order %d from segment %s in file %s has scaled median = %.4g", r.order, r.segment, r.file, r.scaled_median
        )
    for file in dict.fromkeys(r.file for r in cull):
        mine = [r for r in cull if r.file == file]
        worst = min(mine, key=lambda r: r.scaled_median)
        log.info(
            "%sremoving %s: %d order(s)/segment(s) with scaled median below %g (lowest %.4g: order %d of %s)",
            f"{product}: " if product else "",
            file,
            len(mine),
            threshold,
            worst.scaled_median,
            worst.order,
            worst.segment,
        )
