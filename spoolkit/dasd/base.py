"""What every CKD image kind shares: geometry, TRACKREAD / TRACKWRITE, scans.

Subclasses (plain :mod:`.ckd`, compressed :mod:`.cckd`) implement only
``_read_image(trk)``, ``_write_image(trk, image)`` and optionally ``_scan``.
"""

from __future__ import annotations

import os

from .._native import check, ffi, lib, new_err
from ..errors import AddressError, InvalidArgumentError, ReadOnlyError
from ..geometry import CKDDevice, Fields, ckd_devices, lookup_ckd
from ..lazy import attributes
from ..lifetime import Finalizing
from .track import OVERFLOW, Track, validate_image

TYPE_CHECKING = False  # typing costs every command's start
if TYPE_CHECKING:
    from collections.abc import Iterator
    from typing import Optional, Union

    from .._spoolkit import spk_scan_stats
    from ..jsonvalue import JSONDict

    TrackLike = Union[Track, bytes, bytearray, memoryview]
else:
    def _typing_names() -> dict[str, object]:
        from typing import Union

        return {"TrackLike": Union[Track, bytes, bytearray, memoryview]}

    __getattr__ = attributes(__name__, ("TrackLike",), _typing_names, globals())


class ScanStats(Fields):
    """What a full scan of a volume found."""

    _fields = ("tracks", "records", "eof_records", "key_bytes", "data_bytes", "image_bytes")
    __match_args__ = _fields

    tracks: int
    records: int
    eof_records: int
    key_bytes: int
    data_bytes: int
    image_bytes: int

    def __init__(self, tracks: int = 0, records: int = 0, eof_records: int = 0,
                 key_bytes: int = 0, data_bytes: int = 0, image_bytes: int = 0) -> None:
        self._store(tracks, records, eof_records, key_bytes, data_bytes, image_bytes)

    def add(self, c: spk_scan_stats) -> None:
        self.tracks += c.tracks
        self.records += c.records
        self.eof_records += c.eof_records
        self.key_bytes += c.key_bytes
        self.data_bytes += c.data_bytes
        self.image_bytes += c.image_bytes

    def to_dict(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in self._fields}


def model_for(devt: int, cylinders: int) -> CKDDevice:
    """The model Hercules would pick for a volume of this size, preferring the
    dashed name ("3390-1") over the bare one ("3390") for the same row."""
    row = lookup_ckd(devt=devt, cylinders=cylinders)
    if "-" not in row.name:
        for other in ckd_devices():
            if (other.devt == row.devt and "-" in other.name
                    and other.cylinders == row.cylinders
                    and other.alt_cylinders == row.alt_cylinders):
                return other
    return row


