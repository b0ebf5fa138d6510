"""CRC-32C (the C core's, SSE4.2 when present) and the CRC-sealed blocks of
spoolkit's own tape layouts (spool archives, volume dumps): an EBCDIC magic,
a version byte, the fields, and a trailing CRC-32C of everything before it.
"""

from __future__ import annotations

import struct
from collections.abc import Mapping

from ._native import ffi, lib
from .compress import Buffer
from .errors import ChecksumError, FormatError, TruncatedError, Where


def crc32c(data: Buffer, crc: int = 0) -> int:
    """CRC-32C (Castagnoli) of ``data``, continuing from ``crc``."""
    return int(lib.spk_crc32c(crc, ffi.from_buffer(data), len(data)))


def seal(buf: bytearray) -> bytearray:
    """Append the CRC-32C of ``buf``."""
    buf += struct.pack(">I", crc32c(buf))
    return buf


def check_block(raw: Buffer, kind: str, *, minimum: int, where: Where,
                magics: Mapping[bytes, str], version: int = 1) -> memoryview:
    """Check length, magic (``magics`` maps EBCDIC magics to kinds), version
    and trailing CRC-32C of a ``kind`` block; return it as a view."""
    mv = memoryview(raw).cast("B")
    if len(mv) < minimum:
        raise TruncatedError(f"{kind} block of {len(mv)} bytes is shorter than {minimum}",
                             **where)
    magic = bytes(mv[:4])
    if magics.get(magic) != kind:
        found = magics.get(magic, magic.hex())
        raise FormatError(f"expected a {kind} block, found {found}", **where)
    if mv[4] != version:
        raise FormatError(f"{kind} block of version {mv[4]}, only {version} is known", **where)
    want = struct.unpack_from(">I", mv, len(mv) - 4)[0]
    got = crc32c(mv[:-4])
    if want != got:
        raise ChecksumError(f"{kind} block CRC-32C is {got:08X}, the block says {want:08X}",
                            **where)
    return mv


__all__ = ["crc32c", "seal", "check_block"]
