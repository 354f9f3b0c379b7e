"""Functions traced once per configuration, not once per process: ``jax.export`` artifacts in the cache folder.

The persistent compilation cache (:mod:`specola.lines._jax`) skips XLA compilation on a rerun, but its key is
computed from the traced module, so every new process still traces and lowers each jitted function: for a
NUTS run (log density and gradient, the sampler's set-up and its steps) that is ~3 s of Python before the
first sample, most of it JAX's own per-process warm-up. :class:`PersistentJit` exports a function once per
argument signature (``jax.export``: StableHLO plus the pytree structure, serialized as flatbuffers, never
pickled), stores it beside the compilation cache (``<cache>/export``) and, in a later process, deserializes it
and compiles it from the persistent cache without running any of its Python.

An artifact's file name hashes everything the traced code depends on: the caller's key (the model
structure), the argument shapes and dtypes, the versions of jax, jaxlib and numpyro, the backend, and the
source of the whole specola package, so an edited model never loads a stale artifact. An unreadable or
incompatible file is traced and written again. Without the ``flatbuffers`` package (which jax needs to
serialize) or a writable cache folder the function is a plain :func:`jax.jit`.

The folder is kept under ``EXPORT_BYTES``: each write removes the least recently used artifacts beyond it
(every load touches its file), so the artifacts of earlier specola versions and old configurations go; the
compilation cache is pruned at the same time (``specola.lines._jax.CACHE_BYTES``, oldest entries first).
"""

from __future__ import annotations

import functools
import hashlib
import importlib.metadata
import logging
import os
import stat
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

__all__ = ["PersistentJit", "export_dir", "supported"]

log = logging.getLogger(__name__)

_memo: dict[str, str] = {}

#: Size limit of the folder of exported functions (a DJA PRISM NUTS fit writes ~0.3 MB).
EXPORT_BYTES = 128 * 2**20


def export_dir() -> Path:
    """Folder of the exported functions, beside the compilation cache."""
    from ._jax import cache_dir  # imports JAX: not at package import

    return cache_dir().with_name("export")


def _environment() -> str:
    """Versions, backend and a hash of specola's source: what an artifact is valid for (once per process)."""
    if "env" not in _memo:
        import jax

        h = hashlib.sha256()
        root = Path(__file__).parents[1]
        for path in sorted(root.rglob("*.py")):
            h.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
        versions = [f"{p}={importlib.metadata.version(p)}" for p in ("jax", "jaxlib", "numpyro", "flatbuffers")]
        _memo["env"] = repr((versions, jax.default_backend(), jax.config.jax_enable_x64, h.hexdigest()))
    return _memo["env"]


def _signature(args: tuple) -> tuple | None:
    """Pytree structure, shapes, dtypes and weak types of concrete arguments (what an export is specialised to).

    None when an argument is being traced. Cheap (~10 us): it is computed on every call.
    """
    import jax

    leaves, tree = jax.tree.flatten(args)
    sig = [tree]
    for x in leaves:
        if isinstance(x, jax.core.Tracer):
            return None
        sig.append(_leaf(x))
    return tuple(sig)


def _describe(args: tuple) -> str:
    """A stable text of the signature, for the artifact's file name."""
    import jax

    leaves, tree = jax.tree.flatten(args)
    return repr((str(tree), *(_leaf(x) for x in leaves)))


def _leaf(x: Any) -> tuple | str:
    if not hasattr(x, "dtype"):
        return type(x).__name__  # a Python scalar: weakly typed
    return tuple(x.shape), str(x.dtype), bool(getattr(x, "weak_type", False))


def supported(options: dict | None) -> dict | None:
    """The XLA compile options of ``options`` this jaxlib knows: an older one rejects a newer option's name."""
    known = {k: v for k, v in (options or {}).items() if _known(k, v)}
    return known or None


@functools.cache
def _known(name: str, value: Any) -> bool:
    import jax

    try:  # a trivial compile, once per option and process
        jax.jit(lambda x: x + 1).lower(1.0).compile(compiler_options={name: value})
    except Exception as exc:  # INVALID_ARGUMENT: No such compile option
        log.debug("XLA option %s not available (%s)", name, exc)
        return False
    return True


def _can_export() -> bool:
    try:
        importlib.metadata.version("flatbuffers")
    except importlib.metadata.PackageNotFoundError:
        return False
    return True


