"""Plain CKD images (``CKD_P370`` / ``CKD_P064``), single or split in files.

Layout: a 512-byte device header, then fixed track slots of ``track_size``
bytes.  Volumes over 2 GB are split like Hercules' ``dasdinit`` does it
(``vol_1.3390``, ``vol_2.3390``, ...): file *k* carries ``fileseq`` *k* and
``highcyl`` = its last absolute cylinder, the last file ``highcyl`` 0.

Tracks are read with ``pread`` into reused buffers, never through a memory
map: a file that another process truncates meanwhile gives a
:class:`TruncatedError`, not a SIGBUS.
"""

from __future__ import annotations

import errno
import os
import stat

from .._native import check, ffi, lib, new_err
from ..errors import (
    FormatError,
    InvalidArgumentError,
    NotFoundError,
    TruncatedError,
    WriteError,
)
from ..geometry import CKDDevice, Fields
from ..lazy import contextmanager
from ..lock import lock_fd
from ..output import (
    atomic_outputs,
    check_destination,
    errno_write_error,
    fsync_checked,
    write_all,
)
from ..util import map_threads
from .base import DasdImage, ScanStats, model_for
from .split import MAX_FILES, family, first_split_name, locate, split_name
from .track import Track

TYPE_CHECKING = False  # typing costs every command's start
if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence
    from typing import Optional, Union

    from .._spoolkit import spk_scan_stats
    from ..jsonvalue import JSONDict

DEVHDR_SIZE = 512
#: a plain volume is split into files of at most this many bytes (dasdinit's 2 GB)
SPLIT_LIMIT = 0x7FFFFFFF
PLAIN_IDS = ("CKD_P370", "CKD_P064")


class DevHeader(Fields):
    """The 512-byte ``CKD_DEVHDR`` at the start of every CKD/CCKD file."""

    _fields = ("devid", "heads", "track_size", "devtype", "fileseq", "highcyl", "serial")
    __match_args__ = _fields

    devid: str
    heads: int
    track_size: int
    devtype: int
    fileseq: int
    highcyl: int
    serial: str

    def __init__(self, devid: str, heads: int, track_size: int, devtype: int, fileseq: int = 0,
                 highcyl: int = 0, serial: str = "") -> None:
        self._store(devid, heads, track_size, devtype, fileseq, highcyl, serial)

    @classmethod
    def parse(cls, buf: bytes, path: Optional[str] = None) -> DevHeader:
        hdr = ffi.new("spk_ckd_devhdr *")
        err = new_err()
        check(lib.spk_ckd_devhdr_parse(ffi.from_buffer(buf), len(buf), hdr, err), err,
              path=path)
        return cls(ffi.string(hdr.devid).decode("ascii"), hdr.heads, hdr.trksize, hdr.devtype,
                   hdr.fileseq, hdr.highcyl, ffi.string(hdr.serial).decode("ascii"))

    def build(self) -> bytes:
        hdr = ffi.new("spk_ckd_devhdr *")
        hdr.devid = self.devid.encode("ascii")
        hdr.heads, hdr.trksize, hdr.devtype = self.heads, self.track_size, self.devtype
        hdr.fileseq, hdr.highcyl = self.fileseq, self.highcyl
        hdr.serial = self.serial.encode("ascii")[:12]
        out = bytearray(DEVHDR_SIZE)
        err = new_err()
        check(lib.spk_ckd_devhdr_build(ffi.from_buffer(out), DEVHDR_SIZE, hdr, err), err)
        return bytes(out)


def read_devheader(path: Union[str, os.PathLike[str]]) -> DevHeader:
    """The device header of a CKD image; a split set's base name reads file 1's."""
    return _read_devheader(locate(path))


def _read_devheader(path: str) -> DevHeader:
    with open(path, "rb") as f:
        buf = f.read(DEVHDR_SIZE)
    return DevHeader.parse(buf, path)


