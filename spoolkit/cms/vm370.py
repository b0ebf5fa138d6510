"""The VM/370 (pre-EDF) CMS format: 800-byte blocks, MFD, QMSK, chain links.

Block 3 is the label (``CMS=`` and six characters), block 4 the master file
directory (MFD): halfword block numbers of the FST blocks, ended by X'FFFF'
(or X'FFFD' and the blocks holding the QMSK past its first 215 bytes), the
disk counters at 364 (ADTNUM, ADTUSED, ADTLEFT, ADTLAST, ADTCYL), the first
215 bytes of the QMSK bitmap at 384, the unit-type byte at 599 and, on the
2314, the QQMSK table of free 200-byte first chain links at 600.  A file's
FST names its first chain link (FCL): 40 halfword pointers to chain links
2-41, then 60 data block numbers; an Nth chain link names 400 data blocks.

Writes follow DMSAUD's double directory: new data and new FST blocks go to
blocks the old QMSK calls free, and only the final write of block 4 makes
them the disk's (vm-formats.md 2.1; docs/formats.md "CMS minidisks").
"""

from __future__ import annotations

import datetime as _dt
import struct
from array import array
from dataclasses import dataclass, field
from typing import Any, Optional, Sequence

from .._native import check, ffi, lib, new_err
from ..errors import FormatError, InvalidArgumentError, NoSpaceError
from . import alloc
from .disk import CMSDisk
from .extent import CKDExtent
from .fst import (
    FST_VM370,
    FileStatus,
    check_mode,
    check_name,
    decode_vm370,
    encode_vm370,
    is_empty,
)
from .layout import VM370_BLOCK, VM370_MAX_BLOCKS, VM370Device
from .records import CMSRecords, pack

LABEL_ID = "CMS=".encode("cp037")
MFD_BLOCK = 4
FIRST_DATA = 5
FST_PER_BLOCK = VM370_BLOCK // FST_VM370        # 20
COUNTERS = struct.Struct(">IIIII")              # ADTNUM ADTUSED ADTLEFT ADTLAST ADTCYL
COUNTERS_AT = 364
QMSK_AT, QMSK_IN_MFD = 384, 215
UNIT_AT, QQMSK_AT = 599, 600
QQ_SLOTS = 100
END, EXT, END2, END3 = 0xFFFF, 0xFFFD, 0xFFFE, 0
MAX_FILE_BLOCKS = 60 + 40 * 400
MAX_RECORDS = 0xFFFE                            # the write pointer (records + 1) is a halfword


@dataclass
class MFD:
    """Block 4 decoded."""

    fst_blocks: list[int]
    ext_blocks: list[int]
    adtnum: int
    adtused: int
    adtleft: int
    adtlast: int
    adtcyl: int
    unit_type: int
    qmsk: bytearray
    qqmsk: list[int] = field(default_factory=list)
    tail: bytes = b""                           #: bytes 600..799 (kept on rewrite)


def label_of(block3: bytes) -> Optional[str]:
    """The label of a VM/370 CMS disk's block 3, or None."""
    if block3[:4] != LABEL_ID:
        return None
    return block3[4:10].decode("cp037").rstrip()


