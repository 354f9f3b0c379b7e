"""Model comparison: photosphere only, + spots, + faculae, + both, by nested sampling (ln Z), BIC and chi2."""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass, field

from astropy.table import Table

from ..runs import RunFolder
from ..spectrum import Spectrum, SpectrumSeries
from .config import StellarConfig
from .result import StellarResult
from .run import sample
from .setup import Setup, prepare, with_parameters

__all__ = ["VARIANTS", "CompareResult", "compare"]

log = logging.getLogger(__name__)

#: Model variants as (name, fit spots, fit faculae).
VARIANTS = (
    ("photosphere", False, False),
    ("spots", True, False),
    ("faculae", False, True),
    ("spots+faculae", True, True),
)


@dataclass
class CompareResult:
    """Results of every variant and the comparison table."""

    results: dict[str, StellarResult] = field(default_factory=dict)
    extra: dict = field(default_factory=dict)

    def summary(self) -> str:
        """One line: the preferred variant and each variant's Delta ln Z (or Delta BIC)."""
        t = self.table()
        evidence = all(v == v for v in t["ln_evidence"])
        key, label = ("delta_ln_evidence", "Delta ln Z") if evidence else ("delta_BIC", "Delta BIC")
        parts = ", ".join(f"{m} {v:+.1f}" for m, v in zip(t["model"], t[key], strict=True))
        return f"stellar compare: preferred {self.preferred}; {label}: {parts}"

    def table(self) -> Table:
        """One row per variant: ln Z (+- error), Delta ln Z to the best, BIC, chi2, reduced chi2, n params."""
        rows = []
        for name, res in self.results.items():
            s = res.statistics()
            rows.append(
                {
                    "model": name,
                    "n_params": s["n_params"],
                    "ln_evidence": s.get("ln_evidence", float("nan")),
                    "ln_evidence_error": s.get("ln_evidence_error", float("nan")),
                    "ln_likelihood_max": s["ln_likelihood_max"],
                    "BIC": s["BIC"],
                    "chi2": s["chi2"],
                    "reduced_chi2": s["reduced_chi2"],
                    "reduced_chi2_inflated_errors": s["reduced_chi2_inflated_errors"],
                }
            )
        t = Table(rows=rows)
        t["delta_ln_evidence"] = t["ln_evidence"] - max(t["ln_evidence"])
        t["delta_BIC"] = t["BIC"] - min(t["BIC"])
        return t

    @property
    def preferred(self) -> str:
        """Variant with the highest evidence (lowest BIC when no evidence was computed)."""
        t = self.table()
        if all(v == v for v in t["ln_evidence"]):
            return str(t["model"][int(t["ln_evidence"].argmax())])
        return str(t["model"][int(t["BIC"].argmin())])

    def write(self, run: RunFolder, figures: bool = False) -> list[str]:
        """Write ``model_comparison.csv`` and, per variant, its tables (and figures if asked) in a sub-folder."""
        import io

        buf = io.StringIO()
        self.table().write(buf, format="ascii.csv")
        run.write_text("model_comparison.csv", buf.getvalue())
        written = ["model_comparison.csv"]
        for name, res in self.results.items():
            sub = RunFolder(run.path / name.replace("+", "_"), overwrite=True)
            written += [f"{sub.path.name}/{f}" for f in res.write(sub, figures=figures)]
        return written


def compare(
    config: StellarConfig,
    variants: tuple = VARIANTS,
    data: Spectrum | SpectrumSeries | None = None,
    setup: Setup | None = None,
) -> CompareResult:
    """Fit every model variant with the configured sampler (dynesty recommended: it gives ln Z).

    Parameters
    ----------
    config : StellarConfig
        Base configuration; ``fit.spots``/``fit.faculae`` are set per variant.
    variants : tuple
        ``(name, spots, faculae)`` triples.
    data : Spectrum or SpectrumSeries, optional
        Data in memory instead of the config's input paths.
    setup : Setup, optional
        An already prepared setup of ``config`` (data, grid and pre-binned model are built once and shared
        by every variant; only the parameter space changes).

    Returns
    -------
    CompareResult
    """
    out = CompareResult()
    base = setup if setup is not None else prepare(config, data)
    for name, spots, faculae in variants:
        cfg = dataclasses.replace(config, fit=dataclasses.replace(config.fit, spots=spots, faculae=faculae))
        log.info("compare: fitting %s", name)
        out.results[name] = sample(with_parameters(base, cfg))
    log.info("compare: preferred model %s", out.preferred)
    return out
