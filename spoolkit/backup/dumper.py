"""Spool backup and restore, SPXTAPE-like: DUMP, LOAD, SCAN, VERIFY, WATCH.

Archives live on tape images (AWS/HET/FakeTape), on a minidisk extent of a
CKD volume, or a DUMP writes the files straight into another SPOL volume (the
backup *is* a spool volume).  Layout and blocks: :mod:`.archive`; tape I/O:
:mod:`.archio`; logs: :mod:`.runlog`.

The spool side is reached through two small adapters (:class:`VolumeSource`
and :class:`VolumeTarget`) so the archive code does not care whether files
come from a volume, a system of volumes or a test double: a *source* has
``archive_files(select)`` yielding :class:`~.archio.ArchiveFile`, a *target*
has ``restore(header, pages, spoolid)`` returning the new spool ID.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Callable, Optional, Union

from ..errors import FormatError, InvalidArgumentError, SpoolkitError
from ..lifetime import Finalizing
from .blocks import CatalogEntry, FileHeader, block_kind, crc32c
from .catalog import (
    ArchiveFile,
    Run,
    RunWriter,
    describe_tape,
    plan_append,
    read_file,
    read_runs,
    resolve_latest,
)
from .runlog import RunLog
from .tapefile import TAPEMARK, open_archive_tape, read_next

PathLike = Union[str, "os.PathLike[str]"]
Identity = tuple[str, int, int, int]
Selector = Optional[Callable[[Any], bool]]


class NotAnArchiveError(FormatError):
    """SCAN, VERIFY or LOAD was given a tape (or extent) without a spoolkit
    spool archive; the message says what it holds."""


# -- where an archive lives ----------------------------------------------------
@dataclass
class ArchiveRef:
    """An archive location: a tape image path, or a minidisk extent of a volume."""

    path: str
    extent: Optional[tuple[int, int]] = None
    format: Optional[str] = None
    tape: Any = None          # an already open tape object (used as is)

    @property
    def name(self) -> str:
        return self.path if self.extent is None else "%s[%d-%d]" % (self.path, *self.extent)


def as_ref(archive: Any) -> ArchiveRef:
    """``path``, ``(path, (first_cyl, last_cyl))`` or an :class:`ArchiveRef`;
    a path ending ``@A-B`` (``vol.3390@100-199``) names a minidisk extent."""
    if isinstance(archive, ArchiveRef):
        return archive
    if hasattr(archive, "read_block"):
        name = getattr(archive, "path", None) or "<tape %x>" % id(archive)
        return ArchiveRef(str(name), tape=archive)
    if isinstance(archive, tuple):
        return ArchiveRef(os.fspath(archive[0]), tuple(archive[1]))  # type: ignore[arg-type]
    path = os.fspath(archive)
    base, at, rng = path.rpartition("@")
    if at and rng and rng.replace("-", "").isdigit() and base:
        lo, _, hi = rng.partition("-")
        return ArchiveRef(base, (int(lo), int(hi or lo)))
    return ArchiveRef(path)


class _Opened:
    """Context manager yielding an open tape-like object for an ArchiveRef."""

    def __init__(self, ref: ArchiveRef, mode: str, **kw: Any) -> None:
        self.ref, self.mode, self.kw = ref, mode, kw
        self._cm: Any = None
        self._dev: Any = None
        self.tape: Any = None

    def __enter__(self) -> Any:
        if self.ref.tape is not None:
            self.tape = self.ref.tape
            if self.mode == "a":
                start = plan_append(self.tape, self.ref.name)[0]
                if self.tape.tell() != start:   # (the block at start may be a torn one)
                    self.tape.seek(start)
            return self.tape
        if self.ref.extent is None:
            if self.mode == "a":
                self.kw["position"] = lambda t: plan_append(t, self.ref.name)
            self._cm = open_archive_tape(self.ref.path, self.mode, format=self.ref.format,
                                         **self.kw)
            self.tape = self._cm.__enter__()
            return self.tape
        from ..dasd import open_dasd
        from .minidisk import MinidiskTape

        self._dev = open_dasd(self.ref.path, "r" if self.mode == "r" else "r+")
        try:
            lo, hi = self.ref.extent
            mode = self.mode
            if mode == "a":
                try:
                    MinidiskTape(self._dev, lo, hi, "r")
                except SpoolkitError:
                    mode = "w"                 # no archive there yet: format the extent
            self.tape = MinidiskTape(self._dev, lo, hi, mode)
        except BaseException:
            self._dev.close()
            raise
        return self.tape

    def __exit__(self, et: Any, ev: Any, tb: Any) -> None:
        if self.ref.tape is not None:
            return
        if self._cm is not None:
            self._cm.__exit__(et, ev, tb)
            return
        try:
            if et is None and self.mode != "r":
                self.tape.commit()             # the label switch makes the run visible
                self.tape.close()
            else:
                self.tape.discard()            # what was written stays invisible
        finally:
            self._dev.close()


def _exists(ref: ArchiveRef) -> bool:
    if ref.tape is not None:
        ref.tape.rewind()
        return ref.tape.read_block() is not None
    if ref.extent is None:
        return os.path.exists(ref.path) and os.path.getsize(ref.path) > 0
    from ..dasd import open_dasd
    from .minidisk import MinidiskTape

    with open_dasd(ref.path) as dev:
        try:
            MinidiskTape(dev, *ref.extent, "r")
            return True
        except SpoolkitError:
            return False


def _no_archive(ref: ArchiveRef, tape: Any) -> NotAnArchiveError:
    """The error for a tape (or extent) that holds no spoolkit run."""
    return NotAnArchiveError(f"no spoolkit spool archive on this "
                             f"{'tape' if ref.extent is None else 'minidisk extent'} "
                             f"({describe_tape(tape)})", path=ref.name)


def is_volume(path: PathLike) -> bool:
    """True when ``path`` is a disk image (a dump there restores into it)."""
    try:
        with open(path, "rb") as f:
            head = f.read(8)
    except OSError:
        return False
    from ..dasd import OPENERS

    return head.decode("ascii", "replace") in OPENERS and head != b""


# -- spool adapters ---------------------------------------------------------------
def _spool_api() -> Any:
    try:
        from ..spool import pages, select
    except ImportError as exc:  # pragma: no cover - the spool volume branches not merged
        from ..errors import UnsupportedError
        raise UnsupportedError(f"spool volumes are not available in this build: {exc}") from exc
    return pages, select


class VolumeSource:
    """Files of a spool volume (or a System of volumes) for a DUMP."""

    def __init__(self, vol: Any) -> None:
        self.vol = vol
        self.name = getattr(vol, "path", None) or str(vol)

    def archive_files(self, select: Selector = None) -> Iterator[ArchiveFile]:
        for sf in self.vol.files():
            if select is None or select(sf):
                yield archive_file(self.vol, sf)

    def identities(self, select: Selector = None) -> set[Identity]:
        return {file_identity(sf) for sf in self.vol.files() if select is None or select(sf)}

    def close(self) -> None:
        close = getattr(self.vol, "close", None)
        if close:
            close()


class VolumeTarget(Finalizing):
    """A spool volume that LOAD (or a DUMP to a volume) adds files to.

    ``owned``: the target opened the volume and closes it in :meth:`close`
    (also at garbage collection or exit, with a ResourceWarning, if nobody
    called it), so every file restored so far is on the volume."""

    closed = True

    def __init__(self, vol: Any, owned: bool = False) -> None:
        self.vol = vol
        self.name = getattr(vol, "path", None) or str(vol)
        self.owned = owned
        if owned:
            self.closed = False
            self._finalize_on_exit()

    def close(self) -> None:
        """Close the volume if the target opened it; idempotent."""
        if self.closed:
            return
        self.closed = True
        self._forget_on_exit()
        close = getattr(self.vol, "close", None)
        if close:
            close()

    def restore(self, fh: FileHeader, pages: Iterable[Any], spoolid: str = "keep") -> int:
        return restore_file(self.vol, fh, pages, spoolid)


_HOLD_BITS = {"none": 0, "user": 0x80, "system": 0x40, "both": 0xC0}


def _micros(created: Any) -> int:
    import datetime as _dt

    epoch = _dt.datetime(1970, 1, 1, tzinfo=_dt.timezone.utc)
    return (created - epoch) // _dt.timedelta(microseconds=1)


def catalog_entry(sf: Any, pages: int, crc: int) -> CatalogEntry:
    """The catalog entry of a :class:`~spoolkit.spool.SpoolFile` whose data
    pages number ``pages`` with CRC-32C ``crc``."""
    return CatalogEntry(
        0, sf.spoolid or 0, sf.owner, sf.type, sf.class_, pages, sf.record_count,
        _micros(sf.created), crc, hold=_HOLD_BITS.get(sf.hold, 0), copies=sf.copies,
        fname=sf.fname[:8], ftype=sf.ftype[:8], form=sf.form, dest=sf.dest, dist=sf.dist,
        node=sf.origin[1], record_length=sf.lrecl)


class EntryView:
    """A catalog entry seen with :class:`~spoolkit.spool.SpoolFile`'s
    attribute names (``type``, ``class_``, ``hold`` as "none"/"user"/...,
    ``created`` as a UTC datetime, ``record_count``, ``lrecl``, ``origin``), so
    one selection predicate serves DUMP (spool files) and LOAD/SCAN (catalog
    entries).  Other names fall through to the entry."""

    __slots__ = ("entry",)

    def __init__(self, entry: CatalogEntry) -> None:
        self.entry = entry

    def __getattr__(self, name: str) -> Any:
        return getattr(self.entry, name)

    @property
    def type(self) -> str:
        return self.entry.kind

    @property
    def class_(self) -> str:
        return self.entry.klass

    @property
    def hold(self) -> str:
        bits = self.entry.hold
        return {0: "none", 0x80: "user", 0x40: "system", 0xC0: "both"}.get(bits & 0xC0, "none")

    @property
    def created(self) -> Any:
        import datetime as _dt

        return (_dt.datetime(1970, 1, 1, tzinfo=_dt.timezone.utc)
                + _dt.timedelta(microseconds=self.entry.created))

    @property
    def record_count(self) -> int:
        return self.entry.records

    @property
    def lrecl(self) -> int:
        return self.entry.record_length

    @property
    def origin(self) -> tuple[str, str]:
        return (self.entry.owner, self.entry.node)

    @property
    def is_sdf(self) -> bool:
        from ..spool.file import SDF_TYPES

        return self.entry.kind in SDF_TYPES


def as_selector(select: Any) -> Selector:
    """None, a predicate, a :class:`~spoolkit.spool.select.Selection`, or a dict
    of Selection's keyword arguments (``{"owner": "MAINT", "spoolid": "1-99"}``)."""
    if select is None or callable(select):
        return select
    if isinstance(select, dict):
        from ..spool.select import Selection

        return Selection(**select)
    raise InvalidArgumentError(f"cannot select spool files with {select!r}")


