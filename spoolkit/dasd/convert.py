"""Whole-volume conversion: plain <-> compressed <-> 64-bit, shadow merge.

Tracks are processed in groups of 256 (one L2 table) by a thread pool: the C
calls (parse, null detection, compress, expand) release the GIL, so the
groups run on all cores while the main thread writes finished groups in
order.  Threads were measured against processes (bench/bench_cckd.py): the
work per group is a few C calls on shared memory maps, so threads avoid the
pickling of ~MB buffers a process pool would need.  At most ``2 * workers``
groups are in flight, so memory stays flat whatever the volume size.
The output is written under a temporary name and renamed when complete.
"""

from __future__ import annotations

import os
import threading
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Callable, Iterator, Optional, TypeVar, Union

from .._native import check, ffi, lib, new_err
from ..compress import method_code
from ..errors import InvalidArgumentError
from ..output import Writeback, atomic_output, check_destination, errno_write_error, write_all
from ..util import default_workers, logger
from . import open_dasd
from .base import DasdImage
from .cckd import CCKDImage, CompressedWriter, compressed_devid
from .cckdfile import NOT_NULL, compress_image
from .ckd import (
    DEVHDR_SIZE,
    CKDImage,
    DevHeader,
    allocate_file,
    check_volume_destination,
    piece_header,
    plan_files,
    volume_outputs,
)
from .fba import GROUP_SIZE, PER_GROUP, FBAImage, group_image, write_zeros
from .reports import ConvertResult, FlaggedTrack
from .split import family, locate

PathLike = Union[str, "os.PathLike[str]"]
GROUP = 256
log = logger("spoolkit.dasd")
_TLS = threading.local()   # per-thread output buffers of the group workers
FLAGGED = lib.SPK_CCKD_FLAGGED
RESTORE = lib.SPK_CCKD_RESTORE


_R = TypeVar("_R")


def _ordered(pool: ThreadPoolExecutor, fn: Callable[[int], _R], n: int, depth: int
             ) -> Iterator[_R]:
    """fn(0..n-1) on the pool, results in order, at most ``depth`` in flight."""
    pending: deque[Future[_R]] = deque()
    nxt = 0
    while nxt < n or pending:
        while nxt < n and len(pending) < depth:
            pending.append(pool.submit(fn, nxt))
            nxt += 1
        yield pending.popleft().result()


#: a group's stored images: lens[i] < 3 is a null format, else the length of
#: the next image in data; flagged: tracks Hercules 3.x cckdcdsk -3 flags
Group = tuple[list[int], bytes, list[int]]
MIN_STORED = 13          # cckdcdsk's smallest stored image (header + 8 bytes)