class PersistentJit:
    """``jax.jit(fn)`` whose trace is kept on disk per argument signature (see the module docstring).

    Parameters
    ----------
    fn : callable
        A function of JAX arrays (pytrees of lists, tuples, dicts and arrays in and out).
    name : str
        Its name in the cache folder.
    key : str
        Everything ``fn`` bakes in that its arguments do not carry (e.g. a model's structure key).
    compiler_options : dict, optional
        XLA options of its compilation (e.g. ``{"xla_backend_optimization_level": 0}`` for a function called a
        few times, which compiles faster and runs slower); part of the persistent cache's key. Those this jaxlib
        does not know are left out (:func:`supported`).
    """

    def __init__(self, fn: Callable, name: str, key: str, compiler_options: dict | None = None) -> None:
        import jax

        self._jit = jax.jit(fn)
        self._name, self._key, self._options = name, key, compiler_options
        self._calls: dict[tuple, Callable] = {}
        self._lock = threading.Lock()  # one set-up per signature, when threads prepare ahead (see prepare)
        self.signatures = 0  # argument signatures set up in this process (traced or loaded): a test hook

    def __call__(self, *args: Any) -> Any:
        sig = _signature(args)
        if sig is None:  # called inside another transformation (vmap, grad, jit): the plain jit composes
            return self._jit(*args)
        return self._executable(sig, args)(*args)

    def prepare(self, *args: Any) -> None:
        """Trace or load, and compile, for these arguments now (the next call with their signature runs at once).

        ``args`` may be ``jax.ShapeDtypeStruct`` placeholders of the arrays; thread-safe, so a thread can
        prepare a function while the caller does other work (a call meanwhile waits for it).
        """
        sig = _signature(args)
        if sig is not None and sig not in self._calls:
            self._setup(sig, args)

    def ready(self, *args: Any) -> bool:
        """Whether these arguments' signature is set up (a call runs at once; none is waiting for a compile)."""
        return _signature(args) in self._calls

    def executable(self, *args: Any) -> Callable:
        """The compiled function for these arguments' signature (set up now if needed), for a loop of calls.

        Its calls skip the signature lookup of ``__call__`` (it checks its arguments' shapes itself).
        """
        return self._executable(_signature(args), args)

    def eval_shape(self, *args: Any) -> Any:
        """The output shapes and dtypes (``jax.ShapeDtypeStruct``) for these arguments, without compiling.

        From the stored trace where there is one (no Python of ``fn`` runs), else by tracing it.
        """
        import jax

        if not self.stored(*args):
            return jax.eval_shape(self._jit, *args)
        exported = self._exported(args)
        avals = [jax.ShapeDtypeStruct(a.shape, a.dtype, weak_type=a.weak_type) for a in exported.out_avals]
        return jax.tree.unflatten(exported.out_tree, avals)

    def stored(self, *args: Any) -> bool:
        """Whether the trace for these arguments is in the cache folder (a set-up then runs none of ``fn``'s Python)."""
        return _can_export() and self._path(args).is_file()

    def _path(self, args: tuple) -> Path:
        text = repr((self._name, self._key, _describe(args), _environment()))
        return export_dir() / f"{self._name}-{hashlib.sha256(text.encode()).hexdigest()[:32]}.jaxexport"

    def _executable(self, sig: tuple, args: tuple) -> Callable:
        return self._calls.get(sig) or self._setup(sig, args)

    def _setup(self, sig: tuple, args: tuple) -> Callable:
        with self._lock:
            if sig not in self._calls:
                t0 = time.perf_counter()
                self._calls[sig] = self._lower(args).compile(compiler_options=supported(self._options))
                self.signatures += 1
                log.debug("%s set up in %.2f s (%s)", self._name, time.perf_counter() - t0,
                          threading.current_thread().name)  # fmt: skip
        return self._calls[sig]

    def _lower(self, args: tuple) -> Any:
        import jax

        if not _can_export():
            return self._jit.lower(*args)
        return jax.jit(self._exported(args).call).lower(*args)

    def _exported(self, args: tuple) -> Any:
        """The ``jax.export.Exported`` of these arguments: read from the cache folder, else traced and stored."""
        from jax import export

        path = self._path(args)
        try:
            exported = export.deserialize(bytearray(path.read_bytes()))
            os.utime(path)  # recently used: the last to be pruned
        except FileNotFoundError:
            exported = None
        except Exception as exc:  # truncated, or written by an incompatible jax: trace again, replace it
            log.info("exported %s unreadable (%s); tracing it again", path.name, exc)
            exported = None
        if exported is None:
            exported = export.export(self._jit)(*args)
            _write(path, exported.serialize())
        return exported


def _write(path: Path, data: bytearray) -> None:
    """Write atomically (another process may be reading or writing the same artifact); a read-only cache is fine."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_bytes(bytes(data))
        os.replace(tmp, path)
    except OSError as exc:
        log.info("cannot store exported %s (%s); it will be traced again next time", path.name, exc)
        tmp.unlink(missing_ok=True)
        return
    from ._jax import CACHE_BYTES, cache_dir

    _prune(path.parent, "*.jaxexport", EXPORT_BYTES, keep=path)
    _prune(cache_dir(), "*", CACHE_BYTES)


def _prune(folder: Path, pattern: str, limit: int, keep: Path | None = None) -> None:
    """Remove the files of ``folder`` least recently modified until those matching hold at most ``limit`` bytes."""
    entries = []
    for f in folder.glob(pattern):
        try:
            st = f.stat()
        except OSError:  # removed by another process meanwhile
            continue
        if stat.S_ISREG(st.st_mode):
            entries.append((st.st_mtime, st.st_size, f))
    total = sum(size for _, size, _ in entries)
    for _, size, f in sorted(entries, key=lambda e: e[0]):
        if total <= limit:
            break
        if f == keep:
            continue
        f.unlink(missing_ok=True)
        total -= size
        log.info("%s removed from %s (kept under %d MB)", f.name, folder, limit // 2**20)
