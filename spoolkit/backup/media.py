"""Where an archive lives and how it is opened: a tape image path, a
minidisk extent of a volume (``vol.3390@100-199``) or an open tape-like
medium; and what a medium without an archive holds, in words."""

from __future__ import annotations

import os
from contextlib import AbstractContextManager
from dataclasses import dataclass
from types import TracebackType
from typing import Optional, Union

from ..dasd import OPENERS, open_dasd
from ..dasd.base import DasdImage
from ..dasd.image import require_ckd
from ..errors import FormatError, SpoolkitError
from ..tape.medium import TAPEMARK, TapeMedium, read_next
from .append import plan_append
from .minidisk import MinidiskTape
from .tapefile import open_archive_tape

PathLike = Union[str, "os.PathLike[str]"]
#: what names an archive: a path (``vol.3390@A-B`` for a minidisk extent), a
#: ``(path, (first_cyl, last_cyl))`` pair, an :class:`ArchiveRef`, or an open medium
ArchiveLike = Union[PathLike, tuple[PathLike, tuple[int, int]], "ArchiveRef", TapeMedium]

#: EBCDIC starts of IBM standard label blocks (VOL1, HDR1/2, EOF1/2, EOV1/2, UHL, UTL)
_LABELS = tuple(x.encode("cp037") for x in ("VOL", "HDR", "EOF", "EOV", "UHL", "UTL"))

#: what needs a CKD volume here (an FBA image has no cylinders)
_EXTENT = "an archive on minidisk cylinders (IMAGE@FIRST-LAST)"


class NotAnArchiveError(FormatError):
    """SCAN, VERIFY or LOAD was given a tape (or extent) without a spoolkit
    spool archive; the message says what it holds."""


@dataclass
class ArchiveRef:
    """An archive location: a tape image path, or a minidisk extent of a volume."""

    path: str
    extent: Optional[tuple[int, int]] = None
    format: Optional[str] = None
    tape: Optional[TapeMedium] = None   # an already open medium (used as is)

    @property
    def name(self) -> str:
        return self.path if self.extent is None else "%s[%d-%d]" % (self.path, *self.extent)


def as_ref(archive: ArchiveLike) -> ArchiveRef:
    """``path``, ``(path, (first_cyl, last_cyl))``, an :class:`ArchiveRef` or
    an open medium; a path ending ``@A-B`` (``vol.3390@100-199``) names a
    minidisk extent."""
    if isinstance(archive, ArchiveRef):
        return archive
    if isinstance(archive, tuple):
        lo, hi = archive[1]
        return ArchiveRef(os.fspath(archive[0]), (lo, hi))
    if isinstance(archive, (str, os.PathLike)):
        path = os.fspath(archive)
        base, at, rng = path.rpartition("@")
        if at and rng and rng.replace("-", "").isdigit() and base:
            lo_s, _, hi_s = rng.partition("-")
            return ArchiveRef(base, (int(lo_s), int(hi_s or lo_s)))
        return ArchiveRef(path)
    if hasattr(archive, "read_block"):
        name = getattr(archive, "path", None) or "<tape %x>" % id(archive)
        return ArchiveRef(str(name), tape=archive)
    raise TypeError(f"an archive is a path or an open tape, not {type(archive).__name__}")


def is_extent_pair(x: object) -> bool:
    """True for a ``(path, (first_cyl, last_cyl))`` archive reference."""
    return isinstance(x, tuple) and len(x) == 2 and isinstance(x[1], tuple)