def _compress_group(src: DasdImage, l1x: int, method: int, level: int, nullfmt: int,
                    passthrough: bool = False) -> Group:
    """Stored images of tracks 256*l1x.. for a new file of null format ``nullfmt``.

    ``passthrough`` (a compressed source with the same method): each stored
    image is expanded and validated in C and copied as it is, unless
    Hercules 3.x ``cckdcdsk -3`` would reject it: a null track stored as an
    image becomes its null entry, a stored form it cannot take is stored
    afresh.  A track whose content it rejects is kept and listed."""
    first = l1x * GROUP
    n = min(GROUP, src.total_tracks - first)
    err = new_err()
    flagged: list[int] = []
    if passthrough and isinstance(src, CCKDImage):
        lens_p: list[int] = []
        kept: list[bytes] = []
        scratch = getattr(_TLS, "scratch", None)
        if scratch is None or len(scratch) < src.track_size:
            scratch = _TLS.scratch = bytearray(src.track_size)
        cscratch = ffi.from_buffer(scratch)
        for trk in range(first, first + n):
            stored, fmt = src.read_stored(trk)
            if stored is None:
                lens_p.append(fmt)
                continue
            rc = lib.spk_cckd_pass_image(stored, len(stored), trk, src.heads, src.track_flags,
                                         src.track_size, nullfmt, cscratch, len(scratch), err)
            check(rc, err, path=src.path, track=divmod(trk, src.heads))
            if rc < 3:                          # a null track: its null entry
                lens_p.append(rc)
                continue
            if rc == FLAGGED:
                flagged.append(trk)
            if rc == RESTORE or not MIN_STORED <= len(stored) <= src.track_size:
                stored = _restore(src._read_image(trk), method, level)
            kept.append(stored)
            lens_p.append(len(stored))
        return lens_p, b"".join(kept), flagged
    if isinstance(src, CKDImage):
        lens = ffi.new("uint32_t[]", n)
        marks = ffi.new("uint8_t[]", n)
        out = getattr(_TLS, "cbuf", None)  # reused: a fresh one is zero-filled each group
        if out is None or len(out) < GROUP * src.track_size:
            out = _TLS.cbuf = bytearray(GROUP * src.track_size)
        used = 0
        t = first
        slots = getattr(_TLS, "slots", None)
        if slots is None or len(slots) < GROUP * src.track_size:
            slots = _TLS.slots = bytearray(GROUP * src.track_size)
        while t < first + n:  # one C call per run of tracks inside one file
            p, k = src.read_slots(t, first + n - t, slots)
            rc = lib.spk_cckd_compress_slots(
                ffi.from_buffer(slots), k * src.track_size, src.track_size, t, k, src.heads,
                src.track_flags, method, level, nullfmt, ffi.from_buffer(out) + used,
                len(out) - used, lens + (t - first), marks + (t - first), err)
            check(rc, err, path=p.path, track=divmod(err.index, src.heads)
                  if err.index >= 0 else None)
            used += rc
            t += k
        flagged = [first + i for i in range(n) if marks[i]]
        return list(lens), bytes(memoryview(out)[:used]), flagged
    lens_l: list[int] = []
    parts: list[bytes] = []
    buf = bytearray(65536)
    for trk in range(first, first + n):
        cyl, head = divmod(trk, src.heads)
        image = src._read_image(trk)
        fmt = lib.spk_cckd_null_format(image, len(image), cyl, head, nullfmt)
        if fmt != NOT_NULL:
            lens_l.append(fmt)
            continue
        if lib.spk_cckd_herc_check(image, len(image), trk, src.heads, ffi.NULL) < 0:
            flagged.append(trk)
        rc = check(lib.spk_cckd_trk_compress(image, len(image), method, level,
                                             ffi.from_buffer(buf), len(buf), err), err,
                   path=src.path, track=(cyl, head))
        parts.append(bytes(buf[:rc]))
        lens_l.append(rc)
    return lens_l, b"".join(parts), flagged


def _restore(image: bytes, method: int, level: int) -> bytes:
    """An image stored afresh; one cckdcdsk would find too short compressed
    is stored plain."""
    stored = compress_image(image, method, level)
    return stored if len(stored) >= MIN_STORED else compress_image(image, 0)


def herc_reason(image: bytes, trk: int, heads: int) -> Optional[str]:
    """Why Hercules 3.x ``cckdcdsk -3`` rejects this CKD track image (it then
    replaces the track with a null track), or None."""
    err = new_err()
    if lib.spk_cckd_herc_check(image, len(image), trk, heads, err) >= 0:
        return None
    msg: bytes = ffi.string(err.msg)
    return msg.decode("utf-8", "replace")


NULL_LEN = {0: 37, 1: 29, 2: 49277}
#: (first track, end track, fd, name) of each file of a plain output set
Piece = tuple[int, int, int, str]


