"""Whole-buffer compression as the formats use it: zlib streams (RFC 1950,
through libdeflate) and bzip2 (libbz2), both done in C without the GIL."""

from __future__ import annotations

from ._native import check, ffi, lib, new_err
from .errors import InvalidArgumentError
from .lazy import attributes

TYPE_CHECKING = False  # typing costs every command's start
if TYPE_CHECKING:
    from typing import Optional, Union

NONE = lib.SPK_COMP_NONE
ZLIB = lib.SPK_COMP_ZLIB
BZIP2 = lib.SPK_COMP_BZIP2

METHODS = {None: NONE, "none": NONE, "zlib": ZLIB, "bzip2": BZIP2}

#: the level each method gets when none is given (-1), each the fastest
#: whose output on real content is no larger than the Hercules tool's
#: default (docs/performance.md): disks' tracks against ``dasdcopy -z``
#: (zlib 6), tapes' blocks against ``hetupd -z`` (zlib 4); bzip2 output is
#: the same at every level for inputs under 100 KB (tracks, HET chunks)
DISK_LEVELS = {ZLIB: lib.SPK_ZLIB_DEFAULT_LEVEL, BZIP2: lib.SPK_BZIP2_DEFAULT_LEVEL}
TAPE_LEVELS = {ZLIB: 5, BZIP2: 1}

if TYPE_CHECKING:
    Buffer = Union[bytes, bytearray, memoryview]
else:
    def _typing_names() -> dict[str, object]:
        from typing import Union

        return {"Buffer": Union[bytes, bytearray, memoryview]}

    __getattr__ = attributes(__name__, ("Buffer",), _typing_names, globals())


def tape_level(method: int, level: int = -1) -> int:
    """``level``, or the tape default of ``method`` for -1 (or 0)."""
    return level if level > 0 else TAPE_LEVELS.get(method, level)


def method_code(name: Optional[str]) -> int:
    """``None``/"none" -> 0, "zlib" -> 1, "bzip2" -> 2."""
    try:
        return METHODS[name]
    except KeyError:
        raise InvalidArgumentError(f"unknown compression {name!r}: use zlib, bzip2 or none") \
            from None


def compress(data: Buffer, method: int = ZLIB, level: int = -1,
             limit: Optional[int] = None) -> Optional[bytes]:
    """Compress ``data``; None when the result would exceed ``limit`` bytes
    (default: the input size, i.e. "keep only if smaller")."""
    cap = len(data) if limit is None else limit
    out = bytearray(max(cap, 1))
    err = new_err()
    rc = lib.spk_compress(method, level, ffi.from_buffer(data), len(data),
                          ffi.from_buffer(out), cap, err)
    if rc == lib.SPK_EBUFSIZE:
        return None
    n = check(rc, err)
    return bytes(out[:n])


def decompress(data: Buffer, method: int, limit: int) -> bytes:
    """Decompress a whole stream; raises CompressionError past ``limit`` bytes."""
    out = bytearray(limit)
    err = new_err()
    n = check(lib.spk_decompress(method, ffi.from_buffer(data), len(data),
                                 ffi.from_buffer(out), limit, err), err)
    del out[n:]
    return bytes(out)
