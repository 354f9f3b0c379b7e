"""JAX set-up for line fitting, done once per process when the line code first needs JAX: float64 and a cache.

Redshifts (``1 + z`` to 1e-7) and differences of ``erf`` over narrow pixels need float64, and JAX's
``jax_enable_x64`` is one switch for the whole process. It is turned on in this module's body, which Python
runs once per process, the first time the module is imported: by :func:`~specola.lines.build_model` (every
line model, and so every compiled function, result and figure, comes from it) and by the kernels module
``_profiles``, the only two ways into the line code's JAX. ``import specola.lines`` itself imports no JAX.
The builder only checks the switch (:func:`require_float64`). A scoped ``with jax.enable_x64(True):`` (JAX
0.10) was not chosen: it would have to wrap every call that traces or makes arrays, including NumPyro
inference a user runs on ``model.model_fn``, and code run outside it would silently fall back to float32.

The switch is not turned behind the user's back:

* ``JAX_ENABLE_X64`` set to false in the environment is the user's choice: it is left off, a warning names
  ``jax_enable_x64``, and :func:`~specola.lines.build_model` refuses to build (float32 cannot hold a redshift
  to 1e-7);
* JAX already in use in float32 (its backends started before the first line model): the switch is turned on
  with a warning, since the arrays made before stay float32 while new ones default to float64;
* otherwise it is turned on with one INFO message.

The compilation cache lives in the user's cache folder (``$SPECOLA_CACHE_DIR`` or ``~/.cache/specola/jax``;
a folder the user gave JAX is kept), so a rerun of the same configuration loads its compiled model instead of
recompiling it. Every entry is cached, however quick to compile: a NUTS run also compiles ~500 small functions
(NumPyro's initialisation, eager ops), each under 0.5 s but ~17 s together on a 2-core machine; with a 0.5 s
threshold a rerun recompiled all of them. The folder is kept under ``CACHE_BYTES`` (1 GiB; a DJA PRISM NUTS
fit writes ~1 MB): whenever a new function is exported (:mod:`specola.lines._exported`), the entries written
longest ago beyond it are removed. JAX's own size limit is not used: it needs access-time files that a
folder written without it lacks, and fails on every write there.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import jax

try:  # private, but the one check that does not start the backends itself
    from jax._src.xla_bridge import backends_are_initialized
except ImportError:  # another JAX release: the float32-mix warning is skipped, the switch still set

    def backends_are_initialized() -> bool:
        """Unknown in this JAX release: assume JAX was not in use yet."""
        return False


from ..errors import ConfigError

__all__ = ["cache_dir", "configure", "device", "require_float64"]

log = logging.getLogger(__name__)

_state = {"configured": False}

#: Size limit of specola's compilation cache folder (the entries written longest ago go first beyond it).
CACHE_BYTES = 2**30


def cache_dir() -> Path:
    """Folder of the persistent JAX compilation cache."""
    root = os.environ.get("SPECOLA_CACHE_DIR") or os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    sub = "jax" if os.environ.get("SPECOLA_CACHE_DIR") else "specola/jax"
    return Path(root) / sub


def _enable_float64() -> None:
    if jax.config.jax_enable_x64:
        return
    if "JAX_ENABLE_X64" in os.environ:
        log.warning("JAX_ENABLE_X64=%s keeps jax_enable_x64 off: specola.lines needs float64 and will not build "
                    "line models until it is on", os.environ["JAX_ENABLE_X64"])  # fmt: skip
        return
    if backends_are_initialized():
        log.warning(
            "specola.lines turned jax_enable_x64 on after JAX was already in use in float32: arrays "
            "made before stay float32, new ones default to float64 (JAX_ENABLE_X64=1 avoids the mix)"
        )
    else:
        log.info("specola.lines turned JAX's jax_enable_x64 on (float64, for redshifts to 1e-7)")
    jax.config.update("jax_enable_x64", True)


def _enable_cache() -> None:
    path = cache_dir()
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:  # a read-only home: compile every time
        log.info("JAX compilation cache disabled (%s)", exc)
        return
    if jax.config.jax_compilation_cache_dir is None:
        jax.config.update("jax_compilation_cache_dir", str(path))
        jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
        jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)


def configure() -> None:
    """Switch JAX to float64 and turn on the persistent compilation cache (run at import; later calls return)."""
    if _state["configured"]:
        return
    _enable_float64()
    _enable_cache()
    _state["configured"] = True


def device(x) -> jax.Array:
    """A host value as a JAX array of its own dtype (never weakly typed), without compiling anything.

    ``jnp.asarray`` of a NumPy array compiles (or loads from the cache) an identity function per shape and
    dtype in JAX 0.10: ~17 ms each the first time, ~5 ms from the cache, against ~0.2 ms here.
    """
    import numpy as np

    return jax.device_put(np.asarray(x))


def require_float64() -> None:
    """Raise :class:`~specola.errors.ConfigError` unless JAX runs in float64 (``jax_enable_x64``)."""
    if not jax.config.jax_enable_x64:
        raise ConfigError("specola.lines needs JAX in float64, but jax_enable_x64 is off (JAX_ENABLE_X64 in the "
                          "environment, or jax.config.update / jax.enable_x64(False) in this process); turn it on "
                          "before building a line model")  # fmt: skip


configure()