def _selected(select: Selector, e: CatalogEntry) -> bool:
    return select is None or bool(select(EntryView(e)))


def file_identity(sf: Any) -> Identity:
    """owner + spool ID + created (microseconds) + data-page CRC of a spool
    file on a volume (the CRC its header page records)."""
    info = getattr(sf, "header_info", None)
    crc = info.data_crc if info is not None else archive_file(None, sf).entry.crc
    return (sf.owner, sf.spoolid or 0, _micros(sf.created), crc)


def archive_file(vol: Any, sf: Any) -> ArchiveFile:
    """An :class:`ArchiveFile` for a spool file.

    From a volume that can read raw pages (``vol.read_page(address)`` and the
    file's header page), the pages are archived exactly as stored, so the
    archive's page CRC is the file's own data CRC.  Otherwise the file is
    packed into canonical pages (addresses 1..n on volume 0) in one C call.
    """
    from ..spool import pages as P

    header = _raw_header(vol, sf)
    if header is not None:
        info = P.parse_header_page(header, path=getattr(vol, "path", None))
        entry = catalog_entry(info.spoolfile, info.npages, info.data_crc)
        read_page = vol.read_page

        def raw_pages() -> Iterator[bytes]:
            address, batch = info.first, []
            for _ in range(info.npages):
                page = read_page(address)
                batch.append(page)
                address = int.from_bytes(page[0:4], "big")
                if len(batch) == 15:
                    yield b"".join(batch)
                    batch = []
            if batch:
                yield b"".join(batch)

        return ArchiveFile(entry, header, raw_pages)
    n = P.count_pages(sf)
    addrs = [P.page_address(0, i) for i in range(1, n + 1)]
    data, crc = P.pack_chain(sf, addrs)
    header = P.build_header_page(sf, addrs[0], addrs[-1], n, crc)
    return ArchiveFile(catalog_entry(sf, n, crc), header, lambda: iter((data,)))