class _Piece(Fields):
    _fields = ("path", "first_trk", "ntrks", "fd", "size")

    path: str
    first_trk: int
    ntrks: int
    fd: int
    size: int

    def __init__(self, path: str, first_trk: int, ntrks: int, fd: int, size: int = 0) -> None:
        self._store(path, first_trk, ntrks, fd, size)


class CKDImage(DasdImage):
    """A plain CKD image, possibly split over several files."""

    kind = "CKD"

    def __init__(self, path: Union[str, os.PathLike[str]], mode: str = "r") -> None:
        path = locate(path)   # a split set opens by its base name too
        hdr = _read_devheader(path)
        if hdr.devid not in PLAIN_IDS:
            raise FormatError(f"not a plain CKD image (device id {hdr.devid!r})", path=path)
        if not (0 < hdr.heads <= 255 and 512 <= hdr.track_size <= 65536 + 512):
            raise FormatError(f"bad geometry in header: {hdr.heads} heads, track size "
                              f"{hdr.track_size}", path=path, offset=8)
        self.devid = hdr.devid
        self.header = hdr
        self._pieces: list[_Piece] = []
        try:
            self._open_pieces(path, hdr, mode)
            ntrks = sum(p.ntrks for p in self._pieces)
            cyls = ntrks // hdr.heads
            try:
                dev = model_for(hdr.devtype, cyls)
            except NotFoundError:
                raise FormatError(f"unknown device type byte X'{hdr.devtype:02X}' for "
                                  f"{cyls} cylinders", path=path, offset=16) from None
            expected = dev.track_size
            if hdr.heads != dev.heads or hdr.track_size != expected:
                raise FormatError(
                    f"header says {hdr.heads} heads and {hdr.track_size}-byte tracks; a "
                    f"{dev.devtype} has {dev.heads} heads and {expected}-byte tracks",
                    path=path, offset=8)
            super().__init__(path, mode, dev, cyls, hdr.heads, hdr.track_size)
        except BaseException:
            self.closed = True
            self._close_pieces()
            raise
        if mode == "r+":
            self._finalize_on_exit()

    @property
    def files(self) -> list[str]:
        """The files of the volume, first to last."""
        return [p.path for p in self._pieces]

    def info(self) -> JSONDict:
        d = super().info()
        # a split set is one volume: its files and their size together
        d.update(files=self.files, file_size=sum(p.size for p in self._pieces))
        return d

    def _open_pieces(self, path: str, hdr: DevHeader, mode: str) -> None:
        flags = os.O_RDWR if mode == "r+" else os.O_RDONLY
        slot = hdr.track_size
        per_cyl = hdr.heads * slot
        if hdr.fileseq in (0, 0xFF):
            names = [path]
        elif hdr.fileseq == 1:
            # the file given is file 1, whatever its name; the others follow its name
            names = [path] + [split_name(path, k) for k in range(2, MAX_FILES + 1)]
        else:
            first = split_name(path, 1) if hdr.fileseq <= MAX_FILES else "file 1"
            raise FormatError(f"this is file {hdr.fileseq} of a split volume; open file 1 "
                              f"({first}) or the set by its base name", path=path, offset=17)
        cyls_so_far = 0
        for k, name in enumerate(names, start=1):
            if k > 1 and not os.path.exists(name):
                raise FormatError(f"split volume file {k} is missing: {name}", path=path)
            fhdr = hdr if k == 1 else _read_devheader(name)
            if k > 1:
                if fhdr.devid != hdr.devid or fhdr.heads != hdr.heads or \
                        fhdr.track_size != hdr.track_size or fhdr.devtype != hdr.devtype:
                    raise FormatError(f"file {k} has a different device header than file 1",
                                      path=name)
                if fhdr.fileseq not in (k, 0xFF):
                    raise FormatError(f"file sequence {fhdr.fileseq}, expected {k}",
                                      path=name, offset=17)
            size = os.path.getsize(name)
            body = size - DEVHDR_SIZE
            if body < 0 or body % per_cyl:
                raise TruncatedError(
                    f"file of {size} bytes is not a 512-byte header plus whole cylinders of "
                    f"{per_cyl} bytes", path=name, offset=size)
            ncyl = body // per_cyl
            last = len(names) == 1 or fhdr.highcyl == 0 or fhdr.fileseq == 0xFF
            if fhdr.highcyl and fhdr.highcyl != cyls_so_far + ncyl - 1:
                raise FormatError(
                    f"high cylinder {fhdr.highcyl} does not match the file's "
                    f"{ncyl} cylinders starting at {cyls_so_far}", path=name, offset=18)
            fd = os.open(name, flags | os.O_CLOEXEC)
            try:
                # every file of a split set: exclusive to write, shared to read
                lock_fd(fd, name, exclusive=mode == "r+", what="image")
            except BaseException:
                os.close(fd)
                raise
            self._pieces.append(_Piece(name, cyls_so_far * hdr.heads, ncyl * hdr.heads, fd,
                                       size))
            cyls_so_far += ncyl
            if last:
                break
        else:
            raise FormatError(f"split volume has more than {MAX_FILES} files", path=path)

    def _piece(self, trk: int) -> tuple[_Piece, int]:
        for p in self._pieces:
            if trk < p.first_trk + p.ntrks:
                return p, DEVHDR_SIZE + (trk - p.first_trk) * self.track_size
        raise AssertionError("track beyond the volume")  # _trk() checked the range

    def _read_image(self, trk: int) -> bytes:
        p, off = self._piece(trk)
        return self._pread(p, off, self.track_size, trk)

    def _pread(self, p: _Piece, off: int, n: int, trk: int) -> bytes:
        try:
            data = os.pread(p.fd, n, off)
        except OSError as exc:
            raise TruncatedError(f"reading {n} bytes: {exc.strerror}", path=p.path, offset=off,
                                 track=divmod(trk, self.heads)) from None
        if len(data) != n:
            raise TruncatedError(f"the file ends at {off + len(data)} inside this track's slot "
                                 "(it shrank while open)", path=p.path, offset=off + len(data),
                                 track=divmod(trk, self.heads))
        return data

    def read_slots(self, trk: int, n: int, buf: Union[bytearray, memoryview]
                   ) -> tuple[_Piece, int]:
        """Read the slots of tracks ``trk..`` that lie in one file (at most
        ``n``) into ``buf``; returns the file and the number of tracks read."""
        p, off = self._piece(trk)
        k = min(n, p.first_trk + p.ntrks - trk)
        want = k * self.track_size
        view = memoryview(buf)[:want]
        got = 0
        while got < want:
            try:
                r = os.preadv(p.fd, [view[got:]], off + got)
            except OSError as exc:
                raise TruncatedError(f"reading tracks: {exc.strerror}", path=p.path,
                                     offset=off + got) from None
            if r <= 0:
                bad = trk + got // self.track_size
                raise TruncatedError(f"the file ends at {off + got}, inside the slot of a track "
                                     "(it shrank while open)", path=p.path, offset=off + got,
                                     track=divmod(bad, self.heads))
            got += r
        return p, k

    def _write_image(self, trk: int, image: bytes) -> None:
        p, off = self._piece(trk)
        # zero the rest of the slot: no stale bytes after the new EOT
        write_all(p.fd, image + bytes(self.track_size - len(image)), p.path, off)

    def _scan(self, first: int, stop: int, stats: ScanStats) -> None:
        # chunks of 64 cylinders read (pread) and parsed in C on all cores
        # (the calls release the GIL)
        jobs = []
        chunk = 64 * self.heads
        for p in self._pieces:
            lo = max(first, p.first_trk)
            hi = min(stop, p.first_trk + p.ntrks)
            jobs += [(p, t, min(chunk, hi - t)) for t in range(lo, hi, chunk)]
        results = map_threads(self._scan_chunk, jobs)
        for c in results:
            stats.add(c)

    def _scan_chunk(self, job: tuple[_Piece, int, int]) -> spk_scan_stats:
        p, t, n = job
        err = new_err()
        c = ffi.new("spk_scan_stats *")
        base = DEVHDR_SIZE + (t - p.first_trk) * self.track_size
        rc = lib.spk_ckd_scan_fd(p.fd, base, self.track_size, t, n, self.heads,
                                 self.track_flags, c, err)
        if rc == lib.SPK_ETRUNC:
            check(rc, err, path=p.path, track=divmod(err.index, self.heads))
        if rc < 0:
            bad = err.index
            check(rc, err, path=p.path, track=divmod(bad, self.heads),
                  offset=DEVHDR_SIZE + (bad - p.first_trk) * self.track_size
                  + max(0, err.offset - (bad - t) * self.track_size))
        return c

    def _close_pieces(self) -> None:
        for p in self._pieces:
            os.close(p.fd)
        self._pieces = []

    def flush(self) -> None:
        """Make the written tracks durable (``fsync`` of every file)."""
        self._check_open()
        if self.mode == "r+":
            for p in self._pieces:
                fsync_checked(p.fd, p.path)

    def _close(self) -> None:
        # tracks were written in place; a write-back error shows at this sync
        try:
            if self.mode == "r+":
                for p in self._pieces:
                    fsync_checked(p.fd, p.path)
        finally:
            self._close_pieces()


