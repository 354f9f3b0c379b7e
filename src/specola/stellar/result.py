"""``StellarResult``: posterior summaries, model spectra and statistics, and how they are written."""

from __future__ import annotations

import json
import logging
import math
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
from astropy.table import Table

from ..plotting import format_value
from ..resample import convolution_matrix
from ..runs import RunFolder
from . import plots
from .model import BinnedModel
from .parameters import BASE, DERIVED
from .plots import SIGMA_PERCENTILES
from .sampling import SamplerOutput
from .setup import Setup

__all__ = ["PERCENTILES", "StellarResult", "derived_samples"]

log = logging.getLogger(__name__)

#: Physical parameters checked against the grid's edges, and the grid axis each one lives on.
EDGE_PARAMETERS = {d.name: d.axis for d in DERIVED if d.axis}
#: Fraction of the posterior within one grid step of an edge above which the parameter is flagged.
EDGE_FRACTION = 0.3

#: Percentiles reported for parameters and model spectra.
PERCENTILES = tuple(sorted({p for pair in SIGMA_PERCENTILES for p in pair} | {50.0}))


def derived_samples(setup: Setup, samples: np.ndarray) -> dict[str, np.ndarray]:
    """Fitted and physical parameters of every sample (fitted names first, then physical ones)."""
    space = setup.space
    out = {n: samples[:, k] for k, n in enumerate(space.names)}
    base = setup.posterior.base_values(np.atleast_2d(np.asarray(samples, float)))
    values = dict(zip(BASE, base, strict=True))
    out.update({d.name: np.asarray(d.form(values), float) for d in DERIVED})
    return out


