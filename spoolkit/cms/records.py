"""The records of a CMS file: one buffer of their bytes and their end offsets.

F files hold LRECL-byte records back to back across their data blocks; V
files a 2-byte length before each record.  Both directions run in C, and so
do the text forms (a record per line through an EBCDIC code page), so a file
crosses the C boundary without a Python object per record.
"""

from __future__ import annotations

from array import array
from typing import Any, Iterable, Iterator, Optional, Union, overload

from .. import ebcdic
from .._native import check, ffi, lib, new_err
from ..errors import InvalidArgumentError

Buffer = Union[bytes, bytearray, memoryview]
BLANK = 0x40
NEWLINE = 0x25            # EBCDIC LF: "\n" in code pages 037 and 1047
CR = 0x0D


class CMSRecords:
    """A file's records (a sequence of ``bytes``) kept as ``data`` + ``ends``."""

    __slots__ = ("data", "ends")

    def __init__(self, data: bytes = b"", ends: Optional[array[int]] = None) -> None:
        self.data = data
        self.ends = ends if ends is not None else array("I")
        if len(self.ends) and self.ends[-1] != len(data):
            raise InvalidArgumentError("records: end offsets do not cover the data")

    @classmethod
    def from_iter(cls, records: Iterable[Buffer]) -> CMSRecords:
        """From any iterable of byte strings (a CMSRecords is returned as is)."""
        if isinstance(records, CMSRecords):
            return records
        parts = [bytes(r) for r in records]
        ends = array("I")
        total = 0
        for p in parts:
            total += len(p)
            if total > 0xFFFFFFFF:
                raise InvalidArgumentError("records: more than 4 GiB of data")
            ends.append(total)
        return cls(b"".join(parts), ends)

    def __len__(self) -> int:
        return len(self.ends)

    @overload
    def __getitem__(self, i: int) -> bytes: ...

    @overload
    def __getitem__(self, i: slice) -> list[bytes]: ...

    def __getitem__(self, i: Union[int, slice]) -> Union[bytes, list[bytes]]:
        if isinstance(i, slice):
            return [self[k] for k in range(*i.indices(len(self)))]
        n = len(self.ends)
        if i < 0:
            i += n
        if not 0 <= i < n:
            raise IndexError(i)
        start = self.ends[i - 1] if i else 0
        return self.data[start:self.ends[i]]

    def __iter__(self) -> Iterator[bytes]:
        data, start = self.data, 0
        for end in self.ends:
            yield data[start:end]
            start = end

    def __eq__(self, other: object) -> bool:
        if isinstance(other, CMSRecords):
            return self.ends == other.ends and self.data == other.data
        if isinstance(other, (list, tuple)):
            return list(self) == [bytes(x) for x in other]
        return NotImplemented

    def __repr__(self) -> str:
        return f"<CMSRecords {len(self)} records, {len(self.data)} bytes>"

    @property
    def longest(self) -> int:
        """The longest record (0 when there are none)."""
        if not len(self.ends):
            return 0
        lens = array("I", self.ends)
        lens[1:] = array("I", (b - a for a, b in zip(self.ends, self.ends[1:])))
        return max(lens)

    # -- text ---------------------------------------------------------------------
    def to_text_bytes(self, strip: bool = False) -> bytes:
        """The records as EBCDIC lines (each ended by X'25'), trailing blanks
        dropped when ``strip``."""
        out = bytearray(len(self.data) + len(self))
        err = new_err()
        n = check(lib.spk_cms_join(self.data, len(self.data),
                                   ffi.from_buffer("uint32_t[]", self.ends), len(self),
                                   1 if strip else 0, BLANK, NEWLINE, ffi.from_buffer(out),
                                   len(out), err), err)
        return bytes(out[:n])

    def to_text(self, codepage: str = "037", strip: bool = False) -> str:
        """The records as lines of text through an EBCDIC code page."""
        return ebcdic.decode(self.to_text_bytes(strip), codepage)

    @classmethod
    def from_text(cls, text: Union[str, bytes], *, recfm: str = "V", lrecl: int = 80,
                  codepage: str = "037") -> CMSRecords:
        """Records from lines of text (``str``, or EBCDIC bytes already in the
        code page): F lines are padded with blanks to ``lrecl`` (a longer line
        is refused), V lines kept (an empty line becomes one blank, as CMS
        keeps no empty record)."""
        data = ebcdic.encode(text, codepage) if isinstance(text, str) else bytes(text)
        if data.endswith(bytes([NEWLINE])):
            data = data[:-1]
        fixed = recfm == "F"
        if fixed and not 1 <= lrecl <= 65535:
            raise InvalidArgumentError(f"LRECL {lrecl}: 1..65535")
        lines = data.count(NEWLINE) + 1 if data else 0
        cap = len(data) + lines if not fixed else lines * lrecl
        out = bytearray(max(cap, 1))
        ends = array("I", [0]) * max(lines, 1)
        err = new_err()
        n = check(lib.spk_cms_lines(data, len(data), NEWLINE, CR, 1 if fixed else 0, lrecl,
                                    BLANK, ffi.from_buffer(out), len(out),
                                    ffi.from_buffer("uint32_t[]", ends), len(ends), err), err)
        del ends[n:]
        size = ends[-1] if n else 0
        return cls(bytes(out[:size]), ends)