def _raw_header(vol: Any, sf: Any) -> Optional[bytes]:
    if vol is None or not hasattr(vol, "read_page"):
        return None
    info = getattr(sf, "header_info", None)
    address = getattr(info, "address", None)
    if address is None:
        return None
    return vol.read_page(address)


def spoolfile_from_archive(fh: FileHeader, pages: Iterable[Any], path: str = "") -> Any:
    """The :class:`~spoolkit.spool.SpoolFile` an archived file holds: the
    header page's attributes and the records unpacked (links, sequence, page
    CRCs and spool IDs checked in C)."""
    from ..spool import pages as P

    info = P.parse_header_page(fh.header_page, path=path)
    data = b"".join(bytes(p) for p in pages)
    if not data:
        raise FormatError(f"spool file {fh.owner} {fh.spoolid} has no data pages", path=path)
    un = P.unpack_chain(data, spoolid=info.spoolfile.spoolid, path=path)
    if un.data_crc != fh.crc:
        from ..errors import ChecksumError
        raise ChecksumError(f"spool file {fh.owner} {fh.spoolid}: CRC-32C of its pages is "
                            f"{un.data_crc:08X}, the archive says {fh.crc:08X}", path=path)
    meta = info.spoolfile
    return meta.with_attrs(records=un.records, lrecl=meta.lrecl)