@dataclass
class StellarResult:
    """Outcome of :func:`specola.stellar.run`.

    Attributes
    ----------
    setup : Setup
        Data, model, priors and posterior used.
    sampler : SamplerOutput or None
        None for a preprocessing-only run.
    """

    setup: Setup
    sampler: SamplerOutput | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    # ------------------------------------------------------------------ summaries
    @property
    def names(self) -> list[str]:
        """Fitted parameter names."""
        return self.setup.space.names

    @cached_property
    def parameters(self) -> dict[str, np.ndarray]:
        """Samples of fitted and physical parameters."""
        return derived_samples(self.setup, self.sampler.samples)

    @property
    def index_maxlike(self) -> int:
        """Index of the maximum-likelihood sample."""
        return int(np.argmax(self.sampler.lnlike))

    @property
    def index_maxprob(self) -> int:
        """Index of the maximum-probability sample."""
        return int(np.argmax(self.sampler.lnprob))

    def best_fit(self) -> Table:
        """Max-likelihood, max-probability and percentiles of every parameter."""
        rows = []
        il, ip = self.index_maxlike, self.index_maxprob
        for name, values in self.parameters.items():
            pct = np.percentile(values, PERCENTILES)
            row = {
                "parameter": name,
                "fitted": name in self.names,
                "max_likelihood": values[il],
                "max_probability": values[ip],
            }
            row.update({f"p{p:g}": v for p, v in zip(PERCENTILES, pct, strict=True)})
            row["median"] = float(np.median(values))
            row["err_minus"] = row["median"] - row["p15.87"]
            row["err_plus"] = row["p84.13"] - row["median"]
            rows.append(row)
        return Table(rows=rows)

    def grid_edges(self) -> list[dict[str, Any]]:
        """Component temperatures and gravities whose posterior piles within one grid step of a grid edge.

        A parameter is flagged when at least :data:`EDGE_FRACTION` of its samples lie within one grid
        step of the lowest or highest node of its axis and the half step next to the edge holds at least
        as many as the half step beyond it (the density rises toward the edge): the grid truncates it.

        Returns
        -------
        list of dict
            ``{parameter, edge, step, fraction, message}`` per flagged parameter.
        """
        model = self.setup.model
        axes = {"Teff": model.teff, "logg": model.logg}
        fitted = set(plots.fitted_components(self.names))
        out = []
        for name, axis_name in EDGE_PARAMETERS.items():
            if name not in fitted:
                continue
            axis = axes[axis_name]
            if axis.size < 2:
                continue
            values = self.parameters[name]
            for edge, signed in ((axis[0], axis[1] - axis[0]), (axis[-1], axis[-2] - axis[-1])):
                step = abs(signed)
                # distance from the edge in grid steps, positive inside the grid
                d = (values - edge) / signed
                frac = float(np.mean(d <= 1.0))
                rising = np.mean(d <= 0.5) >= np.mean((d > 0.5) & (d <= 1.0))  # density grows toward the edge
                if frac >= EDGE_FRACTION and rising:
                    out.append(
                        {
                            "parameter": name,
                            "edge": float(edge),
                            "step": float(step),
                            "fraction": frac,
                            "message": f"{name}: {frac:.0%} of the posterior within one grid step ({step:g}) of the "
                            f"grid edge {edge:g}; the grid truncates it (use a grid that extends past {edge:g}, "
                            "or a prior, see docs/stellar.md)",
                        }
                    )
        return out

    def prior_bounds_piled(self) -> list[str]:
        """Fitted parameters piled against a fixed bound of their prior (within 2% of its width, density rising).

        The bounds that follow the photosphere (the grid side of ``deltaTspot``, ``deltaTfac``, ``dlogg_het``)
        are left to :meth:`grid_edges`.
        """
        static = {"deltaTspot": (False, True), "deltaTfac": (True, False), "dlogg_het": (False, False)}
        out = []
        for k, name in enumerate(self.names):
            prior = self.setup.space.priors[name]
            if prior.kind != "uniform":
                continue
            width = prior.high - prior.low
            values = self.sampler.samples[:, k]
            use_low, use_high = static.get(name, (True, True))
            for bound, used, d in (
                (prior.low, use_low, values - prior.low),
                (prior.high, use_high, prior.high - values),
            ):
                d = d / width
                if (
                    used
                    and np.mean(d <= 0.02) >= EDGE_FRACTION
                    and np.mean(d <= 0.01) >= np.mean((d > 0.01) & (d <= 0.02))
                ):
                    out.append(
                        f"{name}: {np.mean(d <= 0.02):.0%} of the posterior piled against its prior bound {bound:.4g}"
                    )
        return out

    def summary(self) -> str:
        """One line: the photosphere, the heterogeneities fitted, the inflation, convergence and edge flags."""
        if self.sampler is None:
            return f"stellar preprocessing of {self.setup.config.inputs.label}: figures written, no sampling"
        p = self.parameters
        parts = []
        for name in ("Tphot", *[n for n in plots.fitted_components(self.names) if n != "Tphot"], "errInfl"):
            if name == "errInfl" and "logErrInfl" not in self.names:
                continue
            q = np.percentile(p[name], [15.87, 50, 84.13])
            parts.append(f"{name} {format_value(q[1], 0.5 * (q[2] - q[0]))}")
        d = self.sampler.diagnostics
        if "verdict" in d:
            parts.append("converged" if d["verdict"]["converged"] else "NOT converged")
        if self.sampler.log_evidence is not None:
            parts.append(f"ln Z {self.sampler.log_evidence:.1f}")
        edges = self.grid_edges()
        if edges:
            parts.append("AT GRID EDGE: " + ", ".join(f"{e['parameter']} ({e['edge']:g})" for e in edges))
        return "stellar: " + "; ".join(parts)

    def statistics(self) -> dict[str, Any]:
        """chi2, reduced chi2, BIC (= k ln n - 2 ln L_max), number of points and parameters, ln Z."""
        post = self.setup.posterior
        best = self.sampler.samples[self.index_maxlike]
        k, n = post.ndim, post.n
        chi2 = post.chi2(best)
        infl = 10.0 ** self.setup.space.values(best)["logErrInfl"]
        ll = float(self.sampler.lnlike[self.index_maxlike])
        stats = {
            "n_points": n,
            "n_pixels_dropped": post.n_dropped,
            "n_params": k,
            "chi2": chi2,
            "reduced_chi2": chi2 / max(n - k, 1),
            "chi2_inflated_errors": chi2 / infl**2,
            "reduced_chi2_inflated_errors": chi2 / infl**2 / max(n - k, 1),
            "ln_likelihood_max": ll,
            "BIC": k * math.log(n) - 2.0 * ll,
            "index_maxlike": self.index_maxlike,
            "index_maxprob": self.index_maxprob,
            "sampler": self.sampler.method,
            "grid_edges": [e["message"] for e in self.grid_edges()],
        }
        if self.sampler.log_evidence is not None:
            stats.update(ln_evidence=self.sampler.log_evidence, ln_evidence_error=self.sampler.log_evidence_error)
        return stats

    @cached_property
    def model_draws(self) -> np.ndarray:
        """Indices of the posterior samples turned into model spectra (at most ``sampling.max_models``)."""
        n = len(self.sampler.samples)
        m = self.setup.config.sampling.max_models
        if n <= m:
            return np.arange(n)
        return np.random.default_rng(self.setup.config.sampling.seed).choice(n, m, replace=False)

    @cached_property
    def blobs(self) -> np.ndarray:
        """Model spectra integrated in the data bins for the drawn samples, ``(n_draws, n_pixels)``."""
        return self.setup.posterior.models_many(self.sampler.samples[self.model_draws])

    def binned_models(self) -> Table:
        """Data, best-fit models and percentile bands in the data bins (peer: blobs_1_2_3_sigma)."""
        spec = self.setup.pre.fitted
        post = self.setup.posterior
        t = Table()
        t["wave_low"], t["wave_high"] = spec.low.value, spec.high.value
        t["wave"] = spec.wavelength.value
        t["flux"], t["error"] = spec.flux.value, spec.error.value
        t["fitted"] = post.good
        t["max_likelihood"] = post.model_flux(self.sampler.samples[self.index_maxlike], all_pixels=True)
        t["max_probability"] = post.model_flux(self.sampler.samples[self.index_maxprob], all_pixels=True)
        for p, v in zip(PERCENTILES, np.percentile(self.blobs, PERCENTILES, axis=0), strict=True):
            t[f"p{p:g}"] = v
        return t

    def resolved_models(self) -> Table:
        """Models on the grid's own pixels, convolved to ``plotting.resolving_power`` (peer: fixedR_1_2_3_sigma)."""
        spec = self.setup.pre.fitted
        pad = self.setup.config.plotting.pad
        grid = self.setup.grid
        wmin, wmax = spec.low.value.min() - pad, spec.high.value.max() + pad
        sub = grid.select(wave_range=(wmin, wmax))
        model = BinnedModel(sub)
        conv = convolution_matrix(sub.low, sub.high, self.setup.config.plotting.resolving_power)
        post = self.setup.posterior
        theta = self.sampler.samples
        weights = post.node_weights_many(
            np.vstack([theta[self.model_draws], theta[[self.index_maxlike]], theta[[self.index_maxprob]]])
        )
        models = np.asarray((conv @ (weights @ model.nodes).T).T)
        t = Table()
        t["wave"] = 0.5 * (sub.low + sub.high)
        t["max_likelihood"], t["max_probability"] = models[-2], models[-1]
        for p, v in zip(PERCENTILES, np.percentile(models[:-2], PERCENTILES, axis=0), strict=True):
            t[f"p{p:g}"] = v
        return t

    def initial_parameters(self) -> Table:
        """Starting/default value and prior of every parameter (peer: defaultparams)."""
        space = self.setup.space
        rows = []
        for name, value in space.fixed.items():
            prior = space.priors.get(name)
            rows.append(
                {
                    "parameter": name,
                    "fitted": name in space.names,
                    "default": value,
                    "start": float(self.extra.get("start", {}).get(name, value)),
                    "prior": prior.kind if prior else "fixed",
                    "low": prior.low if prior else np.nan,
                    "high": prior.high if prior else np.nan,
                    "mean": prior.mean if prior and prior.kind == "gaussian" else np.nan,
                    "std": prior.std if prior and prior.kind == "gaussian" else np.nan,
                }
            )
        rows.append(
            {
                "parameter": "Fscale_guess",
                "fitted": False,
                "default": self.setup.fscale_guess,
                "start": self.setup.fscale_guess,
                "prior": "fixed",
                "low": np.nan,
                "high": np.nan,
                "mean": np.nan,
                "std": np.nan,
            }
        )
        return Table(rows=rows)

    # ------------------------------------------------------------------ writing
    def write(self, run: RunFolder, figures: bool = True) -> list[str]:
        """Write tables, arrays and figures into a run folder (see docs/stellar.md for the list).

        Parameters
        ----------
        run : RunFolder
            Destination (already created; its ``record`` is written by :func:`specola.stellar.run`).
        figures : bool
            Also draw the figures.

        Returns
        -------
        list of str
            Names of the files written.
        """
        from .writing import write_result

        if self.sampler is not None and not self.setup.config.saving.save_fit:
            return []  # saving.save_fit = false: run.json and config.toml only
        return write_result(self, run, figures)


def _json(run: RunFolder, name: str, data: dict[str, Any]) -> None:
    run.write_text(name, json.dumps(data, indent=2, default=float) + "\n")