def qmsk_bytes(adtnum: int) -> int:
    return -(-adtnum // 8)


def decode_mfd(raw: bytes, extent_blocks: int, where: dict[str, Any]) -> tuple[MFD, int]:
    """The MFD's lists and counters; returns it and how many extension
    blocks of QMSK follow (read by the caller)."""
    hw = struct.unpack_from(">182H", raw)
    fst: list[int] = []
    ext: list[int] = []
    target = fst
    for v in hw:
        if v in (END, END2, END3):
            break
        if v == EXT:
            target = ext
            continue
        target.append(v)
    else:
        raise FormatError("the MFD's list of FST blocks has no end (X'FFFF')", **where)
    adtnum, used, left, last, cyl = COUNTERS.unpack_from(raw, COUNTERS_AT)
    if not FIRST_DATA <= adtnum <= min(extent_blocks, VM370_MAX_BLOCKS):
        raise FormatError(f"the MFD counts {adtnum} blocks; the extent holds {extent_blocks}",
                          **where)
    qlen = qmsk_bytes(adtnum)
    if last >= qlen:
        raise FormatError(f"the MFD's last QMSK byte {last} is past the bitmap of {qlen} bytes",
                          **where)
    for b in fst + ext:
        if not FIRST_DATA <= b <= adtnum:
            raise FormatError(f"the MFD names block {b}, outside 5..{adtnum}", **where)
    qmsk = bytearray(qlen)
    qmsk[:min(qlen, QMSK_IN_MFD)] = raw[QMSK_AT:QMSK_AT + min(qlen, QMSK_IN_MFD)]
    qq = [v for v in struct.unpack_from(">100H", raw, QQMSK_AT)]
    mfd = MFD(fst, ext, adtnum, used, left, last, cyl, raw[UNIT_AT], qmsk, qq,
              bytes(raw[QQMSK_AT:]))
    need = -(-(qlen - QMSK_IN_MFD) // VM370_BLOCK) if qlen > QMSK_IN_MFD else 0
    if ext and len(ext) != need:
        raise FormatError(f"the MFD names {len(ext)} QMSK extension blocks; a bitmap of "
                          f"{qlen} bytes has {need}", **where)
    return mfd, need


def decode_fcl(value: int, unit_2314: bool) -> tuple[int, int]:
    """(block, byte offset of the 200-byte first chain link) of an FST's FCL."""
    if not unit_2314:
        return value, 0
    if not value & 0x2000:                      # a quarter of a block below 8192
        return value & 0x1FFF, (value >> 14) * 200
    if value & 0x8000:                          # 16384-24575, moved by X'6000'
        return value - 0x6000, 0
    return value, 0


def encode_fcl(block: int, quarter: int, unit_2314: bool) -> int:
    if not unit_2314 or block >= 8192:
        if unit_2314 and 16384 <= block < 24576:
            return block + 0x6000
        return block
    return quarter << 14 | block


class VM370Disk(CMSDisk):
    """A VM/370 CMS minidisk on a CKD extent."""

    format = "vm370"
    blocksize = VM370_BLOCK

    def __init__(self, ext: CKDExtent, device: VM370Device) -> None:
        self.ext = ext
        self.device = device
        self.path = ext.path
        self.is_2314 = device.group_tracks == 2
        block3 = ext.read_one(3)
        label = label_of(block3)
        if label is None:
            raise FormatError("block 3 holds no VM/370 CMS label (CMS=)", **ext.where(3))
        self.label = label
        self._load()

    # -- reading the directory --------------------------------------------------
    def _load(self) -> None:
        where = self.ext.where(MFD_BLOCK)
        raw = self.ext.read_one(MFD_BLOCK)
        mfd, _ = decode_mfd(raw, self.ext.blocks, where)
        if mfd.ext_blocks:
            extra = bytes(self.ext.read(mfd.ext_blocks))
            rest = len(mfd.qmsk) - QMSK_IN_MFD
            mfd.qmsk[QMSK_IN_MFD:] = extra[:rest]
        self.mfd = mfd
        self.slots: list[bytes] = []
        if mfd.fst_blocks:
            data = bytes(self.ext.read(mfd.fst_blocks))
            self.slots = [data[i:i + FST_VM370] for i in range(0, len(data), FST_VM370)]

    @property
    def maxblock(self) -> int:
        return self.mfd.adtnum

    def files(self) -> list[FileStatus]:
        """Every file, in directory order."""
        out = []
        for i, raw in enumerate(self.slots):
            if not is_empty(raw):
                out.append(decode_vm370(raw, (self.mfd.fst_blocks[i // FST_PER_BLOCK],
                                              i % FST_PER_BLOCK)))
        return out

    def file_blocks(self, f: FileStatus) -> tuple[array[int], array[int]]:
        """(chain link blocks, first chain link's block first; data blocks)."""
        if f.blocks == 0:
            return array("I"), array("I")
        fcl_block, off = decode_fcl(f.fcl, self.is_2314)
        if not FIRST_DATA <= fcl_block <= self.maxblock:
            raise FormatError(f"{f.name}: first chain link is block {fcl_block}, outside "
                              f"5..{self.maxblock}", path=self.path)
        fcl = self.ext.read_one(fcl_block)[off:off + 200]
        links = array("I", [0]) * 40
        err = new_err()
        n = check(lib.spk_cms_vm370_links(fcl, len(fcl), f.blocks, self.maxblock,
                                          ffi.from_buffer("uint32_t[]", links), err),
                  err, **self.ext.where(fcl_block))
        del links[n:]
        linkdata = bytes(self.ext.read(links)) if n else b""
        meta = array("I", [fcl_block]) + links
        data = array("I", [0]) * f.blocks
        rc = lib.spk_cms_vm370_blocks(fcl, len(fcl), linkdata or ffi.NULL, len(linkdata),
                                      f.blocks, self.maxblock,
                                      ffi.from_buffer("uint32_t[]", meta), len(meta),
                                      ffi.from_buffer("uint32_t[]", data), len(data), err)
        if rc < 0:
            check(rc, err, path=self.path,
                  block=fcl_block if err.index < 60 else links[(err.index - 60) // 400])
        return meta, data

    def resolve_many(self, files: Sequence[FileStatus]) -> list[array[int]]:
        """Data blocks of many files: all first chain links read in one pass,
        then all Nth chain links (errors: file_blocks, one by one, names the
        file)."""
        out: list[array[int]] = [array("I")] * len(files)
        todo: list[tuple[int, int, int]] = []             # k, FCL block, offset
        for k, f in enumerate(files):
            if f.recfm not in ("F", "V"):
                raise FormatError(f"{f.name}: record format {f.recfm}", path=self.path)
            if f.blocks == 0:
                continue
            fcl_block, off = decode_fcl(f.fcl, self.is_2314)
            if not FIRST_DATA <= fcl_block <= self.maxblock:
                raise FormatError("first chain link outside the disk", path=self.path)
            todo.append((k, fcl_block, off))
        if not todo:
            return out
        fcls = self.ext.read(array("I", (b for _, b, _ in todo)))
        cfcl = ffi.from_buffer("uint8_t[]", fcls)
        err = new_err()
        nlinks: list[array[int]] = []
        every = array("I")
        for i, (k, _, off) in enumerate(todo):
            links = array("I", [0]) * 40
            n = lib.spk_cms_vm370_links(cfcl + i * VM370_BLOCK + off, 200, files[k].blocks,
                                        self.maxblock, ffi.from_buffer("uint32_t[]", links), err)
            if n < 0:
                raise FormatError("bad first chain link", path=self.path)
            del links[n:]
            nlinks.append(links)
            every.extend(links)
        clinks = ffi.from_buffer("uint8_t[]", self.ext.read(every) if len(every) else b"\0")
        pos = 0
        for i, (k, fcl_block, off) in enumerate(todo):
            links = nlinks[i]
            meta = array("I", [fcl_block]) + links
            data = array("I", [0]) * files[k].blocks
            rc = lib.spk_cms_vm370_blocks(cfcl + i * VM370_BLOCK + off, 200,
                                          clinks + pos * VM370_BLOCK if len(links) else ffi.NULL,
                                          len(links) * VM370_BLOCK, files[k].blocks,
                                          self.maxblock, ffi.from_buffer("uint32_t[]", meta),
                                          len(meta), ffi.from_buffer("uint32_t[]", data),
                                          len(data), err)
            if rc < 0:
                raise FormatError("bad chain", path=self.path)
            pos += len(links)
            out[k] = data
        return out

    # -- writing -------------------------------------------------------------------
    def _fcl_alloc(self, qmsk: bytearray, qq: list[int]) -> tuple[int, int]:
        """A first chain link as DMSTQQ hands it out: (FCL value, block)."""
        if self.is_2314:
            for i, v in enumerate(qq):
                if v:
                    qq[i] = 0
                    block, _ = decode_fcl(v, True)
                    return v, block
        block = alloc.take(qmsk, self.maxblock, 1, self.path)[0]
        if self.is_2314 and block < 8192:
            if any(qq[:3]):
                raise FormatError("QQMSK not empty", path=self.path)
            qq[0:3] = [0xC000 | block, 0x8000 | block, 0x4000 | block]
            return block, block
        return encode_fcl(block, 0, self.is_2314), block

    def _fcl_free(self, value: int, qmsk: bytearray, qq: list[int]) -> None:
        block, _ = decode_fcl(value, self.is_2314)
        if not self.is_2314 or value & 0x2000:
            alloc.release(qmsk, self.maxblock, [block], self.path)
            return
        mine = [i for i, v in enumerate(qq) if v and v & 0x1FFF == block]
        if len(mine) == 3:               # all four quarters free: the block goes back
            for i in mine:
                qq[i] = 0
            alloc.release(qmsk, self.maxblock, [block], self.path)
            return
        for i, v in enumerate(qq):
            if not v:
                qq[i] = value
                return
        # QQMSK full: CMS leaves the quarter unused (DMSTQQX error 3)

    def _allocate_file(self, data: bytes, qmsk: bytearray, qq: list[int]
                       ) -> tuple[int, list[tuple[int, bytes]]]:
        """Blocks for a new file as DMSBWR takes them: the first chain link,
        then for each run of data blocks its chain link before it."""
        nblk = len(data) // VM370_BLOCK
        if nblk > MAX_FILE_BLOCKS:
            raise NoSpaceError(f"{nblk} blocks: a VM/370 file holds at most {MAX_FILE_BLOCKS}",
                               path=self.path)
        fcl_value, fcl_block = self._fcl_alloc(qmsk, qq)
        dblocks = array("I")
        links = array("I")
        # data blocks 1-60, then per chain link: the link, its 400 data blocks
        dblocks.extend(alloc.take(qmsk, self.maxblock, min(nblk, 60), self.path))
        k = 60
        while k < nblk:
            links.extend(alloc.take(qmsk, self.maxblock, 1, self.path))
            dblocks.extend(alloc.take(qmsk, self.maxblock, min(400, nblk - k), self.path))
            k += 400
        fcl = bytearray(200)
        linkbuf = bytearray(max(1, len(links)) * VM370_BLOCK)
        err = new_err()
        check(lib.spk_cms_vm370_build(ffi.from_buffer("uint32_t[]", dblocks), len(dblocks),
                                      ffi.from_buffer("uint32_t[]", links) if links else ffi.NULL,
                                      len(links), ffi.from_buffer(fcl), len(fcl),
                                      ffi.from_buffer(linkbuf), len(linkbuf), err), err)
        writes: list[tuple[int, bytes]] = []
        _, off = decode_fcl(fcl_value, self.is_2314)
        if off or (self.is_2314 and fcl_block < 8192):
            block = bytearray(self.ext.read_one(fcl_block))
            block[off:off + 200] = fcl
            writes.append((fcl_block, bytes(block)))
        else:
            writes.append((fcl_block, bytes(fcl) + bytes(600)))
        for i, b in enumerate(links):
            writes.append((b, bytes(linkbuf[i * VM370_BLOCK:(i + 1) * VM370_BLOCK])))
        for i, b in enumerate(dblocks):
            writes.append((b, data[i * VM370_BLOCK:(i + 1) * VM370_BLOCK]))
        return fcl_value, writes

    def _free_file(self, f: FileStatus, qmsk: bytearray, qq: list[int]) -> None:
        meta, data = self.file_blocks(f)
        alloc.release(qmsk, self.maxblock, data, self.path)
        if len(meta) > 1:
            alloc.release(qmsk, self.maxblock, meta[1:], self.path)
        if len(meta):
            self._fcl_free(f.fcl, qmsk, qq)

    def _commit(self, slots: list[bytes], qmsk: bytearray, qq: list[int],
                writes: list[tuple[int, bytes]], after_reserve: Any = None) -> None:
        """DMSAUD: new FST blocks first-fit, then the old directory's blocks
        free, data and FST blocks written, block 4 last."""
        while slots and len(slots) % FST_PER_BLOCK == 0 and all(
                is_empty(s) for s in slots[-FST_PER_BLOCK:]):
            del slots[-FST_PER_BLOCK:]
        while len(slots) % FST_PER_BLOCK:
            slots.append(bytes(FST_VM370))
        nfst = len(slots) // FST_PER_BLOCK
        reserve = max(nfst, len(self.mfd.fst_blocks))
        new_fst = list(alloc.take(qmsk, self.maxblock, reserve, self.path))
        if after_reserve is not None:
            after_reserve()
        if reserve > nfst:                       # an emptied last hyperblock: give it back
            alloc.release(qmsk, self.maxblock, new_fst[nfst:], self.path)
            del new_fst[nfst:]
        qlen = len(qmsk)
        last = alloc.last_byte(qmsk)
        new_ext: list[int] = []
        if last >= QMSK_IN_MFD:
            need = -(-(qlen - QMSK_IN_MFD) // VM370_BLOCK)
            new_ext = list(alloc.take(qmsk, self.maxblock, need, self.path))
        alloc.release(qmsk, self.maxblock, self.mfd.fst_blocks + self.mfd.ext_blocks, self.path)
        last = alloc.last_byte(qmsk)
        used = alloc.count(qmsk, self.maxblock)
        if 2 * (len(new_fst) + len(new_ext) + 2) > COUNTERS_AT:
            raise NoSpaceError("the MFD has no room for so many FST blocks", path=self.path)
        # data blocks and chain links, then the FST blocks and QMSK extension
        if writes:
            writes.sort()
            self.ext.write([b for b, _ in writes], b"".join(d for _, d in writes))
        fstdata = b"".join(slots)
        dirw: list[tuple[int, bytes]] = [(b, fstdata[i * VM370_BLOCK:(i + 1) * VM370_BLOCK])
                                         for i, b in enumerate(new_fst)]
        if new_ext:
            rest = bytes(qmsk[QMSK_IN_MFD:]).ljust(len(new_ext) * VM370_BLOCK, b"\0")
            dirw += [(b, rest[i * VM370_BLOCK:(i + 1) * VM370_BLOCK])
                     for i, b in enumerate(new_ext)]
        if dirw:
            dirw.sort()
            self.ext.write([b for b, _ in dirw], b"".join(d for _, d in dirw))
        self.ext.flush()
        mfd = bytearray(VM370_BLOCK)
        hw = list(new_fst) + ([EXT] + new_ext if new_ext else []) + [END]
        struct.pack_into(f">{len(hw)}H", mfd, 0, *hw)
        COUNTERS.pack_into(mfd, COUNTERS_AT, self.mfd.adtnum, used, self.mfd.adtnum - used,
                           last, self.mfd.adtcyl)
        n = min(QMSK_IN_MFD, last + 1)
        mfd[QMSK_AT:QMSK_AT + n] = qmsk[:n]
        mfd[UNIT_AT] = self.mfd.unit_type
        if self.is_2314:
            struct.pack_into(">100H", mfd, QQMSK_AT, *qq)
        else:
            mfd[QQMSK_AT:] = self.mfd.tail
        self.ext.write([MFD_BLOCK], bytes(mfd))
        self.ext.flush()
        self._load()

    def _work(self) -> tuple[bytearray, list[int], list[bytes]]:
        return bytearray(self.mfd.qmsk), list(self.mfd.qqmsk), list(self.slots)

    def write(self, fname: str, ftype: str, fmode: str, records: CMSRecords, recfm: str,
              lrecl: int, when: _dt.datetime, old: Optional[FileStatus]) -> None:
        """Write a file (replacing ``old`` when given)."""
        if not len(records):
            raise InvalidArgumentError("a CMS file has at least one record")
        if len(records) > MAX_RECORDS:
            raise InvalidArgumentError(f"{len(records)} records: a VM/370 file holds at most "
                                       f"{MAX_RECORDS}")
        data, _, _ = pack(records, recfm, lrecl, VM370_BLOCK)
        qmsk, qq, slots = self._work()
        fcl_value, writes = self._allocate_file(data, qmsk, qq)
        nblk = len(data) // VM370_BLOCK
        fst = encode_vm370(fname, ftype, fmode, recfm, lrecl, len(records), nblk, when,
                           fcl=fcl_value)
        if old is not None:
            idx = self._slot_index(old)
            slots[idx] = fst
        else:
            idx = next((i for i, s in enumerate(slots) if is_empty(s)), len(slots))
            if idx == len(slots):
                slots.extend([bytes(FST_VM370)] * FST_PER_BLOCK)
            slots[idx] = fst

        def free_old() -> None:
            if old is not None:
                self._free_file(old, qmsk, qq)

        self._commit(slots, qmsk, qq, writes, after_reserve=free_old)

    def _slot_index(self, f: FileStatus) -> int:
        block, slot = f.where
        return self.mfd.fst_blocks.index(block) * FST_PER_BLOCK + slot

    def erase(self, f: FileStatus) -> None:
        """DMSERS: reserve the new directory, free the file, move the last
        FST into its place."""
        qmsk, qq, slots = self._work()
        idx = self._slot_index(f)
        last = max(i for i, s in enumerate(slots) if not is_empty(s))
        slots[idx] = slots[last]
        slots[last] = bytes(FST_VM370)
        self._commit(slots, qmsk, qq, [], after_reserve=lambda: self._free_file(f, qmsk, qq))

    def rename(self, f: FileStatus, fname: str, ftype: str, fmode: Optional[str]) -> None:
        qmsk, qq, slots = self._work()
        idx = self._slot_index(f)
        raw = bytearray(slots[idx])
        raw[0:8] = check_name(fname, "file name")
        raw[8:16] = check_name(ftype, "file type")
        if fmode:
            raw[24:26] = check_mode(fmode)
        slots[idx] = bytes(raw)
        self._commit(slots, qmsk, qq, [])

    def stats(self) -> dict[str, int]:
        return {"blocks": self.mfd.adtnum, "used": self.mfd.adtused, "left": self.mfd.adtleft,
                "cylinders": self.mfd.adtcyl}


__all__ = ["MFD", "VM370Disk", "decode_fcl", "decode_mfd", "encode_fcl", "label_of"]
