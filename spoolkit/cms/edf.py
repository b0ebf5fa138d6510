"""The EDF CMS format (VM/SP and z/VM): 512/1K/2K/4K blocks on CKD and FBA.

The label (``CMS1``; block 3 on CKD, byte 512 on FBA) gives the block size,
the block count and the directory origin pointer (DOP, block 4 or 5).  The
directory is a file of 64-byte FSTs (F 64) whose first two records are its
own FST (``.DIRECTOR``) and the allocation map's (``.ALLOCMAP``, one bit per
block).  A file's FST names its first pointer block (or its data block when
levels is 0): F files' pointer blocks hold 4-byte block numbers, V files'
12-byte {block, highest record, displacement of the first record starting
there}, the offset of the last entry in the block's last word.

Writes go to blocks the old allocation map calls free (data, pointer blocks,
the whole new directory and allocation map); the directory origin alternates
between blocks 4 and 5, and the final write of the label switches to the new
directory (docs/formats.md "CMS minidisks").
"""

from __future__ import annotations

import datetime as _dt
import struct
from array import array
from typing import Any, Optional, Sequence

from .._native import check, ffi, lib, new_err
from ..errors import FormatError, InvalidArgumentError, NoSpaceError
from . import alloc
from .disk import CMSDisk
from .extent import Extent, FBAExtent
from .fst import (
    FST_EDF,
    FileStatus,
    check_mode,
    check_name,
    decode_edf,
    encode_edf,
    is_empty,
)
from .layout import EDF_BLOCKSIZES
from .records import CMSRecords, pack, u32, u64

LABEL_ID = "CMS1".encode("cp037")
LABEL = struct.Struct(">4s6s2sIIIIIIII6sBxIIIII8s")     # 80 bytes
assert LABEL.size == 80
DIR_NAME = bytes.fromhex("0000000100000000")
MAP_NAME = bytes.fromhex("0000000200000000")
DIR_TYPE = "DIRECTOR".encode("cp037")
MAP_TYPE = "ALLOCMAP".encode("cp037")
DOPS = (4, 5)
RESERVED = 5                     # IPL, IPL, label, the two directory origins
LABEL_CENTURY = 0x01
VAR_SPANNED = 0xFFFFFFFF


def probe_fba(dev: Any, first: int, last: int) -> Optional[int]:
    """The block size of the EDF disk at FBA blocks ``first..last``, or None."""
    if last - first < 1:
        return None
    raw = dev.read_blocks(first + 1, 1)
    if raw[:4] != LABEL_ID:
        return None
    bs = struct.unpack_from(">I", raw, 12)[0]
    if bs not in EDF_BLOCKSIZES:
        raise FormatError(f"EDF label with block size {bs} (512, 1024, 2048, 4096)",
                          path=dev.path, block=first + 1)
    return int(bs)


def label_place(ext: Extent) -> tuple[int, int]:
    """(block, byte offset) of the label: block 3 on CKD, byte 512 on FBA."""
    if isinstance(ext, FBAExtent):
        return 512 // ext.blksize + 1, 512 % ext.blksize
    return 3, 0


def ptrs_per_block(blksize: int, var: bool) -> int:
    return blksize // 12 if var else blksize // 4


def levels_for(nptrs: int, blksize: int, var: bool) -> int:
    """Pointer levels for nptrs data blocks: 0 for one block, else the
    fewest that reach them."""
    if nptrs <= 1:
        return 0
    ppb, levels, reach = ptrs_per_block(blksize, var), 1, ptrs_per_block(blksize, var)
    while reach < nptrs:
        levels += 1
        reach *= ppb
    return levels