def restore_file(vol: Any, fh: FileHeader, pages: Iterable[Any], spoolid: str = "keep",
                 path: str = "") -> int:
    """Add the archived file to the volume; returns its spool ID there."""
    sf = spoolfile_from_archive(fh, pages, path)
    if spoolid == "new":
        sf = sf.with_attrs(spoolid=None)
    added = vol.add(sf)
    sid = getattr(added, "spoolid", added)
    return int(sid) if sid is not None else int(sf.spoolid or 0)


# -- SCAN -------------------------------------------------------------------------
@dataclass
class ScanResult:
    """What a SCAN of one or more archives found."""

    runs: list[Run] = field(default_factory=list)
    log: Optional[RunLog] = None
    refs: dict[str, ArchiveRef] = field(default_factory=dict)

    @property
    def entries(self) -> list[CatalogEntry]:
        return [e for r in self.runs for e in r.entries]

    def latest(self) -> list[CatalogEntry]:
        return resolve_latest(self.runs)

    def to_dict(self) -> dict[str, Any]:
        return {"runs": [r.to_dict() for r in self.runs],
                "summary": self.log.to_dict() if self.log else None}


def scan(archives: Any, *, select: Selector = None, log: Optional[PathLike] = None
         ) -> ScanResult:
    """Read the catalogs of one archive or a list of them (a chain)."""
    select = as_selector(select)
    refs = [as_ref(a) for a in (archives if isinstance(archives, (list, tuple))
                                and not _is_extent_tuple(archives) else [archives])]
    out = ScanResult(log=RunLog("SCAN", ", ".join(r.name for r in refs)))
    for ref in refs:
        out.refs[ref.name] = ref
        with _Opened(ref, "r") as tape:
            runs = read_runs(tape, ref.name)
            if not runs:
                raise _no_archive(ref, tape)
        out.runs += runs
        for run in runs:
            for e in run.entries:
                if _selected(select, e):
                    out.log.add(e, "REFERENCED" if e.is_ref else "SCANNED",
                                "" if run.whole else "(recovered: " + run.problem + ")")
    out.log.finish()
    if log:
        out.log.write(os.fspath(log))
    return out


