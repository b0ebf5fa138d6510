"""A compact record stream: the records of a spool file as three buffers.

``data`` holds every record's bytes back to back, ``ops`` one CCW opcode per
record and ``ends`` the cumulative end offset of each record in ``data`` --
exactly the arrays the C page packer reads and the unpacker fills, so records
cross the C boundary without one Python object per record.
"""

from __future__ import annotations

from array import array
from typing import Iterable, Iterator

from ..errors import InvalidArgumentError

BLANK = 0x40
MAX_DATA = 0xFFFFFFFF      # end offsets are 32-bit
NOP = 0x03


def is_immediate(op: int, data: bytes) -> bool:
    """True for an immediate CCW: no data and a control command (``op & 3 == 3``)."""
    return not data and op & 3 == 3


def is_data_record(op: int, data: bytes) -> bool:
    """True for a record vmur receives as data: not a NOP, not an immediate CCW;
    a data record of 0 bytes counts (vmur pads it like any other)."""
    return op != NOP and not is_immediate(op, data)


def _ends_array(values: Iterable[int] = ()) -> array[int]:
    return array("I", values)


class Records:
    """Records as ``(ccw_opcode, data)`` pairs, stored in three buffers."""

    __slots__ = ("data", "ops", "ends")

    def __init__(self, data: bytes = b"", ops: bytes = b"", ends: array[int] | None = None
                 ) -> None:
        self.data = bytes(data)
        self.ops = bytes(ops)
        self.ends = ends if ends is not None else _ends_array()
        if len(self.ops) != len(self.ends):
            raise InvalidArgumentError("records: opcodes and end offsets differ in number")
        if len(self.ends) and self.ends[-1] != len(self.data):
            raise InvalidArgumentError("records: end offsets do not cover the data")

    @classmethod
    def from_iter(cls, records: Iterable[tuple[int, bytes]]) -> Records:
        """Build from ``(opcode, data)`` pairs; trailing blanks go as CP removes them
        (a blank-only record keeps one blank)."""
        if isinstance(records, Records):
            return records
        ops = bytearray()
        parts = []
        ends = _ends_array()
        total = 0
        for i, rec in enumerate(records):
            try:
                op, data = rec
                data = bytes(data)
                ops.append(op)
            except (TypeError, ValueError):
                raise InvalidArgumentError(
                    f"records: record {i} is not a (ccw_opcode 0-255, bytes) pair"
                ) from None
            if len(data) > 1 and data[-1] == BLANK:
                data = data.rstrip(b"\x40") or b"\x40"
            parts.append(data)
            total += len(data)
            if total > MAX_DATA:
                raise InvalidArgumentError(f"records: more than {MAX_DATA} bytes of data")
            ends.append(total)
        return cls(b"".join(parts), bytes(ops), ends)

    @classmethod
    def concat(cls, blocks: Iterable[Records]) -> Records:
        """One stream of several blocks (end offsets rebased in C)."""
        from .._native import ffi, lib

        blocks = list(blocks)
        if len(blocks) == 1:
            return blocks[0]
        total = sum(len(b.data) for b in blocks)
        if total > MAX_DATA:
            raise InvalidArgumentError(f"records: {total} bytes of data, at most {MAX_DATA}")
        ends = _ends_array()
        for b in blocks:
            ends.extend(b.ends)
        view = ffi.from_buffer("uint32_t[]", ends, require_writable=True)
        start = base = 0
        for b in blocks:
            if base and len(b.ends):
                lib.spk_spool_rebase(view + start, len(b.ends), base)
            start += len(b.ends)
            base += len(b.data)
        ffi.release(view)
        return cls(b"".join(b.data for b in blocks), b"".join(b.ops for b in blocks), ends)

    def __len__(self) -> int:
        return len(self.ops)

    def __getitem__(self, i: int) -> tuple[int, bytes]:
        n = len(self.ops)
        if i < 0:
            i += n
        if not 0 <= i < n:
            raise IndexError(i)
        start = self.ends[i - 1] if i else 0
        return self.ops[i], self.data[start:self.ends[i]]

    def __iter__(self) -> Iterator[tuple[int, bytes]]:
        data, start = self.data, 0
        for op, end in zip(self.ops, self.ends):
            yield op, data[start:end]
            start = end

    def head(self, n: int) -> Records:
        """The first n records."""
        n = min(n, len(self))
        end = self.ends[n - 1] if n else 0
        return Records(self.data[:end], self.ops[:n], self.ends[:n])

    def measure(self) -> tuple[int, int]:
        """(pages the records need with the tag, longest record) -- one C call."""
        from .._native import check, ffi, lib, new_err

        err = new_err()
        maxlen = ffi.new("uint32_t *")
        npages = check(lib.spk_spool_measure(
            ffi.from_buffer(self.data), len(self.data), ffi.from_buffer(self.ops),
            ffi.from_buffer("uint32_t[]", self.ends), len(self), maxlen, err), err)
        return npages, maxlen[0]

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Records):
            return NotImplemented
        return self.ops == other.ops and self.ends == other.ends and self.data == other.data

    def __repr__(self) -> str:
        return f"<Records {len(self)} records, {len(self.data)} bytes>"
