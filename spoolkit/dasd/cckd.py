"""Compressed CKD images: CCKD (``CKD_C370``), CCKD64 (``CKD_C064``) with
their shadow files (``CKD_S370``/``CKD_S064``), and the sequential writer of
new compressed files that conversions use.

The file machinery that CFBA (:mod:`.fba`) shares is in :mod:`.cckdfile`
(one compressed file) and :mod:`.shadow` (the base + shadow stack); their
names stay importable from here.
"""

from __future__ import annotations

import os

# the built-in under threading.local (threading imports functools and
# collections: a few milliseconds of a command's start)
from _thread import _local as thread_local

from .._native import check, ffi, lib, new_err
from ..compress import method_code
from ..errors import (
    FormatError,
    InvalidArgumentError,
    NoSpaceError,
    NotFoundError,
    WriteError,
)
from ..geometry import CKDDevice
from ..output import Writeback, atomic_output, write_all
from .base import DasdImage, model_for
from .cckdfile import (  # offered here too (__all__)
    ALL_IDS,
    BASE_IDS,
    HDR_POS,
    KIND_CKD,
    KIND_FBA,
    L1_POS,
    MAX_CCKD_SIZE,
    MAX_CYLS,
    MAX_FBA_BLOCKS,
    MAX_HEADS,
    MAX_TRACK_SIZE,
    NOT_HERE,
    NOT_NULL,
    OPENED,
    OPENRW,
    PER_GROUP,
    REPAIR_HINT,
    SHADOW_IDS,
    SPACE_NAMES,
    CompressedFile,
    L2Tables,
    build_header,
    compress_image,
    l1_range,
    new_header,
)
from .ckd import DevHeader, check_cylinders, initial_tracks
from .shadow import (
    MAX_SHADOWS,
    check_shadow,
    open_stack,
    shadow_name,
    shadow_names,
)
from .split import locate

TYPE_CHECKING = False  # typing costs every command's start
if TYPE_CHECKING:
    from typing import BinaryIO, Optional, Union

    from .._spoolkit import (
        spk_cckd_l2ent,
    )
    from ..jsonvalue import JSONDict


def _ckd_device(base: CompressedFile) -> CKDDevice:
    """The device of a compressed CKD base file, its headers checked against it."""
    dh, path = base.devhdr, base.path
    if base.fba:
        raise FormatError("this is a compressed FBA image; open it with open_dasd", path=path)
    cyls = base.hdr.cyls
    try:
        dev = model_for(dh.devtype, cyls)
    except NotFoundError:
        raise FormatError(f"unknown device type byte X'{dh.devtype:02X}' for {cyls} "
                          "cylinders", path=path, offset=16) from None
    if dh.heads != dev.heads or dh.track_size != dev.track_size:
        raise FormatError(f"header says {dh.heads} heads and {dh.track_size}-byte "
                          f"tracks; a {dev.devtype} has {dev.heads} heads and "
                          f"{dev.track_size}-byte tracks", path=path, offset=8)
    if base.num_l1 * 256 < cyls * dh.heads:
        raise FormatError(f"L1 table of {base.num_l1} entries is too small for "
                          f"{cyls * dh.heads} tracks", path=path, offset=HDR_POS + 4)
    return dev


