"""``check_dasd``: what Hercules' ``cckdcdsk`` checks, as a JSON-able report.

Levels (as ``cckdcdsk``): 0 headers, header invariants and the free chain;
1 also L1/L2 bounds and overlapping spaces; 2 also each stored image's
5-byte header (compression code, CCHH); 3 also decompresses and validates
every track (in threads; the C calls release the GIL).

``repair=True`` fixes only what loses no data: header totals, the free chain
rebuilt from unaccounted space, the OPENED bit.  Anything else is reported.
Plain CKD images get a full track scan at every level.
"""

from __future__ import annotations

import contextlib
import os
import threading
from typing import (
    TYPE_CHECKING,
    Callable,
    Generic,
    Iterable,
    Iterator,
    Optional,
    TypeVar,
    Union,
    cast,
)

from .._native import check, ffi, lib, new_err
from ..errors import SpoolkitError
from ..lock import lock_fd
from ..output import remove_stale_temps
from ..util import default_workers
from . import OPENERS, open_dasd
from .cckdfile import ALL_IDS, KIND_CKD, KIND_FBA, OPENED, SPACE_NAMES, CompressedFile
from .sniff import check_plain_fba, read_head
from .split import family, locate

if TYPE_CHECKING:
    from .._spoolkit import Array, spk_cckd_space
    from .reports import CheckReport, Problem

KIND_NAMES = SPACE_NAMES
ProgressFn = Optional[Callable[[int], None]]
MAX_REPORTED = 200


def check_dasd(path: Union[str, os.PathLike[str]], level: int = 1, *, repair: bool = False,
               workers: Optional[int] = None,
               progress: Optional[Callable[[int], None]] = None) -> CheckReport:
    """Check a disk image; returns ``{"ok", "errors", "warnings", "repaired", ...}``
    (a :class:`~spoolkit.dasd.reports.CheckReport`).
    A split volume is checked whole, by its base name or file 1's name. ``progress``
    is called with the number of tracks (FBA: block groups) whose images were
    checked, group by group (compressed images, level >= 2)."""
    given = os.fspath(path)
    path = locate(given)
    if not 0 <= level <= 3:
        raise ValueError("level must be 0..3")
    report: CheckReport = {"path": path, "level": level, "ok": True, "errors": [],
                           "warnings": [], "repaired": []}
    head, size = read_head(path)
    devid = head[:8].decode("ascii", "replace")
    if len(head) < 8 or devid not in OPENERS:
        check_plain_fba(path, head, size)  # not a disk image at all: refused, not reported
    if repair:
        _remove_temps([given, path], report)
    if devid in ALL_IDS:
        _check_compressed(path, level, repair, workers, report, progress)
    else:
        # plain CKD: parse every track; plain FBA: nothing beyond its size
        from .ckd import CKDImage
        from .fba import FBAImage
        try:
            with open_dasd(path) as img:
                report["format"] = str(img.info()["format"])
                if isinstance(img, CKDImage):     # a split set: its files
                    report["files"] = img.files
                report["stats"] = ({"blocks": img.blocks} if isinstance(img, FBAImage)
                                   else img.scan().to_dict())
        except SpoolkitError as exc:
            report["errors"].append(_err("track", exc))
    report["errors"] = report["errors"][:MAX_REPORTED]
    report["ok"] = not report["errors"]
    return report


def _remove_temps(paths: list[str], report: CheckReport) -> None:
    """Temporary files of killed runs writing this image (or a piece of its
    split set) go; those of live writers stay."""
    names = dict.fromkeys(n for p in paths for n in family(p))
    for name in names:
        for tmp in remove_stale_temps(name):
            report["repaired"].append({"message": f"removed {tmp}, the temporary file of "
                                       "a run that was killed", "file": tmp})


def _err(kind: str, exc: SpoolkitError) -> Problem:
    d: Problem = {"kind": kind, "error": type(exc).__name__, "message": exc.message}
    if exc.offset is not None:
        d["offset"] = exc.offset
    if exc.track is not None:
        d["track"] = list(exc.track) if isinstance(exc.track, tuple) else exc.track
    return d


def _check_compressed(path: str, level: int, repair: bool, workers: Optional[int],
                      report: CheckReport, progress: ProgressFn = None) -> None:
    if not repair:
        _check_compressed_file(path, level, False, workers, report, progress)
        return
    # a repair holds the file exclusively from the check to the rewrite
    fd = os.open(path, os.O_RDWR | os.O_CLOEXEC)
    try:
        lock_fd(fd, path, exclusive=True, what="image")
        _check_compressed_file(path, level, True, workers, report, progress)
    finally:
        os.close(fd)


