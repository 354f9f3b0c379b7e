"""The three-component stellar surface model on a pre-binned grid.

An observed spectrum is modelled as::

    F(lambda) = Fscale * [(1 - fspot - ffac) S(Tphot, logg_phot)
                          + fspot S(Tspot, logg_het) + ffac S(Tfac, logg_het)]

with ``S`` the grid's surface flux integrated over each observed pixel. The
grid is integrated into the data's pixels once (:meth:`StellarGrid.bin_to`);
a model evaluation is then a bilinear interpolation in (Teff, logg), which is
linear in the node spectra, so the whole model is *one* weight vector over the
grid nodes times the pre-binned node matrix: a few microseconds per call.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass

import numpy as np

from ..errors import GridError
from ..grids import StellarGrid

__all__ = ["BinnedModel", "Components", "teff_logg_grid"]


@dataclass(frozen=True)
class Components:
    """Physical parameters of the three-component model (all plain floats).

    Parameters
    ----------
    Tphot, Tspot, Tfac : float
        Temperatures of the photosphere, spots and faculae [K].
    fspot, ffac : float
        Covering fractions of spots and faculae.
    logg_phot, logg_het : float
        Surface gravities [cgs] of the photosphere and of the heterogeneities.
    Fscale : float
        Multiplicative flux scale (dilution ``(R/d)**2`` times a unit conversion).
    """

    Tphot: float
    Tspot: float
    Tfac: float
    fspot: float
    ffac: float
    logg_phot: float
    logg_het: float
    Fscale: float = 1.0


def teff_logg_grid(grid: StellarGrid, feh: float = 0.0, alpha: float = 0.0) -> StellarGrid:
    """Reduce a grid with extra axes ([M/H], [alpha/M]) to a (Teff, logg) grid by interpolation."""
    for name in ("Teff", "logg"):
        if name not in grid.axes:
            raise GridError(f"the stellar model grid needs a {name!r} axis; it has {list(grid.axes)}")
    extra = [k for k in grid.axes if k not in ("Teff", "logg")]
    if not extra:
        if list(grid.axes) != ["Teff", "logg"]:
            raise GridError(f"grid axes must be ordered (Teff, logg), got {list(grid.axes)}")
        return grid
    fixed = {"[M/H]": feh, "[alpha/M]": alpha}
    teff, logg = grid.axes["Teff"], grid.axes["logg"]
    tt, gg = np.meshgrid(teff, logg, indexing="ij")
    points = {"Teff": tt.ravel(), "logg": gg.ravel()}
    for name in extra:
        if name not in fixed:
            raise GridError(f"cannot choose a value for grid axis {name!r}; supported extra axes: [M/H], [alpha/M]")
        points[name] = np.full(tt.size, fixed[name])
    flux = grid.interpolate(points).reshape(teff.size, logg.size, -1)
    return StellarGrid(
        {"Teff": teff, "logg": logg}, grid.low, grid.high, flux, grid.wave_unit, grid.flux_unit, grid.meta
    )


class BinnedModel:
    """Fast evaluator of the three-component model on a (Teff, logg) grid already on the data's pixels.

    Parameters
    ----------
    grid : StellarGrid
        A grid with ``Teff`` and ``logg`` axes (extra ``[M/H]``/``[alpha/M]`` axes are
        interpolated at ``feh``/``alpha`` first), usually the output of
        :meth:`StellarGrid.bin_to`. Missing nodes are not allowed.
    feh, alpha : float
        Values used for extra grid axes.

    Examples
    --------
    >>> from specola.data import data_path
    >>> from specola.grids import load_cache
    >>> grid = load_cache(data_path("grids", "btsettl08_prism_trappist1.h5"))
    >>> model = BinnedModel(grid)
    >>> flux = model.evaluate(Components(2566, 2400, 2700, 0.1, 0.05, 5.0, 5.0))
    >>> flux.shape == (grid.low.size,)
    True
    """

    def __init__(self, grid: StellarGrid, feh: float = 0.0, alpha: float = 0.0) -> None:
        grid = teff_logg_grid(grid, feh, alpha)
        if not np.all(grid.present):
            raise GridError("the stellar model grid has missing nodes; select a sub-grid where every model exists")
        self.grid = grid
        self.teff = np.asarray(grid.axes["Teff"], float)
        self.logg = np.asarray(grid.axes["logg"], float)
        self._teff_list = self.teff.tolist()
        self._logg_list = self.logg.tolist()
        self.n_logg = self.logg.size
        self.nodes = np.ascontiguousarray(grid.flux.reshape(-1, grid.flux.shape[-1]), dtype=np.float64)
        self.n_nodes = self.nodes.shape[0]

    @property
    def n_pixels(self) -> int:
        """Number of pixels of the (binned) model."""
        return self.nodes.shape[1]

    @property
    def teff_range(self) -> tuple[float, float]:
        """(min, max) of the Teff axis."""
        return float(self.teff[0]), float(self.teff[-1])

    @property
    def logg_range(self) -> tuple[float, float]:
        """(min, max) of the logg axis."""
        return float(self.logg[0]), float(self.logg[-1])

    # ------------------------------------------------------------------ scalar path
    @staticmethod
    def _locate(axis: list[float], x: float) -> tuple[int, float]:
        n = len(axis)
        if not axis[0] <= x <= axis[-1]:
            raise GridError(f"value {x:g} is outside the grid axis ({axis[0]:g} to {axis[-1]:g})")
        if n == 1:
            return 0, 0.0
        i = min(max(bisect.bisect_right(axis, x) - 1, 0), n - 2)
        return i, (x - axis[i]) / (axis[i + 1] - axis[i])

    def add_weights(self, w: np.ndarray, teff: float, logg: float, scale: float) -> None:
        """Add ``scale`` times the bilinear interpolation weights of (teff, logg) into ``w`` (in place)."""
        i, t = self._locate(self._teff_list, teff)
        j, s = self._locate(self._logg_list, logg)
        n = self.n_logg
        k = i * n + j
        dj = 1 if n > 1 else 0
        di = n if len(self._teff_list) > 1 else 0
        w[k] += scale * (1.0 - t) * (1.0 - s)
        w[k + dj] += scale * (1.0 - t) * s
        w[k + di] += scale * t * (1.0 - s)
        w[k + di + dj] += scale * t * s

    def node_weights(self, c: Components) -> np.ndarray:
        """Weights over grid nodes such that ``weights @ nodes`` is the model."""
        w = np.zeros(self.n_nodes)
        self.add_weights(w, c.Tphot, c.logg_phot, c.Fscale * (1.0 - c.fspot - c.ffac))
        if c.fspot != 0.0:
            self.add_weights(w, c.Tspot, c.logg_het, c.Fscale * c.fspot)
        if c.ffac != 0.0:
            self.add_weights(w, c.Tfac, c.logg_het, c.Fscale * c.ffac)
        return w

    def evaluate(self, c: Components) -> np.ndarray:
        """Model flux in every pixel for one parameter set.

        Parameters
        ----------
        c : Components
            Physical parameters.

        Returns
        -------
        ndarray
            Shape ``(n_pixels,)``, in the grid's flux unit times ``Fscale``.

        Raises
        ------
        GridError
            A temperature or gravity outside the grid.
        """
        return self.node_weights(c) @ self.nodes

    # ------------------------------------------------------------------ vectorised path
    def _locate_many(self, axis: np.ndarray, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if np.any(~((x >= axis[0]) & (x <= axis[-1]))):
            bad = x[~((x >= axis[0]) & (x <= axis[-1]))][0]
            raise GridError(f"value {bad:g} is outside the grid axis ({axis[0]:g} to {axis[-1]:g})")
        if axis.size == 1:
            return np.zeros(x.size, int), np.zeros(x.size)
        i = np.clip(np.searchsorted(axis, x, side="right") - 1, 0, axis.size - 2)
        return i, (x - axis[i]) / (axis[i + 1] - axis[i])

    def _add_many(self, w: np.ndarray, teff: np.ndarray, logg: np.ndarray, scale: np.ndarray) -> None:
        i, t = self._locate_many(self.teff, teff)
        j, s = self._locate_many(self.logg, logg)
        n = self.n_logg
        k = i * n + j
        dj = 1 if n > 1 else 0
        di = n if self.teff.size > 1 else 0
        rows = np.arange(teff.size)
        for off, wt in ((0, (1 - t) * (1 - s)), (dj, (1 - t) * s), (di, t * (1 - s)), (di + dj, t * s)):
            np.add.at(w, (rows, k + off), scale * wt)

    def weights_many(
        self,
        Tphot: np.ndarray,
        Tspot: np.ndarray,
        Tfac: np.ndarray,
        fspot: np.ndarray,
        ffac: np.ndarray,
        logg_phot: np.ndarray,
        logg_het: np.ndarray,
        Fscale: np.ndarray,
    ) -> np.ndarray:
        """Node weights for many parameter sets at once (arrays of one length); shape ``(n_sets, n_nodes)``."""
        arrays = np.broadcast_arrays(
            *(
                np.atleast_1d(np.asarray(a, float))
                for a in (Tphot, Tspot, Tfac, fspot, ffac, logg_phot, logg_het, Fscale)
            )
        )
        tp, ts, tf, fs, ff, gp, gh, fsc = arrays
        w = np.zeros((tp.size, self.n_nodes))
        self._add_many(w, tp, gp, fsc * (1.0 - fs - ff))
        use = fs != 0
        if np.any(use):
            sub = np.zeros((int(use.sum()), self.n_nodes))
            self._add_many(sub, ts[use], gh[use], fsc[use] * fs[use])
            w[use] += sub
        use = ff != 0
        if np.any(use):
            sub = np.zeros((int(use.sum()), self.n_nodes))
            self._add_many(sub, tf[use], gh[use], fsc[use] * ff[use])
            w[use] += sub
        return w

    def evaluate_many(self, *params: np.ndarray) -> np.ndarray:
        """Model fluxes for many parameter sets at once.

        Parameters
        ----------
        *params : ndarray
            ``Tphot, Tspot, Tfac, fspot, ffac, logg_phot, logg_het, Fscale`` (broadcastable arrays).

        Returns
        -------
        ndarray
            Shape ``(n_sets, n_pixels)``.
        """
        return self.weights_many(*params) @ self.nodes