def u32(values: Optional[array[int]]) -> Any:
    """An ``array('I')`` as the C core's ``uint32_t *`` (None: NULL)."""
    if values is None or not len(values):
        return ffi.NULL
    return ffi.from_buffer("uint32_t[]", values)


def u64(values: Optional[array[int]]) -> Any:
    """An ``array('Q')`` as the C core's ``uint64_t *`` (None or empty: NULL)."""
    if values is None or not len(values):
        return ffi.NULL
    return ffi.from_buffer("uint64_t[]", values)


def unpack(data: Buffer, recfm: str, lrecl: int, nrecs: int,
           path: Optional[str] = None) -> CMSRecords:
    """Decode ``nrecs`` records from a file's data blocks."""
    var = recfm == "V"
    if not var and 0 < lrecl and nrecs * lrecl <= min(len(data), 0xFFFFFFFF):
        # F records are the blocks' first nrecs * lrecl bytes as they are
        need = nrecs * lrecl
        return CMSRecords(bytes(memoryview(data)[:need]), array("I", range(lrecl, need + 1,
                                                                           lrecl)))
    out = bytearray(max(len(data), 1))
    ends = array("I", [0]) * nrecs
    err = new_err()
    n = check(lib.spk_cms_unpack(ffi.from_buffer(data), len(data), 1 if var else 0, lrecl, nrecs,
                                 ffi.from_buffer(out), len(out), u32(ends), err), err, path=path)
    return CMSRecords(bytes(memoryview(out)[:n]), ends)


def pack(records: CMSRecords, recfm: str, lrecl: int, blksize: int,
         per_block: bool = False) -> tuple[bytes, Optional[array[int]], Optional[array[int]]]:
    """Encode records into whole blocks; with ``per_block`` (EDF V files) also
    each block's first-record displacement and highest record number."""
    var = recfm == "V"
    size = len(records.data) + (2 * len(records) if var else 0)
    size = max(-(-size // blksize) * blksize, blksize)
    out = bytearray(size)
    nblk = size // blksize
    disp = array("I", [0]) * nblk if per_block else None
    hirec = array("I", [0]) * nblk if per_block else None
    err = new_err()
    n = check(lib.spk_cms_pack(records.data, len(records.data), u32(records.ends), len(records),
                               1 if var else 0, lrecl, blksize, ffi.from_buffer(out), len(out),
                               u32(disp), u32(hirec), nblk, err), err)
    nb = n // blksize
    if disp is not None and hirec is not None:
        del disp[nb:]
        del hirec[nb:]
    return bytes(out[:n]), disp, hirec


__all__ = ["CMSRecords", "pack", "u32", "u64", "unpack"]