def _check_compressed_file(path: str, level: int, repair: bool, workers: Optional[int],
                           report: CheckReport, progress: ProgressFn = None) -> None:
    problems: list[Problem] = []
    try:
        f = CompressedFile(path, False, KIND_CKD, problems=problems, lock=not repair)
    except SpoolkitError as exc:
        report["errors"].append(_err("header", exc))
        return
    try:
        report["format"] = f.devhdr.devid
        for p in problems:
            if p.get("kind") == "free":   # the repair rebuilds it from the tables
                p["repairable"] = True
        report["errors"].extend(problems)
        fba = f.devhdr.devid.startswith("FBA")
        h = f.hdr
        if h.opts & OPENED:
            report["warnings"].append({"kind": "opened", "message":
                                       "OPENED bit set: the file was not closed cleanly"})
        if not fba:
            _check_geometry(f, report)
        with contextlib.ExitStack() as stack:
            walk = None
            if level >= 2:
                # the image walk (C, no GIL) runs while the tables are checked;
                # leaving the stack stops and joins it, before the file is closed
                walk = _start_tracks(f, level, fba, workers or default_workers())
                stack.callback(walk.close)
            hdr_issues, gaps = _check_tables(f, level, report)
            if walk is not None:
                _collect_tracks(f, fba, walk, report, progress)
        lossless = all(e.get("repairable") for e in report["errors"])
        if repair and lossless and (hdr_issues or gaps or h.opts & OPENED
                                    or f.free_error is not None):
            _repair(f, report)
    finally:
        f.close()


def _check_tables(f: CompressedFile, level: int, report: CheckReport
                  ) -> tuple[bool, list[list[int]]]:
    """L2 entries, the space map and the header invariants; sets the stats.
    Returns whether the header needs fixing and the unaccounted gaps."""
    h = f.hdr
    spaces, bad_entries = _spaces(f)
    for trk, off, _ in bad_entries:
        report["errors"].append({"kind": "l2", "track": trk, "offset": off,
                                 "message": f"L2 entry of track {trk} is invalid "
                                            "(length < 5, length > size, or bad null entry)"})
    gaps = _space_map(f, spaces, report) if level >= 1 else []
    calc = f.totals()
    del calc["free_off"]  # may legitimately point at a FREE_BLK table
    free_bytes = calc["free_total"] - calc["free_imbed"]
    hdr_issues = _invariants(f, calc, report)
    report["stats"] = {"size": int(h.size), "file_size": f.filesize, "used": calc["used"],
                       "free_blocks": len(f.free), "free_bytes": free_bytes,
                       "imbedded": calc["free_imbed"], "unaccounted": sum(ln for _, ln in gaps),
                       # the valid spaces: the headers, each L2 table and free
                       # block, the rest stored images
                       "stored_tracks": spaces.n - 1 - len(f.l2.tabs) - len(f.free)}
    return hdr_issues, gaps


def _check_geometry(f: CompressedFile, report: CheckReport) -> None:
    from .base import model_for
    try:
        dev = model_for(f.devhdr.devtype, f.hdr.cyls)
    except SpoolkitError as exc:
        report["errors"].append(_err("header", exc))
        return
    if f.devhdr.track_size != dev.track_size or f.devhdr.heads != dev.heads:
        report["errors"].append({"kind": "header", "offset": 8, "message":
                                 f"heads {f.devhdr.heads} / track size {f.devhdr.track_size}, "
                                 f"expected {dev.heads} / {dev.track_size} for {dev.name}"})


def _spaces(f: CompressedFile) -> tuple[_Spaces, list[tuple[int, int, int]]]:
    """Every space of the file (headers, L2 tables, free blocks, good track
    images) and the L2 entries that are invalid, as ``(track, offset, size)``
    (plain ints: nothing points into a cffi array that may be freed)."""
    sp, k, bad = f.spaces()
    return _Spaces(sp, k), bad


class _Spaces:
    """A cffi space array with its count, iterable; the items it yields point
    into ``arr``, so they are used only while this object lives."""

    def __init__(self, arr: Array[spk_cckd_space], n: int) -> None:
        self.arr, self.n = arr, n

    def __iter__(self) -> Iterator[spk_cckd_space]:
        return (self.arr[i] for i in range(self.n))