def _is_extent_tuple(x: Any) -> bool:
    return isinstance(x, tuple) and len(x) == 2 and isinstance(x[1], tuple)


# -- DUMP -------------------------------------------------------------------------
def _known_identities(incremental: Any) -> set[Identity]:
    if not incremental:
        return set()
    res = scan(incremental)
    return {e.identity for e in res.entries}


def dump(source: Any, target: Any, *, select: Selector = None, incremental: Any = None,
         log: Optional[PathLike] = None, json_log: Optional[PathLike] = None,
         append: Optional[bool] = None, format: Optional[str] = None, compress: Any = None,
         level: Optional[int] = None, progress: Optional[Callable[[int], None]] = None,
         on_block: Optional[Callable[[int], None]] = None,
         stop: Optional[threading.Event] = None, overwrite: bool = False) -> RunLog:
    """DUMP the selected spool files of ``source`` to ``target``.

    ``source``: a spool volume or system (anything with ``files()``) or an
    object with ``archive_files(select)``.  ``target``: a tape image path (new,
    or appended to when it exists and ``append`` is not False), a minidisk
    extent (``"vol.3390@A-B"`` or ``(path, (A, B))``), a SPOL volume image path
    or an open volume (files are added to it).  ``incremental``: earlier
    archive(s); files whose identity (owner, spool ID, created, CRC) they hold
    are listed by reference only, so a chain of runs restores the latest
    state.  A failed or interrupted dump leaves the target as it was.
    ``append=False`` replaces an existing archive only with ``overwrite=True``.
    """
    select = as_selector(select)
    if isinstance(source, (str, os.PathLike, list)):
        src = open_source(source)
        try:
            return dump(src, target, select=select, incremental=incremental, log=log,
                        json_log=json_log, append=append, format=format, compress=compress,
                        level=level, progress=progress, on_block=on_block, stop=stop,
                        overwrite=overwrite)
        finally:
            src.close()
    src = source if hasattr(source, "archive_files") else VolumeSource(source)
    if not isinstance(target, (str, os.PathLike, tuple, ArchiveRef)) and not hasattr(
            target, "read_block"):
        return _dump_to_volume(src, VolumeTarget(target), select, log, json_log, progress)
    ref = as_ref(target)
    if ref.extent is None and is_volume(ref.path):
        return _dump_to_volume(src, _open_target_volume(ref.path), select, log, json_log,
                               progress, close=True)
    known = _known_identities(incremental)
    exists = _exists(ref)
    mode = "a" if (append is not False and exists) else "w"
    if mode == "w" and exists and not overwrite:
        from ..errors import ExistsError
        raise ExistsError("holds an archive already",
                          hint="append to it, or replace it with overwrite=True",
                          cli_hint="append to it (no --new), or replace it with --force",
                          path=ref.name)
    runlog = RunLog("DUMP", getattr(src, "name", ""), ref.name)
    kw = {} if ref.extent is not None else {"compress": compress, "level": level,
                                            "overwrite": overwrite}
    with _Opened(ref, mode, **kw) as tape:
        writer = RunWriter(tape, str(getattr(src, "name", ""))[:64], on_block=on_block)
        try:
            for f in src.archive_files(select):
                if stop is not None and stop.is_set():
                    raise KeyboardInterrupt("dump interrupted")
                if f.entry.identity in known:
                    writer.add_ref(f.entry)
                    runlog.add(f.entry, "REFERENCED")
                    continue
                writer.add(f)
                runlog.add(f.entry, "DUMPED")
                if progress:
                    progress(f.entry.pages)
            writer.finish()
        except BaseException:
            writer.abort()                    # no block is written after the tape is closed
            raise
        tape.tapemark()                       # with the catalog's: the closing double tapemark
    runlog.finish()
    _write_logs(runlog, log, json_log)
    return runlog


def _write_logs(runlog: RunLog, log: Optional[PathLike], json_log: Optional[PathLike]) -> None:
    runlog.write(os.fspath(log) if log else None, os.fspath(json_log) if json_log else None)


