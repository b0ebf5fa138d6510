"""One compressed file of a CCKD, CCKD64 or CFBA image (base or shadow): its
headers, L1 and L2 tables, stored track (block group) images and free space.

Layout (``hercules-formats.md`` §2): device header, compressed device header
at 512, L1 table at 1024, then L2 tables, stored images and free space in
any order.  The byte work (headers, tables, (de)compression, validation,
free chain) is in ``csrc/cckd.c``; this module owns the file and its space.

Space policy: new space comes first-fit from the free chain, else from the
end of the file.  Space freed while the file is open stays *pending* (not
reused) until the metadata has been flushed, so a crash never leaves an L2
entry on disk that points at overwritten data.  Metadata is written on
``flush()``/``close()`` in little-endian order with the linked free chain,
which every Hercules version reads.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from typing import TYPE_CHECKING, Optional, Union

from .._native import check, ffi, lib, new_err
from ..errors import (
    FormatError,
    NoSpaceError,
    SpoolkitError,
    TruncatedError,
    Where,
    WriteError,
)
from ..lock import lock_fd
from ..output import fsync_checked, write_all
from .ckd import DEVHDR_SIZE, DevHeader

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from .._spoolkit import (
        Array,
        PtrArray,
        spk_cckd_hdr,
        spk_cckd_l2ent,
        spk_cckd_space,
        spk_errinfo,
    )
    from .reports import Problem


SPACE_NAMES = {lib.SPK_SPACE_HEADER: "header", lib.SPK_SPACE_L1: "L1 table",
               lib.SPK_SPACE_L2: "L2 table", lib.SPK_SPACE_TRACK: "track image",
               lib.SPK_SPACE_FREE: "free block"}
HDR_POS = lib.SPK_CCKD_HDR_POS
L1_POS = lib.SPK_CCKD_L1_POS
OPENED = lib.SPK_CCKD_OPT_OPENED
OPENRW = lib.SPK_CCKD_OPT_OPENRW
NOT_HERE = (1 << 64) - 1           # decoded "look in a lower file" offset
NOT_NULL = lib.SPK_CCKD_NOT_NULL
KIND_CKD = lib.SPK_CCKD_KIND_CKD
KIND_FBA = lib.SPK_CCKD_KIND_FBA
MAX_CCKD_SIZE = 0xFFFFFFFF     # 32-bit offsets (HHC00304E "size exceeds 4096M")

BASE_IDS = {"CKD_C370": False, "CKD_C064": True, "FBA_C370": False, "FBA_C064": True}
SHADOW_IDS = {"CKD_S370": False, "CKD_S064": True, "FBA_S370": False, "FBA_S064": True}
ALL_IDS = {**BASE_IDS, **SHADOW_IDS}


PER_GROUP = lib.SPK_CFBA_BLKS_PER_GRP
MAX_CYLS = 0x10000            # CC is 16 bits (Hercules cannot open EAV-sized images)
MAX_HEADS = 255
MAX_TRACK_SIZE = 65536           # a stored image is at most 65535 bytes
MAX_FBA_BLOCKS = 0x7FFFFFFF
REPAIR_HINT = "run 'spoolkit dasd check --repair' first, or open it read-only"


def l1_range(fba: bool, cyls: int, heads: int) -> tuple[int, int]:
    """The L1 sizes a file of this geometry may have (Hercules accepts n or n+1;
    CFBA counts blocks // 120 + 1 groups)."""
    if fba:
        groups = -(-cyls // PER_GROUP)
        return -(-groups // 256), -(-(cyls // PER_GROUP + 1) // 256) + 1
    need = -(-cyls * heads // 256)
    return need, need + 1


class L2Tables:
    """The L2 tables of one file, one 256-entry cffi array per table the file
    holds (memory bounded by the file); a group without a table shares a
    read-only filler: null tracks (L1 0) or "look lower" (L1 X'FF..')."""

    def __init__(self, f: CompressedFile) -> None:
        self.f = f
        self.tabs: dict[int, Array[spk_cckd_l2ent]] = {}
        self.damaged: dict[int, FormatError] = {}
        self._null = self._filler(0, f.hdr.nullfmt)
        self._lower = self._filler(NOT_HERE, 0xFFFF)

    @staticmethod
    def _filler(off: int, fmt: int) -> Array[spk_cckd_l2ent]:
        t = ffi.new("spk_cckd_l2ent[]", 256)
        lib.spk_cckd_l2_fill(t, 256, off, fmt, fmt)
        return t

    def table(self, g: int) -> Array[spk_cckd_l2ent]:
        """The entries of group ``g`` (raises for a group whose table is damaged)."""
        t = self.tabs.get(g)
        if t is not None:
            return t
        if g in self.damaged:
            exc = self.damaged[g]
            raise FormatError(exc.message, path=exc.path, offset=exc.offset)
        return self._lower if self.f.l1[g] == NOT_HERE else self._null

    def new_table(self, g: int, off: int, fmt: int) -> Array[spk_cckd_l2ent]:
        """A writable table for group ``g`` filled with ``{off, fmt, fmt}``."""
        t = self.tabs[g] = self._filler(off, fmt)
        return t

    def __getitem__(self, trk: int) -> spk_cckd_l2ent:
        return self.table(trk >> 8)[trk & 255]

    def pointers(self) -> PtrArray[spk_cckd_l2ent]:
        """``spk_cckd_l2ent *[num_l1]`` for C: NULL where the file has no table.
        The arrays stay owned by ``tabs`` (keep this object alive meanwhile)."""
        ptrs = ffi.new("spk_cckd_l2ent *[]", max(1, self.f.num_l1))
        for g, t in self.tabs.items():
            ptrs[g] = t
        return ptrs


class CompressedFile:
    """One compressed file (base or shadow): metadata in memory, images on disk.

    Every count and offset of the headers and tables is checked against the
    file's size and the declared geometry before it is used, so memory stays
    a small multiple of the file size whatever the file claims."""

    def __init__(self, path: str, writable: bool, kind: int,
                 problems: Optional[list[Problem]] = None, *, lock: bool = True) -> None:
        """``problems``: collect L1/L2/free-chain faults there (the checker)
        instead of raising; the faulty parts then read as absent.  Without it
        a read-only file still opens when only some L2 tables or the free
        chain are damaged: the tracks of a damaged table raise when read.

        ``lock``: take an exclusive lock (writable) or a shared one (read
        only) on the file; ``False`` where the caller holds one already."""
        self.path = path
        self.problems = problems
        self.writable = writable
        self.kind = kind
        # per L1 entry changed: its old value and L2 table (None: no table before)
        self._undo: Optional[dict[int, tuple[int, Optional[bytes]]]] = None
        self.fd = os.open(path, (os.O_RDWR if writable else os.O_RDONLY) | os.O_CLOEXEC)
        try:
            if lock:
                lock_fd(self.fd, path, exclusive=writable, what="image")
            self._load()
        except BaseException:
            os.close(self.fd)
            raise

    # -- reading metadata -------------------------------------------------
    def _pread(self, n: int, off: int, what: str, **where: Unpack[Where]) -> bytes:
        where.setdefault("path", self.path)
        try:
            data = os.pread(self.fd, n, off)
        except OSError as exc:
            where["offset"] = off
            raise TruncatedError(f"reading {what} at offset {off}: {exc.strerror}",
                                 **where) from None
        if len(data) != n:
            where["offset"] = off + len(data)
            raise TruncatedError(f"{what} at offset {off} needs {n} bytes; the file ends at "
                                 f"{off + len(data)}", **where)
        return data

    def _problem(self, exc: FormatError, kind: str, index: Optional[int] = None) -> None:
        if self.problems is None:
            raise exc
        error, message = type(exc).__name__, exc.message
        if index is None:
            p: Problem = {"kind": kind, "offset": exc.offset, "error": error, "message": message}
        else:
            p = {"kind": kind, "index": index, "offset": exc.offset, "error": error,
                 "message": message}
        self.problems.append(p)

    def where(self, trk: int, offset: Optional[int] = None) -> Where:
        """Error location of track (CFBA: block group) ``trk``, at ``offset``."""
        w: Where = ({"path": self.path, "block": trk * PER_GROUP} if self.fba else
                    {"path": self.path, "track": divmod(trk, max(1, self.devhdr.heads))})
        if offset is not None:
            w["offset"] = offset
        return w

    def _load(self) -> None:
        self.filesize = os.fstat(self.fd).st_size
        head = self._pread(L1_POS, 0, "device headers")
        self.devhdr_raw = head[:DEVHDR_SIZE]
        self.devhdr = DevHeader.parse(self.devhdr_raw, self.path)
        if self.devhdr.devid not in ALL_IDS:
            raise FormatError(f"not a compressed image (device id {self.devhdr.devid!r})",
                              path=self.path, offset=0)
        self.is64 = ALL_IDS[self.devhdr.devid]
        self.shadow = self.devhdr.devid in SHADOW_IDS
        self.fba = self.devhdr.devid.startswith("FBA")
        self.hdr = ffi.new("spk_cckd_hdr *")
        err = new_err()
        check(lib.spk_cckd_hdr_parse(head[HDR_POS:], 512, self.is64, self.hdr, err), err,
              path=self.path, base_offset=HDR_POS)
        self.bigend = bool(self.hdr.opts & lib.SPK_CCKD_OPT_BIGEND)
        self.l1_esz = 8 if self.is64 else 4
        self.l2_bytes = 256 * (16 if self.is64 else 8)
        self.num_l1 = self.hdr.num_l1
        self._check_geometry()
        if self.num_l1 * self.l1_esz > self.filesize - L1_POS:
            raise TruncatedError(f"L1 table of {self.num_l1} entries runs past the end of the "
                                 f"{self.filesize}-byte file", path=self.path,
                                 offset=HDR_POS + 4)
        l1_raw = self._pread(self.num_l1 * self.l1_esz, L1_POS, "L1 table")
        self.l1 = ffi.new("uint64_t[]", self.num_l1)
        check(lib.spk_cckd_l1_decode(l1_raw, len(l1_raw), self.num_l1, self.is64, self.bigend,
                                     self.l1, err), err, path=self.path, base_offset=L1_POS)
        self.meta_end = L1_POS + self.num_l1 * self.l1_esz
        self.l2 = L2Tables(self)
        # each table is decoded once: tables that share bytes are refused, so
        # memory stays bounded by the file whatever the L1 entries say
        order = sorted((self.l1[i], i) for i in range(self.num_l1)
                       if self.l1[i] not in (0, NOT_HERE))
        prev_end, prev_i = 0, -1
        for off, i in order:
            try:
                if off < prev_end:
                    raise FormatError(f"L1 entry {i}: L2 table at {off} overlaps the L2 table "
                                      f"of L1 entry {prev_i}", path=self.path,
                                      offset=L1_POS + i * self.l1_esz)
                prev_end, prev_i = off + self.l2_bytes, i
                self._load_l2(i, off, err)
            except FormatError as exc:
                if self.problems is None:  # reads of that group raise; writes refused
                    self.l2.damaged[i] = exc
                else:
                    self._problem(exc, kind="l1", index=i)
                    self.l1[i] = NOT_HERE
        self.dirty_l2: set[int] = set()
        self.dirty_hdr = False
        self.pending: list[list[int]] = []
        self.free_error: Optional[SpoolkitError] = None
        try:
            self.free = self.read_free()
        except SpoolkitError as exc:  # reads need no free chain; writes are refused
            if self.problems is not None:
                self.problems.append({"kind": "free", "offset": exc.offset,
                                      "error": type(exc).__name__, "message": exc.message})
            self.free_error = exc
            self.free = []
        # running totals for the header (recomputed from the tables, not trusted)
        self.len_sum, self.imbed = self._l2_totals()
        self.nl2 = len(self.l2.tabs)
        if self.writable and self.bigend:
            # Hercules rewrites a foreign-order file on a read/write open; we
            # rewrite all metadata little-endian at the first flush
            self.dirty_l2.update(self.l2.tabs)
            self.dirty_hdr = True

    def _check_geometry(self) -> None:
        """The L1 size must be what the geometry needs (it sizes every table)."""
        h, dh = self.hdr, self.devhdr
        if self.fba:
            if not 1 <= h.cyls <= MAX_FBA_BLOCKS:
                raise FormatError(f"compressed FBA header declares {h.cyls} blocks",
                                  path=self.path, offset=HDR_POS + (12 if self.is64 else 40))
            what = f"{h.cyls} blocks"
        else:
            if not 1 <= dh.heads <= MAX_HEADS or not 512 <= dh.track_size <= MAX_TRACK_SIZE:
                raise FormatError(f"bad geometry in header: {dh.heads} heads, track size "
                                  f"{dh.track_size}", path=self.path, offset=8)
            if not 1 <= h.cyls <= MAX_CYLS:
                raise FormatError(f"compressed device header declares {h.cyls} cylinders",
                                  path=self.path, offset=HDR_POS + (12 if self.is64 else 40))
            what = f"{h.cyls} cylinders of {dh.heads} tracks"
        lo, hi = l1_range(self.fba, h.cyls, dh.heads)
        if not lo <= self.num_l1 <= hi:
            exc = FormatError(f"L1 table size {self.num_l1} does not fit {what} (expected "
                              f"{lo})", path=self.path, offset=HDR_POS + 4)
            self._problem(exc, kind="header")
            # the checker goes on with what the file holds, bounded by its size

    def _load_l2(self, i: int, off: int, err: spk_errinfo) -> None:
        at = L1_POS + i * self.l1_esz
        if off < self.meta_end:
            raise FormatError(f"L1 entry {i}: L2 table at {off} overlaps the headers "
                              f"and L1 table (which end at {self.meta_end})",
                              path=self.path, offset=at)
        if off + self.l2_bytes > self.filesize:
            raise FormatError(f"L1 entry {i}: L2 table at {off} is past the end of "
                              f"the {self.filesize}-byte file", path=self.path, offset=at)
        raw = self._pread(self.l2_bytes, off, f"L2 table {i}")
        t = ffi.new("spk_cckd_l2ent[]", 256)
        check(lib.spk_cckd_l2_decode(raw, len(raw), self.is64, self.bigend, t, err), err,
              path=self.path, base_offset=off)
        self.l2.tabs[i] = t

    def totals(self) -> dict[str, int]:
        """Header fields as the tables and the free chain say they must be."""
        free_bytes = sum(ln for _, ln in self.free)
        return {"used": self.meta_end + self.nl2 * self.l2_bytes + self.len_sum,
                "free_off": self.free[0][0] if self.free else 0,
                "free_num": len(self.free),
                "free_largest": max((ln for _, ln in self.free), default=0),
                "free_imbed": self.imbed, "free_total": free_bytes + self.imbed}

    def _fill_l2(self, i: int, off: int, fmt: int) -> None:
        self.l2.new_table(i, off, fmt)

    def read_free(self) -> list[list[int]]:
        """The free blocks ``[[offset, length], ...]`` in offset order."""
        if self.hdr.free_off == 0:
            return []
        cap = min(max(int(self.hdr.free_num), 0) + 1, self.filesize // 8 + 1)
        out = ffi.new("spk_cckd_free[]", cap)
        err = new_err()
        n = check(lib.spk_cckd_free_read_fd(self.fd, self.filesize, self.is64, self.bigend,
                                            self.hdr, out, cap, err), err, path=self.path)
        return [[out[i].off, out[i].len] for i in range(n)]

    def spaces(self, with_free: bool = True
               ) -> tuple[Array[spk_cckd_space], int, list[tuple[int, int, int]]]:
        """Every space of the file as a cffi array (valid ones first, ``k`` of
        them) and the invalid L2 entries as ``(track, offset, size)``."""
        ptrs = self.l2.pointers()
        free = self.free if with_free else []
        cap = 1 + self.nl2 * 257 + len(free)
        sp = ffi.new("spk_cckd_space[]", cap)
        fr = ffi.new("spk_cckd_free[]", max(1, len(free)))
        for i, (off, ln) in enumerate(free):
            fr[i].off, fr[i].len = off, ln
        nbad = ffi.new("size_t *")
        err = new_err()
        k = check(lib.spk_cckd_file_spaces(self.l1, self.num_l1, ptrs, self.meta_end,
                                           self.l2_bytes, fr, len(free), sp, cap, nbad,
                                           ffi.NULL, ffi.NULL, err), err, path=self.path)
        bad = [(int(sp[cap - 1 - b].index), int(sp[cap - 1 - b].off),
                int(sp[cap - 1 - b].len)) for b in range(nbad[0])]
        return sp, k, bad

    def _l2_totals(self) -> tuple[int, int]:
        ls = ffi.new("uint64_t *")
        ims = ffi.new("uint64_t *")
        err = new_err()
        check(lib.spk_cckd_file_spaces(self.l1, self.num_l1, self.l2.pointers(), self.meta_end,
                                       self.l2_bytes, ffi.NULL, 0, ffi.NULL, 0, ffi.NULL, ls,
                                       ims, err), err, path=self.path)
        return ls[0], ims[0]

    def identity(self) -> int:
        """What a shadow above this file records of it (spk_cckd_identity)."""
        return lib.spk_cckd_identity(self.devhdr_raw, self.hdr, self.l1, self.num_l1,
                                     self.l2.pointers())

    def check_writable(self) -> None:
        """Refuse updates to a file whose tables cannot be trusted: new data
        would land on live data.  Checks the L2 tables, the free chain and the
        header size against each other and the file (in C, one sort)."""
        def refuse(what: str, offset: Optional[int] = None) -> None:
            raise FormatError(f"damaged image, not opened for writing: {what}; {REPAIR_HINT}",
                              path=self.path, offset=offset)
        for _, exc in sorted(self.l2.damaged.items()):
            refuse(exc.message, exc.offset)
        if self.free_error is not None:
            refuse(f"free space chain: {self.free_error.message}", self.free_error.offset)
        size = int(self.hdr.size)
        if not self.meta_end <= size <= self.filesize:
            refuse(f"header says the file has {size} bytes, it has {self.filesize}",
                   HDR_POS + (16 if self.is64 else 12))
        sp, k, bad = self.spaces()
        if bad:
            trk, off, _ = bad[0]
            refuse(f"{len(bad)} invalid L2 entries (first: track {trk} at {off})")
        over = ffi.new("spk_cckd_overlap[]", 1)
        gap = ffi.new("uint64_t *")
        if lib.spk_cckd_space_check(sp, k, size, over, 1, gap):
            a, b = sp[over[0].a], sp[over[0].b]
            if over[0].a == over[0].b:
                refuse(f"{SPACE_NAMES.get(a.kind, '?')} {a.index} at {a.off} ({a.len} bytes) "
                       f"runs past the end of the used area ({size} bytes)", int(a.off))
            refuse(f"{SPACE_NAMES.get(b.kind, '?')} {b.index} at {b.off} overlaps "
                   f"{SPACE_NAMES.get(a.kind, '?')} {a.index} at {a.off} ({a.len} bytes)",
                   int(b.off))

    # -- track images -------------------------------------------------------
    def read_stored(self, trk: int) -> bytes:
        e = self.l2[trk]
        if e.len < 5 or e.size < e.len:
            raise FormatError(f"L2 entry of track {trk}: length {e.len}, size {e.size}",
                              **self.where(trk))
        if e.off < self.meta_end:
            raise FormatError(f"track {trk} image at {e.off} overlaps the headers",
                              **self.where(trk, e.off))
        if e.off + e.len > self.filesize:
            raise TruncatedError(f"image of track {trk} at {e.off} ({e.len} bytes) is past "
                                 "the end of the file", **self.where(trk, e.off))
        return self._pread(e.len, e.off, f"image of track {trk}", **self.where(trk))

    # -- space ----------------------------------------------------------------
    def get_space(self, n: int, imbed: bool = True) -> tuple[int, int]:
        """Offset and reserved size for ``n`` bytes: first fit, else end of file.
        With ``imbed`` (track images) a block only slightly bigger is taken whole."""
        minfree = 16 if self.is64 else 8
        for i, (off, ln) in enumerate(self.free):
            if ln == n or ln - n >= minfree:
                if ln == n:
                    del self.free[i]
                else:
                    self.free[i] = [off + n, ln - n]
                return off, n
            if imbed and n < ln < 65536 and ln - n < minfree:
                del self.free[i]       # too small a rest to keep: imbedded space
                return off, ln
        off = self.hdr.size
        if not self.is64 and off + n > MAX_CCKD_SIZE:
            raise NoSpaceError("a CCKD file cannot grow past 4 GB; convert it to CCKD64",
                               path=self.path, offset=off)
        self.hdr.size = off + n
        return off, n

    def release(self, off: int, n: int) -> None:
        if n:
            self.pending.append([off, n])

    def _merge_pending(self) -> None:
        blocks = sorted(self.free + self.pending)
        self.pending = []
        merged: list[list[int]] = []
        for off, ln in blocks:
            if merged and merged[-1][0] + merged[-1][1] == off:
                merged[-1][1] += ln
            else:
                merged.append([off, ln])
        # space at the end of the file is given back by truncating
        while merged and merged[-1][0] + merged[-1][1] == self.hdr.size:
            self.hdr.size = merged[-1][0]
            merged.pop()
        self.free = merged

    @contextlib.contextmanager
    def update(self) -> Iterator[None]:
        """One all-or-nothing change of the tables: if the block raises, the
        in-memory tables, free space and totals are put back as they were.
        The file itself then differs only in bytes no table points at (new
        data goes to fresh space; tables reach the disk at ``flush``)."""
        if self._undo is not None:   # nested: the outer update undoes
            yield
            return
        saved = ([list(b) for b in self.free], len(self.pending), int(self.hdr.size),
                 self.filesize, self.nl2, self.len_sum, self.imbed, set(self.dirty_l2))
        self._undo = {}
        try:
            yield
        except BaseException:
            esz = ffi.sizeof("spk_cckd_l2ent")
            for l1x, (l1, l2raw) in self._undo.items():
                self.l1[l1x] = l1
                if l2raw is None:        # the table was made by this update
                    self.l2.tabs.pop(l1x, None)
                else:
                    ffi.memmove(self.l2.tabs[l1x], l2raw, 256 * esz)
            (self.free, npend, self.hdr.size, self.filesize, self.nl2, self.len_sum,
             self.imbed, self.dirty_l2) = saved
            del self.pending[npend:]
            # the new bytes may have gone over a free block's chain link
            self.dirty_hdr = True
            raise
        finally:
            self._undo = None

    def _touch(self, l1x: int) -> None:
        """Keep L1 entry and L2 table ``l1x`` for an undo of the running update."""
        if self._undo is not None and l1x not in self._undo:
            esz = ffi.sizeof("spk_cckd_l2ent")
            t = self.l2.tabs.get(l1x)
            self._undo[l1x] = (self.l1[l1x],
                               None if t is None else bytes(ffi.buffer(t, 256 * esz)))

    def set_entry(self, trk: int, off: int, ln: int, size: int) -> None:
        """Point track ``trk`` at new storage (or a null entry), freeing the old."""
        with self.update():
            l1x = trk >> 8
            self._touch(l1x)
            if self.l1[l1x] in (0, NOT_HERE):
                self._new_l2(l1x)
            e = self.l2[trk]
            if e.off not in (0, NOT_HERE):
                self.release(e.off, e.size)
                self.len_sum -= e.len
                self.imbed -= e.size - e.len
            e.off, e.len, e.size = off, ln, size
            if off not in (0, NOT_HERE):
                self.len_sum += ln
                self.imbed += size - ln
            self.dirty_l2.add(l1x)
            self.dirty_hdr = True

    def _new_l2(self, l1x: int) -> None:
        # a new table keeps what the missing one meant: null tracks in a base
        # (never all-zero entries: those would read as null format 0), "look
        # lower" in a shadow.  It is written at once, to fresh space (nothing
        # on disk points there before the L1 table is flushed), so that a full
        # file system shows up in the write that needs it, never in close()
        self._touch(l1x)
        was_not_here = self.l1[l1x] == NOT_HERE
        off, _ = self.get_space(self.l2_bytes, imbed=False)
        if was_not_here:
            self._fill_l2(l1x, NOT_HERE, 0xFFFF)
        else:
            self._fill_l2(l1x, 0, self.hdr.nullfmt)
        self.l1[l1x] = off
        self.nl2 += 1
        self._write_l2(l1x)

    def _write_l2(self, l1x: int) -> None:
        buf = bytearray(self.l2_bytes)
        err = new_err()
        check(lib.spk_cckd_l2_encode(ffi.from_buffer(buf), len(buf), self.l2.table(l1x),
                                     self.is64, err), err, path=self.path)
        off = int(self.l1[l1x])
        write_all(self.fd, buf, self.path, off)
        self.filesize = max(self.filesize, off + len(buf))

    def write_stored(self, trk: int, stored: bytes) -> None:
        """Store a track image in fresh space and point the track at it;
        all or nothing (see :meth:`update`)."""
        with self.update():
            off, size = self.get_space(len(stored))
            write_all(self.fd, stored, self.path, off)
            self.filesize = max(self.filesize, off + len(stored))
            self.set_entry(trk, off, len(stored), size)

    # -- metadata -------------------------------------------------------------
    def mark_open(self) -> None:
        """Set OPENED (and OPENRW) on disk like Hercules does for an update open.

        While the file is open the header on disk names no free chain (see
        :meth:`_write_header`): free blocks are reused and their links
        rewritten, so a chain on disk could not stay valid."""
        self.hdr.opts |= OPENED | OPENRW
        if self.bigend:
            self.flush()  # rewrite every table little-endian now, header last
        else:
            self._write_header()
            fsync_checked(self.fd, self.path)  # OPENED is on disk before any change

    def _write_header(self, with_free: bool = False) -> None:
        """The header on disk; ``with_free=False`` writes it as "free chain
        being rebuilt" (no free blocks, their bytes lost space, which
        ``dasd check --repair`` and ``cckdcdsk`` rebuild from the tables), so
        a writer killed at any moment leaves no header pointing at blocks
        whose links were overwritten."""
        h = self.hdr
        if not with_free:
            h = ffi.new("spk_cckd_hdr *", h[0])
            h.free_off = h.free_num = h.free_largest = 0
            h.free_total = self.imbed
        write_all(self.fd, build_header(h, self.is64, self.path), self.path, HDR_POS)

    def free_from_tables(self, end: int) -> list[list[int]]:
        """The free space as the tables say it is (cckdcdsk's rebuild): the
        stretches of ``[meta_end, end)`` that no L2 table and no track image
        covers.  Gaps too small for a chain link are left out.  Raises when
        the tables overlap or point past ``end`` (no free space is sound then)."""
        sp, k, bad = self.spaces(with_free=False)
        over = ffi.new("spk_cckd_overlap[]", 1)
        gap = ffi.new("uint64_t *")
        if bad or lib.spk_cckd_space_check(sp, k, end, over, 1, gap):
            raise FormatError("the L2 tables overlap or point past the end of the file; the "
                              "free space cannot be rebuilt from them", path=self.path)
        cap = k + 1
        out = ffi.new("spk_cckd_free[]", cap)
        err = new_err()
        n = check(lib.spk_cckd_space_gaps(sp, k, self.meta_end, end, 16 if self.is64 else 8,
                                          out, cap, ffi.NULL, err), err, path=self.path)
        return [[int(out[i].off), int(out[i].len)] for i in range(n)]

    def _truncate(self, size: int) -> None:
        try:
            os.ftruncate(self.fd, size)
        except OSError as exc:
            raise WriteError(f"cannot set the file size to {size}: {exc.strerror}",
                             errno=exc.errno, path=self.path) from None
        self.filesize = size

    def flush(self, closing: bool = False) -> None:
        if not self.writable:
            return
        if not (self.dirty_hdr or self.dirty_l2 or self.pending or closing):
            return
        err = new_err()
        # order: track images, then the tables pointing at them, then the
        # free chain (in space no table points at) and the header last
        fsync_checked(self.fd, self.path)
        for l1x in sorted(self.dirty_l2):
            self._write_l2(l1x)
        self.dirty_l2.clear()
        l1buf = bytearray(self.num_l1 * self.l1_esz)
        check(lib.spk_cckd_l1_encode(ffi.from_buffer(l1buf), len(l1buf), self.l1, self.num_l1,
                                     self.is64, err), err, path=self.path)
        write_all(self.fd, l1buf, self.path, L1_POS)
        fsync_checked(self.fd, self.path)  # tables are on disk before pending space is reused
        self._merge_pending()
        if closing:
            # the chain links go into the free blocks while the header on
            # disk names no chain (mark_open); the header naming it is last
            self._write_links(err)
        h = self.hdr
        for name, value in self.totals().items():
            setattr(h, name, value)
        self.bigend = False
        self._truncate(h.size)
        opts = h.opts
        if closing:
            h.opts &= ~OPENED
        try:
            self._write_header(with_free=closing)
            fsync_checked(self.fd, self.path)
        except BaseException:
            h.opts = opts  # OPENED is still set on disk
            raise
        self.dirty_hdr = False

    def _write_links(self, err: spk_errinfo) -> None:
        blocks = ffi.new("spk_cckd_free[]", max(1, len(self.free)))
        for i, (off, ln) in enumerate(self.free):
            blocks[i].off, blocks[i].len = off, ln
        esz = 16 if self.is64 else 8
        links = bytearray(len(self.free) * esz)
        check(lib.spk_cckd_free_link(blocks, len(self.free), self.is64,
                                     ffi.from_buffer(links) if links else ffi.NULL,
                                     len(links), err), err, path=self.path)
        for i, (off, _) in enumerate(self.free):
            write_all(self.fd, links[i * esz:(i + 1) * esz], self.path, off)

    def close(self) -> None:
        if self.fd >= 0:
            try:
                if self.writable:
                    self.flush(closing=True)
            finally:
                os.close(self.fd)
                self.fd = -1


def compress_image(image: Union[bytes, bytearray, memoryview], method: int,
                   level: int = -1) -> bytes:
    """A track (or block group) image as stored: compressed when that is
    smaller and the image has at least 512 bytes."""
    out = bytearray(len(image))
    err = new_err()
    n = check(lib.spk_cckd_trk_compress(ffi.from_buffer(image), len(image), method, level,
                                        ffi.from_buffer(out), len(out), err), err)
    return bytes(out[:n])


def new_header(cyls: int, num_l1: int, size: int, nullfmt: int, method: int,
               level: int) -> spk_cckd_hdr:
    """A compressed device header for a new file of ``size`` bytes, no free space."""
    h = ffi.new("spk_cckd_hdr *")
    h.vrm = [0, 3, 1]
    h.num_l1, h.num_l2, h.cyls = num_l1, 256, cyls
    h.size = h.used = size
    h.nullfmt, h.algo, h.parm = nullfmt, method, level
    return h


def build_header(h: spk_cckd_hdr, is64: bool, path: Optional[str] = None) -> bytes:
    """The 512-byte compressed device header, little-endian."""
    out = bytearray(512)
    err = new_err()
    check(lib.spk_cckd_hdr_build(ffi.from_buffer(out), 512, is64, h, err), err, path=path)
    return bytes(out)