def _space_map(f: CompressedFile, spaces: _Spaces, report: CheckReport) -> list[list[int]]:
    """Overlaps and out-of-file spaces; returns the unaccounted gaps."""
    nbad = 2 * spaces.n + 1   # each space: past the end, overlapping
    bad = ffi.new("spk_cckd_overlap[]", nbad)
    gap = ffi.new("uint64_t *")
    end = max(f.hdr.size, f.meta_end)
    nprob = lib.spk_cckd_space_check(spaces.arr, spaces.n, min(end, f.filesize), bad, nbad,
                                     gap)
    free = lib.SPK_SPACE_FREE
    for i in range(min(nprob, nbad)):
        a, b = spaces.arr[bad[i].a], spaces.arr[bad[i].b]
        if bad[i].a == bad[i].b:
            # inside the file but past the header's size: the header is stale
            # (a writer killed before it), the repair takes the file's size
            report["errors"].append({
                "kind": "bounds", "offset": int(a.off), "message":
                f"{KIND_NAMES.get(a.kind, '?')} {a.index} at {a.off} ({a.len} bytes) runs past "
                f"the end of the file ({min(end, f.filesize)} bytes)",
                "repairable": a.kind == free or a.off + a.len <= f.filesize})
        else:
            # a free block over live data: the repair rebuilds free space
            # from the tables alone
            report["errors"].append({
                "kind": "overlap", "offset": int(b.off), "message":
                f"{KIND_NAMES.get(b.kind, '?')} {b.index} at {b.off} overlaps "
                f"{KIND_NAMES.get(a.kind, '?')} {a.index} at {a.off} ({a.len} bytes)",
                "repairable": free in (a.kind, b.kind)})
    # gaps: the (now sorted) spaces' complement inside [0, size)
    gaps: list[list[int]] = []
    if gap[0]:
        out = ffi.new("spk_cckd_free[]", spaces.n + 1)
        err = new_err()
        n = check(lib.spk_cckd_space_gaps(spaces.arr, spaces.n, 0, min(end, f.filesize), 1,
                                          out, spaces.n + 1, ffi.NULL, err), err, path=f.path)
        gaps = [[int(out[i].off), int(out[i].len)] for i in range(n)]
        report["warnings"].append({"kind": "unaccounted", "message":
                                   f"{gap[0]} bytes in {len(gaps)} places belong to nothing"})
    return gaps


def _invariants(f: CompressedFile, calc: dict[str, int], report: CheckReport) -> bool:
    """Header invariants as cckdcdsk checks them, plus the recomputed totals."""
    h = f.hdr
    issues = []
    if h.size != h.free_total + h.used:
        issues.append(f"size {h.size} != free_total {h.free_total} + used {h.used}")
    if h.free_largest > h.free_total - h.free_imbed:
        issues.append(f"free_largest {h.free_largest} > free_total - free_imbed")
    if (h.free_off == 0) != (h.free_num == 0):
        issues.append(f"free_off {h.free_off} but free_num {h.free_num}")
    if h.free_off == 0 and h.free_total != h.free_imbed:
        issues.append("no free blocks but free_total != free_imbed")
    if h.free_imbed > h.free_total:
        issues.append("free_imbed > free_total")
    if f.filesize != h.size and h.size != h.free_off:
        issues.append(f"file size {f.filesize} != header size {h.size}")
    for name, val in calc.items():
        if int(getattr(h, name)) != val:
            issues.append(f"{name} is {int(getattr(h, name))}, the tables say {val}")
    for msg in issues:
        report["errors"].append({"kind": "header", "offset": 512, "message": msg,
                                 "repairable": True})
    return bool(issues)


_T = TypeVar("_T")


class _Walk(Generic[_T]):
    """``map(fn, range(n))`` on worker threads, handed out in order.

    The workers take the groups in increasing order from a shared counter (a
    worker that finishes early takes the next, so uneven groups balance);
    iterating yields each group's result in group order and raises a group's
    exception in its place, so the findings and the error are the serial
    walk's whatever the threads' timing.  After a failure no further group
    is started; :meth:`close` also stops the walk and joins the workers."""

    def __init__(self, fn: Callable[[int], _T], n: int, workers: int) -> None:
        self._fn, self._n = fn, n
        self._next = 0
        self._stop = False
        self._done: list[Optional[tuple[bool, object]]] = [None] * n
        self._cond = threading.Condition()
        self._threads = [threading.Thread(target=self._work, name=f"spoolkit-check-{i}",
                                          daemon=True)
                         for i in range(max(1, min(workers, n)))]
        for t in self._threads:
            t.start()

    def _work(self) -> None:
        while True:
            with self._cond:
                if self._stop or self._next >= self._n:
                    return
                g = self._next
                self._next += 1
            res: tuple[bool, object]
            try:
                res = (True, self._fn(g))
            except BaseException as exc:  # handed to the caller in the group's place
                res = (False, exc)
            with self._cond:
                self._done[g] = res
                if not res[0]:
                    self._stop = True
                self._cond.notify_all()

    def __iter__(self) -> Iterator[_T]:
        for g in range(self._n):
            with self._cond:
                res = self._done[g]
                while res is None:
                    self._cond.wait()
                    res = self._done[g]
                self._done[g] = (True, None)   # the caller keeps what it needs
            ok, val = res
            if not ok:
                raise cast(BaseException, val)
            yield cast(_T, val)

    def close(self) -> None:
        with self._cond:
            self._stop = True
        for t in self._threads:
            t.join()


