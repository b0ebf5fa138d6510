"""Records out of blocks: RECFM F/FB, V/VB, VBS (spanned) and U."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from ..errors import FormatError, InvalidArgumentError


def deblock(blocks: Iterable[bytes], recfm: str, lrecl: int = 0) -> Iterator[bytes]:
    """Yield the logical records of ``blocks`` for record format ``recfm``."""
    rec = recfm.upper().rstrip("AM")
    if rec.startswith("U") or not rec:
        for b in blocks:
            yield bytes(b)
    elif rec.startswith("F"):
        if lrecl <= 0:
            raise InvalidArgumentError("RECFM F needs a record length")
        for n, b in enumerate(blocks, 1):
            if len(b) % lrecl:
                raise FormatError(f"block {n} of {len(b)} bytes is not a multiple of "
                                  f"LRECL {lrecl}", block=n)
            for i in range(0, len(b), lrecl):
                yield bytes(b[i:i + lrecl])
    elif rec.startswith("V"):
        yield from _variable(blocks, spanned="S" in rec)
    else:
        raise InvalidArgumentError(f"unknown record format {recfm!r}")


def _variable(blocks: Iterable[bytes], spanned: bool) -> Iterator[bytes]:
    pending = bytearray()
    in_record = False
    for n, b in enumerate(blocks, 1):
        if len(b) < 4:
            raise FormatError(f"block {n} is too short for a block descriptor", block=n)
        bdw = int.from_bytes(b[0:2], "big")
        if bdw & 0x8000:  # extended (large) BDW
            bdw = int.from_bytes(b[0:4], "big") & 0x7FFFFFFF
        if bdw != len(b):
            raise FormatError(f"block {n}: descriptor says {bdw} bytes, block has {len(b)}",
                              block=n)
        off = 4
        while off < bdw:
            if off + 4 > bdw:
                raise FormatError(f"block {n}: record descriptor at {off} is cut off", block=n)
            length = int.from_bytes(b[off:off + 2], "big")
            seg = b[off + 2]
            if length < 4 or off + length > bdw:
                raise FormatError(f"block {n}: record of {length} bytes at {off} does not fit",
                                  block=n, offset=off)
            data = b[off + 4:off + length]
            off += length
            if not spanned or seg == 0:
                if in_record:
                    raise FormatError(f"block {n}: spanned record left incomplete", block=n)
                yield bytes(data)
            elif seg == 1:  # first segment
                if in_record:
                    raise FormatError(f"block {n}: new spanned record before the last ended",
                                      block=n)
                pending[:] = data
                in_record = True
            elif seg in (2, 3):  # last / middle
                if not in_record:
                    raise FormatError(f"block {n}: segment without a first segment", block=n)
                pending += data
                if seg == 2:
                    in_record = False
                    yield bytes(pending)
            else:
                raise FormatError(f"block {n}: bad segment code {seg}", block=n)
    if in_record:
        raise FormatError("spanned record incomplete at the end of the data set")
