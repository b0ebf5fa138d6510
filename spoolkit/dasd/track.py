"""Track images: the Hercules / TRACKREAD layout HA, R0, records, EOT.

A :class:`Track` holds exactly the bytes from the 5-byte home address through
the 8-byte end-of-track marker.  Parsing happens in C, once per track; record
objects are made only when :attr:`Track.records` is asked for, and their key
and data are memoryviews into the image, never copies.
"""

from __future__ import annotations

from .._native import check, ffi, lib, new_err
from ..errors import InvalidArgumentError
from ..lazy import attributes

TYPE_CHECKING = False  # typing costs every command's start
if TYPE_CHECKING:
    from collections.abc import Iterable
    from typing import Optional, Union

    from typing_extensions import Unpack

    from ..errors import Where
    from ..geometry import CKDDevice

#: Flags for the C parser (see ``enum spk_track_flags`` in csrc/spoolkit.h)
OVERFLOW = lib.SPK_TRK_OVERFLOW
ANY_HA = lib.SPK_TRK_ANYHA
STRICT = lib.SPK_TRK_STRICT

EOT = b"\xff" * 8


class Record:
    """One count-key-data record of a track."""

    __slots__ = ("cyl", "head", "r", "key", "data", "overflow", "offset")

    def __init__(self, cyl: int, head: int, r: int, key: memoryview, data: memoryview,
                 overflow: bool = False, offset: int = 0) -> None:
        self.cyl = cyl
        self.head = head
        self.r = r
        self.key = key
        self.data = data
        self.overflow = overflow
        self.offset = offset

    @property
    def kl(self) -> int:
        return len(self.key)

    @property
    def dl(self) -> int:
        return len(self.data)

    @property
    def is_eof(self) -> bool:
        """An end-of-file record: no key, no data."""
        return not self.key and not self.data

    def __repr__(self) -> str:
        return "Record(cyl=%d, head=%d, r=%d, kl=%d, dl=%d%s)" % (
            self.cyl, self.head, self.r, self.kl, self.dl, ", overflow" if self.overflow else "")


if TYPE_CHECKING:
    BytesLike = Union[bytes, bytearray, memoryview]
    #: a record for :meth:`Track.from_records`: ``(r, key, data)``, ``(cyl, head,
    #: r, key, data)`` (a key or data of None is empty) or a :class:`Record`
    RecordSpec = Union[Record, tuple[int, Optional[BytesLike], Optional[BytesLike]],
                       tuple[int, int, int, Optional[BytesLike], Optional[BytesLike]]]
else:
    def _typing_names() -> dict[str, object]:
        from typing import Optional, Union

        b = Union[bytes, bytearray, memoryview]
        return {"BytesLike": b,
                "RecordSpec": Union[Record, tuple[int, Optional[b], Optional[b]],
                                    tuple[int, int, int, Optional[b], Optional[b]]]}

    __getattr__ = attributes(__name__, ("BytesLike", "RecordSpec"), _typing_names, globals())


def _check_cchh(cyl: int, head: int, what: str = "track") -> None:
    # CC and HH are 16-bit in the home address and every count field
    if not (0 <= cyl <= 0xFFFF and 0 <= head <= 0xFFFF):
        raise InvalidArgumentError(f"{what}: cylinder {cyl} head {head} outside 0..65535")