def _start_tracks(f: CompressedFile, level: int, fba: bool, workers: int
                  ) -> _Walk[tuple[list[Problem], list[Problem]]]:
    """Start the walk over the stored images on ``workers`` threads, one C
    call per group of 256; it yields each group's (errors, Hercules 3
    warnings) in group order."""
    heads = f.devhdr.heads if not fba else 1
    trksize = f.devhdr.track_size if not fba else 5 + lib.SPK_CFBA_GRP_SIZE
    flags = 1 if (not fba and f.hdr.cyls < 32768) else 0
    kind = KIND_FBA if fba else KIND_CKD
    fd, l2 = f.fd, f.l2
    local = threading.local()

    def one_group(g: int) -> tuple[list[Problem], list[Problem]]:
        # the walk is one C call per group (no GIL): reads, expands, checks
        bufs = getattr(local, "bufs", None)
        if bufs is None:
            bufs = local.bufs = (ffi.new("spk_cckd_finding[]", 256), new_err())
        out, err = bufs
        n = check(lib.spk_cckd_check_images(fd, l2.table(g), 256, g * 256, kind, heads, flags,
                                            trksize, level, out, 256, err), err, path=f.path)
        errs: list[Problem] = []
        warns: list[Problem] = []
        for i in range(min(n, 256)):
            x = out[i]
            trk, what, off = int(x.trk), x.what, int(x.off)
            if what == lib.SPK_CCKD_FIND_READ:
                errs.append({"kind": "track", "track": trk,
                             "message": str(OSError(x.code, os.strerror(x.code)))})
            elif what == lib.SPK_CCKD_FIND_HEADER:
                errs.append({"kind": "track", "track": trk, "offset": off,
                             "message": "bad stored image header"})
            elif what == lib.SPK_CCKD_FIND_EOF:
                errs.append({"kind": "track", "track": trk, "offset": off,
                             "message": "image runs past the end of the file"})
            elif what == lib.SPK_CCKD_FIND_BAD:
                errs.append({"kind": "track", "track": trk, "offset": off,
                             "error": error_name(x.code),
                             "message": ffi.string(x.msg).decode("utf-8", "replace")})
            else:
                # readable, but Hercules 3.x cckdcdsk -3 would replace it with a null track
                warns.append({"kind": "hercules3", "track": trk, "offset": off,
                              "message": ffi.string(x.msg).decode("utf-8", "replace")})
        return errs, warns

    return _Walk(one_group, f.num_l1, workers)


def _collect_tracks(f: CompressedFile, fba: bool,
                    walk: Iterable[tuple[list[Problem], list[Problem]]], report: CheckReport,
                    progress: ProgressFn = None) -> None:
    heads = f.devhdr.heads if not fba else 1
    flagged: list[Problem] = []
    # the volume's own tracks (the last group's table may have slots past them)
    real = min(f.num_l1 * 256, -(-f.hdr.cyls // 120) if fba else f.hdr.cyls * heads)
    for g, (errs, warns) in enumerate(walk):
        report["errors"].extend(errs)
        flagged.extend(warns)
        if progress:
            progress(max(0, min(256, real - g * 256)))
    if flagged:
        report["warnings"].extend(flagged[:MAX_REPORTED])
        report["stats"]["hercules3_flagged"] = len(flagged)


def error_name(rc: int) -> str:
    from .._native import error_class
    return error_class(rc).__name__


def _repair(f: CompressedFile, report: CheckReport) -> None:
    """Lossless repair as cckdcdsk does it: the free space is rebuilt from the
    L1/L2 tables alone (whatever the old chain said), the header totals and
    size follow from it, OPENED is cleared."""
    path = f.path
    w = CompressedFile(path, True, KIND_FBA if f.devhdr.devid.startswith("FBA") else KIND_CKD,
                       lock=False)  # _check_compressed holds the lock
    try:
        old = sum(ln for _, ln in w.free)
        w.free = w.free_from_tables(w.filesize)
        w.pending = []
        w.hdr.size = w.filesize
        w.mark_open()   # the header on disk names no chain while the links are written
        w.dirty_hdr = True
    finally:
        w.close()  # flush(closing=True): merges, writes chain + header, clears OPENED
    rebuilt = sum(ln for _, ln in w.free)
    report["repaired"].append({"message": "rebuilt the free space from the tables; rewrote "
                               "the free chain and header totals",
                               "free_blocks": len(w.free), "free_bytes": rebuilt,
                               "reclaimed_bytes": max(0, rebuilt - old)})
    report["errors"] = [e for e in report["errors"] if not e.get("repairable")]
