"""FBA disk images: plain (no header; block *n* at offset 512*n) and
compressed CFBA (``FBA_C370``/``FBA_C064`` and shadows) where blocks are kept
in groups of 120 (61440 bytes) looked up through L1/L2 like CCKD tracks.
"""

from __future__ import annotations

import errno as errno_mod
import os

from .._native import check, ffi, lib, new_err
from ..compress import method_code
from ..errors import (
    AddressError,
    FormatError,
    InvalidArgumentError,
    NotFoundError,
    ReadOnlyError,
    WriteError,
)
from ..geometry import FBADevice, fba_devices, lookup_fba
from ..lifetime import Finalizing
from ..lock import lock_fd
from ..output import atomic_output, fsync_checked, write_all
from .cckd import CompressedWriter, compressed_devid
from .cckdfile import KIND_FBA, NOT_HERE, CompressedFile, compress_image
from .ckd import DevHeader, check_volser
from .shadow import open_stack

TYPE_CHECKING = False  # typing costs every command's start
if TYPE_CHECKING:
    from typing import Optional, Union

    from ..jsonvalue import JSONDict

BLOCK = 512
PER_GROUP = lib.SPK_CFBA_BLKS_PER_GRP       # 120 blocks
GROUP_SIZE = lib.SPK_CFBA_GRP_SIZE          # 61440 bytes
ZERO_GROUP = bytes(GROUP_SIZE)