def bcd_date(when: _dt.datetime) -> bytes:
    return bytes(((v // 10) << 4 | v % 10) for v in (when.year % 100, when.month, when.day,
                                                      when.hour, when.minute, when.second))


def special_fst(name: bytes, ftype: bytes, lrecl: int, records: int, blocks: int, fop: int,
                levels: int, when: _dt.datetime) -> bytes:
    """The .DIRECTOR / .ALLOCMAP entry (F records, mode A0)."""
    body = encode_edf("X", "X", "A0", "F", lrecl, records, blocks, when, fop, levels)
    return name + ftype + body[16:]


def build_tree(blocksize: int, num: int, path: str, data_blocks: array[int],
               disp: Optional[array[int]], hirec: Optional[array[int]], var: bool,
               bitmap: bytearray) -> tuple[int, int, list[tuple[int, bytes]]]:
    """Pointer blocks for a file's data blocks, bottom level first, taken
    first fit after the data: (first pointer, levels, block writes)."""
    n = len(data_blocks)
    levels = levels_for(n, blocksize, var)
    if levels == 0:
        return (data_blocks[0] if n else 0), 0, []
    writes: list[tuple[int, bytes]] = []
    children, h, d = data_blocks, hirec, disp
    ppb = ptrs_per_block(blocksize, var)
    for _ in range(levels):
        nblk = -(-len(children) // ppb)
        out = bytearray(nblk * blocksize)
        up_h = array("I", [0]) * nblk if var else None
        up_d = array("I", [0]) * nblk if var else None
        err = new_err()
        check(lib.spk_cms_edf_ptrblocks(u32(children), u32(h), u32(d), len(children), blocksize,
                                        1 if var else 0, ffi.from_buffer(out), len(out),
                                        u32(up_h), u32(up_d), err), err, path=path)
        blocks = alloc.take(bitmap, num, nblk, path, RESERVED)
        for i, b in enumerate(blocks):
            writes.append((b, bytes(out[i * blocksize:(i + 1) * blocksize])))
        children, h, d = blocks, up_h, up_d
    return children[0], levels, writes


class EDFDisk(CMSDisk):
    """An EDF minidisk on a CKD or FBA extent."""

    format = "edf"

    def __init__(self, ext: Extent) -> None:
        self.ext = ext
        self.path = ext.path
        self.blocksize = ext.blksize
        self._load()

    # -- reading ------------------------------------------------------------------
    def _read_label(self) -> None:
        blk, off = label_place(self.ext)
        block = self.ext.read_one(blk)
        raw = block[off:off + LABEL.size]
        where = self.ext.where(blk)
        if raw[:4] != LABEL_ID:
            raise FormatError("no EDF label (CMS1)", **where)
        (_, volid, _ver, bs, dop, cyl, mcyl, num, used, fstsz, nfst, date, flags, offset,
         *_rest) = LABEL.unpack(raw)
        if bs != self.blocksize:
            raise FormatError(f"the label's block size {bs} is not the disk's {self.blocksize}",
                              **where)
        if dop not in DOPS:
            raise FormatError(f"directory origin pointer {dop} (4 or 5)", **where)
        if fstsz != FST_EDF or nfst != bs // FST_EDF:
            raise FormatError(f"FST size {fstsz}, {nfst} per block (64, {bs // 64})", **where)
        if not RESERVED < num <= self.ext.blocks:
            raise FormatError(f"the label counts {num} blocks; the extent holds "
                              f"{self.ext.blocks}", **where)
        if used > num:
            raise FormatError(f"the label counts {used} blocks used of {num}", **where)
        self.label = volid.decode("cp037").rstrip()
        self.dop, self.cylinders, self.max_cylinders = dop, cyl, mcyl
        self.num, self.used, self.offset = num, used, offset
        self.label_date, self.label_flags = date, flags
        self.label_block = (blk, off, block)

    def _load(self) -> None:
        self._read_label()
        first = self.ext.read_one(self.dop)
        root = first[:FST_EDF]
        where = self.ext.where(self.dop)
        if root[:8] != DIR_NAME or root[8:16] != DIR_TYPE:
            raise FormatError("the directory origin block does not start with the "
                              "directory's FST (.DIRECTOR)", **where)
        self.dir_fst = decode_edf(root, (self.dop, 0))
        if self.dir_fst.recfm != "F" or self.dir_fst.lrecl != FST_EDF:
            raise FormatError(f"directory of {self.dir_fst.recfm} {self.dir_fst.lrecl} "
                              "records (F 64)", **where)
        meta, dblocks, _, _ = self.file_blocks(self.dir_fst)
        if not len(dblocks) or dblocks[0] != self.dop:
            raise FormatError("the directory's first block is not the directory origin", **where)
        data = bytes(self.ext.read(dblocks))
        nrec = self.dir_fst.records
        if nrec < 2 or nrec * FST_EDF > len(data):
            raise FormatError(f"the directory counts {nrec} entries in {len(dblocks)} blocks",
                              **where)
        self.dir_meta, self.dir_blocks = list(meta), list(dblocks)
        self.entries = [data[i * FST_EDF:(i + 1) * FST_EDF] for i in range(nrec)]
        mapf = self.entries[1]
        if mapf[:8] != MAP_NAME or mapf[8:16] != MAP_TYPE:
            raise FormatError("the directory's second entry is not the allocation map",
                              **where)
        self.map_fst = decode_edf(mapf, (self.dop, 1))
        mmeta, mblocks, _, _ = self.file_blocks(self.map_fst)
        need = -(-self.num // 8)
        bitmap = self.ext.read(mblocks)[:need]
        if len(bitmap) < need:
            raise FormatError(f"the allocation map of {len(mblocks)} blocks is shorter than "
                              f"{need} bytes", **where)
        self.map_meta, self.map_blocks = list(mmeta), list(mblocks)
        self.bitmap = bitmap

    @property
    def maxblock(self) -> int:
        return int(self.num)

    def files(self) -> list[FileStatus]:
        out = []
        for i, raw in enumerate(self.entries[2:], 2):
            if not is_empty(raw):
                out.append(decode_edf(raw, (self.dop, i)))
        return out

    def pointer_count(self, f: FileStatus) -> int:
        """Data blocks (null ones included) a file's pointers name."""
        if f.recfm == "F" and f.lrecl:
            return -(-(f.records * f.lrecl) // self.blocksize)
        return f.blocks

    def file_blocks(self, f: FileStatus) -> tuple[array[int], array[int], Optional[array[int]],
                                                  Optional[array[int]]]:
        """(pointer blocks, data blocks (0: null), V displacements, V highest
        records) of a file."""
        var = f.recfm == "V"
        n = self.pointer_count(f)
        where: dict[str, Any] = {"path": self.path}
        if n == 0:
            return array("I"), array("I"), None, None
        if n > self.num:
            raise FormatError(f"{f.name}: {n} data blocks on a disk of {self.num}", **where)
        if f.levels == 0:
            if n != 1:
                raise FormatError(f"{f.name}: {n} data blocks without pointer blocks", **where)
            if f.fop > self.num:
                raise FormatError(f"{f.name}: data block {f.fop} is past the end of the "
                                  f"minidisk ({self.num} blocks)", **where)
            return array("I"), array("I", [f.fop]), None, None
        ppb = ptrs_per_block(self.blocksize, var)
        if f.levels > 8 or ppb ** (f.levels - 1) * ppb < n:
            raise FormatError(f"{f.name}: {f.levels} pointer levels for {n} blocks", **where)
        if not 1 <= f.fop <= self.num:
            raise FormatError(f"{f.name}: first pointer block {f.fop} is outside 1..{self.num}",
                              **where)
        meta = array("I")
        current = array("I", [f.fop])
        hirec = disp = None
        for level in range(f.levels, 0, -1):
            count = -(-n // ppb ** (level - 1))
            buf = self.ext.read(current)
            meta.extend(b for b in current if b)
            children = array("I", [0]) * count
            hirec = array("I", [0]) * count if var else None
            disp = array("I", [0]) * count if var else None
            err = new_err()
            rc = lib.spk_cms_edf_ptrs(ffi.from_buffer(buf), len(buf), self.blocksize,
                                      1 if var else 0, count,
                                      self.num, u32(children), u32(hirec), u32(disp), err)
            if rc < 0:
                blk = current[min(int(err.offset) // self.blocksize, len(current) - 1)]
                check(rc, err, path=self.path, block=blk, offset=None)
            current = children
        return meta, current, disp, hirec

    def resolve_many(self, files: Sequence[FileStatus]) -> list[array[int]]:
        """Data blocks of many files, each pointer level of all of them read
        in one pass (errors: file_blocks, one by one, names the file)."""
        out: list[Optional[array[int]]] = [None] * len(files)
        todo: list[tuple[int, int, int, array[int], bool]] = []    # k, n, level, blocks, var
        for k, f in enumerate(files):
            var = f.recfm == "V"
            n = self.pointer_count(f)
            ppb = ptrs_per_block(self.blocksize, var)
            if (f.recfm not in ("F", "V") or n == 0 or f.levels == 0 or n > self.num
                    or f.levels > 8 or ppb ** f.levels < n or not 1 <= f.fop <= self.num):
                out[k] = self.data_blocks(f)           # no pointer blocks, or the error
                continue
            todo.append((k, n, f.levels, array("I", [f.fop]), var))
        bs = self.blocksize
        while todo:
            # each level of every file: one read of the pointer blocks, one C call
            nt = len(todo)
            every = array("I")
            isvar = bytearray(nt)
            first = array("Q", [0]) * nt
            nblk = array("Q", [0]) * nt
            count = array("Q", [0]) * nt
            ostart = array("Q", [0]) * nt
            total = 0
            for j, (_, n, level, current, v) in enumerate(todo):
                first[j] = len(every)
                nblk[j] = len(current)
                every.extend(current)
                isvar[j] = v
                c = count[j] = -(-n // ptrs_per_block(bs, v) ** (level - 1))
                ostart[j] = total
                total += c
            buf = self.ext.read(every)
            children = array("I", [0]) * max(total, 1)
            bad = ffi.new("uint64_t *")
            err = new_err()
            rc = lib.spk_cms_edf_ptrs_many(ffi.from_buffer("uint8_t[]", buf), len(buf), bs, nt,
                                           ffi.from_buffer("uint8_t[]", isvar), u64(first),
                                           u64(nblk), u64(count), u64(ostart), self.num,
                                           ffi.from_buffer("uint32_t[]", children),
                                           len(children), bad, err)
            if rc < 0:
                raise FormatError("bad pointer block", path=self.path)
            later = []
            for j, (k, n, level, _, v) in enumerate(todo):
                mine = children[ostart[j]:ostart[j] + count[j]]
                if level == 1:
                    out[k] = mine
                else:
                    later.append((k, n, level - 1, mine, v))
            todo = later
        return [b if b is not None else array("I") for b in out]

    def stats(self) -> dict[str, int]:
        return {"blocks": self.num, "used": self.used, "left": self.num - self.used,
                "cylinders": self.cylinders}

    # -- writing ------------------------------------------------------------------
    def _file_writes(self, records: CMSRecords, recfm: str, lrecl: int, bitmap: bytearray
                     ) -> tuple[int, int, int, list[tuple[int, bytes]]]:
        var = recfm == "V"
        data, disp, hirec = pack(records, recfm, lrecl, self.blocksize, per_block=var)
        nblk = len(data) // self.blocksize
        blocks = alloc.take(bitmap, self.num, nblk, self.path, RESERVED)
        writes = [(b, data[i * self.blocksize:(i + 1) * self.blocksize])
                  for i, b in enumerate(blocks)]
        fop, levels, ptrw = build_tree(self.blocksize, self.num, self.path, blocks, disp,
                                       hirec, var, bitmap)
        return fop, levels, nblk, writes + ptrw

    def _release_file(self, f: FileStatus, bitmap: bytearray) -> None:
        meta, data, _, _ = self.file_blocks(f)
        alloc.release(bitmap, self.num, data, self.path)
        alloc.release(bitmap, self.num, meta, self.path)

    def _commit(self, entries: list[bytes], bitmap: bytearray, writes: list[tuple[int, bytes]],
                when: _dt.datetime, after_alloc: Any = None) -> None:
        """A new directory and allocation map in fresh blocks, the other
        directory origin, then the label."""
        bs = self.blocksize
        per = bs // FST_EDF
        while len(entries) > 2 and is_empty(entries[-1]):
            entries.pop()
        files = len(entries)
        ndir = -(-files // per)
        new_dop = DOPS[1] if self.dop == DOPS[0] else DOPS[0]
        for b in DOPS:
            bitmap[(b - 1) >> 3] |= 0x80 >> ((b - 1) & 7)
        dir_blocks = array("I", [new_dop]) + alloc.take(bitmap, self.num, ndir - 1, self.path,
                                                        RESERVED)
        dir_fop, dir_levels, dir_ptrw = build_tree(bs, self.num, self.path, dir_blocks, None,
                                                None, False, bitmap)
        nmap = -(-len(bitmap) // bs)
        map_blocks = alloc.take(bitmap, self.num, nmap, self.path, RESERVED)
        map_fop, map_levels, map_ptrw = build_tree(bs, self.num, self.path, map_blocks, None,
                                                None, False, bitmap)
        if after_alloc is not None:
            after_alloc()
        old = self.dir_blocks[1:] + self.dir_meta + self.map_blocks + self.map_meta
        alloc.release(bitmap, self.num, [b for b in old if b not in DOPS], self.path)
        used = alloc.count(bitmap, self.num)
        entries[0] = special_fst(DIR_NAME, DIR_TYPE, FST_EDF, files, ndir, dir_fop, dir_levels,
                                 when)
        entries[1] = special_fst(MAP_NAME, MAP_TYPE, bs, nmap, nmap, map_fop, map_levels, when)
        dirdata = b"".join(entries).ljust(ndir * bs, b"\0")
        mapdata = bytes(bitmap).ljust(nmap * bs, b"\0")
        allw = list(writes)
        allw += [(b, dirdata[i * bs:(i + 1) * bs]) for i, b in enumerate(dir_blocks)]
        allw += [(b, mapdata[i * bs:(i + 1) * bs]) for i, b in enumerate(map_blocks)]
        allw += dir_ptrw + map_ptrw
        seen = [b for b, _ in allw]
        if len(set(seen)) != len(seen):
            raise AssertionError("a block written twice")
        allw.sort()
        self.ext.write([b for b, _ in allw], b"".join(d for _, d in allw))
        self.ext.flush()
        blk, off, block = self.label_block
        raw = bytearray(block)
        lab = bytearray(raw[off:off + LABEL.size])
        struct.pack_into(">I", lab, 16, new_dop)
        struct.pack_into(">I", lab, 32, used)
        raw[off:off + LABEL.size] = lab
        self.ext.write([blk], bytes(raw))
        self.ext.flush()
        self._load()

    def _work(self) -> tuple[bytearray, list[bytes]]:
        return bytearray(self.bitmap), list(self.entries)

    def write(self, fname: str, ftype: str, fmode: str, records: CMSRecords, recfm: str,
              lrecl: int, when: _dt.datetime, old: Optional[FileStatus]) -> None:
        if not len(records):
            raise InvalidArgumentError("a CMS file has at least one record")
        if len(records) > 0x7FFFFFFF:
            raise InvalidArgumentError("more than 2**31-1 records")
        bitmap, entries = self._work()
        fop, levels, nblk, writes = self._file_writes(records, recfm, lrecl, bitmap)
        fst = encode_edf(fname, ftype, fmode, recfm, lrecl, len(records), nblk, when, fop,
                         levels)
        if old is not None:
            entries[old.where[1]] = fst
        else:
            idx = next((i for i in range(2, len(entries)) if is_empty(entries[i])), len(entries))
            if idx == len(entries):
                entries.append(fst)
            entries[idx] = fst
        self._commit(entries, bitmap, writes, when,
                     after_alloc=(lambda: self._release_file(old, bitmap)) if old else None)

    def erase(self, f: FileStatus) -> None:
        bitmap, entries = self._work()
        idx = f.where[1]
        last = max(i for i in range(2, len(entries)) if not is_empty(entries[i]))
        entries[idx] = entries[last]
        entries[last] = bytes(FST_EDF)
        self._commit(entries, bitmap, [], _dt.datetime.now(),
                     after_alloc=lambda: self._release_file(f, bitmap))

    def rename(self, f: FileStatus, fname: str, ftype: str, fmode: Optional[str]) -> None:
        bitmap, entries = self._work()
        raw = bytearray(entries[f.where[1]])
        raw[0:8] = check_name(fname, "file name")
        raw[8:16] = check_name(ftype, "file type")
        if fmode:
            raw[24:26] = check_mode(fmode)
        entries[f.where[1]] = bytes(raw)
        self._commit(entries, bitmap, [], _dt.datetime.now())


def format_edf(ext: Extent, label: str, cylinders: int, when: _dt.datetime) -> None:
    """An empty EDF file system on a freshly formatted extent: label, the
    directory at block 4, block 5 the other directory origin, the allocation
    map after them."""
    bs, num = ext.blksize, ext.blocks
    if num <= RESERVED + 1:
        raise NoSpaceError(f"an extent of {num} blocks is too small for a CMS disk",
                           path=ext.path)
    bitmap = bytearray(-(-num // 8))
    nmap = -(-len(bitmap) // bs)
    for b in range(RESERVED):
        bitmap[b >> 3] |= 0x80 >> (b & 7)
    map_blocks = alloc.take(bitmap, num, nmap, ext.path, RESERVED)
    map_fop, map_levels, map_ptrw = build_tree(bs, num, ext.path, map_blocks, None, None, False,
                                               bitmap)
    used = alloc.count(bitmap, num)
    entries = [special_fst(DIR_NAME, DIR_TYPE, FST_EDF, 2, 1, DOPS[0], 0, when),
               special_fst(MAP_NAME, MAP_TYPE, bs, nmap, nmap, map_fop, map_levels, when)]
    writes = [(DOPS[0], b"".join(entries).ljust(bs, b"\0"))]
    mapdata = bytes(bitmap).ljust(nmap * bs, b"\0")
    writes += [(b, mapdata[i * bs:(i + 1) * bs]) for i, b in enumerate(map_blocks)]
    writes += map_ptrw
    writes.sort()
    ext.write([b for b, _ in writes], b"".join(d for _, d in writes))
    ext.flush()
    fba = isinstance(ext, FBAExtent)
    lab = LABEL.pack(LABEL_ID, label.upper().ljust(6).encode("cp037"), b"\0\0", bs, DOPS[0],
                     0 if fba else cylinders, 0 if fba else cylinders, num, used, FST_EDF,
                     bs // FST_EDF, bcd_date(when), LABEL_CENTURY if when.year >= 2000 else 0,
                     0, 0, 0, 0, 0, b"\0" * 8)
    blk, off = label_place(ext)
    block = bytearray(ext.read_one(blk)) if off else bytearray(bs)
    block[off:off + LABEL.size] = lab
    ext.write([blk], bytes(block))
    ext.flush()


__all__ = ["EDFDisk", "LABEL", "build_tree", "format_edf", "label_place", "levels_for",
           "probe_fba", "ptrs_per_block"]