def _expand_group(src: DasdImage, l1x: int, pieces: list[Piece]) -> int:
    """Write the images of group l1x into the zero-filled plain slots of
    ``pieces``: only each image's bytes up to its EOT, the rest of a slot is
    zeros already.  Returns the number of tracks."""
    first = l1x * GROUP
    n = min(GROUP, src.total_tracks - first)
    err = new_err()
    if isinstance(src, CCKDImage):
        need = 65535 + max(src.track_size, 49277)   # a stored image and its expansion
        work: bytearray = getattr(_TLS, "work", None) or bytearray(0)
        if len(work) < need:
            work = _TLS.work = bytearray(need)
        cwork = ffi.from_buffer(work)
        files = ffi.new("spk_cckd_src[]", len(src.files))
        for i, f in enumerate(src.files):
            files[i].fd = f.fd
            files[i].nullfmt = f.hdr.nullfmt
            files[i].meta_end = f.meta_end
            files[i].filesize = f.filesize
            files[i].l2 = f.l2.table(l1x)
    for lo, hi, fd, name in pieces:
        a, b = max(first, lo), min(first + n, hi)
        if a >= b:
            continue
        base = DEVHDR_SIZE + (a - lo) * src.track_size
        if isinstance(src, CCKDImage):
            rc = lib.spk_cckd_expand_group(files, len(src.files), a, b - a, src.heads,
                                           src.track_flags, src.track_size, fd, base, cwork,
                                           len(work), err)
            if rc == lib.SPK_EWRITE:
                raise errno_write_error(int(err.index), name, int(err.offset))
            if rc < 0:
                if err.index >= 0:
                    check(rc, err, path=src.path, track=divmod(int(err.index), src.heads))
                check(rc, err, path=src.path)
            continue
        for trk in range(a, b):  # plain source: the image up to its EOT, never stale bytes
            cyl, head = divmod(trk, src.heads)
            write_all(fd, src.read_track(cyl, head).image, name,
                      base + (trk - a) * src.track_size)
    return n


