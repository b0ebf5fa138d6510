"""A CMS minidisk: an extent of a disk image holding a CMS file system.

:func:`open_minidisk` takes an image (path or open image) and the extent
(cylinders on CKD, 512-byte blocks on FBA; the whole volume by default),
finds the format from the label (VM/370 ``CMS=`` in block 3, EDF ``CMS1``)
and gives the files: :meth:`Minidisk.files`, :meth:`Minidisk.read` and, opened
``"r+"``, :meth:`Minidisk.write`, :meth:`~Minidisk.erase`,
:meth:`~Minidisk.rename`.  Writes into a CP-owned extent are refused (the
overlay guard); an image opened here is locked as the DASD layer locks it.
"""

from __future__ import annotations

import datetime as _dt
import os
from typing import TYPE_CHECKING, Any, Iterable, Iterator, Optional, Union

from ..dasd import open_dasd
from ..dasd.base import DasdImage
from ..dasd.fba import FBAImage
from ..errors import (
    ExistsError,
    FormatError,
    InvalidArgumentError,
    NotFoundError,
    ProtectedExtentError,
    ReadOnlyError,
)
from ..jsonvalue import JSONDict
from ..lifetime import Finalizing
from .extent import CKDExtent, FBAExtent
from .fst import FileStatus, check_mode, check_name
from .layout import EDF_BLOCKSIZES, VM370_DEVICES, edf_ckd_layout, vm370_device, vm370_layout
from .records import CMSRecords

if TYPE_CHECKING:
    from .check import CMSReport

Image = Union[DasdImage, FBAImage]
PathLike = Union[str, "os.PathLike[str]"]
EDF_ID = "CMS1".encode("cp037")
VM370_ID = "CMS=".encode("cp037")
RecordsLike = Union[CMSRecords, Iterable[Union[bytes, bytearray, memoryview]]]


def is_fba(dev: object) -> bool:
    """An FBA image, or a wrapper of one (the overlay guard)."""
    return isinstance(dev, FBAImage) or hasattr(dev, "read_blocks")


def default_extent(dev: Image) -> tuple[int, int]:
    """The whole volume: cylinders (CKD) or blocks (FBA)."""
    if isinstance(dev, FBAImage):
        return 0, dev.blocks - 1
    return 0, dev.cylinders - 1


def sniff_ckd(dev: DasdImage, first: int) -> tuple[Optional[str], int, bytes]:
    """(format, record length, R3 data) from track 0 of a CKD extent."""
    trk = dev.read_track(first, 0)
    for rec in trk.records:
        if rec.r == 3 and not rec.kl:
            data = bytes(rec.data)
            if data[:4] == VM370_ID:
                return "vm370", rec.dl, data
            if data[:4] == EDF_ID:
                return "edf", rec.dl, data
            return None, rec.dl, data
    return None, 0, b""


def _guarded(dev: Image, first: int, last: int) -> Any:
    """The image wrapped by the overlay guard; an extent overlapping a
    CP-owned area is refused before anything is written."""
    from ..overlay import guard, protected_extents

    prot = protected_extents(dev)
    for p in prot:
        if first <= p.last and p.first <= last:
            unit = "blocks" if is_fba(dev) else "cylinders"
            raise ProtectedExtentError(f"minidisk {unit} {first}-{last} overlap the protected "
                                       f"{p} (CP-owned)", path=dev.path)
    return guard(dev, prot)