class CCKDImage(DasdImage):
    """A compressed CKD volume (CCKD or CCKD64), optionally with shadow files.

    ``sf`` is the shadow template (``"shadow/vol_*.cckd"``): reads search the
    shadows top-down, writes go to the top file; in ``"r+"`` mode a first
    shadow is created when none exists.  Without ``sf`` the file itself is
    read and written.
    """

    kind = "CCKD"

    def __init__(self, path: Union[str, os.PathLike[str]], mode: str = "r", *,
                 sf: Optional[str] = None, compress: Optional[str] = "default",
                 level: Optional[int] = None) -> None:
        # as Hercules: a base name finds file "_1", unless shadow files are named
        path = os.fspath(path) if sf else locate(path)
        if mode not in ("r", "r+"):
            raise InvalidArgumentError(f"mode must be 'r' or 'r+', not {mode!r}")
        found: list[CKDDevice] = []

        def validate(files: list[CompressedFile]) -> None:
            found.append(_ckd_device(files[0]))
            if compress != "default":
                method_code(compress)

        self.files = open_stack(path, mode, sf, KIND_CKD, validate)
        try:
            base = self.files[0]
            dh = base.devhdr
            cyls = base.hdr.cyls
            dev = found[0]
            super().__init__(path, mode, dev, cyls, dh.heads, dh.track_size)
            top = self.files[-1]
            self.compress_method = top.hdr.algo if compress == "default" \
                else method_code(compress)
            self.level = top.hdr.parm if level is None else level
            self._tls = thread_local()  # per-thread expand buffer
            self.devid = dh.devid
        except BaseException:
            self.closed = True
            self._close_files()
            raise
        if mode == "r+":
            self._finalize_on_exit()

    @property
    def is64(self) -> bool:
        return self.files[0].is64

    @property
    def nullfmt(self) -> int:
        return self.files[0].hdr.nullfmt

    def info(self) -> JSONDict:
        d = super().info()
        h = self.files[-1].hdr
        d.update(format="CCKD64" if self.is64 else "CCKD",
                 compression={0: "none", 1: "zlib", 2: "bzip2"}.get(h.algo, str(h.algo)),
                 nullfmt=self.nullfmt, shadows=[f.path for f in self.files[1:]],
                 file_size=h.size, used=h.used, free=h.free_total)
        return d

    # -- track level ----------------------------------------------------------
    def _locate(self, trk: int) -> tuple[CompressedFile, spk_cckd_l2ent]:
        for f in reversed(self.files):
            e = f.l2[trk]
            if e.off != NOT_HERE:
                return f, e
        raise NotFoundError(f"track {trk} is in none of the files (a shadow opened without "
                            "its base?)", path=self.path, track=divmod(trk, self.heads))

    def read_stored(self, trk: int) -> tuple[Optional[bytes], int]:
        """(stored image, 0) or (None, null format) for track ``trk``."""
        f, e = self._locate(trk)
        if e.off == 0:
            fmt = e.len
            if fmt == 0 and f.hdr.nullfmt == 2:
                fmt = 2
            if fmt > 2 or e.len != e.size:
                raise FormatError(f"null L2 entry with length {e.len} size {e.size}",
                                  path=f.path, track=divmod(trk, self.heads))
            return None, fmt
        return f.read_stored(trk), 0

    def _read_image(self, trk: int) -> bytes:
        stored, fmt = self.read_stored(trk)
        cyl, head = divmod(trk, self.heads)
        out = getattr(self._tls, "buf", None)
        if out is None:
            out = self._tls.buf = bytearray(max(self.track_size, 49277))
        err = new_err()
        if stored is None:
            n = check(lib.spk_track_null(ffi.from_buffer(out), len(out), cyl, head, fmt, err),
                      err, path=self.path, track=(cyl, head))
        else:
            n = check(lib.spk_cckd_trk_expand(stored, len(stored), KIND_CKD, trk, self.heads,
                                              self.track_flags, ffi.from_buffer(out),
                                              self.track_size, err),
                      err, path=self._locate(trk)[0].path, track=(cyl, head))
        return bytes(out[:n])

    def _write_image(self, trk: int, image: bytes) -> None:
        top = self.files[-1]
        cyl, head = divmod(trk, self.heads)
        fmt = lib.spk_cckd_null_format(image, len(image), cyl, head, top.hdr.nullfmt)
        if fmt != NOT_NULL:
            top.set_entry(trk, 0, fmt, fmt)
            return
        stored = compress_image(image, self.compress_method, self.level)
        top.write_stored(trk, stored)

    # -- lifetime ---------------------------------------------------------------
    def flush(self) -> None:
        """Write the tables and header (the image stays open, OPENED set)."""
        self._check_open()
        self.files[-1].flush()

    def _close_files(self) -> None:
        # every file is closed even when one fails; the first error propagates
        first: Optional[BaseException] = None
        for f in reversed(getattr(self, "files", [])):
            try:
                f.close()
            except BaseException as exc:  # noqa: BLE001 - re-raised below
                first = first or exc
        if first is not None:
            raise first

    def _close(self) -> None:
        self._close_files()