def _open_target_volume(path: str) -> Any:  # pragma: no cover - bound to the spool API
    from ..spool import open_volume

    return VolumeTarget(open_volume(path, "r+"), owned=True)


def _dump_to_volume(src: Any, tgt: VolumeTarget, select: Selector, log: Any, json_log: Any,
                    progress: Any, close: bool = False) -> RunLog:
    """DUMP straight into another spool volume: each file is restored there."""
    runlog = RunLog("DUMP", getattr(src, "name", ""), tgt.name)
    try:
        for f in src.archive_files(select):
            fh = FileHeader(0, f.entry.pages, f.entry.records, f.entry.spoolid, f.entry.owner,
                            f.entry.created, f.entry.crc, f.header_page)
            new = tgt.restore(fh, f.pages(), "keep")
            runlog.add(f.entry, "DUMPED", new_spoolid=new)
            if progress:
                progress(f.entry.pages)
    finally:
        if close:
            tgt.close()
    runlog.finish()
    _write_logs(runlog, log, json_log)
    return runlog


# -- LOAD -------------------------------------------------------------------------
def load(archives: Any, target: Any, *, select: Selector = None, spoolid: str = "keep",
         state: str = "latest", log: Optional[PathLike] = None,
         json_log: Optional[PathLike] = None, on_error: str = "continue",
         progress: Optional[Callable[[int], None]] = None) -> RunLog:
    """LOAD files from an archive (or a chain of archives) into ``target``.

    ``state="latest"``: the files of the newest run, references resolved
    through the chain (the latest state); ``"all"``: every file of every run.
    ``spoolid``: ``"keep"`` the archived spool IDs or give ``"new"`` ones.
    A damaged file is logged as ERROR (with its archive block) and the load
    goes on with the next file (``on_error="raise"`` stops instead); a full
    target stops the load with :class:`~spoolkit.errors.NoSpaceError`, the
    files loaded so far stay and the volume is consistent.
    """
    select = as_selector(select)
    if spoolid not in ("keep", "new"):
        raise InvalidArgumentError(f"spoolid must be 'keep' or 'new', not {spoolid!r}")
    if state not in ("latest", "all"):
        raise InvalidArgumentError(f"state must be 'latest' or 'all', not {state!r}")
    res = scan(archives)
    if state == "latest":
        entries = res.latest()
    else:
        seen: set[Identity] = set()
        entries = []
        for e in res.entries:
            if not e.is_ref and e.identity not in seen:
                seen.add(e.identity)
                entries.append(e)
    entries = [e for e in entries if _selected(select, e)]
    close = False
    if isinstance(target, (str, os.PathLike)):
        tgt, close = _open_target_volume(os.fspath(target)), True
    elif hasattr(target, "restore"):
        tgt = target
    else:
        tgt = VolumeTarget(target)
    runlog = RunLog("LOAD", res.log.source if res.log else "", getattr(tgt, "name", ""))
    runlog.lines += _torn_run_lines(res.runs, entries)
    starts = {(r.archive, r.header.run_id): r.start for r in res.runs}
    by_archive: dict[str, list[CatalogEntry]] = {}
    for e in entries:
        by_archive.setdefault(e.archive, []).append(e)
    try:
        for name, group in by_archive.items():
            with _Opened(res.refs[name], "r") as tape:
                for e in sorted(group, key=lambda x: (x.run_id, x.block)):
                    try:
                        fh, pages = read_file(tape, e, name, start=starts.get((name, e.run_id)))
                        new = tgt.restore(fh, _checked(pages, fh, name), spoolid)
                    except SpoolkitError as exc:
                        from ..errors import NoSpaceError
                        if isinstance(exc, NoSpaceError) or on_error == "raise":
                            runlog.add(e, "ERROR", str(exc))
                            raise
                        runlog.add(e, "ERROR", str(exc))
                        continue
                    runlog.add(e, "LOADED", new_spoolid=new)
                    if progress:
                        progress(e.pages)
    finally:
        runlog.finish()
        _write_logs(runlog, log, json_log)
        if close:
            tgt.close()
    return runlog


