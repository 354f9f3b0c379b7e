"""JAX set-up for line fitting, done once per process: float64 and a persistent compilation cache.

Redshifts (``1 + z`` to 1e-7) and differences of ``erf`` over narrow pixels need float64. The compilation
cache lives in the user's cache folder (``$SPECOLA_CACHE_DIR`` or ``~/.cache/specola/jax``), so a rerun of
the same configuration loads its compiled model instead of recompiling it. Every entry is cached, however
quick to compile: a NUTS run also compiles ~500 small functions (NumPyro's initialisation, eager ops), each
under 0.5 s but ~17 s together on a 2-core machine; with a 0.5 s threshold a rerun recompiled all of them.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

__all__ = ["cache_dir", "configure"]

log = logging.getLogger(__name__)

_state = {"configured": False}


def cache_dir() -> Path:
    """Folder of the persistent JAX compilation cache."""
    root = os.environ.get("SPECOLA_CACHE_DIR") or os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    sub = "jax" if os.environ.get("SPECOLA_CACHE_DIR") else "specola/jax"
    return Path(root) / sub


def configure() -> None:
    """Switch JAX to float64 and turn on the persistent compilation cache (only the first call does anything)."""
    if _state["configured"]:
        return
    import jax

    if not jax.config.jax_enable_x64:
        jax.config.update("jax_enable_x64", True)
    path = cache_dir()
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:  # a read-only home: compile every time
        log.info("JAX compilation cache disabled (%s)", exc)
    else:
        if jax.config.jax_compilation_cache_dir is None:
            jax.config.update("jax_compilation_cache_dir", str(path))
            jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
            jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)
    _state["configured"] = True
