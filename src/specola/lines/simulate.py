"""Simulated spectra from a line model with known parameters (injection-recovery)."""

from __future__ import annotations

import numpy as np

from .model import LinesModel

__all__ = ["simulate"]


def simulate(model: LinesModel, truth: dict[str, float], rng: np.random.Generator) -> LinesModel:
    """The model evaluated at ``truth`` plus Gaussian noise of the data's errors, on the same pixels.

    Parameters
    ----------
    model : LinesModel
        Gives the pixel grids, errors and resolution.
    truth : dict
        A value for every free parameter (site name -> value; fluxes in units of ``plan.line_unit``).
    rng : numpy.random.Generator
        Noise source.

    Returns
    -------
    LinesModel
        The same model (sharing its compiled functions) holding the simulated data.
    """
    missing = set(model.plan.sites) - set(truth)
    if missing:
        raise ValueError(f"truth lacks {sorted(missing)}")
    mean = model.predict(truth)["total"]
    err = np.asarray(model.args["error"])
    return model.with_flux(mean + err * rng.standard_normal(err.shape))