class OpenedArchive:
    """Context manager yielding the open medium of an :class:`ArchiveRef`.

    Modes ``"r"``, ``"w"`` (a new archive) and ``"a"`` (an append, placed by
    :func:`~.append.plan_append`).  A tape image is opened by
    :func:`~.tapefile.open_archive_tape` (with the compression, level and
    overwrite given); a minidisk extent commits what was
    written only when the block ends normally."""

    def __init__(self, ref: ArchiveRef, mode: str, *, compress: Optional[str] = None,
                 level: Optional[int] = None, overwrite: bool = False) -> None:
        self.ref, self.mode = ref, mode
        self.compress, self.level, self.overwrite = compress, level, overwrite
        self._cm: Optional[AbstractContextManager[TapeMedium]] = None
        self._dev: Optional[DasdImage] = None
        self._mdisk: Optional[MinidiskTape] = None

    def __enter__(self) -> TapeMedium:
        ref = self.ref
        if ref.tape is not None:
            if self.mode == "a":
                start = plan_append(ref.tape, ref.name)[0]
                if ref.tape.tell() != start:   # (the block at start may be a torn one)
                    ref.tape.seek(start)
            return ref.tape
        if ref.extent is None:
            position = (lambda t: plan_append(t, ref.name)) if self.mode == "a" else None
            self._cm = open_archive_tape(ref.path, self.mode, format=ref.format,
                                         compress=self.compress, level=self.level,
                                         overwrite=self.overwrite, position=position)
            return self._cm.__enter__()
        opened = open_dasd(ref.path, "r" if self.mode == "r" else "r+")
        try:
            dev = self._dev = require_ckd(opened, _EXTENT)
            lo, hi = ref.extent
            mode = self.mode
            if mode == "a":
                try:
                    MinidiskTape(dev, lo, hi, "r")
                except SpoolkitError:
                    mode = "w"                 # no archive there yet: format the extent
            self._mdisk = MinidiskTape(dev, lo, hi, mode)
        except BaseException:
            opened.close()
            raise
        return self._mdisk

    def __exit__(self, et: Optional[type[BaseException]], ev: Optional[BaseException],
                 tb: Optional[TracebackType]) -> None:
        if self.ref.tape is not None:
            return
        if self._cm is not None:
            self._cm.__exit__(et, ev, tb)
            return
        assert self._mdisk is not None and self._dev is not None
        try:
            if et is None and self.mode != "r":
                self._mdisk.commit()           # the label switch makes the run visible
                self._mdisk.close()
            else:
                self._mdisk.discard()          # what was written stays invisible
        finally:
            self._dev.close()


def exists(ref: ArchiveRef) -> bool:
    """Whether the location holds something (a non-empty tape, an extent
    with an archive label)."""
    if ref.tape is not None:
        ref.tape.rewind()
        return ref.tape.read_block() is not None
    if ref.extent is None:
        return os.path.exists(ref.path) and os.path.getsize(ref.path) > 0
    with open_dasd(ref.path) as opened:
        dev = require_ckd(opened, _EXTENT)
        try:
            MinidiskTape(dev, *ref.extent, "r")
            return True
        except SpoolkitError:
            return False


def is_volume(path: PathLike) -> bool:
    """True when ``path`` is a disk image (a dump there restores into it)."""
    try:
        with open(path, "rb") as f:
            head = f.read(8)
    except OSError:
        return False
    return head.decode("ascii", "replace") in OPENERS and head != b""


def no_archive(ref: ArchiveRef, tape: TapeMedium) -> NotAnArchiveError:
    """The error for a tape (or extent) that holds no spoolkit run."""
    return NotAnArchiveError(f"no spoolkit spool archive on this "
                             f"{'tape' if ref.extent is None else 'minidisk extent'} "
                             f"({describe_tape(tape)})", path=ref.name)


def _is_label(block: bytes) -> bool:
    return len(block) == 80 and bytes(block[:3]) in _LABELS


def describe_tape(tape: TapeMedium, *, limit: int = 100_000) -> str:
    """What a tape holds, in words, for a tape without a spoolkit run:
    "it holds IBM standard labels VOL1 J90009 and 3 data files", "it is
    empty", "it holds only tapemarks", "it holds 2 tape files of other data"."""
    tape.rewind()
    volser = None
    labels = data = files = 0
    torn = ""
    pos = 0
    try:
        for _ in range(limit):
            pos = tape.tell()
            block = read_next(tape)
            if block is None:
                break
            if block is TAPEMARK:
                continue
            files += 1
            if _is_label(block):
                labels += 1
                if bytes(block[:4]) == "VOL1".encode("cp037") and volser is None:
                    volser = bytes(block[4:10]).decode("cp037", "replace").strip()
            else:
                data += 1
            if not tape.skip_files(1):
                break
    except SpoolkitError as exc:
        torn = f"; it ends in an unreadable block at offset {pos}: {exc.message}"
    if files == 0 and not torn:
        return "it is empty" if tape.tell() == 0 else "it holds only tapemarks"
    count = {0: "no data files", 1: "1 data file"}.get(data, f"{data} data files")
    if labels:
        vol = f" VOL1 {volser}" if volser else ""
        return f"it holds IBM standard labels{vol} and {count}{torn}"
    other = {1: "1 tape file"}.get(files, f"{files} tape files")
    return f"it holds {other} of other data{torn}"


__all__ = ["ArchiveLike", "ArchiveRef", "NotAnArchiveError", "OpenedArchive", "as_ref",
           "describe_tape", "exists", "is_volume", "no_archive"]