class CompressedWriter:
    """Writes a new compressed file sequentially: per 256-track group an L2
    table followed by its stored images; header and L1 at the end.  A group of
    only ``nullfmt`` null tracks gets no L2 table (L1 entry 0)."""

    def __init__(self, f: BinaryIO, devhdr: DevHeader, cyls: int, ntracks: int, is64: bool,
                 nullfmt: int, method: int, level: int) -> None:
        """``f``: the new file, open for writing (its descriptor is written
        with checked ``pwrite``; the file object's own buffer is not used)."""
        self.fd = f.fileno()
        self.name = os.fspath(getattr(f, "name", "")) or None
        self.devhdr = devhdr
        self.cyls = cyls
        self.is64 = is64
        self.nullfmt = nullfmt
        self.method = method
        self.level = level
        self.num_l1 = -(-ntracks // 256)
        self.l1 = ffi.new("uint64_t[]", self.num_l1)
        self.l2_bytes = 256 * (16 if is64 else 8)
        self.pos = L1_POS + self.num_l1 * (8 if is64 else 4)
        self.back = Writeback(self.fd, self.pos)   # the groups are written in order

    def write_group(self, l1x: int, lens: list[int], data: Union[bytes, memoryview]) -> None:
        """Group ``l1x``: ``lens[i]`` < 3 is a null format, else the length of
        the next stored image in ``data`` (images back to back)."""
        if all(n == self.nullfmt for n in lens):
            self.l1[l1x] = 0
            return
        l2 = ffi.new("spk_cckd_l2ent[]", 256)
        off = self.pos + self.l2_bytes
        if not self.is64 and off + len(data) > MAX_CCKD_SIZE:
            raise NoSpaceError("the volume does not fit the 4 GB limit of CCKD; use CCKD64",
                               hint="cckd64=True", cli_hint="--cckd64", offset=off)
        for i in range(256):
            n = lens[i] if i < len(lens) else self.nullfmt
            if n < 3:
                l2[i].off, l2[i].len, l2[i].size = 0, n, n
            else:
                l2[i].off, l2[i].len, l2[i].size = off, n, n
                off += n
        buf = bytearray(self.l2_bytes)
        err = new_err()
        check(lib.spk_cckd_l2_encode(ffi.from_buffer(buf), len(buf), l2, self.is64, err), err)
        self.l1[l1x] = self.pos
        write_all(self.fd, buf, self.name, self.pos)
        write_all(self.fd, data, self.name, self.pos + self.l2_bytes)
        self.pos = off
        self.back.advance(off)

    def finish(self) -> None:
        h = new_header(self.cyls, self.num_l1, self.pos, self.nullfmt, self.method, self.level)
        l1buf = bytearray(self.num_l1 * (8 if self.is64 else 4))
        err = new_err()
        check(lib.spk_cckd_l1_encode(ffi.from_buffer(l1buf), len(l1buf), self.l1, self.num_l1,
                                     self.is64, err), err)
        write_all(self.fd, self.devhdr.build() + build_header(h, self.is64) + l1buf,
                  self.name, 0)
        try:
            os.ftruncate(self.fd, self.pos)
        except OSError as exc:
            raise WriteError(f"cannot set the file size: {exc.strerror}", errno=exc.errno,
                             path=self.name) from None


def compressed_devid(fba: bool, is64: bool) -> str:
    return ("FBA_C" if fba else "CKD_C") + ("064" if is64 else "370")


def create_cckd(path: Union[str, os.PathLike[str]], dev: CKDDevice, cylinders: int,
                volser: Optional[str] = "111111", *, compress: Optional[str] = "zlib",
                level: int = -1, cckd64: bool = False, nullfmt: int = 1,
                overwrite: bool = False) -> str:
    """Create a compressed CKD volume as ``dasdinit -z`` does (track 0 with
    IPL records and VOL1 unless ``volser`` is None, all other tracks null)."""
    path = os.fspath(path)
    method = method_code(compress)
    if nullfmt not in (0, 1, 2):
        raise InvalidArgumentError("nullfmt must be 0, 1 or 2")
    ntrk = cylinders * dev.heads
    devhdr = DevHeader(compressed_devid(False, cckd64), dev.heads, dev.track_size,
                       dev.devt & 0xFF)
    check_cylinders(cylinders, path)
    first = initial_tracks(dev, cylinders, volser, nullfmt, path)
    with atomic_output(path, overwrite=overwrite) as tmp:
        with open(tmp, "r+b", buffering=0) as f:
            w = CompressedWriter(f, devhdr, cylinders, ntrk, cckd64, nullfmt, method, level)
            for l1x in range(w.num_l1):
                n = min(256, ntrk - l1x * 256)
                if l1x == 0 and first:
                    images = {t: compress_image(img, method, level) for t, img in first.items()}
                    lens = [len(images[t]) if t in images else nullfmt for t in range(n)]
                    w.write_group(0, lens, b"".join(images[t] for t in sorted(images)))
                else:
                    w.write_group(l1x, [nullfmt] * n, b"")
            w.finish()
    return path


__all__ = [
    "ALL_IDS",
    "BASE_IDS",
    "CCKDImage",
    "CompressedFile",
    "CompressedWriter",
    "HDR_POS",
    "KIND_CKD",
    "KIND_FBA",
    "L1_POS",
    "L2Tables",
    "MAX_CCKD_SIZE",
    "MAX_CYLS",
    "MAX_FBA_BLOCKS",
    "MAX_HEADS",
    "MAX_SHADOWS",
    "MAX_TRACK_SIZE",
    "NOT_HERE",
    "NOT_NULL",
    "OPENED",
    "OPENRW",
    "PER_GROUP",
    "REPAIR_HINT",
    "SHADOW_IDS",
    "SPACE_NAMES",
    "build_header",
    "check_shadow",
    "compress_image",
    "compressed_devid",
    "create_cckd",
    "l1_range",
    "new_header",
    "open_stack",
    "shadow_name",
    "shadow_names",
]
