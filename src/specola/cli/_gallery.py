"""The demo's gallery: every figure specola writes, with one line on what to look for.

``specola demo`` writes ``gallery.md`` beside its outputs; ``specola demo --gallery docs`` also regenerates
``docs/gallery.md`` with the figures copied under ``docs/figures/gallery/``. A figure without a note below is an
error (the demo test fails), so a new figure arrives with its explanation.
"""

from __future__ import annotations

import fnmatch
import shutil
from pathlib import Path

from ..errors import SpecolaError

__all__ = ["NOTES", "note_for", "write_gallery"]

#: (stage heading, file pattern relative to the demo folder, what to look for). Order is the gallery's order.
NOTES: tuple[tuple[str, str, str], ...] = (
    (
        "Spectra and I/O",
        "spectra/spectrum_trappist1*",
        "the JWST PRISM spectrum of TRAPPIST-1 as read (masked edges left blank); the H2O and CH4 bands of a late M dwarf between 1 and 3.5 um",
    ),
    (
        "Spectra and I/O",
        "spectra/spectrum_rubies*",
        "the DJA PRISM spectrum of a z ~ 3.55 broad-line object: Hbeta+[OIII] near 2.2 um and a strong, broad Halpha near 3.0 um, the lines the lines stage fits",
    ),
    (
        "Spectra and I/O",
        "spectra/spectrum_spec-*",
        "the SDSS starburst at z = 0.040: the y-range follows the continuum and every emission line (running-median limits), not a single hot pixel",
    ),
    (
        "Spectra and I/O",
        "spectra/spectrum_desi*",
        "a faint DESI z = 1.29 galaxy: per-pixel B/R/Z arms light, their 10-pixel means bold; the y-range ignores the sky residuals at 7600 A and beyond 9300 A, and [OII] 3727 shows near 8540 A",
    ),
    (
        "Stellar retrievals (stellar)",
        "stellar/combo_*",
        "data with their inflated errors, the fitted model binned like the data with 1-3 sigma bands, its components, and residuals in sigma: the residual trace should scatter around zero",
    ),
    (
        "Stellar retrievals (stellar)",
        "stellar/spectrum_*",
        "the fitted model's 1-3 sigma bands over the data at the stated resolution: the bands must enclose the data wherever the model fits",
    ),
    (
        "Stellar retrievals (stellar)",
        "stellar/bestfit_model*",
        "the maximum-likelihood model against the data: a quick check that the best walker is not in a different mode from the bands",
    ),
    (
        "Stellar retrievals (stellar)",
        "stellar/corner*",
        "posteriors of every fitted parameter; dashed lines mark grid edges and prior bounds, and a posterior piled against one is labelled (it is then set by the bound, not the data)",
    ),
    (
        "Stellar retrievals (stellar)",
        "stellar/chains_full*",
        "every walker over all steps, with the burn-in shaded: walkers should forget their start well before the burn-in ends",
    ),
    (
        "Stellar retrievals (stellar)",
        "stellar/chains_after*",
        "the chains used for the posterior, with the convergence verdict (nsteps/tau, R-hat across walker groups): flat, well-mixed bands mean a trustworthy posterior",
    ),
    (
        "Stellar retrievals (stellar)",
        "stellar/fscale_guess*",
        "the starting flux scale from the chosen band: the scaled guess should sit on the data there",
    ),
    (
        "Stellar retrievals (stellar)",
        "stellar/select_wave*",
        "which pixels enter the fit (fitted range and masked windows): nothing important should be left out by mistake",
    ),
    (
        "Co-addition (coadd)",
        "coadd/coadd_cos_vs_x1dsum*",
        "specola's flux-conserving co-add and the HASP-mode co-add against CALCOS's own x1dsum; the lower panel (difference / sigma) should stay well inside +-1",
    ),
    (
        "Co-addition (coadd)",
        "coadd/coadd_cos_resample*",
        "specola's co-add of the four COS G140L FP-POS exposures with its 1-sigma band; Lyman-alpha airglow near 1216 A, noise growing to the red end of the detector",
    ),
    (
        "Flux calibration (fluxcal)",
        "fluxcal/fluxcal_demo*",
        "a science target calibrated with the CALSPEC and the template method against the truth: the CALSPEC curve stays within 0.5%; the template curve shows what the template method costs",
    ),
    (
        "Flux calibration (fluxcal)",
        "fluxcal/*/qc_sensitivity*",
        "the sensitivity function with the pixels used, masked (lines, tellurics) and clipped; the ratio panel's binned mean shows any trend above 1%, and the band is the reported error",
    ),
    (
        "Flux calibration (fluxcal)",
        "fluxcal/*/qc_template*",
        "the fitted template (Teff, logg, [M/H], RV, E(B-V) with errors, or 'near grid edge') over the star, residuals in sigma and the template-shape error; a red warning when colours and spectrum disagree",
    ),
    (
        "Flux calibration (fluxcal)",
        "fluxcal/*/qc_photometry*",
        "observed minus synthetic magnitudes per band with their errors: all should agree with zero; a band far off means a wrong magnitude or a star outside the grid",
    ),
    (
        "Extraction (extract)",
        "extract/*_trace*",
        "the frame with the fitted trace, the aperture and the sky windows: the trace must follow the ridge of the spectrum and the windows avoid any other source",
    ),
    (
        "Extraction (extract)",
        "extract/*_profile*",
        "the spatial profile model against the normalised pixels, and residuals in sigma: the profile must follow the data and never swing where no pixel samples it",
    ),
    (
        "Extraction (extract)",
        "extract/*_residual*",
        "data minus profile model: structure left along the trace means the profile (or its variation with time) is wrong",
    ),
    (
        "Extraction (extract)",
        "extract/*_spectra*",
        "aperture and optimal spectra with their errors: optimal should be the quieter of the two, and the same flux",
    ),
    (
        "Extraction (extract)",
        "extract/*_lightcurve*",
        "the white-light flux per integration with its scatter against the photon floor: a scatter well above the floor means noise the extraction added",
    ),
    (
        "Extraction (extract)",
        "extract/*_outliers*",
        "bad pixels (from DQ), cosmic rays flagged by the optimal pass and rejected sky pixels: flags should be isolated, never a whole column or the trace core",
    ),
    (
        "Extraction (extract)",
        "extract/*_jitter*",
        "the trace position and width per integration: jitter should be small and smooth, a jump marks a tracking or tracing problem",
    ),
    (
        "Emission lines (lines)",
        "lines/fit_*",
        "one panel per fitted window: data, model with its band, continuum and every labelled component, residuals in sigma below; the broad Halpha component must be needed by the data, not by the prior",
    ),
    (
        "Emission lines (lines)",
        "lines/corner*",
        "posteriors of the key line parameters (redshift, widths, fluxes, calibration tokens): look for multimodality and parameters piled at a prior bound",
    ),
    (
        "Emission lines (lines)",
        "lines/rescale*",
        "per-region error rescaling factors with their pixel counts: factors far from 1 mean the input errors are wrong",
    ),
)