def _torn_run_lines(runs: list[Run], entries: list[CatalogEntry]) -> list[Any]:
    """Log lines for the runs that are not whole: a run cut short whose files
    are loaded is an ERROR with each block its recovery passed over; one left
    out of the latest state is SKIPPED; a sealed run is noted."""
    used = {(e.archive, e.run_id) for e in entries}
    lines = []
    for run in runs:
        if run.whole:
            continue
        if (run.archive, run.header.run_id) not in used:
            lines.append(_problem_line(run, "SKIPPED"))
        elif not run.complete:
            lines.append(_problem_line(run))
            lines += _damage_lines(run)
        else:
            lines.append(_problem_line(run, "SEALED"))
            lines += _damage_lines(run)
    return lines


def _checked(pages: Iterator[Any], fh: FileHeader, path: str) -> Iterator[Any]:
    """Pass the page blocks through, then check the file's CRC over all pages."""
    crc = 0
    for p in pages:
        crc = crc32c(p, crc)
        yield p
    if crc != fh.crc:
        from ..errors import ChecksumError
        raise ChecksumError(f"spool file {fh.owner} {fh.spoolid}: CRC-32C of its pages is "
                            f"{crc:08X}, the archive says {fh.crc:08X}", path=path)


# -- VERIFY -----------------------------------------------------------------------
def verify(archive: Any, *, log: Optional[PathLike] = None) -> RunLog:
    """Read every block of the archive: each block CRC, each file's page CRC,
    and each catalog entry against the header block it points to.  Problems
    are ERROR lines in the returned log (``log.errors``)."""
    ref = as_ref(archive)
    runlog = RunLog("VERIFY", ref.name)
    with _Opened(ref, "r") as tape:
        runs = read_runs(tape, ref.name, recover=True)
        if not runs:
            raise _no_archive(ref, tape)
        for run in runs:
            if not run.whole:
                runlog.lines.append(_problem_line(run, "ERROR" if not run.complete
                                                  else "SEALED"))
            runlog.lines += _damage_lines(run)
            for e in run.entries:
                if e.is_ref:
                    runlog.add(e, "REFERENCED")
                    continue
                try:
                    fh, pages = read_file(tape, e, ref.name, start=run.start)
                    crc = 0
                    for p in pages:
                        crc = crc32c(p, crc)
                    if crc != e.crc:
                        from ..errors import ChecksumError
                        raise ChecksumError(f"CRC-32C of the pages is {crc:08X}, the catalog "
                                            f"says {e.crc:08X}", path=ref.name, block=e.block)
                except SpoolkitError as exc:
                    runlog.add(e, "ERROR", str(exc))
                    continue
                runlog.add(e, "VERIFIED")
        _verify_data_blocks(tape, [r for r in runs if r.complete], ref.name, runlog)
    runlog.finish()
    if log:
        runlog.write(os.fspath(log))
    return runlog


def _problem_line(run: Run, result: str = "ERROR") -> Any:
    from .runlog import LogLine

    return LogLine("*RUN*", 0, "-", "-", 0, 0, result,
                   f"run {run.header.run_id:x} ({run.header.source}): {run.problem}")


def _damage_lines(run: Run) -> list[Any]:
    """One ERROR line per block a reader of ``run`` had to pass over."""
    from .runlog import LogLine

    return [LogLine("*BLOCK*", 0, "-", "-", 0, 0, "ERROR",
                    f"run {run.header.run_id:x}: {d.text()}") for d in run.damage]


