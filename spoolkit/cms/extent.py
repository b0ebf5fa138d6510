"""A minidisk as numbered CMS blocks: block I/O over an extent of an image.

A CKD extent is cylinders ``first..last``; its blocks are records of whole
track groups (one track, or a 2314 track pair), gathered from and scattered
into track images in C.  An FBA extent is 512-byte blocks ``first..last``;
CMS block *n* is bytes ``(n - 1) * blocksize`` on.  Reads go through a
bounded cache of track groups; writes go through the overlay guard, so a
write into a CP-owned extent is refused.
"""

from __future__ import annotations

import re
import threading
from array import array
from bisect import bisect_right
from typing import Any, Container, Optional, Sequence, Union

from .._native import check, ffi, lib, new_err
from ..dasd.base import DasdImage
from ..dasd.ckd import DEVHDR_SIZE, CKDImage
from ..dasd.fba import FBAImage
from ..errors import AddressError, FormatError, InvalidArgumentError, NotFoundError
from ..util import default_workers, map_threads
from .layout import Layout

BlockList = Union[Sequence[int], "array[int]"]
_SLOTS = threading.local()       # each thread's reused buffer of raw track slots
CACHE_BYTES = 16 << 20          # track groups kept between small reads
RUN_GROUPS = 64                 # track groups read per C call
SMALL_READ = 8                  # reads of at most this many groups are cached
SMALL_LIST = 64                 # block lists this short are grouped in Python
PARALLEL_GROUPS = 256           # reads of this many groups load their runs on threads


def as_blocks(blocks: BlockList) -> array[int]:
    """Block numbers as the unsigned 32-bit array the C core takes."""
    if isinstance(blocks, array) and blocks.typecode == "I":
        return blocks
    try:
        return array("I", blocks)
    except (OverflowError, TypeError):
        raise InvalidArgumentError("block numbers must be integers 0..4294967295") from None


def _groups(marks: bytearray) -> array[int]:
    return array("I", (m.start() for m in re.finditer(b"\x01", marks)))


def _group_runs(groups: array[int]) -> list[tuple[int, int]]:
    """(first, count) of each run of consecutive numbers in ``groups``
    (ascending, distinct), found a run at a time, not a group at a time."""
    if not len(groups):
        return []
    g0 = groups[0]
    marks = bytearray(groups[-1] - g0 + 1)
    if len(groups) == len(marks):                  # one run: every group between
        return [(g0, len(groups))]
    for g in groups:
        marks[g - g0] = 1
    return [(g0 + m.start(), m.end() - m.start()) for m in re.finditer(b"\x01+", marks)]


def runs(groups: Sequence[int], skip: Optional[Container[int]] = None) -> list[tuple[int, int]]:
    """(start, stop) index ranges of ``groups`` (ascending) that are
    consecutive numbers, at most RUN_GROUPS long; groups in ``skip`` stand alone
    and are left out."""
    out: list[tuple[int, int]] = []
    i = 0
    while i < len(groups):
        if skip is not None and groups[i] in skip:
            i += 1
            continue
        j = i + 1
        while (j < len(groups) and groups[j] == groups[j - 1] + 1 and j - i < RUN_GROUPS
               and (skip is None or groups[j] not in skip)):
            j += 1
        out.append((i, j))
        i = j
    return out



def _block_order(blocks: array[int]) -> array[int]:
    """The positions of ``blocks`` in ascending block order (spk_cms_order)."""
    order = array("I", [0]) * len(blocks)
    err = new_err()
    check(lib.spk_cms_order(ffi.from_buffer("uint32_t[]", blocks), len(blocks),
                            ffi.from_buffer("uint32_t[]", order), err), err)
    return order