# -- creation -----------------------------------------------------------------
IPL1_DATA = bytes.fromhex("000600000000000f" "0300000000000001" "0000000000000000")


def vol1_data(volser: str, owner: str = "HERCULES") -> bytes:
    """The 80-byte DASD VOL1 label as Hercules 3.13 ``dasdinit`` writes it."""
    from .. import ebcdic  # here: only a new volume's label needs the code pages

    label = bytearray(b"\x40" * 80)
    label[0:4] = "VOL1".encode("cp037")
    label[4:10] = volser.upper().ljust(6).encode("cp037")
    label[11:16] = bytes([0, 0, 0, 1, 1])  # VTOC pointer: cyl 0 head 1 record 1
    label[41:51] = ebcdic.encode(owner[:10], what="VOL1 owner").ljust(10, b"\x40")
    return bytes(label)


def check_volser(volser: str) -> str:
    v = volser.upper()
    if not 1 <= len(v) <= 6 or not all(c.isascii() and (c.isalnum() or c in "$#@-")
                                       for c in v):
        raise InvalidArgumentError(f"volume serial {volser!r} must be 1-6 letters or digits")
    return v


def ipl_track(volser: str, nullfmt: int = 1) -> Track:
    """Track 0 as ``dasdinit`` writes it: R1 IPL1, R2 IPL2, R3 VOL1 (with
    ``nullfmt=2``, ``-linux``, nine 4096-byte records R4..R12 follow)."""
    e = "cp037"
    linux = [(r, b"", bytes(LINUX_DLEN)) for r in range(4, 13)] if nullfmt == 2 else []
    return Track.from_records(0, 0, [
        (1, "IPL1".encode(e), IPL1_DATA),
        (2, "IPL2".encode(e), bytes(144)),
        (3, "VOL1".encode(e), vol1_data(volser)),
        *linux,
    ])