def _rank(name: str) -> tuple[int, str]:
    return next((i for i, (_, pattern, _) in enumerate(NOTES) if fnmatch.fnmatch(name, pattern)), len(NOTES)), name


def note_for(name: str) -> tuple[str, str]:
    """``(stage heading, note)`` of a figure path relative to the demo folder."""
    for stage, pattern, note in NOTES:
        if fnmatch.fnmatch(name, pattern):
            return stage, note
    raise SpecolaError(f"the demo wrote {name}, which has no note in specola.cli._gallery.NOTES: add one")


def write_gallery(root: Path, path: Path, copy_to: Path | None = None) -> list[str]:
    """Write a Markdown gallery of every PNG under ``root``; optionally copy the images beside it.

    Parameters
    ----------
    root : Path
        The demo's output folder.
    path : Path
        The gallery file to write.
    copy_to : Path, optional
        Folder to copy the images into (their links then point there, relative to ``path``).

    Returns
    -------
    list of str
        The figures, relative to ``root``.
    """
    figures = sorted(p.relative_to(root).as_posix() for p in root.rglob("*.png"))
    if copy_to is not None:  # the copies are the image baselines of tests/test_demo.py: none may go stale
        copy_to.mkdir(parents=True, exist_ok=True)
        for old in copy_to.glob("*.png"):
            old.unlink()
    rows: dict[str, list[str]] = {stage: [] for stage, _, _ in NOTES}
    for name in sorted(figures, key=_rank):
        stage, note = note_for(name)
        link = name
        if copy_to is not None:
            target = copy_to / name.replace("/", "__")
            shutil.copy(root / name, target)
            link = target.relative_to(path.parent).as_posix()
        rows.setdefault(stage, []).append(f"- [{name}]({link}): {note}\n\n  ![{name}]({link})")
    text = [
        "# Gallery: every figure specola writes, and what to look for\n",
        "Made by `specola demo` on the bundled real data (regenerate with `specola demo -o /tmp/demo --gallery docs`).",
        "These images are also the baselines that CI compares the demo's figures with (tests/test_demo.py).\n",
    ]
    for stage, lines in rows.items():
        if not lines:
            continue
        text.append(f"## {stage}\n")
        text.extend(lines)
        text.append("")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(text) + "\n")
    return figures