class Track:
    """A parsed track image.

    ``Track(image, cyl, head)`` checks the image (bounds of every count, key
    and data; home address equal to ``cyl``/``head`` unless they are None;
    an end-of-track marker) and keeps the bytes up to and including EOT.
    Bytes after EOT are dropped, never interpreted.
    """

    __slots__ = ("image", "cyl", "head", "nrecs", "key_bytes", "data_bytes", "_flags",
                 "_records")

    def __init__(self, image: Union[bytes, bytearray, memoryview], cyl: Optional[int] = None,
                 head: Optional[int] = None, *, overflow: bool = True,
                 where: Optional[Where] = None) -> None:
        flags = OVERFLOW if overflow else 0
        if cyl is None or head is None:
            flags |= ANY_HA
        else:
            _check_cchh(cyl, head)
        info = ffi.new("spk_track_info *")
        err = new_err()
        buf = ffi.from_buffer(image)
        rc = lib.spk_track_parse(buf, len(buf), cyl or 0, head or 0, flags, ffi.NULL, 0,
                                 info, err)
        if rc < 0:
            w: Where = {**where} if where else {}
            if cyl is not None and head is not None:
                w.setdefault("track", (cyl, head))
            check(rc, err, **w)
        n = info.length
        if isinstance(image, bytes) and len(image) == n:
            self.image = image
        else:
            self.image = bytes(memoryview(image)[:n])
        self.cyl = info.cyl
        self.head = info.head
        self.nrecs = info.nrecs
        self.key_bytes = info.key_bytes
        self.data_bytes = info.data_bytes
        self._flags = flags | ANY_HA
        self._records: Optional[list[Record]] = None

    # -- construction ----------------------------------------------------
    @classmethod
    def from_records(cls, cyl: int, head: int, records: Iterable[RecordSpec],
                     r0: Optional[bytes] = None) -> Track:
        """Build a track from ``(r, key, data)`` tuples (or ``(cyl, head, r, key,
        data)``, or :class:`Record` objects).  R0 gets 8 bytes ``r0`` (zeros
        by default); record CCHH defaults to the track's."""
        _check_cchh(cyl, head)
        specs = []
        keep = []
        size = 5 + 16 + 8
        for i, item in enumerate(records):
            key: Optional[BytesLike]
            data: Optional[BytesLike]
            if isinstance(item, Record):
                rc, rh, r, key, data, ovf = (item.cyl, item.head, item.r, item.key,
                                             item.data, item.overflow)
            else:
                if not isinstance(item, tuple):
                    item = tuple(item)      # a list or another iterable
                if len(item) == 3:
                    (r, key, data), rc, rh = item, cyl, head
                elif len(item) == 5:
                    rc, rh, r, key, data = item
                else:
                    raise InvalidArgumentError(
                        f"record {i + 1}: expected (r, key, data) or (cyl, head, r, key, data)")
                ovf = False
            key = b"" if key is None else key
            data = b"" if data is None else data
            _check_cchh(rc, rh, f"record {i + 1}")
            if not 0 <= r <= 255:
                raise InvalidArgumentError(f"record {i + 1}: record number {r} outside 0..255")
            if len(key) > 255:
                raise InvalidArgumentError(f"record {i + 1}: key of {len(key)} bytes (max 255)")
            if len(data) > 65535:
                raise InvalidArgumentError(f"record {i + 1}: data of {len(data)} bytes (max 65535)")
            kb = ffi.from_buffer(key) if key else ffi.NULL
            db = ffi.from_buffer(data) if data else ffi.NULL
            keep.append((kb, db))
            specs.append((rc, rh, r, len(key), len(data), 1 if ovf else 0, kb, db))
            size += 8 + len(key) + len(data)
        arr = ffi.new("spk_recspec[]", max(1, len(specs)))
        for i, (rc, rh, r, kl, dl, ov, kb, db) in enumerate(specs):
            s = arr[i]
            s.cyl, s.head, s.rec, s.kl, s.dl, s.overflow = rc, rh, r, kl, dl, ov
            s.key, s.data = kb, db
        if r0 is not None and len(r0) != 8:
            raise InvalidArgumentError("R0 data must be 8 bytes")
        out = bytearray(size)
        err = new_err()
        n = check(lib.spk_track_build(ffi.from_buffer(out), size, cyl, head,
                                      ffi.from_buffer(r0) if r0 else ffi.NULL,
                                      arr, len(specs), err), err, track=(cyl, head))
        return cls(bytes(out[:n]), cyl, head)

    @classmethod
    def null(cls, cyl: int, head: int, fmt: int = 1) -> Track:
        """A null track: fmt 0 (R0 + EOF record), 1 (R0 only), 2 (Linux 12 x 4 KiB)."""
        _check_cchh(cyl, head)
        out = bytearray(49277 + 64)
        err = new_err()
        n = check(lib.spk_track_null(ffi.from_buffer(out), len(out), cyl, head, fmt, err), err)
        return cls(bytes(out[:n]), cyl, head)

    # -- access ----------------------------------------------------------
    @property
    def records(self) -> list[Record]:
        """Records R1..Rn (R0 is :attr:`r0`), each with memoryview key and data."""
        if self._records is None:
            self._records = self._parse_records()[1:]
        return self._records

    @property
    def r0(self) -> Record:
        """Record 0 (normally 8 bytes of data)."""
        return self._parse_records()[0]

    def _parse_records(self) -> list[Record]:
        n = self.nrecs + 1
        arr = ffi.new("spk_record[]", n)
        err = new_err()
        check(lib.spk_track_parse(self.image, len(self.image), 0, 0, self._flags, arr, n,
                                  ffi.NULL, err), err, track=(self.cyl, self.head))
        view = memoryview(self.image)
        out = []
        for i in range(n):
            rec = arr[i]
            k = rec.offset + 8
            d = k + rec.kl
            out.append(Record(rec.cyl, rec.head, rec.rec, view[k:d], view[d:d + rec.dl],
                              bool(rec.flags & lib.SPK_REC_OVERFLOW), rec.offset))
        return out

    def __len__(self) -> int:
        return len(self.image)

    def __bytes__(self) -> bytes:
        return self.image

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Track):
            return self.image == other.image
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self.image)

    def __repr__(self) -> str:
        return "Track(cyl=%d, head=%d, records=%d, length=%d)" % (
            self.cyl, self.head, self.nrecs, len(self.image))


def validate_image(device: CKDDevice, cylinders: int, track_size: int, cyl: int, head: int,
                   image: Union[bytes, bytearray, memoryview], **where: Unpack[Where]) -> int:
    """Check a track image for track (cyl, head) of a ``cylinders``-cylinder
    ``device`` volume with ``track_size``-byte slots, as TRACKWRITE does.

    Rules (Hercules' ``cckd_validate`` plus the real device): home address
    (cyl, head); R0 with R 0, KL 0, DL 8; records R1..Rn with R != 0, in any
    order of record numbers; every count, key and data inside the image; an
    end-of-track marker; the records fit the real track (the device's
    capacity formula) and the image its slot.  Returns the image length (HA
    through EOT); raises FormatError / CapacityError / InvalidArgumentError
    naming ``where`` and the track."""
    where.setdefault("track", (cyl, head))
    err = new_err()
    info = ffi.new("spk_track_info *")
    flags = OVERFLOW if cylinders < 32768 else 0
    check(lib.spk_track_validate(ffi.from_buffer(image), len(image), cyl, head, flags,
                                 ffi.NULL if device._ptr is None else device._ptr, info, err),
          err, **where)
    if info.length > track_size:
        raise InvalidArgumentError(
            f"track image of {info.length} bytes exceeds the {track_size}-byte slot", **where)
    return int(info.length)
