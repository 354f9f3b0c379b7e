"""Read pandas "fixed" HDF5 frames with h5py, without unpickling.

pandas stores object columns (strings, per-row arrays) as one pickle. Running
that pickle would run whatever callable the file names, so it is decoded here by
a data-only interpreter over :func:`pickletools.genops` (a disassembler, which
executes nothing): it builds numbers, strings, bytes, tuples, lists, dicts and
numpy arrays of plain dtypes, and refuses any other global the stream names.
"""

from __future__ import annotations

import pickletools
import re
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from ..errors import FileFormatError

#: The only globals a stream may name: numpy's array and dtype reconstructors (and str -> bytes).
_ALLOWED = {
    ("numpy.core.multiarray", "_reconstruct"): "reconstruct",
    ("numpy._core.multiarray", "_reconstruct"): "reconstruct",
    ("numpy", "ndarray"): "ndarray",
    ("numpy", "dtype"): "dtype",
    ("numpy.core.numeric", "_frombuffer"): "frombuffer",
    ("numpy._core.numeric", "_frombuffer"): "frombuffer",
    ("_codecs", "encode"): "encode",  # how protocol 2 stores bytes
}
_DTYPE = re.compile(r"^[<>|=]?[biufcOSU]\d{0,3}$")
_MARK = object()


class _Global:
    def __init__(self, role: str) -> None:
        self.role = role


class _Pending:
    """An ndarray or dtype awaiting its BUILD state."""

    def __init__(self, kind: str, dtype: np.dtype | None = None) -> None:
        self.kind, self.dtype, self.value = kind, dtype, None


class UnsafePickle(Exception):
    """The stream needs something the data-only decoder refuses."""


def _dtype(code: Any) -> np.dtype:
    if not isinstance(code, str) or not _DTYPE.match(code):
        raise UnsafePickle(f"dtype {code!r} is not a plain numeric/string dtype")
    return np.dtype(code)


def _reduce(func: Any, args: Any) -> Any:
    if not isinstance(func, _Global) or not isinstance(args, tuple):
        raise UnsafePickle("call of something other than a numpy reconstructor")
    if func.role == "reconstruct":
        return _Pending("array")
    if func.role == "dtype":
        return _Pending("dtype", _dtype(args[0]))
    if func.role == "encode":
        if len(args) != 2 or not isinstance(args[0], str) or args[1] not in ("latin1", "latin-1"):
            raise UnsafePickle("_codecs.encode with other than (str, 'latin1')")
        return args[0].encode("latin1")
    if func.role == "frombuffer":
        buf, dtype, shape, order = args
        dtype = dtype.value if isinstance(dtype, _Pending) else dtype
        if not isinstance(dtype, np.dtype) or dtype.kind == "O" or not isinstance(buf, bytes | bytearray):
            raise UnsafePickle("numpy buffer of an object dtype")
        return np.frombuffer(bytes(buf), dtype).reshape(shape, order=order)
    raise UnsafePickle("numpy.ndarray called directly")


def _build(target: Any, state: Any) -> None:
    if not isinstance(target, _Pending) or not isinstance(state, tuple):
        raise UnsafePickle("object state applied to something other than an array or dtype")
    if target.kind == "dtype":
        order = state[1] if len(state) > 1 else "|"
        if len(state) > 3 and state[3] is not None:
            raise UnsafePickle("structured dtypes are not accepted")
        target.value = target.dtype.newbyteorder(order) if order in "<>" else target.dtype
        return
    _, shape, dtype, fortran, raw = state
    dtype = dtype.value if isinstance(dtype, _Pending) else dtype
    if not isinstance(dtype, np.dtype) or not isinstance(shape, tuple):
        raise UnsafePickle("array state without a dtype")
    order = "F" if fortran else "C"
    if dtype.kind == "O":
        if not isinstance(raw, list) or len(raw) != int(np.prod(shape)):
            raise UnsafePickle("object array whose items do not match its shape")
        arr = np.empty(len(raw), object)
        arr[:] = [r.value if isinstance(r, _Pending) else r for r in raw]
        target.value = arr.reshape(shape)  # numpy lists object items in C order whatever the memory layout
    elif isinstance(raw, bytes | bytearray):
        target.value = np.frombuffer(bytes(raw), dtype).reshape(shape, order=order)
    else:
        raise UnsafePickle("numeric array without a byte buffer")


def _collect(stack: list) -> list:
    i = max(k for k, item in enumerate(stack) if item is _MARK)
    items = stack[i + 1 :]
    del stack[i:]
    return items


_CONST = {"NONE": None, "NEWTRUE": True, "NEWFALSE": False, "EMPTY_TUPLE": ()}
_ARG = {
    "BININT",
    "BININT1",
    "BININT2",
    "LONG1",
    "LONG4",
    "BINFLOAT",
    "BINUNICODE",
    "SHORT_BINUNICODE",
    "BINUNICODE8",
    "BINBYTES",
    "SHORT_BINBYTES",
    "BINBYTES8",
    "BYTEARRAY8",
    "SHORT_BINSTRING",
    "BINSTRING",
}