#: data length of the records of a ``dasdinit -linux`` (dasdfmt) track
LINUX_DLEN = 4096


def linux_vtoc_track(dev: CKDDevice, cylinders: int) -> Track:
    """Track 1 of a ``dasdinit -linux`` volume: the empty VTOC Hercules writes
    (format-4 and format-5 DSCBs, a format-7 one over 65535 tracks, then
    empty DSCBs up to R12)."""
    trks = cylinders * dev.heads
    big = trks > 65535
    f4 = bytearray(96)
    f4[0] = 0xF4                                   # DS4IDFMT
    f4[6:8] = (10).to_bytes(2, "big")              # DS4DSREC
    f4[14] = 0xA0 if big else 0                    # DS4VTOCI
    f4[15] = 1                                     # DS4NOEXT
    f4[18:20] = (cylinders & 0xFFFF).to_bytes(2, "big")  # DS4DSCYL
    f4[20:22] = dev.heads.to_bytes(2, "big")       # DS4DSTRK
    f4[22:24] = dev.track_length.to_bytes(2, "big")  # DS4DEVTK
    f4[27] = 0x30                                  # DS4DEVFG
    f4[30] = 0x0C                                  # DS4DEVDT
    f4[61], f4[66], f4[70] = 1, 1, 1               # DS4VTOCE: extent 0/1 - 0/1
    if big:
        f4[81], f4[85], f4[86] = 7, 1, 3           # DS4EFLVL, DS4EFPTR -> 0/1/3
    f5key = bytearray(b"\x05" * 4 + bytes(40))
    if not big:                                    # DS5AVEXT: the free space
        f5key[4:6] = (2).to_bytes(2, "big")
        f5key[6:8] = (cylinders - 1).to_bytes(2, "big")
        f5key[8] = dev.heads - 2
    recs = [(1, b"\x04" * 44, bytes(f4)), (2, bytes(f5key), b"\xf5" + bytes(95))]
    if big:
        f7key = b"\x07" * 4 + (2).to_bytes(4, "big") + (trks - 1).to_bytes(4, "big") \
            + bytes(32)
        recs.append((3, f7key, b"\xf7" + bytes(95)))
    recs += [(r, bytes(44), bytes(96)) for r in range(len(recs) + 1, 13)]
    return Track.from_records(0, 1, recs)