class Minidisk(Finalizing):
    """An open CMS minidisk (see :func:`open_minidisk`)."""

    closed = True

    def __init__(self, dev: Image, first: int, last: int, mode: str = "r", *,
                 owns: bool = False) -> None:
        if mode not in ("r", "r+"):
            raise InvalidArgumentError(f"mode must be 'r' or 'r+', not {mode!r}")
        self.dev, self.first, self.last, self.mode = dev, first, last, mode
        self.path = dev.path
        self._owns = owns
        if mode == "r+" and getattr(dev, "mode", "r+") != "r+":
            raise ReadOnlyError("the image is open read-only", path=dev.path)
        writer = _guarded(dev, first, last) if mode == "r+" else None
        self.impl: Any = self._open_impl(writer)
        self.closed = False
        if mode == "r+":
            self._finalize_on_exit()

    def _open_impl(self, writer: Any) -> Any:
        dev, first, last = self.dev, self.first, self.last
        if isinstance(dev, FBAImage):
            from .edf import EDFDisk, probe_fba
            blksize = probe_fba(dev, first, last)
            if blksize is None:
                raise FormatError(f"no CMS label in blocks {first}-{last} (an EDF disk has "
                                  "CMS1 at byte 512)", path=dev.path, block=first + 1)
            return EDFDisk(FBAExtent(dev, first, last, blksize, writer))
        if not 0 <= first <= last < dev.cylinders:
            raise InvalidArgumentError(f"minidisk cylinders {first}-{last} are outside the "
                                       f"volume ({dev.cylinders} cylinders)", path=dev.path)
        kind, dl, _ = sniff_ckd(dev, first)
        ncyl = last - first + 1
        if kind == "vm370":
            from .vm370 import VM370Disk
            lay = vm370_layout(dev.device, ncyl, path=dev.path)
            return VM370Disk(CKDExtent(dev, first, last, lay, writer), vm370_device(dev.devtype))
        if kind == "edf":
            from .edf import EDFDisk
            if dl not in EDF_BLOCKSIZES:
                raise FormatError(f"EDF label in a record of {dl} bytes (block sizes "
                                  "512, 1024, 2048, 4096)", path=dev.path, track=(first, 0))
            return EDFDisk(CKDExtent(dev, first, last, edf_ckd_layout(dev.device, ncyl, dl),
                                     writer))
        raise FormatError(f"no CMS label on cylinder {first} (record 3 of track 0 holds "
                          "neither CMS= nor CMS1)", path=dev.path, track=(first, 0))

    # -- attributes ---------------------------------------------------------------
    @property
    def label(self) -> str:
        """The disk label (volume identifier)."""
        return str(self.impl.label)

    @property
    def blocksize(self) -> int:
        return int(self.impl.blocksize)

    @property
    def format(self) -> str:
        """``"vm370"`` or ``"edf"``."""
        return str(self.impl.format)

    def stats(self) -> dict[str, int]:
        """Blocks on the disk, in use and left, and cylinders (as the label or MFD says)."""
        return dict(self.impl.stats())

    def info(self) -> JSONDict:
        unit = "blocks" if is_fba(self.dev) else "cylinders"
        return {"path": self.path, unit: [self.first, self.last], "label": self.label,
                "format": self.format, "blocksize": self.blocksize, **self.stats()}

    # -- files --------------------------------------------------------------------
    def files(self) -> list[FileStatus]:
        """Every file's FST, in directory order."""
        self._check_open()
        return list(self.impl.files())

    def find(self, fname: str, ftype: str, fmode: Optional[str] = None) -> FileStatus:
        """The file ``fname ftype [fmode]`` (names compared in upper case; a
        one-character mode matches the letter, two the letter and number)."""
        fn, ft = fname.strip().upper(), ftype.strip().upper()
        fm = (fmode or "").strip().upper()
        hits = [f for f in self.files()
                if f.fname.upper() == fn and f.ftype.upper() == ft
                and (not fm or f.fmode.upper().startswith(fm) if len(fm) < 2
                     else f.fmode.upper() == fm)]
        if not hits:
            what = f"{fname} {ftype}" + (f" {fmode}" if fmode else "")
            raise NotFoundError(f"file {what.upper()} not found", path=self.path)
        return hits[0]

    def read(self, fname: Union[str, FileStatus], ftype: Optional[str] = None,
             fmode: Optional[str] = None) -> CMSRecords:
        """The records of a file, exact (no padding added or removed)."""
        self._check_open()
        f = fname if isinstance(fname, FileStatus) else self.find(fname, ftype or "", fmode)
        return self.impl.read(f)  # type: ignore[no-any-return]

    def read_all(self, files: Optional[Iterable[FileStatus]] = None,
                 batch_bytes: int = 4 << 20) -> Iterator[tuple[FileStatus, CMSRecords]]:
        """``(fst, records)`` of every file (or of ``files``), in order.  The
        chains of many files are resolved together and their data blocks
        gathered in one pass over the tracks (runs of tracks on threads, at
        most about ``batch_bytes`` at a time), each block copied once from
        its track into the file's records (V records once more, from a
        reused buffer)."""
        self._check_open()
        todo = list(self.files() if files is None else files)
        for batch, blocks in self.impl.data_block_batches(todo, batch_bytes // self.blocksize):
            yield from zip(batch, self.impl.read_many(batch, blocks))

    def _check_open(self) -> None:
        if self.closed:
            raise InvalidArgumentError("I/O on a closed minidisk", path=self.path)

    def _check_write(self) -> None:
        self._check_open()
        if self.mode != "r+":
            raise ReadOnlyError("the minidisk is open read-only (mode 'r+' writes)",
                                path=self.path)

    def write(self, fname: str, ftype: str, fmode: str = "A1",
              records: RecordsLike = (), *, recfm: str = "V", lrecl: Optional[int] = None,
              date: Optional[_dt.datetime] = None, replace: bool = False) -> FileStatus:
        """Write a file as CMS writes it.  F records must all be ``lrecl``
        bytes; a V file's LRECL is its longest record.  An existing file of
        that name and type is refused unless ``replace``; the old one stays
        until the new one is complete.  Returns the new FST."""
        self._check_write()
        check_name(fname, "file name")
        check_name(ftype, "file type")
        check_mode(fmode)
        recs = CMSRecords.from_iter(records)
        recfm = recfm.upper()
        if recfm not in ("F", "V"):
            raise InvalidArgumentError(f"record format {recfm!r}: F or V")
        if recfm == "V":
            longest = recs.longest
            lrecl = max(longest, lrecl or 0) if lrecl is not None else longest
        elif lrecl is None:
            raise InvalidArgumentError("an F file needs its LRECL")
        if not 1 <= lrecl <= (0xFFFF if recfm == "V" else 0x7FFFFFFF):
            raise InvalidArgumentError(f"LRECL {lrecl} is out of range")
        old = None
        try:
            old = self.find(fname, ftype)
        except NotFoundError:
            pass
        if old is not None and not replace:
            raise ExistsError(f"file {old.name} exists", hint="replace=True replaces it",
                              cli_hint="--force replaces it", path=self.path)
        when = date or _dt.datetime.now()
        self.impl.write(fname.upper(), ftype.upper(), check_mode(fmode).decode("cp037"), recs,
                        recfm, lrecl, when, old)
        return self.find(fname, ftype)

    def erase(self, fname: str, ftype: str, fmode: Optional[str] = None) -> None:
        """Erase a file (its blocks are free once the directory is switched)."""
        self._check_write()
        self.impl.erase(self.find(fname, ftype, fmode))

    def rename(self, fname: str, ftype: str, new_fname: str, new_ftype: str,
               fmode: Optional[str] = None, new_fmode: Optional[str] = None) -> FileStatus:
        """Rename a file; an existing file of the new name is refused."""
        self._check_write()
        f = self.find(fname, ftype, fmode)
        check_name(new_fname, "file name")
        check_name(new_ftype, "file type")
        try:
            other = self.find(new_fname, new_ftype)
        except NotFoundError:
            other = None
        if other is not None and other.where != f.where:
            raise ExistsError(f"file {other.name} exists", path=self.path)
        self.impl.rename(f, new_fname, new_ftype, new_fmode)
        return self.find(new_fname, new_ftype)

    def check(self) -> CMSReport:
        """Every chain, the bitmap and the counters compared (see :mod:`.check`)."""
        from .check import check_disk
        self._check_open()
        return check_disk(self)

    # -- lifetime -----------------------------------------------------------------
    def close(self) -> None:
        """Release the image (closed too when this object opened it); idempotent."""
        if getattr(self, "closed", True):
            return
        self.closed = True
        self._forget_on_exit()
        if self._owns:
            self.dev.close()

    def __enter__(self) -> Minidisk:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self.closed else self.format
        return f"<Minidisk {self.path} {self.first}-{self.last} {state}>"


def open_minidisk(image: Union[PathLike, Image], first: Optional[int] = None,
                  last: Optional[int] = None, mode: str = "r") -> Minidisk:
    """Open the CMS minidisk on ``image`` (a path or an open image) at
    cylinders (CKD) or blocks (FBA) ``first..last`` (default: the whole
    volume).  ``mode="r+"`` opens the image for update (a path is then
    locked exclusively)."""
    dev = open_dasd(os.fspath(image), mode) if isinstance(image, (str, os.PathLike)) \
        else image
    owns = dev is not image
    try:
        lo, hi = default_extent(dev)
        f = lo if first is None else first
        last_ = hi if last is None else last
        if f > last_:
            raise InvalidArgumentError(f"extent {f}-{last_}: the first is after the last")
        return Minidisk(dev, f, last_, mode, owns=owns)
    except BaseException:
        if owns:
            dev.close()
        raise


__all__ = ["Minidisk", "VM370_DEVICES", "default_extent", "open_minidisk", "sniff_ckd"]