class Extent:
    """Blocks 1..:attr:`blocks` of a minidisk (block size :attr:`blksize`)."""

    path: str
    blksize: int
    blocks: int
    per_group: int
    writer: Any

    def __init__(self) -> None:
        self._cache: dict[int, tuple[bytes, bytes]] = {}
        self._cached = 0

    # -- to implement -------------------------------------------------------
    def _load_run(self, g0: int, n: int, stage: bytearray, soff: int, present: bytearray,
                  poff: int) -> None:  # pragma: no cover - abstract
        """Gather groups g0..g0+n-1 into stage[soff:], their flags into present[poff:]."""
        raise NotImplementedError

    def _store_run(self, g0: int, n: int, stage: bytearray,
                   dirty: bytearray) -> None:  # pragma: no cover
        raise NotImplementedError

    def where(self, block: int) -> dict[str, Any]:  # pragma: no cover
        raise NotImplementedError

    # -- staging --------------------------------------------------------------
    def _mark(self, blocks: array[int]) -> array[int]:
        if len(blocks) <= SMALL_LIST:
            bad = next((b for b in blocks if b > self.blocks), None)
            if bad is None:
                return array("I", sorted({(b - 1) // self.per_group for b in blocks if b}))
        ngroups = -(-self.blocks // self.per_group)
        marks = bytearray(ngroups)
        err = new_err()
        rc = lib.spk_cms_groups(ffi.from_buffer("uint32_t[]", blocks), len(blocks),
                                self.per_group, self.blocks, ffi.from_buffer(marks),
                                len(marks), err)
        if rc < 0:
            bad = blocks[err.index] if 0 <= err.index < len(blocks) else 0
            check(rc, err, path=self.path, block=bad or None)
        return _groups(marks)

    def _stage(self, groups: array[int]) -> tuple[bytearray, bytearray]:
        """The groups' blocks back to back and their present flags: from the
        cache (small reads: directory, chain links) or the image, runs of
        consecutive groups read on threads when the read is large."""
        size = self.per_group * self.blksize
        per = self.per_group
        stage = bytearray(len(groups) * size)
        present = bytearray(len(groups) * per)
        for k, g in enumerate(groups):
            hit = self._cache.get(g)
            if hit is not None:
                stage[k * size:(k + 1) * size] = hit[0]
                present[k * per:(k + 1) * per] = hit[1]
        todo = runs(groups, self._cache)

        def load(run: tuple[int, int]) -> None:
            a, b = run
            self._load_run(groups[a], b - a, stage, a * size, present, a * per)

        if len(todo) > 1 and len(groups) >= PARALLEL_GROUPS:
            map_threads(load, todo)
        else:
            for run in todo:
                load(run)
        if len(groups) <= SMALL_READ:
            if self._cached + len(groups) * size > CACHE_BYTES:
                self._cache.clear()
                self._cached = 0
            for k, g in enumerate(groups):
                if g not in self._cache:
                    self._cache[g] = (bytes(stage[k * size:(k + 1) * size]),
                                      bytes(present[k * per:(k + 1) * per]))
                    self._cached += size
        return stage, present

    def read(self, blocks: BlockList) -> bytearray:
        """The blocks, in the order given, back to back (block 0: zeros)."""
        blocks = as_blocks(blocks)
        if not len(blocks):
            return bytearray()
        groups = self._mark(blocks)
        stage, present = self._stage(groups)
        out = bytearray(len(blocks) * self.blksize)
        err = new_err()
        rc = lib.spk_cms_pick(ffi.from_buffer(stage), len(stage), ffi.from_buffer(present),
                              ffi.from_buffer("uint32_t[]", groups), len(groups),
                              self.per_group, self.blksize,
                              ffi.from_buffer("uint32_t[]", blocks), len(blocks),
                              ffi.from_buffer(out), len(out), err)
        if rc < 0:
            check(rc, err, **self.where(int(err.index)) if err.index > 0 else {})
        return out

    def read_one(self, block: int) -> bytes:
        return bytes(self.read([block]))

    def read_files(self, blocks: array[int], fstart: array[int], dests: Any) -> None:
        """Each file's blocks (``blocks[fstart[f]:fstart[f + 1]]``) into
        ``dests[f]`` (an ``spk_cms_dest``: its data, cut at its len)."""
        blob = self.read(blocks)
        src = ffi.from_buffer(blob)
        for f in range(len(fstart) - 1):
            n = int(dests[f].len)
            if n:
                ffi.memmove(dests[f].data, src + fstart[f] * self.blksize, n)

    def write(self, blocks: BlockList, data: Union[bytes, bytearray, memoryview]) -> None:
        """Write ``data`` (``len(blocks)`` whole blocks) to the blocks given."""
        blocks = as_blocks(blocks)
        if len(data) != len(blocks) * self.blksize:
            raise InvalidArgumentError(f"{len(data)} bytes for {len(blocks)} blocks of "
                                       f"{self.blksize}")
        if not len(blocks):
            return
        groups = self._mark(blocks)
        size = self.per_group * self.blksize
        stage = bytearray(len(groups) * size)
        dirty = bytearray(len(groups) * self.per_group)
        err = new_err()
        check(lib.spk_cms_place(ffi.from_buffer(stage), len(stage), ffi.from_buffer(dirty),
                                ffi.from_buffer("uint32_t[]", groups), len(groups),
                                self.per_group, self.blksize, ffi.from_buffer("uint32_t[]", blocks),
                                len(blocks), ffi.from_buffer(data), len(data), err),
              err, path=self.path)
        for i, j in runs(groups):
            self._store_run(groups[i], j - i, stage[i * size:j * size],
                            dirty[i * self.per_group:j * self.per_group])
            for g in groups[i:j]:
                if self._cache.pop(g, None) is not None:
                    self._cached -= size

    def flush(self) -> None:
        self.writer.flush()


class CKDExtent(Extent):
    """Cylinders ``first..last`` of a CKD image laid out as ``layout`` says."""

    def __init__(self, dev: DasdImage, first: int, last: int, layout: Layout,
                 writer: Optional[Any] = None) -> None:
        super().__init__()
        if not 0 <= first <= last < dev.cylinders:
            raise AddressError(f"minidisk cylinders {first}-{last} are outside the volume "
                               f"({dev.cylinders} cylinders)", path=dev.path)
        self.dev, self.first, self.last, self.layout = dev, first, last, layout
        self.writer = writer if writer is not None else dev
        self.path = dev.path
        self.blksize = layout.blksize
        self.blocks = layout.blocks
        self.per_group = layout.per_group
        self._clay = layout.cdata()
        self._clay_ha = layout.cdata(first, check_ha=True)

    def track_address(self, t: int) -> tuple[int, int]:
        """(cylinder, head) on the volume of extent track ``t``."""
        cyl, head = divmod(t, self.dev.heads)
        return self.first + cyl, head

    def where(self, block: int) -> dict[str, Any]:
        g = (block - 1) // self.per_group
        return {"path": self.path, "block": block,
                "track": self.track_address(g * self.layout.group_tracks)}

    def _images(self, t0: int, n: int) -> tuple[Union[bytearray, memoryview], array[int],
                                                 array[int]]:
        images = [self.dev.read_track(*self.track_address(t)).image for t in range(t0, t0 + n)]
        lens = array("I", (len(im) for im in images))
        offs = array("I", [0]) * n
        pos = 0
        for i, ln in enumerate(lens):
            offs[i] = pos
            pos += ln
        return bytearray(b"".join(images)), offs, lens

    def read(self, blocks: BlockList) -> bytearray:
        """The blocks, in the order given (block 0: zeros).  A read of more
        than a few track groups gathers each run of tracks straight into the
        places asked for (no track staged or cached), a large one the runs on
        threads."""
        blocks = as_blocks(blocks)
        groups = self._mark(blocks) if len(blocks) > SMALL_READ else array("I")
        if len(groups) <= SMALL_READ:
            return super().read(blocks)
        out = bytearray(len(blocks) * self.blksize)
        if isinstance(self.dev, CKDImage):           # one "file": request i at out + i * bs
            dests = ffi.new("spk_cms_dest[]", 1)
            dests[0].data, dests[0].len = ffi.from_buffer("uint8_t[]", out), len(out)
            self._gather_fd(blocks, groups, array("Q", [0, len(blocks)]), dests)
            return out
        cout = ffi.from_buffer(out)

        def call(e: Any, buf: Any, nbuf: int, offs: Any, lens: Any, ntrk: int, t0: int,
                 clay: Any, cblocks: Any, corder: Any, n: int, cgot: Any) -> int:
            return int(lib.spk_cms_gather_to(buf, nbuf, offs, lens, ntrk, t0,
                                             self.dev.track_flags, clay, cblocks, corder, n,
                                             cout, len(out), cgot, e))

        self._gather(blocks, groups, call, threads=len(groups) >= PARALLEL_GROUPS)
        return out

    def read_files(self, blocks: array[int], fstart: array[int], dests: Any) -> None:
        """Each file's blocks (``blocks[fstart[f]:fstart[f + 1]]``) straight
        from the track images into ``dests[f]`` (an ``spk_cms_dest``: its
        data, cut at its len); a null block's place gets zeros."""
        groups = self._mark(blocks)
        cstart = ffi.from_buffer("uint64_t[]", fstart)
        nf = len(fstart) - 1
        if isinstance(self.dev, CKDImage) and len(groups):
            self._gather_fd(blocks, groups, fstart, dests)     # data: no cache
            return
        if len(groups) <= SMALL_READ:
            super().read_files(blocks, fstart, dests)
            return

        def call(e: Any, buf: Any, nbuf: int, offs: Any, lens: Any, ntrk: int, t0: int,
                 clay: Any, cblocks: Any, corder: Any, n: int, cgot: Any) -> int:
            return int(lib.spk_cms_gather_files(buf, nbuf, offs, lens, ntrk, t0,
                                                self.dev.track_flags, clay, cblocks, corder, n,
                                                cstart, nf, dests, cgot, e))

        order = self._gather(blocks, groups, call, threads=len(groups) >= PARALLEL_GROUPS)
        self._zero_nulls(blocks, order, fstart, dests)

    def _gather_fd(self, blocks: array[int], groups: array[int], fstart: array[int],
                   dests: Any) -> None:
        """read_files on a plain CKD image: each span of consecutive track
        groups read and gathered in C (a few tracks at a time, so they are
        still in cache), the spans on threads."""
        dev = self.dev
        assert isinstance(dev, CKDImage)
        n = len(blocks)
        order = _block_order(blocks)
        got = bytearray(n)
        gt = self.layout.group_tracks
        cblocks = ffi.from_buffer("uint32_t[]", blocks)
        corder = ffi.from_buffer("uint32_t[]", order)
        cgot = ffi.from_buffer(got)
        base = self.first * dev.heads
        cstart = ffi.from_buffer("uint64_t[]", fstart)
        nf = len(fstart) - 1
        # spans of consecutive groups, cut where an image file ends; per file
        # the spans in about one share of tracks per worker
        spans: dict[int, list[array[int]]] = {}          # piece index: shares
        filled: dict[int, int] = {}                      # tracks in its last share
        workers = default_workers()
        share = max(RUN_GROUPS * gt, -(-len(groups) * gt // workers))
        for g0, ng in _group_runs(groups):
            t0, nt = g0 * gt, ng * gt
            while nt:
                p, _ = dev._piece(base + t0)
                k = min(nt, p.first_trk + p.ntrks - (base + t0))
                k = max(k - k % gt, gt)
                pi = dev._pieces.index(p)
                shares = spans.setdefault(pi, [array("I")])
                if filled.get(pi, 0) >= share:
                    shares.append(array("I"))
                    filled[pi] = 0
                shares[-1].extend((t0, k))
                filled[pi] = filled.get(pi, 0) + k
                t0, nt = t0 + k, nt - k
        jobs = [(pi, sh) for pi, shares in spans.items() for sh in shares]

        def load(job: tuple[int, array[int]]) -> None:
            pi, sh = job
            p = dev._pieces[pi]
            off0 = DEVHDR_SIZE + (base - p.first_trk) * dev.track_size
            e = new_err()
            rc = lib.spk_cms_gather_files_fd(p.fd, off0, dev.track_size,
                                             ffi.from_buffer("uint32_t[]", sh), len(sh) // 2,
                                             dev.track_flags, self._clay_ha, cblocks, corder, n,
                                             cstart, nf, dests, cgot, e)
            if rc < 0:
                self._raise_track(rc, e, sh[0])

        if len(jobs) > 1 and len(groups) >= PARALLEL_GROUPS:
            map_threads(load, jobs)
        else:
            for job in jobs:
                load(job)
        self._check_got(blocks, got)
        self._zero_nulls(blocks, order, fstart, dests)

    def _zero_nulls(self, blocks: array[int], order: array[int], fstart: array[int],
                    dests: Any) -> None:
        """Zeros in the places of null blocks (block 0: sorted first)."""
        k = 0
        while k < len(blocks) and blocks[order[k]] == 0:
            r = order[k]
            f = bisect_right(fstart, r) - 1
            pos = (r - fstart[f]) * self.blksize
            m = min(self.blksize, int(dests[f].len) - pos)
            if m > 0:
                ffi.memmove(dests[f].data + pos, bytes(m), m)
            k += 1

    def _gather(self, blocks: array[int], groups: array[int], call: Any,
                threads: bool = True) -> array[int]:
        """Every run of ``groups``' tracks read once and handed to ``call``
        (a C gather into the places of ``blocks``), the runs on threads; a
        block missing from its track is NotFoundError.  Returns the order of
        ``blocks`` (spk_cms_order)."""
        n = len(blocks)
        order = _block_order(blocks)
        got = bytearray(n)
        gt = self.layout.group_tracks
        plain = isinstance(self.dev, CKDImage)
        cblocks = ffi.from_buffer("uint32_t[]", blocks)
        corder = ffi.from_buffer("uint32_t[]", order)
        cgot = ffi.from_buffer(got)

        def load(run: tuple[int, int]) -> None:
            g0, k = groups[run[0]], run[1] - run[0]
            buf: Union[bytearray, memoryview]
            if plain:
                buf, offs, lens = self._slots(g0 * gt, k * gt)
                clay = self._clay_ha
            else:
                buf, offs, lens = self._images(g0 * gt, k * gt)
                clay = self._clay
            e = new_err()
            rc = call(e, ffi.from_buffer(buf), len(buf), ffi.from_buffer("uint32_t[]", offs),
                      ffi.from_buffer("uint32_t[]", lens), k * gt, g0 * gt, clay, cblocks,
                      corder, n, cgot)
            if rc < 0:
                self._raise_track(rc, e, g0 * gt)

        todo = runs(groups)
        if threads and len(todo) > 1:
            map_threads(load, todo)
        else:
            for run in todo:
                load(run)
        self._check_got(blocks, got)
        return order

    def _check_got(self, blocks: array[int], got: bytearray) -> None:
        """NotFoundError for the first block asked for that no track held."""
        missing = next((i for i in range(len(blocks)) if blocks[i] and not got[i]), None) \
            if got.count(0) > blocks.count(0) else None
        if missing is not None:
            b = blocks[missing]
            raise NotFoundError(f"block {b} is not on the disk: its track has no record "
                                f"{(b - 1) % self.per_group + 1} (not formatted for CMS)",
                                **self.where(b))

    def _raise_track(self, rc: int, err: Any, t0: int) -> None:
        t = int(err.index) if err.index >= 0 else t0
        check(rc, err, path=self.path, track=self.track_address(t))

    def _slots(self, t0: int, n: int) -> tuple[memoryview, array[int], array[int]]:
        """Raw track slots of a plain CKD image (read with preadv into a
        buffer each thread keeps: big reads touch no fresh memory per run)."""
        dev = self.dev
        assert isinstance(dev, CKDImage)
        size = dev.track_size
        buf = getattr(_SLOTS, "buf", None)
        if buf is None or len(buf) < n * size:
            buf = _SLOTS.buf = bytearray(max(n, RUN_GROUPS * 2) * size)
        view = memoryview(buf)[:n * size]
        base = self.first * self.dev.heads + t0
        done = 0
        while done < n:
            _, k = dev.read_slots(base + done, n - done, view[done * size:])
            done += k
        offs = array("I", range(0, n * size, size))
        lens = array("I", [size]) * n
        return view, offs, lens

    def _load_run(self, g0: int, n: int, stage: bytearray, soff: int, present: bytearray,
                  poff: int) -> None:
        gt = self.layout.group_tracks
        buf: Union[bytearray, memoryview]
        if isinstance(self.dev, CKDImage):
            buf, offs, lens = self._slots(g0 * gt, n * gt)
            clay = self._clay_ha                   # the HA of a raw slot is checked in C
        else:
            buf, offs, lens = self._images(g0 * gt, n * gt)
            clay = self._clay
        size = self.per_group * self.blksize
        err = new_err()
        out = ffi.from_buffer("uint8_t[]", stage) + soff
        flags = ffi.from_buffer("uint8_t[]", present) + poff
        rc = lib.spk_cms_gather(ffi.from_buffer(buf), len(buf),
                                ffi.from_buffer("uint32_t[]", offs),
                                ffi.from_buffer("uint32_t[]", lens), n * gt, g0 * gt,
                                self.dev.track_flags, clay, out, n * size, flags, err)
        if rc < 0:
            self._raise_track(rc, err, g0 * gt)

    def _store_run(self, g0: int, n: int, stage: bytearray, dirty: bytearray) -> None:
        gt = self.layout.group_tracks
        t0 = g0 * gt
        buf, offs, lens = self._images(t0, n * gt)
        tdirty = bytearray(n * gt)
        err = new_err()
        rc = lib.spk_cms_scatter(ffi.from_buffer(buf), len(buf),
                                 ffi.from_buffer("uint32_t[]", offs),
                                 ffi.from_buffer("uint32_t[]", lens), n * gt, t0,
                                 self.dev.track_flags, self._clay, ffi.from_buffer(stage),
                                 len(stage), ffi.from_buffer(dirty), ffi.from_buffer(tdirty), err)
        if rc < 0:
            self._raise_track(rc, err, t0)
        view = memoryview(buf)
        for i in range(n * gt):
            if tdirty[i]:
                cyl, head = self.track_address(t0 + i)
                self.writer.write_track(cyl, head, bytes(view[offs[i]:offs[i] + lens[i]]))

    def format_tracks(self, data: Optional[dict[int, bytes]] = None) -> None:
        """Write every track of the extent as CMS FORMAT does: keyless
        records of a block each (zeros, or ``data[group]``), count fields with
        minidisk-relative cylinders.  Tracks are written in order."""
        lay = self.layout
        cap = 5 + 16 + 8 + 256 * (8 + self.blksize) + 8
        out = bytearray(cap)
        err = new_err()
        for t in range(lay.tracks):
            g, sub = divmod(t, lay.group_tracks)
            blob = (data or {}).get(g)
            rcyl, rhead = divmod(t, self.dev.heads)
            cyl, head = self.track_address(t)
            n = check(lib.spk_cms_format_track(ffi.from_buffer(out), cap, cyl, head, rcyl, rhead,
                                               sub, self._clay,
                                               ffi.NULL if blob is None else blob,
                                               0 if blob is None else len(blob), err),
                      err, path=self.path, track=(cyl, head))
            self.writer.write_track(cyl, head, bytes(out[:n]))
        self._cache.clear()
        self._cached = 0


class FBAExtent(Extent):
    """512-byte blocks ``first..last`` of an FBA image as CMS blocks of
    ``blksize`` bytes (CMS block 1 starts at block ``first``)."""

    def __init__(self, dev: FBAImage, first: int, last: int, blksize: int,
                 writer: Optional[Any] = None) -> None:
        super().__init__()
        if not 0 <= first <= last < dev.blocks:
            raise AddressError(f"minidisk blocks {first}-{last} are outside the volume "
                               f"({dev.blocks} blocks)", path=dev.path)
        if blksize % 512:
            raise InvalidArgumentError(f"block size {blksize} is not a multiple of 512")
        self.dev, self.first, self.last = dev, first, last
        self.writer = writer if writer is not None else dev
        self.path = dev.path
        self.blksize = blksize
        self.k = blksize // 512
        self.blocks = (last - first + 1) // self.k
        self.per_group = 1

    def where(self, block: int) -> dict[str, Any]:
        return {"path": self.path, "block": self.first + (block - 1) * self.k}

    def _load_run(self, g0: int, n: int, stage: bytearray, soff: int, present: bytearray,
                  poff: int) -> None:
        data = self.dev.read_blocks(self.first + g0 * self.k, n * self.k)
        if len(data) != n * self.blksize:
            raise FormatError("short read", **self.where(g0 + 1))
        stage[soff:soff + len(data)] = data
        present[poff:poff + n] = b"\x01" * n

    def _store_run(self, g0: int, n: int, stage: bytearray, dirty: bytearray) -> None:
        self.writer.write_blocks(self.first + g0 * self.k, bytes(stage))

    def read_raw(self, offset: int, n: int) -> bytes:
        """``n`` bytes at byte ``offset`` of the extent (the EDF label at 512)."""
        first, last = offset // 512, (offset + n - 1) // 512
        data = self.dev.read_blocks(self.first + first, last - first + 1)
        return data[offset % 512:offset % 512 + n]


__all__ = ["CKDExtent", "Extent", "FBAExtent", "as_blocks"]
