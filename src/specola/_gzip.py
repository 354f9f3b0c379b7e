"""Checked decompression of gzip files, with no heavy import (the readers and the HASP-compatible mode share it)."""

from __future__ import annotations

import functools
import zlib
from pathlib import Path

from .errors import FileFormatError

__all__ = ["MAX_GUNZIP_BYTES", "MAX_GUNZIP_RATIO", "gunzip", "head_bytes", "is_gzip", "release_gunzipped"]

_GZIP_MAGIC = b"\x1f\x8b"
#: A gzip stream may expand to at most this many bytes ...
MAX_GUNZIP_BYTES = 4 * 2**30
#: ... and, beyond 32 MiB, to at most this many times its compressed size (real spectra stay far below; a run of
#: zeros reaches ~1000).
MAX_GUNZIP_RATIO = 100
_CHUNK = 2**20


def is_gzip(path: Path) -> bool:
    """True when the file starts with the gzip magic bytes."""
    with open(path, "rb") as fh:
        return fh.read(2) == _GZIP_MAGIC


def head_bytes(path: Path, n: int = 1024) -> bytes:
    """First ``n`` bytes of a file, gunzipping only as much of the stream as that needs (for sniffing)."""
    with open(path, "rb") as fh:
        raw = fh.read(max(n, 64 * 1024))
    if not raw.startswith(_GZIP_MAGIC):
        return raw[:n]
    try:
        return zlib.decompressobj(wbits=31).decompress(raw, n)
    except zlib.error:
        return b""


def gunzip(path: Path) -> bytes:
    """The whole decompressed content of a gzip file, read to its trailer (CRC and length checked).

    Raises
    ------
    FileFormatError
        Truncated or corrupt stream, or one that expands beyond :data:`MAX_GUNZIP_BYTES` or
        :data:`MAX_GUNZIP_RATIO` times its size (a decompression bomb); refused as soon as the limit is passed.
    """
    stat = Path(path).stat()
    return _gunzip(str(path), stat.st_size, stat.st_mtime_ns)


def release_gunzipped() -> None:
    """Forget the decompressed copy :func:`gunzip` keeps of the last file (done after every read)."""
    _gunzip.cache_clear()


@functools.lru_cache(maxsize=1)  # sniffers and the reader share one decompression of the file being read
def _gunzip(path: str, size: int, _mtime: int) -> bytes:
    limit = min(MAX_GUNZIP_BYTES, max(32 * 2**20, MAX_GUNZIP_RATIO * size))
    out: list[bytes] = []
    total = 0
    with open(path, "rb") as fh:
        pending = fh.read(_CHUNK)
        while pending:  # one gzip member per pass (concatenated members are allowed)
            d = zlib.decompressobj(wbits=31)
            while not d.eof:
                if not pending:
                    pending = fh.read(_CHUNK)
                try:
                    chunk = d.decompress(pending, _CHUNK)
                except zlib.error as exc:
                    raise FileFormatError(f"{path}: corrupt gzip stream ({exc})") from None
                if not chunk and not pending and not d.eof:
                    raise FileFormatError(f"{path}: truncated gzip stream (ends before its trailer)")
                pending = d.unconsumed_tail
                total += len(chunk)
                if total > limit:
                    raise FileFormatError(
                        f"{path}: gzip stream expands beyond {limit / 2**20:.0f} MiB from {size / 2**20:.2f} MiB "
                        "(a decompression bomb?); refusing it"
                    )
                out.append(chunk)
            pending = d.unused_data.lstrip(b"\x00") or fh.read(_CHUNK)
            if pending and not pending.startswith(_GZIP_MAGIC[: len(pending)]):
                raise FileFormatError(f"{path}: trailing garbage after the gzip stream")
    return b"".join(out)
