"""Fit results: line tables with posterior percentiles and units, model spectra, and writing to a run folder."""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass, field
from typing import Any

import astropy.units as u
import numpy as np
from astropy.table import QTable

from ..errors import SpecolaError
from ..runs import RunFolder
from .inference import LOG_LIKELIHOOD_DRAWS, Posterior
from .model import C_KMS, LinesModel

__all__ = ["PERCENTILES", "LinesResult"]

log = logging.getLogger(__name__)

#: Posterior percentiles reported in tables.
PERCENTILES = (16.0, 50.0, 84.0)


def _fits_safe(table: QTable) -> QTable:
    """A copy whose meta holds only FITS-header-friendly scalars (short keys)."""
    out = QTable(table, copy=False)
    out.rename_columns(out.colnames, [re.sub(r"[^A-Za-z0-9_]", "_", c) for c in out.colnames])
    out.meta = {k[:8].upper(): v for k, v in table.meta.items() if isinstance(v, int | float | str)}
    return out


def _continuum_at(model: LinesModel, r: int, wave: np.ndarray, val) -> np.ndarray:
    """Continuum of region ``r`` (flux unit) at observed wavelengths ``wave`` (one per draw), by the model's code.

    One compiled (exported) function per structure, whatever the region, draws or spectrum.
    """
    from .inference import compiled

    plan, fns = model.plan, compiled(model)
    if "continuum_at" not in fns.extra:
        import jax

        from .model import _continuum

        def one(p, w, r, args):
            return _continuum(plan, lambda n: p[n], w[None], w[None], r[None], args)[0]

        fns.extra["continuum_at"] = fns.jit(jax.vmap(one, in_axes=(0, 0, None, None)), "continuum_at", one_off=True)
    values = {n: np.asarray(val(n), float) for n in [*plan.sites, *plan.fixed] if n.startswith(("cont_", "Tbb_"))}
    args = {k: np.asarray(model.args[k]) for k in ("z0", "cont_unit")}  # all the continuum reads: any bucket
    return np.asarray(fns.extra["continuum_at"](values, np.asarray(wave, float), np.asarray(r), args))