def decode(data: bytes) -> Any:
    """Value of a pickle stream built from data only; raises :class:`UnsafePickle` otherwise."""
    stack: list = []
    memo: dict[int, Any] = {}
    try:
        for op, arg, _ in pickletools.genops(data):
            name = op.name
            if name in ("PROTO", "FRAME"):
                continue
            if name == "STOP":
                break
            if name in _ARG:
                stack.append(arg)
            elif name in _CONST:
                stack.append(_CONST[name])
            elif name == "EMPTY_LIST":
                stack.append([])
            elif name == "EMPTY_DICT":
                stack.append({})
            elif name == "MARK":
                stack.append(_MARK)
            elif name in ("BINPUT", "LONG_BINPUT"):
                memo[arg] = stack[-1]
            elif name == "MEMOIZE":
                memo[len(memo)] = stack[-1]
            elif name in ("BINGET", "LONG_BINGET"):
                stack.append(memo[arg])
            elif name in ("TUPLE1", "TUPLE2", "TUPLE3"):
                n = int(name[-1])
                items = tuple(stack[-n:])
                del stack[-n:]
                stack.append(items)
            elif name == "TUPLE":
                stack.append(tuple(_collect(stack)))
            elif name == "LIST":
                stack.append(_collect(stack))
            elif name == "APPEND":
                item = stack.pop()
                stack[-1].append(item)
            elif name == "APPENDS":
                items = _collect(stack)
                stack[-1].extend(items)
            elif name in ("SETITEM", "SETITEMS", "DICT"):
                items = [stack.pop(), stack.pop()][::-1] if name == "SETITEM" else _collect(stack)
                target = {} if name == "DICT" else stack[-1]
                target.update(zip(items[::2], items[1::2], strict=True))
                if name == "DICT":
                    stack.append(target)
            elif name in ("STACK_GLOBAL", "GLOBAL"):
                module, attr = (stack.pop(-2), stack.pop()) if name == "STACK_GLOBAL" else arg.split(" ", 1)
                if (module, attr) not in _ALLOWED:
                    raise UnsafePickle(f"names {module}.{attr}")
                stack.append(_Global(_ALLOWED[(module, attr)]))
            elif name == "REDUCE":
                args = stack.pop()
                stack.append(_reduce(stack.pop(), args))
            elif name == "BUILD":
                state = stack.pop()
                _build(stack[-1], state)
            elif name == "POP":
                stack.pop()
            else:
                raise UnsafePickle(f"uses pickle opcode {name}")
    except UnsafePickle:
        raise
    except (ValueError, KeyError, IndexError, TypeError, AttributeError) as exc:
        raise UnsafePickle(f"malformed stream ({exc})") from None
    if len(stack) != 1:
        raise UnsafePickle("malformed stream")
    out = stack[0]
    return out.value if isinstance(out, _Pending) else out


def _text(values: np.ndarray) -> list[str]:
    return [v.decode() if isinstance(v, bytes) else str(v) for v in np.asarray(values).ravel()]


def read_fixed_frame(path: Path, key: str) -> dict[str, np.ndarray]:
    """Columns of the pandas ``fixed``-format DataFrame stored under ``key``.

    Parameters
    ----------
    path : Path
        The HDF5 file.
    key : str
        The frame's group.

    Returns
    -------
    dict
        Column name -> 1-D array (numeric columns as float/int, object columns as object arrays).

    Raises
    ------
    FileFormatError
        Not a fixed-format frame, malformed, or an object column whose pickle names anything
        other than numpy's array reconstructors (it is refused, never run).
    """
    try:
        with h5py.File(path, "r") as f:
            if key not in f:
                raise FileFormatError(f"{path}: no table {key!r}")
            group = f[key]
            kind = group.attrs.get("pandas_type")
            kind = kind.decode() if isinstance(kind, bytes) else kind
            if kind != "frame":
                raise FileFormatError(
                    f"{path}: table {key!r} is pandas type {kind!r}; only the 'fixed' layout (pandas_type 'frame') "
                    "is read; rewrite it with DataFrame.to_hdf(..., format='fixed')"
                )
            nrows = group["axis1"].shape[0]
            columns: dict[str, np.ndarray] = {}
            for b in range(int(group.attrs["nblocks"])):
                names = _text(group[f"block{b}_items"][()])
                columns.update(_block(path, group[f"block{b}_values"], names, nrows))
    except FileFormatError:
        raise
    except (OSError, KeyError, ValueError, TypeError) as exc:
        raise FileFormatError(f"{path}: not a readable pandas HDF5 table ({type(exc).__name__}: {exc})") from None
    return columns


def _block(path: Path, dataset: h5py.Dataset, names: list[str], nrows: int) -> dict[str, np.ndarray]:
    if dataset.dtype.kind != "O":
        values = np.asarray(dataset[()])
    else:
        try:
            values = decode(np.asarray(dataset[0], np.uint8).tobytes())
        except UnsafePickle as exc:
            raise FileFormatError(
                f"{path}: refusing the pickled object column(s) {', '.join(names)}: the pickle {exc} "
                "(specola never runs code from data files)"
            ) from None
        if not isinstance(values, np.ndarray):
            raise FileFormatError(f"{path}: object column(s) {', '.join(names)} do not hold an array")
    if values.shape == (nrows,) and len(names) == 1:  # an extension-array block (e.g. pandas strings)
        values = values[:, None]
    if values.shape == (len(names), nrows) and values.shape != (nrows, len(names)):
        values = values.T
    if values.shape != (nrows, len(names)):
        raise FileFormatError(
            f"{path}: column block {', '.join(names)} has shape {values.shape}, expected ({nrows}, {len(names)})"
        )
    return {n: values[:, i] for i, n in enumerate(names)}