def _verify_data_blocks(tape: Any, runs: list[Run], path: str, runlog: RunLog) -> None:
    """Every block of each data file is a known, intact archive block and each
    SPKF block is in the catalog (nothing the catalog does not know about)."""
    from .blocks import FileHeader as _FH
    from .runlog import LogLine

    for run in runs:
        listed = {e.block for e in run.entries if not e.is_ref}
        tape.seek(run.start)
        read_next(tape)
        blockno = 1
        while True:
            try:
                b = read_next(tape)
            except SpoolkitError as exc:
                runlog.lines.append(LogLine("*BLOCK*", 0, "-", "-", 0, 0, "ERROR", str(exc)))
                break
            if b is None or b is TAPEMARK:
                break
            if block_kind(b) == "SPKF":
                try:
                    fh = _FH.decode(b, path=path, block=blockno)
                except SpoolkitError as exc:
                    runlog.lines.append(LogLine("*BLOCK*", 0, "-", "-", 0, 0, "ERROR",
                                                str(exc)))
                else:
                    if blockno not in listed:
                        runlog.lines.append(LogLine(
                            fh.owner, fh.spoolid, "-", "-", fh.records, fh.pages, "ERROR",
                            f"block {blockno}: file not in the catalog"))
            elif block_kind(b) != "SPKP":
                runlog.lines.append(LogLine("*BLOCK*", 0, "-", "-", 0, 0, "ERROR",
                                            f"{path}: block {blockno}: not an archive block"))
            blockno += 1


# -- WATCH ------------------------------------------------------------------------
def watch(volume: Any, archive: Any, *, select: Selector = None, interval: float = 0.2,
          stop: Optional[threading.Event] = None, log: Optional[PathLike] = None,
          on_run: Optional[Callable[[RunLog], None]] = None,
          open_source: Optional[Callable[[], Any]] = None, signals: bool = True,
          max_runs: Optional[int] = None) -> int:
    """Watch a spool volume and append new or changed files to ``archive``.

    The volume image is polled (its modification time and size, every
    ``interval`` seconds); when it changed, its files are compared by identity
    with what the archive chain already holds and an incremental run is
    appended for the difference, so a change is archived within about a
    second.  SIGINT/SIGTERM (or ``stop``) end the watch between runs, never in
    the middle of a block: an interrupted append is truncated back.  Returns
    the number of runs appended.
    """
    select = as_selector(select)
    stop = stop or threading.Event()
    old: dict[int, Any] = {}
    if signals and threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGINT, signal.SIGTERM):
            old[sig] = signal.signal(sig, lambda *_: stop.set())
    path = volume if isinstance(volume, (str, os.PathLike)) else getattr(volume, "path", None)
    opener = open_source or (lambda: _open_source_volume(os.fspath(path)))
    ref = as_ref(archive)
    runs = 0
    try:
        last_live = _live_set(ref)
        last_sig: Any = ()
        while not stop.is_set():
            sig = _signature(path)
            if sig != last_sig:
                src = opener()
                try:
                    live = src.identities(select)
                    if live != last_live:
                        # a run is small and written whole: a signal that arrives
                        # meanwhile ends the watch after it, never inside a block
                        rl = dump(src, ref, select=select,
                                  incremental=[ref] if last_live is not None else None, log=log)
                        last_live = live
                        runs += 1
                        if on_run:
                            on_run(rl)
                finally:
                    _close_source(src)
                last_sig = sig
                if max_runs is not None and runs >= max_runs:
                    break
            stop.wait(interval)
    finally:
        for sig, handler in old.items():
            signal.signal(sig, handler)
    return runs


def _live_set(ref: ArchiveRef) -> Optional[set[Identity]]:
    """Identities of the latest state the archive holds (None: no archive yet)."""
    if not _exists(ref):
        return None
    return {e.identity for e in scan(ref).latest()}


def _close_source(src: Any) -> None:
    close = getattr(src, "close", None)
    if close:
        close()


def _signature(path: Optional[PathLike]) -> Any:
    if path is None:
        return time.monotonic()   # no file to poll: always look
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_mtime_ns, st.st_size, st.st_ino)


def open_source(paths: Any) -> VolumeSource:  # pragma: no cover - bound to the spool API
    """A DUMP source for one volume image path or a list of them (a System)."""
    from ..spool import open_volume

    if isinstance(paths, (str, os.PathLike)):
        return VolumeSource(open_volume(os.fspath(paths)))
    from ..spool import System

    return VolumeSource(System([open_volume(os.fspath(p)) for p in paths]))


def _open_source_volume(path: str) -> Any:
    return open_source(path)


__all__ = ["dump", "load", "scan", "verify", "watch", "ScanResult", "ArchiveRef", "as_ref",
           "NotAnArchiveError",
           "VolumeSource", "VolumeTarget", "file_identity"]