@dataclass
class LinesResult:
    """A fitted line model: the model, its posterior and (optionally) the configuration that made it."""

    model: LinesModel
    posterior: Posterior
    config: Any = None
    extra: dict = field(default_factory=dict)  # computed once: draws, diagnostics, pointwise log-likelihood

    # ------------------------------------------------------------------ per-draw quantities
    def draws(self) -> dict[str, np.ndarray]:
        """Per-draw line quantities, each ``(ndraws, nlines)``: flux, ew, fwhm, velocity, z.

        ``flux`` is in ``plan.flux_unit * A``; ``ew`` is the rest-frame equivalent width in A (flux over the
        continuum at the line's centre, divided by 1 + z); ``fwhm`` the intrinsic (deconvolved) FWHM in km/s;
        ``velocity`` the offset from the systemic redshift in km/s.
        """
        if "draws" not in self.extra:
            self.extra["draws"] = self._draws()
        return self.extra["draws"]

    def _draws(self) -> dict[str, np.ndarray]:
        plan, post = self.model.plan, self.posterior
        n = post.flat(next(iter(post.samples))).size

        def val(name):
            return post.flat(name) if name in post.samples else np.full(n, plan.fixed[name])

        z = np.stack([val(f"z_{g}") for g in plan.zgroups], 1)[:, plan.line_z]
        fwhm = np.stack([val(f"fwhm_{g}") for g in plan.wgroups], 1)[:, plan.line_w]
        flux = np.stack([val(f"flux_{f}") for f in plan.flux_sites], 1)[:, plan.line_f] * plan.ratio * plan.line_unit
        mu = plan.rest * (1 + z)
        cont = np.full_like(mu, np.nan)
        for i in range(len(plan.labels)):
            for r, (w0, w1) in enumerate(plan.regions):
                if not w0 * (1 + plan.z0) <= mu[0, i] <= w1 * (1 + plan.z0):
                    continue
                cont[:, i] = _continuum_at(self.model, r, mu[:, i], val)
        with np.errstate(divide="ignore", invalid="ignore"):
            ew = flux / cont / (1 + z)
        velocity = C_KMS * (z - plan.z0) / (1 + plan.z0)
        return {"flux": flux, "ew": ew, "fwhm": fwhm, "velocity": velocity, "z": z}

    # ------------------------------------------------------------------ tables
    def table(self) -> QTable:
        """One row per line: rest wavelength and the 16/50/84th percentiles of flux, EW, FWHM, velocity, z."""
        plan = self.model.plan
        d = self.draws()
        units = {
            "flux": plan.flux_unit * u.AA,
            "ew": u.AA,
            "fwhm": u.km / u.s,
            "velocity": u.km / u.s,
            "z": u.dimensionless_unscaled,
        }
        t = QTable()
        t["line"] = plan.labels
        t["name"] = plan.names
        t["rest_wavelength"] = plan.rest * u.AA
        for key, unit in units.items():
            pct = np.nanpercentile(d[key], PERCENTILES, axis=0)
            for p, row in zip(PERCENTILES, pct, strict=True):
                t[f"{key}_p{p:g}"] = row * unit
        t.meta["flux_unit"] = str(plan.flux_unit * u.AA)
        t.meta["method"] = self.posterior.method
        return t

    def parameters(self) -> QTable:
        """One row per free parameter: prior, MAP and posterior percentiles (fluxes in units of ``line_unit``)."""
        plan, post = self.model.plan, self.posterior
        t = QTable()
        names = list(plan.sites)
        t["parameter"] = names
        t["prior"] = [plan.sites[n].describe() for n in names]
        t["map"] = [post.map[n] for n in names]
        pct = np.asarray([np.percentile(post.flat(n), PERCENTILES) for n in names])
        for j, p in enumerate(PERCENTILES):
            t[f"p{p:g}"] = pct[:, j]
        t.meta.update(line_unit=plan.line_unit, flux_unit=str(plan.flux_unit * u.AA), z0=plan.z0)
        return t

    def model_spectra(self, max_draws: int = 200) -> list[QTable]:
        """Per spectrum: pixel edges, data, error, and median total model, continuum and each line."""
        from .inference import compiled

        fns = compiled(self.model)
        post = self.posterior
        n = post.flat(next(iter(post.samples))).size
        pick = np.random.default_rng(0).choice(n, min(n, max_draws), replace=False)
        m = self.model.npix
        preds = [fns.predict({k: post.flat(k)[i] for k in post.samples}, self.model.padded) for i in pick]
        total = np.median([np.asarray(p["total"])[:m] for p in preds], 0)
        cont = np.median([np.asarray(p["continuum"])[:m] for p in preds], 0)
        lines = np.median([np.asarray(p["lines"])[:m] for p in preds], 0)
        lo16, hi84 = np.percentile([np.asarray(p["total"])[:m] for p in preds], [16, 84], axis=0)
        out, start = [], 0
        unit = self.model.plan.flux_unit
        for s in self.model.spectra:
            sl = slice(start, start + len(s))
            start += len(s)
            t = QTable()
            t["low"], t["high"] = s.low, s.high
            t["flux"], t["error"] = s.flux, s.error
            t["model"], t["model_p16"], t["model_p84"] = total[sl] * unit, lo16[sl] * unit, hi84[sl] * unit
            t["continuum"] = cont[sl] * unit
            for j, label in enumerate(self.model.plan.labels):
                t[label] = lines[sl, j] * unit
            out.append(t)
        return out

    def _picked(self, max_draws: int) -> np.ndarray:
        """Indices of up to ``max_draws`` of the (flattened) draws, the same on every call."""
        n = self.posterior.flat(next(iter(self.posterior.samples))).size
        return np.random.default_rng(0).choice(n, min(n, max_draws), replace=False)

    def log_likelihood(self, max_draws: int = LOG_LIKELIHOOD_DRAWS) -> np.ndarray:
        """Pointwise Gaussian log-likelihood ``(draws, pixels)`` for up to ``max_draws`` posterior draws."""
        key = ("log_likelihood", max_draws)
        if key not in self.extra:
            post, args = self.posterior, self.model.args
            pick = self._picked(max_draws)
            params = {k: np.asarray(post.flat(k)[pick], float) for k in post.samples}
            total = np.asarray(self._compiled().total_many(params, self.model.padded))[:, : self.model.npix]
            err = np.asarray(args["error"])
            r = (np.asarray(args["flux"]) - total) / err
            self.extra[key] = -0.5 * r**2 - np.log(err) - 0.5 * np.log(2 * np.pi)
        return self.extra[key]

    def log_joint(self, max_draws: int = LOG_LIKELIHOOD_DRAWS) -> np.ndarray:
        """Unnormalised log posterior ``log p(data | theta) + log p(theta)`` of up to ``max_draws`` draws.

        In the model's parameters (no Jacobian of the unconstrained transform); the draws are those of
        :meth:`log_likelihood`. Compiles one function the first time (not called by :meth:`diagnostics`).
        """
        import jax
        from numpyro.infer.util import log_density

        from ._jax import device

        fns, post = self._compiled(), self.posterior
        if "log_joint" not in fns.extra:
            fn = self.model.model_fn
            fns.extra["log_joint"] = jax.jit(jax.vmap(lambda p, args: log_density(fn, (args,), {}, p)[0],
                                                      in_axes=(0, None)))  # fmt: skip
        pick = self._picked(max_draws)
        params = {k: device(post.flat(k)[pick]) for k in post.samples}
        return np.asarray(fns.extra["log_joint"](params, self.model.padded), float)

    def _compiled(self):
        from .inference import compiled

        return compiled(self.model)

    def information_criteria(self, max_draws: int = LOG_LIKELIHOOD_DRAWS) -> dict[str, Any]:
        """WAIC and PSIS-LOO from the pointwise log-likelihood of up to ``max_draws`` draws.

        Deviance scale (``waic``, ``loo``: -2 elpd, lower is better) and elpd, effective parameters, standard
        errors, the largest Pareto k and the count of pixels above the threshold for the number of draws (LOO
        unreliable there); see
        :func:`specola.lines._ic.information_criteria`. Needs more than one draw (not ``method = "map"``).
        """
        from ._ic import information_criteria

        pick = self._picked(max_draws)
        if pick.size < 2:
            raise SpecolaError("information criteria need posterior draws; a MAP fit has one")
        return information_criteria(self.log_likelihood(max_draws))

    def diagnostics(self) -> dict[str, Any]:
        """Fit diagnostics as a JSON-ready dict.

        Method, sampler diagnostics, chi2 and reduced chi2 of the median model, free parameters, WAIC and
        PSIS-LOO (:meth:`information_criteria`, when there are draws), the draws' chi2 above the MAP's (warned on
        when a Laplace or SVI approximation is much wider than the posterior) and the median flux of each line.
        """
        if "diagnostics" in self.extra:
            return self.extra["diagnostics"]
        tables = self.model_spectra(max_draws=50)
        chi2 = sum(float(np.sum(((t["flux"] - t["model"]) / t["error"]) ** 2)) for t in tables)
        npix = sum(len(t) for t in tables)
        nfree = len(self.model.plan.sites)
        out = {
            "method": self.posterior.method,
            "sampler": {k: v for k, v in self.posterior.diagnostics.items() if k != "losses"},
            "chi2": chi2,
            "pixels": npix,
            "free_parameters": nfree,
            "reduced_chi2": chi2 / max(npix - nfree, 1),
        }
        if self.posterior.flat(next(iter(self.posterior.samples))).size > 1:
            out.update(self.information_criteria())
            out.update(self._draw_spread())
        t = self.table()
        out["flux_unit"] = t.meta["flux_unit"]
        out["flux_p50"] = {str(r["line"]): float(r["flux_p50"].value) for r in t}
        self.extra["diagnostics"] = out
        return out

    def _draw_spread(self) -> dict[str, Any]:
        """chi2 of the draws above that of the MAP, against the chi2_k law of an exact Gaussian posterior.

        With k free parameters the draws of a posterior dominated by the data have ``chi2 - chi2_MAP`` distributed
        as chi2_k (mean k); an approximation (Laplace, SVI) much wider than the posterior in a direction the data
        constrain, or with a tail of poor draws (which WAIC and LOO cannot absorb), gives far more. A mean above
        ``k + 3 sqrt(2k)`` is warned on (``approximation_warnings``).
        """
        err = np.asarray(self.model.args["error"])
        chi2 = -2.0 * np.sum(self.log_likelihood() + np.log(err) + 0.5 * np.log(2 * np.pi), axis=1)
        best = {k: np.float64(v) for k, v in self.posterior.map.items()}  # the signature of the draws in summary
        total = np.asarray(self._compiled().predict(best, self.model.padded)["total"])[: self.model.npix]
        resid = (np.asarray(self.model.args["flux"]) - total) / err
        excess = float(np.mean(chi2) - np.sum(resid**2))
        k = len(self.model.plan.sites)
        out: dict[str, Any] = {"draw_chi2_excess": excess, "approximation_warnings": []}
        if self.posterior.method in ("laplace", "svi") and excess > k + 3 * np.sqrt(2 * k):
            text = (f"{self.posterior.method} draws are wider than the posterior: their mean chi2 exceeds the "
                    f"MAP's by {excess:.0f} (about {k} expected for {k} parameters); WAIC/LOO are unreliable and "
                    "intervals may be too wide; use fit.method = 'nuts'")  # fmt: skip
            log.warning("lines: %s", text)
            out["approximation_warnings"].append(text)
        return out

    def summary(self) -> str:
        """One line: method, lines, redshift, reduced chi2 and the sampler's (and PSIS-LOO's) warnings."""
        d = self.diagnostics()
        t = self.table()
        z = float(np.median(t["z_p50"]))
        warn = [*(self.posterior.diagnostics.get("warnings") or []), *d.get("approximation_warnings", []),
                *d.get("ic_warnings", [])]  # fmt: skip
        text = (
            f"lines ({d['method']}): {len(t)} lines in {len(self.model.spectra)} spectra, z = {z:.5f}, "
            f"chi2/dof = {d['reduced_chi2']:.2f} ({d['pixels']} pixels, {d['free_parameters']} parameters)"
        )
        return text + (f"; {len(warn)} warning(s): {warn[0]}" if warn else "")

    def to_hdulist(self):
        """The results as a FITS HDUList: LINES, PARAMETERS and one MODEL_<spectrum> table per spectrum."""
        from astropy.io import fits

        hdus = [fits.PrimaryHDU()]
        hdus[0].header["METHOD"] = self.posterior.method
        hdus[0].header["Z0"] = self.model.plan.z0
        for name, table in [("LINES", self.table()), ("PARAMETERS", self.parameters())]:
            hdus.append(fits.table_to_hdu(_fits_safe(table)))
            hdus[-1].name = name
        for name, table in zip(self.model.plan.spectra, self.model_spectra(), strict=True):
            hdus.append(fits.table_to_hdu(_fits_safe(table)))
            hdus[-1].name = f"MODEL_{name}"[:68]
        return fits.HDUList(hdus)

    # ------------------------------------------------------------------ writing
    def write(self, run: RunFolder) -> list:
        """Write tables (ECSV and one FITS HDUList), draws, diagnostics and figures.

        Files: ``lines.ecsv``, ``parameters.ecsv``, ``samples.npz``, ``model_<spectrum>.ecsv``, ``summary.json``,
        ``lines.fits`` (all tables), ``fit_<spectrum>.png`` and ``corner.png``.

        Parameters
        ----------
        run : RunFolder
            Destination (figures unless the config says ``output.figures = false``).

        Returns
        -------
        list of Path
        """
        written = [
            run.write("lines.ecsv", lambda p: self.table().write(p, format="ascii.ecsv")),
            run.write("parameters.ecsv", lambda p: self.parameters().write(p, format="ascii.ecsv")),
            run.write("samples.npz", lambda p: np.savez(p, **self.posterior.samples)),
        ]
        for name, t in zip(self.model.plan.spectra, self.model_spectra(), strict=True):
            written.append(run.write(f"model_{name}.ecsv", lambda p, t=t: t.write(p, format="ascii.ecsv")))
        written.append(run.write_text("summary.json", json.dumps(self.diagnostics(), indent=2) + "\n"))
        written.append(run.write("lines.fits", lambda p: self.to_hdulist().writeto(p)))
        if self.config is None or self.config.output.figures:
            from .plots import plot_corner, plot_fit

            for k, name in enumerate(self.model.plan.spectra):
                written.append(run.save_figure(f"fit_{name}.png", plot_fit(self, k)))
            names = list(self.config.output.corner) if self.config is not None and self.config.output.corner else None
            written.append(run.save_figure("corner.png", plot_corner(self, names)))
            if self.model.plan.error_scales:
                from .plots import plot_error_scales

                written.append(run.save_figure("error_scales.png", plot_error_scales(self.model)))
        log.info("lines: wrote %d files to %s", len(written), run.path)
        return written