def convert(src: PathLike, dst: PathLike, *, compress: Optional[str] = None,
            level: int = -1, cckd64: bool = False, workers: Optional[int] = None,
            sf: Optional[str] = None, nullfmt: Optional[int] = None, lfs: bool = False,
            recompress: bool = False, overwrite: bool = False,
            progress: Optional[Callable[[int], None]] = None) -> ConvertResult:
    """Copy a CKD volume into a new file, compressed (``compress="zlib"`` or
    ``"bzip2"``, or ``cckd64=True``) or plain (``compress=None``).

    ``sf`` names the source's shadow files, which are merged into the output.
    From a compressed source with the same method (CCKD <-> CCKD64, shadow
    merge) the stored images are verified and copied without recompressing,
    unless ``recompress`` (or a ``level``) is given.
    ``workers`` threads compress or expand (default: all cores).  ``progress``
    is called with the number of tracks done after each group.  Returns a
    summary (tracks, files, bytes out).

    A compressed output passes Hercules' ``cckdcdsk -3``: a null track that
    the source stores as an image gets its null entry, a stored image it
    cannot take is stored afresh.  A track whose *content* it rejects
    (e.g. R0 data on an otherwise empty track, see
    :func:`~spoolkit.dasd.convert.herc_reason`) is copied as it is, never
    altered; ``flagged_tracks`` counts them and ``flagged`` names the first.
    """
    src_p, dst_p = os.fspath(src) if sf else locate(src), os.fspath(dst)
    if os.path.abspath(src_p) == os.path.abspath(dst_p) or _same_file(src_p, dst_p):
        raise InvalidArgumentError("source and destination are the same file", path=dst_p)
    check_destination(dst_p, overwrite=overwrite)
    workers = workers or default_workers()
    if workers < 1:
        raise InvalidArgumentError("workers must be at least 1")
    compressed = compress is not None or cckd64
    method = method_code(compress or "zlib") if compressed else 0
    opts = {"sf": sf} if sf else {}
    with open_dasd(src_p, **opts) as img:
        if isinstance(img, FBAImage):
            return _convert_fba(img, dst_p, compressed, method, level, cckd64, workers,
                                overwrite, progress)
        if nullfmt is None:
            nullfmt = img.nullfmt if isinstance(img, CCKDImage) else 1
        ngroups = -(-img.total_tracks // GROUP)
        names = [dst_p]
        if not compressed:
            names, _ = plan_files(dst_p, img.device, img.cylinders, lfs)
        # a plain output replaces every file of its name's split set
        _refuse_source_files(img, family(dst_p) if not compressed else names)
        if not compressed:
            # every file of a plain output set is refused before any work
            check_volume_destination(dst_p, names, overwrite=overwrite)
        flagged: list[int] = []
        with ThreadPoolExecutor(max_workers=workers) as pool:
            if compressed:
                passthrough = (isinstance(img, CCKDImage) and not recompress and level == -1
                               and all(f.hdr.algo == method for f in img.files))
                flagged = _to_compressed(img, dst_p, pool, workers, ngroups, method, level,
                                         cckd64, nullfmt, passthrough, overwrite, progress)
            else:
                _to_plain(img, dst_p, pool, workers, ngroups, lfs, overwrite, progress)
        if flagged:
            f = _flag_report(img, flagged[:1])[0]
            log.warning("warning: %d track(s) of %s hold what Hercules 3.x cckdcdsk -3 "
                        "flags and would replace with null tracks; they are copied as they "
                        "are (first: cylinder %d head %d: %s)", len(flagged), dst_p, f["cyl"],
                        f["head"], f["reason"])
        return {"source": src_p, "source_files": _source_files(img),
                "destination": dst_p, "tracks": img.total_tracks,
                "format": ("CCKD64" if cckd64 else "CCKD") if compressed else "CKD",
                "files": names, "bytes_out": _size(names),
                "flagged_tracks": len(flagged), "flagged": _flag_report(img, flagged)}


MAX_FLAGGED = 20


def _flag_report(img: DasdImage, flagged: list[int]) -> list[FlaggedTrack]:
    """The first tracks Hercules 3.x cckdcdsk -3 would flag, with the reason."""
    out: list[FlaggedTrack] = []
    for trk in flagged[:MAX_FLAGGED]:
        cyl, head = divmod(trk, img.heads)
        out.append({"cyl": cyl, "head": head,
                    "reason": herc_reason(img.read_track(cyl, head).image, trk, img.heads)})
    return out


def _size(names: list[str]) -> int:
    """Bytes of the output, all files of a split set together."""
    return sum(os.path.getsize(n) for n in names if os.path.exists(n))


def _source_files(img: DasdImage) -> list[str]:
    """The files a source volume is read from: a split set's, a base and its shadows."""
    if isinstance(img, CKDImage):
        return img.files
    if isinstance(img, CCKDImage):
        return [f.path for f in img.files]
    return [img.path]


def _refuse_source_files(img: DasdImage, names: list[str]) -> None:
    """Refuse an output that would replace a file of the source (a split set
    named by its base name on one side and by file 1 on the other)."""
    for src_path in _source_files(img):
        for n in names:
            if os.path.abspath(n) == os.path.abspath(src_path) or _same_file(n, src_path):
                raise InvalidArgumentError(f"source and destination are the same volume "
                                           f"({n} is a file of both)", path=n)


def _same_file(a: str, b: str) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def _to_compressed(img: DasdImage, dst: str, pool: ThreadPoolExecutor, workers: int,
                   ngroups: int, method: int, level: int, cckd64: bool, nullfmt: int,
                   passthrough: bool, overwrite: bool,
                   progress: Optional[Callable[[int], None]]) -> list[int]:
    """Write the compressed file; returns the tracks cckdcdsk -3 flags."""
    dev = img.device
    devhdr = DevHeader(compressed_devid(False, cckd64), img.heads, img.track_size,
                       dev.devt & 0xFF)
    with atomic_output(dst, overwrite=overwrite) as tmp, open(tmp, "r+b", buffering=0) as f:
        w = CompressedWriter(f, devhdr, img.cylinders, img.total_tracks, cckd64, nullfmt,
                             method, level)
        flagged: list[int] = []
        for l1x, (lens, data, marks) in enumerate(_ordered(
                pool, lambda g: _compress_group(img, g, method, level, nullfmt, passthrough),
                ngroups, 2 * workers)):
            w.write_group(l1x, lens, data)
            flagged += marks
            if progress:
                progress(len(lens))
        w.finish()
    return flagged


def _to_plain(img: DasdImage, dst: str, pool: ThreadPoolExecutor, workers: int,
              ngroups: int, lfs: bool, overwrite: bool,
              progress: Optional[Callable[[int], None]]) -> None:
    # the file(s) of the volume are allocated (zeros) under their temporary
    # names beside dst, each track's image written over its slot, then moved
    # into place together.  A null track of the source is written as its own
    # null image, so the output's null format plays no part in a plain file.
    names, spans = plan_files(dst, img.device, img.cylinders, lfs)
    with volume_outputs(dst, names, overwrite=overwrite) as tmps:
        pieces: list[Piece] = []
        backs: list[Writeback] = []
        try:
            for k, ((start, end), tmp) in enumerate(zip(spans, tmps), start=1):
                fd = os.open(tmp, os.O_RDWR | os.O_CLOEXEC)
                pieces.append((start * img.heads, (end + 1) * img.heads, fd, tmp))
                backs.append(Writeback(fd))
                allocate_file(fd, tmp, DEVHDR_SIZE + (end - start + 1) * img.heads
                              * img.track_size)
                write_all(fd, piece_header("CKD_P370", img.device, k, len(spans), end,
                                           img.cylinders).build(), tmp, 0)
            done = 0
            for n in _ordered(pool, lambda g: _expand_group(img, g, pieces), ngroups,
                              2 * workers):
                done += n   # every track before this one is written
                for (lo, hi, _, _), back in zip(pieces, backs):
                    if lo < done:
                        back.advance(DEVHDR_SIZE + (min(done, hi) - lo) * img.track_size)
                if progress:
                    progress(n)
        finally:
            for _, _, fd, _ in pieces:
                os.close(fd)


def _convert_fba(img: FBAImage, dst: str, compressed: bool, method: int, level: int,
                 cckd64: bool, workers: int, overwrite: bool,
                 progress: Optional[Callable[[int], None]]) -> ConvertResult:
    """FBA <-> CFBA: block groups of 120 compressed in threads."""
    ngroups = img.blocks // PER_GROUP + 1

    def group(g: int) -> bytes:
        lo = g * PER_GROUP
        n = max(0, min(PER_GROUP, img.blocks - lo))
        return img.read_blocks(lo, n).ljust(GROUP_SIZE, b"\0") if n else bytes(GROUP_SIZE)

    with ThreadPoolExecutor(max_workers=workers) as pool, \
            atomic_output(dst, overwrite=overwrite) as tmp, open(tmp, "r+b", buffering=0) as f:
        if compressed:
            devt = img.device.devt & 0xFF if img.device else 0
            devhdr = DevHeader(compressed_devid(True, cckd64), img.blocks, 512, devt)
            w = CompressedWriter(f, devhdr, img.blocks, ngroups, cckd64, 0, method, level)

            def work(l1x: int) -> tuple[list[int], bytes]:
                lens, parts = [], []
                for g in range(l1x * GROUP, min(ngroups, l1x * GROUP + GROUP)):
                    data = group(g)
                    if data == bytes(GROUP_SIZE):
                        lens.append(0)
                        continue
                    stored = compress_image(group_image(g, data), method, level)
                    lens.append(len(stored))
                    parts.append(stored)
                return lens, b"".join(parts)

            for l1x, (lens, data) in enumerate(_ordered(pool, work, -(-ngroups // GROUP),
                                                        2 * workers)):
                w.write_group(l1x, lens, data)
                if progress:
                    progress(len(lens) * PER_GROUP)
            w.finish()
        else:
            write_zeros(f.fileno(), tmp, img.blocks * 512)
            for g, data in enumerate(_ordered(pool, group, ngroups, 2 * workers)):
                n = max(0, min(PER_GROUP, img.blocks - g * PER_GROUP))
                if n and data != bytes(GROUP_SIZE):
                    write_all(f.fileno(), memoryview(data)[:n * 512], tmp, g * GROUP_SIZE)
                if progress:
                    progress(n)
    return {"source": img.path, "source_files": [img.path], "destination": dst,
            "blocks": img.blocks,
            "format": ("CFBA64" if cckd64 else "CFBA") if compressed else "FBA",
            "files": [dst], "bytes_out": _size([dst])}
