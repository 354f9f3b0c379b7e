"""Information criteria of a line fit through ArviZ: WAIC and PSIS-LOO from the pointwise log-likelihood."""

from __future__ import annotations

import logging
import threading
import warnings
from typing import Any

import numpy as np

__all__ = ["import_ahead", "information_criteria"]

log = logging.getLogger(__name__)

#: Pareto k above which a pixel's PSIS-LOO estimate is unreliable (Vehtari et al. 2017).
PARETO_K_BAD = 0.7


def _import_arviz():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # ArviZ announces its 1.0 refactor on import
        import arviz

    return arviz


def _import_in_thread() -> None:
    """Import ArviZ and run ``from_dict`` once (its first call imports parts of xarray and dask, ~0.5 s).

    No ``warnings.catch_warnings`` here: it is not thread-safe. A failure (a warning made an error) only
    leaves the import to :func:`information_criteria`.
    """
    try:
        import arviz

        arviz.from_dict(posterior={"x": np.zeros((1, 2))}, log_likelihood={"obs": np.zeros((1, 2, 1))})
    except Exception as exc:  # the caller's thread imports it again, warnings handled
        log.debug("ArviZ not imported ahead: %s", exc)


def import_ahead() -> None:
    """Import ArviZ (~2 s: xarray, pandas) in a thread while the caller fits, for :func:`information_criteria`.

    Most of a fit runs in compiled code, which leaves the interpreter free for the import.
    """
    threading.Thread(target=_import_in_thread, name="specola-import-arviz", daemon=True).start()


def information_criteria(log_lik: np.ndarray, posterior: dict[str, np.ndarray]) -> dict[str, Any]:
    """WAIC and PSIS-LOO of a fit (ArviZ), on the deviance scale (lower is better) and as elpd.

    Parameters
    ----------
    log_lik : ndarray
        Pointwise log-likelihood ``(draws, pixels)``.
    posterior : dict
        The same draws of each free parameter, ``(draws,)`` (ArviZ needs the posterior group).

    Returns
    -------
    dict
        ``waic``, ``elpd_waic``, ``p_waic``, ``waic_se``, ``loo``, ``elpd_loo``, ``p_loo``, ``loo_se``,
        ``pareto_k_max``, ``pareto_k_bad`` (pixels with k > 0.7) and ``ic_warnings`` (ArviZ's, as text).
    """
    az = _import_arviz()
    ll = np.asarray(log_lik, float)[None]  # one chain: the draws are a subset, in no chain order
    idata = az.from_dict(
        posterior={k: np.asarray(v, float)[None] for k, v in posterior.items()}, log_likelihood={"obs": ll}
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        waic = az.waic(idata, scale="log")
        loo = az.loo(idata, pointwise=True, scale="log")
    k = np.asarray(loo["pareto_k"], float)
    out = {
        "waic": -2.0 * float(waic["elpd_waic"]),
        "elpd_waic": float(waic["elpd_waic"]),
        "p_waic": float(waic["p_waic"]),
        "waic_se": 2.0 * float(waic["se"]),
        "loo": -2.0 * float(loo["elpd_loo"]),
        "elpd_loo": float(loo["elpd_loo"]),
        "p_loo": float(loo["p_loo"]),
        "loo_se": 2.0 * float(loo["se"]),
        "pareto_k_max": float(np.max(k)),
        "pareto_k_bad": int(np.sum(k > PARETO_K_BAD)),
        "ic_warnings": sorted({" ".join(str(w.message).split()) for w in caught if w.category is not FutureWarning}),
    }
    if out["pareto_k_bad"]:
        out["ic_warnings"].append(f"PSIS-LOO: {out['pareto_k_bad']} pixel(s) with Pareto k > {PARETO_K_BAD}")
    return out