def _looks_like_devid(head: bytes) -> bool:
    return len(head) == 8 and all(c in b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_" for c in head)


def _device_for(devtype: int, blocks: int) -> Optional[FBADevice]:
    if not devtype:
        return None
    for row in fba_devices():
        if (row.devt & 0xFF) == devtype and (blocks <= row.blocks or row.blocks == 0):
            return row
    return None


class FBAImage(Finalizing):
    """A plain or compressed FBA volume of 512-byte blocks.

    Opened ``"r+"`` and never closed, it is closed at garbage collection or
    interpreter exit (with a ``ResourceWarning``), as Python's files are."""

    closed = True   # until the open succeeded
    fd = -1

    def __init__(self, path: Union[str, os.PathLike[str]], mode: str = "r", *,
                 sf: Optional[str] = None, compress: Optional[str] = "default",
                 level: Optional[int] = None) -> None:
        if mode not in ("r", "r+"):
            raise InvalidArgumentError(f"mode must be 'r' or 'r+', not {mode!r}")
        self.path = os.fspath(path)
        self.mode = mode
        self.files: list[CompressedFile] = []
        with open(self.path, "rb") as f:
            head = f.read(8)
        self.compressed = head.startswith(b"FBA_")
        try:
            self._open(head, mode, sf, compress, level)
        except BaseException:
            self._close_files()
            raise
        self.closed = False
        if mode == "r+":
            self._finalize_on_exit()

    def _open(self, head: bytes, mode: str, sf: Optional[str], compress: Optional[str],
              level: Optional[int]) -> None:
        if self.compressed:
            def validate(files: list[CompressedFile]) -> None:  # before anything is written
                if not files[0].fba:
                    raise FormatError("this is a compressed CKD image, not FBA", path=self.path)
                if compress != "default":
                    method_code(compress)

            self.files = open_stack(self.path, mode, sf, KIND_FBA, validate)
            base = self.files[0]
            self.blocks = base.hdr.cyls
            self.device = _device_for(base.devhdr.devtype, self.blocks)
            top = self.files[-1]
            self.method = top.hdr.algo if compress == "default" else method_code(compress)
            self.level = top.hdr.parm if level is None else level
            self.kind = "CFBA64" if base.is64 else "CFBA"
            if base.num_l1 * 256 * PER_GROUP < self.blocks:
                raise FormatError(f"L1 table too small for {self.blocks} blocks",
                                  path=self.path, offset=516)
        else:
            if _looks_like_devid(head):
                # 8 ASCII letters/digits: a header of some other image kind,
                # not an FBA block 0 (zeros or EBCDIC)
                raise FormatError(f"unknown disk image format (device id {head!r})",
                                  path=self.path, offset=0)
            if sf:
                raise InvalidArgumentError("shadow files need a compressed image (CFBA)")
            size = os.path.getsize(self.path)
            if size == 0 or size % BLOCK:
                raise FormatError(f"a plain FBA image is whole 512-byte blocks; this file has "
                                  f"{size} bytes", path=self.path, offset=size)
            self.blocks = size // BLOCK
            self.device = None
            self.kind = "FBA"
            fd = os.open(self.path, (os.O_RDWR if mode == "r+" else os.O_RDONLY) | os.O_CLOEXEC)
            try:
                lock_fd(fd, self.path, exclusive=mode == "r+", what="image")
            except BaseException:
                os.close(fd)
                raise
            self.fd = fd

    # -- identity -----------------------------------------------------------
    @property
    def devtype(self) -> Optional[str]:
        return self.device.devtype if self.device else None

    @property
    def volser(self) -> Optional[str]:
        """Volume serial from the VOL1 label in block 1, or None."""
        if self.blocks < 2:
            return None
        b = self.read_blocks(1, 1)
        if b[:4] != "VOL1".encode("cp037"):
            return None
        return b[4:10].decode("cp037").rstrip()

    def info(self) -> JSONDict:
        return {"path": self.path, "format": self.kind, "devtype": self.devtype,
                "model": self.device.name if self.device else None, "blocks": self.blocks,
                "block_size": BLOCK, "volser": self.volser,
                # the CKD columns of `spoolkit dasd info`
                "cylinders": None, "heads": None, "track_size": BLOCK,
                "shadows": [f.path for f in self.files[1:]]}

    # -- blocks ---------------------------------------------------------------
    def _range(self, start: int, n: int) -> None:
        if self.closed:
            raise InvalidArgumentError("I/O on a closed image", path=self.path)
        if start < 0 or n < 0 or start + n > self.blocks:
            raise AddressError(f"blocks {start}..{start + n - 1} are outside the volume of "
                               f"{self.blocks} blocks", path=self.path, block=start)

    def read_blocks(self, start: int, n: int = 1) -> bytes:
        """``n`` blocks from block ``start``."""
        self._range(start, n)
        if not self.compressed:
            data = os.pread(self.fd, n * BLOCK, start * BLOCK)
            if len(data) != n * BLOCK:
                raise FormatError("file shrank while reading", path=self.path, block=start)
            return data
        parts = []
        blk, end = start, start + n
        while blk < end:
            g, off = divmod(blk, PER_GROUP)
            k = min(end - blk, PER_GROUP - off)
            parts.append(self.read_group(g)[off * BLOCK:(off + k) * BLOCK])
            blk += k
        return b"".join(parts)

    def read_group(self, g: int) -> bytes:
        """The 61440 bytes of block group ``g`` of a compressed image."""
        for f in reversed(self.files):
            e = f.l2[g]
            if e.off == NOT_HERE:
                continue
            if e.off == 0:
                return ZERO_GROUP
            stored = f.read_stored(g)
            out = bytearray(5 + GROUP_SIZE)
            err = new_err()
            check(lib.spk_cckd_trk_expand(stored, len(stored), KIND_FBA, g, 1, 0,
                                          ffi.from_buffer(out), len(out), err), err,
                  path=f.path, block=g * PER_GROUP)
            return bytes(out[5:])
        raise NotFoundError(f"block group {g} is in none of the files", path=self.path,
                            block=g * PER_GROUP)

    def write_blocks(self, start: int, data: Union[bytes, bytearray, memoryview]) -> None:
        """Write whole blocks from ``start`` (``len(data)`` a multiple of 512)."""
        if len(data) % BLOCK:
            raise InvalidArgumentError(f"{len(data)} bytes is not a whole number of blocks")
        n = len(data) // BLOCK
        self._range(start, n)
        if self.mode != "r+":
            raise ReadOnlyError("image is open read-only", path=self.path, block=start)
        if not self.compressed:
            write_all(self.fd, data, self.path, start * BLOCK)
            return
        mv = memoryview(data)
        blk, end = start, start + n
        # all groups or none: new images go to fresh space, and the tables
        # are put back if any group fails
        with self.files[-1].update():
            while blk < end:
                g, off = divmod(blk, PER_GROUP)
                k = min(end - blk, PER_GROUP - off)
                chunk = mv[(blk - start) * BLOCK:(blk - start + k) * BLOCK]
                if k == PER_GROUP:
                    group = bytes(chunk)
                else:
                    buf = bytearray(self.read_group(g))
                    buf[off * BLOCK:(off + k) * BLOCK] = chunk
                    group = bytes(buf)
                self._write_group(g, group)
                blk += k

    def _write_group(self, g: int, group: bytes) -> None:
        top = self.files[-1]
        if group == ZERO_GROUP:
            top.set_entry(g, 0, top.hdr.nullfmt, top.hdr.nullfmt)
            return
        top.write_stored(g, compress_image(group_image(g, group), self.method, self.level))

    # -- lifetime ---------------------------------------------------------------
    def flush(self) -> None:
        """Write the tables and header of a compressed image (it stays open)."""
        if self.closed:
            raise InvalidArgumentError("I/O on a closed image", path=self.path)
        if self.compressed:
            self.files[-1].flush()
        elif self.mode == "r+":
            fsync_checked(self.fd, self.path)

    def close(self) -> None:
        """Write what is pending, clear OPENED, release the files and locks.
        Idempotent; the image is closed even when finishing fails."""
        if self.closed:
            return
        self.closed = True
        try:
            self._close_files()
        finally:
            self._forget_on_exit()

    def _close_files(self) -> None:
        first: Optional[BaseException] = None
        for f in reversed(self.files):
            try:
                f.close()
            except BaseException as exc:  # noqa: BLE001 - re-raised below
                first = first or exc
        if self.fd >= 0:
            try:
                if self.mode == "r+" and first is None and not self.compressed:
                    fsync_checked(self.fd, self.path)
            except BaseException as exc:  # noqa: BLE001 - re-raised below
                first = exc
            os.close(self.fd)
            self.fd = -1
        if first is not None:
            raise first

    def __enter__(self) -> FBAImage:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<FBAImage {self.path} {self.kind} {self.blocks} blocks>"


def write_zeros(fd: int, path: str, size: int) -> None:
    """Give a new file ``size`` bytes of zeros that are really allocated
    (a full file system fails here, not at a later write into a hole)."""
    try:
        os.posix_fallocate(fd, 0, size)
        return
    except OSError as exc:
        if exc.errno not in (errno_mod.EOPNOTSUPP, errno_mod.ENOSYS, errno_mod.EINVAL):
            raise WriteError("the file system is full" if exc.errno == errno_mod.ENOSPC
                             else f"cannot allocate {size} bytes: {exc.strerror}",
                             errno=exc.errno, path=path) from None
    chunk = bytes(min(size, 1 << 20))
    for off in range(0, size, len(chunk)):
        write_all(fd, chunk[:min(len(chunk), size - off)], path, off)


def group_image(g: int, group: bytes) -> bytes:
    """Block group header (code 0, group number BE) + data."""
    return b"\0" + g.to_bytes(4, "big") + group


def vol1_block(volser: str) -> bytes:
    """Block 1 as Hercules 3.13 ``dasdinit`` writes it: ``VOL1`` + volser."""
    return ("VOL1" + check_volser(volser).ljust(6)).encode("cp037").ljust(BLOCK, b"\0")


def create_fba(path: Union[str, os.PathLike[str]], device: str = "3370", *,
               blocks: Optional[int] = None, volser: Optional[str] = "111111",
               compress: Optional[str] = None, level: int = -1,
               cckd64: bool = False, overwrite: bool = False) -> FBAImage:
    """Create an FBA volume like ``dasdinit``: plain (``compress=None``) or
    CFBA (``"zlib"``/``"bzip2"``, ``cckd64`` for 64-bit).  Returns it ``"r+"``."""
    path = os.fspath(path)
    dev = lookup_fba(device)
    nblk = blocks if blocks is not None else dev.blocks
    if not isinstance(nblk, int) or not 2 <= nblk <= 0x7FFFFFFF:
        raise InvalidArgumentError(f"{nblk} blocks is not a valid FBA size (2 to {0x7FFFFFFF})",
                                   path=path)
    label = vol1_block(volser) if volser is not None else None
    with atomic_output(path, overwrite=overwrite) as tmp, open(tmp, "r+b", buffering=0) as f:
        if compress is None and not cckd64:
            write_zeros(f.fileno(), tmp, nblk * BLOCK)
            if label:
                write_all(f.fileno(), label, tmp, BLOCK)
        else:
            method = method_code(compress or "zlib")
            ngroups = nblk // PER_GROUP + 1  # as create_compressed_fba counts them
            devhdr = DevHeader(compressed_devid(True, cckd64), nblk, BLOCK, dev.devt & 0xFF)
            w = CompressedWriter(f, devhdr, nblk, ngroups, cckd64, 0, method, level)
            for l1x in range(w.num_l1):
                n = min(256, ngroups - l1x * 256)
                if l1x == 0 and label:
                    g0 = bytearray(GROUP_SIZE)
                    g0[BLOCK:2 * BLOCK] = label
                    stored = compress_image(group_image(0, bytes(g0)), method, level)
                    w.write_group(0, [len(stored)] + [0] * (n - 1), stored)
                else:
                    w.write_group(l1x, [0] * n, b"")
            w.finish()
    return FBAImage(path, "r+")