class DasdImage(Finalizing):
    """A CKD disk image opened with :func:`spoolkit.open_dasd`.

    An image opened ``"r+"`` and never closed is closed at garbage
    collection or interpreter exit (with a ``ResourceWarning``), as Python's
    files are."""

    kind = "CKD"

    def __init__(self, path: Union[str, os.PathLike[str]], mode: str, device: CKDDevice,
                 cylinders: int, heads: int, track_size: int) -> None:
        if mode not in ("r", "r+"):
            raise InvalidArgumentError(f"mode must be 'r' or 'r+', not {mode!r}")
        self.path = os.fspath(path)
        self.mode = mode
        self.device = device
        self.cylinders = cylinders
        self.heads = heads
        self.track_size = track_size
        self.closed = False
        self._volser: Optional[str] = None
        self._volser_read = False

    # -- identity --------------------------------------------------------
    @property
    def devtype(self) -> str:
        """Device type, e.g. ``"3390"``."""
        return self.device.devtype

    @property
    def model(self) -> str:
        """Model name from Hercules' table for this size, e.g. ``"3390-3"``."""
        return self.device.name

    @property
    def total_tracks(self) -> int:
        return self.cylinders * self.heads

    @property
    def track_flags(self) -> int:
        """Parser flags: the CC high bit is the overflow flag below 32768 cylinders."""
        return OVERFLOW if self.cylinders < 32768 else 0

    @property
    def volser(self) -> Optional[str]:
        """Volume serial from the VOL1 record on track 0, or None."""
        if not self._volser_read:
            self._volser = _find_volser(self.read_track(0, 0))
            self._volser_read = True
        return self._volser

    def info(self) -> JSONDict:
        """A summary, as ``spoolkit dasd info`` prints it."""
        return {
            "path": self.path,
            "format": self.kind,
            "devtype": self.devtype,
            "model": self.model,
            "cylinders": self.cylinders,
            "heads": self.heads,
            "tracks": self.total_tracks,
            "track_size": self.track_size,
            "volser": self.volser,
        }

    # -- addressing ------------------------------------------------------
    def _trk(self, cyl: int, head: int) -> int:
        if not (0 <= cyl < self.cylinders and 0 <= head < self.heads):
            raise AddressError(
                f"cylinder {cyl} head {head} is outside the volume "
                f"({self.cylinders} cylinders of {self.heads} heads)",
                path=self.path, track=(cyl, head))
        return cyl * self.heads + head

    def _check_open(self) -> None:
        if self.closed:
            raise InvalidArgumentError("I/O on a closed image", path=self.path)

    # -- TRACKREAD -------------------------------------------------------
    def read_track(self, cyl: int, head: int) -> Track:
        """Read one track: a :class:`Track` from HA through EOT."""
        self._check_open()
        trk = self._trk(cyl, head)
        raw = self._read_image(trk)
        return Track(raw, cyl, head, overflow=self.cylinders < 32768,
                     where={"path": self.path, "track": (cyl, head)})

    def tracks(self, first_cyl: int = 0, last_cyl: Optional[int] = None) -> Iterator[Track]:
        """Iterate the tracks of cylinders ``first_cyl..last_cyl`` in order."""
        last = self.cylinders - 1 if last_cyl is None else last_cyl
        self._trk(first_cyl, 0)
        self._trk(last, 0)
        for cyl in range(first_cyl, last + 1):
            for head in range(self.heads):
                yield self.read_track(cyl, head)

    def scan(self, first_cyl: int = 0, last_cyl: Optional[int] = None) -> ScanStats:
        """Parse every record of the given cylinders in C; returns counts only."""
        self._check_open()
        last = self.cylinders - 1 if last_cyl is None else last_cyl
        self._trk(first_cyl, 0)
        self._trk(last, 0)
        stats = ScanStats()
        self._scan(first_cyl * self.heads, (last + 1) * self.heads, stats)
        return stats

    def _scan(self, first: int, stop: int, stats: ScanStats) -> None:
        # generic path: one C parse per track
        info = ffi.new("spk_track_info *")
        err = new_err()
        flags = self.track_flags
        for trk in range(first, stop):
            cyl, head = divmod(trk, self.heads)
            raw = self._read_image(trk)
            check(lib.spk_track_parse(ffi.from_buffer(raw), len(raw), cyl, head, flags,
                                      ffi.NULL, 0, info, err), err, path=self.path,
                  track=(cyl, head))
            stats.tracks += 1
            stats.records += info.nrecs
            stats.eof_records += info.eof_records
            stats.key_bytes += info.key_bytes
            stats.data_bytes += info.data_bytes
            stats.image_bytes += info.length

    # -- TRACKWRITE ------------------------------------------------------
    def validate_track(self, cyl: int, head: int, track: TrackLike) -> bytes:
        """Check a track image for (cyl, head): structure and real capacity.

        Returns the image bytes (HA through EOT) ready to store."""
        image = track.image if isinstance(track, Track) else bytes(track)
        n = validate_image(self.device, self.cylinders, self.track_size, cyl, head, image,
                           path=self.path)
        return image[:n]

    def write_track(self, cyl: int, head: int, track: TrackLike) -> None:
        """TRACKWRITE: validate ``track`` (a :class:`Track` or raw image bytes),
        then replace track (cyl, head) with it."""
        self._check_open()
        if self.mode != "r+":
            raise ReadOnlyError("image is open read-only", path=self.path, track=(cyl, head))
        trk = self._trk(cyl, head)
        image = self.validate_track(cyl, head, track)
        self._write_image(trk, image)
        if trk == 0:
            self._volser_read = False

    # -- to implement ----------------------------------------------------
    def _read_image(self, trk: int) -> bytes:  # pragma: no cover - abstract
        raise NotImplementedError

    def _write_image(self, trk: int, image: bytes) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    # -- lifetime --------------------------------------------------------
    def flush(self) -> None:
        """Write buffered metadata to disk (no-op for plain images)."""

    def close(self) -> None:
        """Write what is pending, make the headers consistent and release the
        files and their locks.  Idempotent; the image is closed even when
        finishing fails (the error propagates)."""
        if getattr(self, "closed", True):
            return
        try:
            self._close()
        finally:
            self.closed = True
            self._forget_on_exit()

    def _close(self) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def __enter__(self) -> DasdImage:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return "<%s %s %s %d cyl volser=%s>" % (
            type(self).__name__, self.path, self.model, self.cylinders,
            self._volser if self._volser_read else "?")


EBCDIC_VOL1 = "VOL1".encode("cp037")


def _find_volser(track: Track) -> Optional[str]:
    for rec in track.records:
        if rec.kl == 4 and bytes(rec.key) == EBCDIC_VOL1 and rec.dl >= 10:
            return bytes(rec.data[4:10]).decode("cp037").rstrip()
    return None
