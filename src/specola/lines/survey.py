"""Many line fits at once: one summary table of every input's lines, and a figure of the key quantities.

``specola batch lines`` writes them into the batch folder (``lines_summary.ecsv``, ``lines_summary.png``) from
each finished input's ``lines.ecsv``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import astropy.units as u
import numpy as np
from astropy.table import QTable, vstack

__all__ = ["plot_summary", "summary_table", "write_batch_summary"]

log = logging.getLogger(__name__)


def summary_table(folders: Sequence[str | Path], names: Sequence[str] | None = None) -> QTable:
    """The ``lines.ecsv`` tables of some run folders, stacked, with an ``input`` column first.

    Parameters
    ----------
    folders : sequence of path
        Run folders of ``specola lines`` (those without ``lines.ecsv``, e.g. failed inputs, are left out).
    names : sequence of str, optional
        The input label of each folder (default: the folder names).

    Returns
    -------
    QTable
        One row per (input, line): flux, EW, FWHM, velocity and z percentiles, with units.
    """
    names = list(names) if names is not None else [Path(f).name for f in folders]
    parts = []
    for folder, name in zip(folders, names, strict=True):
        path = Path(folder) / "lines.ecsv"
        if not path.exists():
            continue
        t = QTable.read(path, format="ascii.ecsv")
        t.add_column([name] * len(t), name="input", index=0)
        parts.append(t)
    if not parts:
        return QTable({"input": np.array([], str), "line": np.array([], str)})
    out = vstack(parts, metadata_conflicts="silent")
    out.meta = {"flux_unit": parts[0].meta.get("flux_unit", ""), "inputs": len(parts)}
    return out


def plot_summary(table: QTable) -> Any:
    """Flux of each line and the redshift, per input (16-84 % error bars)."""
    from ..plotting import figure, style, unit_label

    inputs = list(dict.fromkeys(table["input"]))
    lines = list(dict.fromkeys(table["line"]))
    x = {name: i for i, name in enumerate(inputs)}
    with style():
        fig, (top, bottom) = figure(2, 1, sharex=True, figsize=(max(6.0, 0.35 * len(inputs) + 3), 5.5))
        for j, line in enumerate(lines):
            rows = table[table["line"] == line]
            xs = np.asarray([x[n] for n in rows["input"]]) + 0.6 * ((j + 0.5) / len(lines) - 0.5)
            mid = np.asarray(rows["flux_p50"].value)
            err = [mid - rows["flux_p16"].value, rows["flux_p84"].value - mid]
            top.errorbar(xs, mid, err, fmt="o", ms=3, lw=0.8, label=line)
        top.set_ylabel(unit_label("Line flux", table["flux_p50"].unit))
        top.axhline(0.0, color="0.6", lw=0.5)
        top.legend(fontsize="x-small", ncol=min(len(lines), 4))
        first = table[np.sort(np.unique(np.asarray(table["input"]), return_index=True)[1])]
        z = [u.Quantity(first[f"z_p{p}"]).to_value(u.dimensionless_unscaled) for p in (16, 50, 84)]
        bottom.errorbar([x[n] for n in first["input"]], z[1], [z[1] - z[0], z[2] - z[1]], fmt="o", ms=3, lw=0.8,
                        color="k")  # fmt: skip
        bottom.set_ylabel("z (first line's group)")
        bottom.set_xticks(range(len(inputs)))
        bottom.set_xticklabels(inputs, rotation=60, ha="right", fontsize="x-small")
        bottom.set_xlabel("input")
    return fig


def write_batch_summary(folder: Any, inputs: Sequence[str | Path], outdir: str | Path) -> list[Path]:
    """Write ``lines_summary.ecsv`` (and ``lines_summary.png``) of a batch into its :class:`~specola.runs.RunFolder`.

    Parameters
    ----------
    folder : RunFolder
        The batch folder.
    inputs : sequence of path
        The batch's inputs, in order (their run folders are ``outdir / <input stem>``).
    outdir : path
        The folder holding the inputs' run folders.

    Returns
    -------
    list of Path
        Files written (none when no input finished).
    """
    from ..batch import output_names

    items = [str(Path(i).resolve()) for i in inputs]
    table = summary_table([Path(outdir) / n for n in output_names(items)], [str(i) for i in inputs])
    if not len(table):
        log.warning("batch lines: no input finished; no summary table")
        return []
    written = [folder.write("lines_summary.ecsv", lambda p: table.write(p, format="ascii.ecsv"))]
    written.append(folder.save_figure("lines_summary.png", plot_summary(table)))
    log.info("batch lines: %d lines of %d inputs in %s", len(table), table.meta["inputs"], written[0])
    return written