def initial_tracks(dev: CKDDevice, cylinders: int, volser: Optional[str],
                   nullfmt: int, path: Optional[str] = None) -> dict[int, bytes]:
    """The tracks ``dasdinit`` writes that are not null tracks, by track
    number: track 0 unless raw (``volser`` None), and with ``nullfmt=2``
    (``-linux``) the VTOC track 1."""
    if nullfmt == 2 and dev.devt != 0x3390:
        # a dasdfmt track is twelve 4 KiB records: only a 3390 track holds them
        raise InvalidArgumentError(f"null format 2 (Linux, dasdinit -linux) exists only for "
                                   f"device type 3390, not {dev.devtype}", path=path)
    out: dict[int, bytes] = {}
    if volser is not None:
        out[0] = ipl_track(check_volser(volser), nullfmt).image
    if nullfmt == 2 and cylinders * dev.heads > 1:
        out[1] = linux_vtoc_track(dev, cylinders).image
    return out


def plan_files(path: Union[str, os.PathLike[str]], dev: CKDDevice, cylinders: int,
               lfs: bool = False) -> tuple[list[str], list[tuple[int, int]]]:
    """The file names and cylinder spans (first, last) of a new plain volume:
    one file, or over 2 GB (unless ``lfs``) a split set as ``dasdinit`` names it."""
    path = os.fspath(path)
    check_cylinders(cylinders, path)
    per_cyl = dev.track_size * dev.heads
    maxcpif = (SPLIT_LIMIT - DEVHDR_SIZE + 1) // per_cyl
    if lfs or cylinders <= maxcpif:
        return [path], [(0, cylinders - 1)]
    n = -(-cylinders // maxcpif)
    if n > MAX_FILES:
        raise InvalidArgumentError(f"{cylinders} cylinders need {n} files (max {MAX_FILES})")
    first = first_split_name(path)
    return ([split_name(first, k) for k in range(1, n + 1)],
            [(i * maxcpif, min(cylinders, (i + 1) * maxcpif) - 1) for i in range(n)])


def check_cylinders(cylinders: int, path: Optional[str] = None) -> None:
    """A CKD volume has 1..65535 cylinders (the CC of a track address is 16 bits)."""
    if not isinstance(cylinders, int) or not 1 <= cylinders <= 65535:
        raise InvalidArgumentError(f"cannot create a volume of {cylinders} cylinders "
                                   "(a CKD volume has 1 to 65535)", path=path)


def split_family(path: Union[str, os.PathLike[str]]) -> list[str]:
    """Every name a plain volume created at ``path`` may occupy: ``path`` and
    the pieces ``name_1.3390`` .. of a split set."""
    return family(path)


def _is_piece(name: str, k: int) -> bool:
    """Whether ``name`` is file ``k`` of a plain split volume (a stale piece)."""
    try:
        st = os.lstat(name)
        if not stat.S_ISREG(st.st_mode):
            return False
        hdr = _read_devheader(name)
    except (OSError, FormatError):
        return False
    return hdr.devid in PLAIN_IDS and hdr.fileseq == k


def check_volume_destination(path: Union[str, os.PathLike[str]], names: Sequence[str], *,
                             overwrite: bool = False) -> list[str]:
    """Refuse (unless ``overwrite``) a new plain volume at ``path`` when ANY
    name of its family exists: the single file or a piece of a split set; a
    link or a directory there is refused always.  Returns the files that an
    overwrite leaves stale: the other form of the name and pieces of an
    older, bigger set."""
    family = split_family(path)
    existing = [n for n in family if os.path.lexists(n)]
    for n in existing:
        if n not in names or not overwrite:
            check_destination(n, overwrite=overwrite)
    for n in names:
        check_destination(n, overwrite=overwrite)
    first = first_split_name(os.fspath(path))
    pieces = {split_name(first, k): k for k in range(1, MAX_FILES + 1)}
    return [n for n in existing if n not in names
            and (n == os.fspath(path) or _is_piece(n, pieces.get(n, -1)))]


@contextmanager
def volume_outputs(path: Union[str, os.PathLike[str]], names: Sequence[str], *,
                   overwrite: bool = False) -> Iterator[list[str]]:
    """:func:`~spoolkit.output.atomic_outputs` for the files ``names`` of a
    plain volume at ``path``, checked by :func:`check_volume_destination`;
    with ``overwrite`` the stale files of the old set are removed only after
    the new files are in place."""
    stale = check_volume_destination(path, names, overwrite=overwrite)
    with atomic_outputs(names, overwrite=overwrite) as tmps:
        yield tmps
    for n in stale:
        try:
            os.unlink(n)
        except FileNotFoundError:
            pass


FORMAT_CHUNK = 4 << 20    # bytes of null tracks formatted per write


def allocate_file(fd: int, name: str, size: int) -> None:
    """Give the new, empty file ``fd`` ``size`` bytes of zeros, allocated on
    disk (``posix_fallocate``) so that no later write into it can fail for
    want of space: a full file system fails here, before any work.  Where
    the file system cannot preallocate (EOPNOTSUPP/EINVAL, which glibc
    reports only where it cannot emulate either) the file is sized sparse with
    ``ftruncate``; a write into a hole can then still fail with WriteError."""
    try:
        os.posix_fallocate(fd, 0, size)
        return
    except OSError as exc:
        if exc.errno not in (errno.EOPNOTSUPP, errno.EINVAL):
            raise errno_write_error(exc.errno or errno.EIO, name, None) from None
    try:
        os.ftruncate(fd, size)
    except OSError as exc:
        raise WriteError(f"cannot size the image to {size} bytes: {exc.strerror}",
                         errno=exc.errno, path=name) from None


def format_file(fd: int, name: str, hdr: DevHeader, dev: CKDDevice, first_cyl: int,
                ncyl: int, nullfmt: int,
                track0: Union[bytes, dict[int, bytes], None] = None) -> None:
    """Write a device header and ``ncyl`` cylinders of null tracks from
    ``first_cyl`` to ``fd``; ``track0`` is the image of the file's first
    track, or images by track number in the file.

    Only the bytes of each null track (HA, R0, ... EOT) are written, every
    write checked; the zeros after them stay holes, so a new 3390-3 takes
    ~200 MB of disk, not 2.8 GB.  A later track write that fills a hole on a
    full file system fails with WriteError and the track keeps its old image.
    """
    trksize = dev.track_size
    ntrks = ncyl * dev.heads
    size = DEVHDR_SIZE + ntrks * trksize
    try:
        os.ftruncate(fd, size)
    except OSError as exc:
        raise WriteError(f"cannot size the image to {size} bytes: {exc.strerror}",
                         errno=exc.errno, path=name) from None
    write_all(fd, hdr.build(), name, 0)
    per = max(1, FORMAT_CHUNK // trksize)
    buf = bytearray(per * trksize)
    view = memoryview(buf)
    err = new_err()
    used = check(lib.spk_track_null(ffi.from_buffer(buf), trksize, 0, 0, nullfmt, err), err,
                 path=name)
    t = 0
    while t < ntrks:
        k = min(per, ntrks - t)
        check(lib.spk_ckd_format(ffi.from_buffer(buf), k * trksize, trksize,
                                 first_cyl * dev.heads + t, k, dev.heads, nullfmt, err),
              err, path=name)
        if used * 2 > trksize:   # e.g. nullfmt 2: the slots are mostly records
            write_all(fd, view[:k * trksize], name, DEVHDR_SIZE + t * trksize)
        else:
            base = DEVHDR_SIZE + t * trksize
            for i in range(k):
                write_all(fd, view[i * trksize:i * trksize + used], name, base + i * trksize)
        t += k
    images = {0: track0} if isinstance(track0, (bytes, bytearray)) else (track0 or {})
    for trk, image in images.items():
        write_all(fd, image, name, DEVHDR_SIZE + trk * trksize)


def create_ckd(path: Union[str, os.PathLike[str]], dev: CKDDevice, cylinders: int,
               volser: Optional[str] = "111111", *, lfs: bool = False, nullfmt: int = 1,
               devid: str = "CKD_P370", overwrite: bool = False) -> list[str]:
    """Create a plain CKD volume as ``dasdinit`` does; returns the file names.

    Over 2 GB the volume is split into files of at most 2519 cylinders (3390)
    unless ``lfs``.  ``volser=None`` makes a raw volume (no IPL/VOL1 records).
    Files are written under temporary names and renamed when all are complete;
    an existing file of the volume (any piece of a split set) is refused
    unless ``overwrite`` (see :func:`volume_outputs`).
    """
    names, spans = plan_files(path, dev, cylinders, lfs)
    first = initial_tracks(dev, cylinders, volser, nullfmt, os.fspath(path))
    with volume_outputs(path, names, overwrite=overwrite) as tmps:
        for k, ((start, end), tmp) in enumerate(zip(spans, tmps), start=1):
            hdr = piece_header(devid, dev, k, len(spans), end, cylinders)
            fd = os.open(tmp, os.O_RDWR | os.O_CLOEXEC)
            try:
                format_file(fd, tmp, hdr, dev, start, end - start + 1, nullfmt,
                            first if k == 1 else None)
            finally:
                os.close(fd)
    return names


def piece_header(devid: str, dev: CKDDevice, k: int, nfiles: int, end: int,
                 cylinders: int) -> DevHeader:
    """Device header of file ``k`` of ``nfiles`` ending at cylinder ``end``."""
    single = nfiles == 1
    return DevHeader(devid, dev.heads, dev.track_size, dev.devt & 0xFF,
                     0 if single else k, 0 if end + 1 == cylinders else end)
