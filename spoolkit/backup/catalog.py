"""Reading and writing spool archives on an open tape (see
:mod:`spoolkit.spool.archive` for the blocks).

:class:`RunWriter` writes one DUMP run; :func:`read_runs` finds the runs of a
tape and reads only their catalogs (skipping the data files by tapemark);
:func:`read_file` seeks to one file and returns its header and pages;
:func:`recover_run` rebuilds the catalog of a run cut short (a dump killed
before its catalog was written).
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

from .._native import check, ffi, lib, new_err
from ..errors import FormatError, SpoolkitError, TruncatedError
from ..util import default_workers
from .blocks import (
    ENTRY_REF,
    MAGIC_RUN,
    PAGE_SIZE,
    PAGES_PER_BLOCK,
    CatalogEntry,
    FileHeader,
    RunHeader,
    _pad,
    block_kind,
    decode_catalog_block,
    decode_pages,
    encode_catalog,
    encode_pages,
)
from .tapefile import TAPEMARK, read_next

#: EBCDIC starts of IBM standard label blocks (VOL1, HDR1/2, EOF1/2, EOV1/2, UHL, UTL)
_LABELS = tuple(x.encode("cp037") for x in ("VOL", "HDR", "EOF", "EOV", "UHL", "UTL"))


@dataclass
class ArchiveFile:
    """One spool file to dump: its catalog attributes, header page and pages."""

    entry: CatalogEntry
    header_page: bytes
    #: yields buffers of whole 4096-byte pages (any sizes); ``bytes`` and other
    #: read-only buffers are kept until written and must not change, writable
    #: ones are copied before the next buffer is asked for
    pages: Callable[[], Iterable[Any]]


class RunWriter:
    """Write one run (data file, then catalog file) onto an open tape.

    Nothing of the run is valid until :meth:`finish` wrote the catalog; callers
    make the tape itself atomic (:func:`spoolkit.spool.tapeio.open_archive_tape`).

    On a tape that frames blocks itself (``block_framing`` and
    ``write_framed``: tape images and minidisk archives) the SPKF and SPKP
    blocks are built and framed in C (``spk_archive_encode``) on worker
    threads, several files per batch, and written in order with one
    large write per batch; the bytes are those of the per-block path
    (:func:`~.archive.encode_pages` and the tape's ``write_block``), which
    other tapes, and runs with an ``on_block`` hook, still take.  A file's
    ``offset`` is then filled in when its blocks are written, and an I/O error
    may surface at a later :meth:`add` or at :meth:`finish`; a caller that
    gives up before :meth:`finish` calls :meth:`abort`.
    """

    def __init__(self, tape: Any, source: str = "", *, run_id: Optional[int] = None,
                 on_block: Optional[Callable[[int], None]] = None,
                 workers: Optional[int] = None) -> None:
        self.tape = tape
        now = int(time.time() * 1e6)
        self.header = RunHeader(run_id or now, now, source)
        self.entries: list[CatalogEntry] = []
        self.blocks = 0
        self.on_block = on_block
        self._write(self.header.encode())
        self._framed: Optional[_FramedWriter] = None
        framing = getattr(tape, "block_framing", None)
        if on_block is None and framing is not None and hasattr(tape, "write_framed"):
            self._framed = _FramedWriter(tape, framing(), workers)

    def _write(self, block: Any) -> None:
        if self.on_block is not None:
            self.on_block(self.blocks)      # fault injection / progress hook
        self.tape.write_block(block)
        self.blocks += 1

    def add(self, f: ArchiveFile) -> CatalogEntry:
        """Write one file's SPKF block and page blocks; return its catalog entry."""
        if self._framed is not None:
            try:
                return self._add_framed(f)
            except BaseException:
                self.abort()
                raise
        e = f.entry
        seq = len(self.entries)
        e.fileseq, e.block, e.offset, e.flags = seq, self.blocks, self.tape.tell(), 0
        self._write(FileHeader(seq, e.pages, e.records, e.spoolid, e.owner, e.created, e.crc,
                               f.header_page).encode())
        done = 0
        pending = bytearray()
        for buf in f.pages():
            mv = memoryview(buf).cast("B")
            if pending:                       # complete a partial group first
                take = min(len(mv), PAGES_PER_BLOCK * PAGE_SIZE - len(pending))
                pending += mv[:take]
                mv = mv[take:]
                if len(pending) == PAGES_PER_BLOCK * PAGE_SIZE:
                    self._write(encode_pages(seq, done, pending))
                    done += PAGES_PER_BLOCK
                    pending = bytearray()
            step = PAGES_PER_BLOCK * PAGE_SIZE
            while len(mv) >= step:
                self._write(encode_pages(seq, done, mv[:step]))
                done += PAGES_PER_BLOCK
                mv = mv[step:]
            pending += mv
        if len(pending) % PAGE_SIZE:
            raise _not_whole(e)
        if pending:
            self._write(encode_pages(seq, done, pending))
            done += len(pending) // PAGE_SIZE
        if done != e.pages:
            raise _page_count(e, done)
        self.entries.append(e)
        return e

    def _add_framed(self, f: ArchiveFile) -> CatalogEntry:
        """:meth:`add` through C framing: the pages go to C in pieces that end
        on a block boundary (the last piece of a file ends it), so the blocks
        are the ones the per-block path makes whatever the buffers' sizes."""
        e = f.entry
        seq = len(self.entries)
        e.fileseq, e.block, e.offset, e.flags = seq, self.blocks, 0, 0
        w = self._framed
        assert w is not None
        info = w.file_info(e)
        header: Any = f.header_page
        step = _STEP
        done = 0                              # pages handed to C
        pending = bytearray()
        it = iter(f.pages())
        cur = _stable(next(it, None))
        while cur is not None:
            nxt = _stable(next(it, None))     # one ahead: the last piece ends the file
            final = nxt is None
            mv = cur
            if pending:                       # complete a partial block first
                take = min(len(mv), step - len(pending))
                pending += mv[:take]
                mv = mv[take:]
                if len(pending) == step or (final and not mv):
                    if len(pending) % PAGE_SIZE:
                        raise _not_whole(e)
                    w.put(info, header, e, done, pending, final and not mv)
                    header = None
                    done += len(pending) // PAGE_SIZE
                    pending = bytearray()
            if mv:
                if final:
                    if len(mv) % PAGE_SIZE:
                        raise _not_whole(e)
                    cut = len(mv)
                else:
                    cut = len(mv) - len(mv) % step
                if cut:
                    w.put(info, header, e, done, mv[:cut], final)
                    header = None
                    done += cut // PAGE_SIZE
                pending += mv[cut:]
            cur = nxt
        if header is not None:                # no pages at all: the SPKF block alone
            w.put(info, header, e, 0, b"", True)
        if done != e.pages:
            raise _page_count(e, done)
        self.blocks += 1 + -(-done // PAGES_PER_BLOCK)
        self.entries.append(e)
        return e

    def add_ref(self, e: CatalogEntry) -> None:
        """List a file that is unchanged since an earlier archive (incremental)."""
        e.fileseq, e.block, e.offset, e.flags = len(self.entries), 0, 0, ENTRY_REF
        self.entries.append(e)

    def flush(self) -> None:
        """Wait until every block handed over so far is on the tape."""
        if self._framed is not None:
            try:
                self._framed.flush()
            except BaseException:
                self.abort()
                raise

    def abort(self) -> None:
        """Stop: blocks not yet written are dropped and the worker threads end
        (the tape is left for its owner to cut back or discard)."""
        if self._framed is not None:
            self._framed.abort()

    def finish(self) -> list[CatalogEntry]:
        """Close the data file and write the catalog file."""
        self.flush()
        if self._framed is not None:
            self._framed.close()               # ends the worker threads
            self._framed = None
        data_blocks = self.blocks
        self.tape.tapemark()
        for block in encode_catalog(self.header.run_id, data_blocks, self.entries):
            self._write(block)
        self.tape.tapemark()
        return self.entries


def _stable(buf: Any) -> Optional[memoryview]:
    """A byte view of ``buf`` that stays as it is: blocks are framed later,
    after the source was asked for its next buffer (which may refill this
    one), so writable buffers are copied."""
    if buf is None:
        return None
    mv = memoryview(buf).cast("B")
    return mv if mv.readonly else memoryview(bytes(mv))


def _not_whole(e: CatalogEntry) -> FormatError:
    return FormatError(f"spool file {e.owner} {e.spoolid}: pages are not whole "
                       f"4096-byte pages")


def _page_count(e: CatalogEntry, done: int) -> FormatError:
    return FormatError(f"spool file {e.owner} {e.spoolid}: {done} pages read, "
                       f"the header says {e.pages}")


_STEP = PAGES_PER_BLOCK * PAGE_SIZE
#: pages at most in one C call (16 blocks): bounds the output buffers
_PIECE_PAGES = 16 * PAGES_PER_BLOCK
#: pages a batch collects before it is handed to a worker (~4 MiB framed): fewer,
#: larger writes and fewer GIL hand-offs between the caller and the workers
_BATCH_PAGES = 960


class _Batch:
    __slots__ = ("items", "pages", "bound")

    def __init__(self) -> None:
        self.items: list[tuple[Any, Any, Optional[CatalogEntry], int, Any, bool]] = []
        self.pages = 0
        self.bound = 0


class _FramedWriter:
    """Frames archive blocks in C on worker threads (the calls release the
    GIL, so framing, compression and the writes overlap the caller's Python
    work) and writes each batch in order with one ``write_framed``."""

    def __init__(self, tape: Any, framing: tuple[int, int, int, int],
                 workers: Optional[int]) -> None:
        fmt, method, level, chunk = framing
        self.tape = tape
        self.frame = {"format": fmt, "method": method, "level": level, "chunksize": chunk,
                      "prev": 0}
        self._fr = ffi.new("spk_archive_frame *", self.frame)
        check(lib.spk_archive_bound(self._fr, 1, 0), path=getattr(tape, "path", None))
        self.path = str(getattr(tape, "path", "") or "")
        workers = workers or default_workers()
        self.pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="spk-dump")
        self.window: deque[Future[None]] = deque()
        self.limit = 2 * workers + 2
        self.turn = 0                         # ticket of the batch that writes next
        self.tickets = 0
        self.cond = threading.Condition()
        self.error: Optional[BaseException] = None
        self.stopped = False
        self.buffers: list[bytearray] = []    # output buffers for reuse
        self.batch = _Batch()

    def file_info(self, e: CatalogEntry) -> Any:
        return ffi.new("spk_archive_file *", {
            "fileseq": e.fileseq, "pages": e.pages, "records": e.records,
            "spoolid": e.spoolid, "owner": _pad(e.owner), "created": e.created, "crc": e.crc})

    def put(self, info: Any, header: Any, e: CatalogEntry, first: int, pages: Any,
            final: bool) -> None:
        """Queue the SPKF block (when ``header`` is given) and the page blocks
        of ``pages`` (whole blocks unless ``final``)."""
        n = len(pages) // PAGE_SIZE
        while n > _PIECE_PAGES:               # bounded C calls, block-aligned pieces
            self._item(info, header, e, first, pages[:_PIECE_PAGES * PAGE_SIZE], False)
            header = None
            pages = pages[_PIECE_PAGES * PAGE_SIZE:]
            first += _PIECE_PAGES
            n -= _PIECE_PAGES
        self._item(info, header, e, first, pages, final)

    def _item(self, info: Any, header: Any, e: CatalogEntry, first: int, pages: Any,
              final: bool) -> None:
        b = self.batch
        n = len(pages) // PAGE_SIZE
        b.items.append((info, header, e if header is not None else None, first, pages, final))
        b.bound += lib.spk_archive_bound(self._fr, header is not None, n)
        b.pages += n + 1
        if b.pages >= _BATCH_PAGES:
            self._submit()

    def _submit(self) -> None:
        b = self.batch
        if not b.items:
            return
        if self.error is not None:
            raise self.error
        self.batch = _Batch()
        ticket = self.tickets
        self.tickets += 1
        self.window.append(self.pool.submit(self._run, b, ticket))
        while len(self.window) > self.limit:
            self.window.popleft().result()
            if self.error is not None:
                raise self.error

    def _buffer(self, size: int) -> bytearray:
        try:
            buf = self.buffers.pop()
        except IndexError:
            buf = bytearray(0)
        if len(buf) < size:
            buf = bytearray(max(size, 2 * len(buf)))
        return buf

    def _run(self, b: _Batch, ticket: int) -> None:
        """Worker: frame the batch, then write it when its turn comes."""
        out: Optional[bytearray] = None
        failure: Optional[BaseException] = None
        offsets: list[tuple[CatalogEntry, int]] = []
        pos = blocks = 0
        fr = ffi.new("spk_archive_frame *", self.frame)
        try:
            out = self._buffer(b.bound)
            cout = ffi.from_buffer(out)
            err = new_err()
            for info, header, e, first, pages, final in b.items:
                if e is not None:
                    offsets.append((e, pos))
                hbuf = ffi.NULL if header is None else ffi.from_buffer(header)
                n = lib.spk_archive_encode(info, hbuf, 0 if header is None else len(header),
                                           first, ffi.from_buffer(pages), len(pages),
                                           1 if final else 0, fr, cout + pos, len(out) - pos,
                                           err)
                check(n, err, path=self.path)
                pos += n
                blocks += fr.blocks
        except BaseException as exc:  # reported in order, by the caller
            failure = exc
        with self.cond:
            while self.turn != ticket and not self.stopped:
                self.cond.wait()
            try:
                if failure is not None:
                    if self.error is None:
                        self.error = failure
                elif self.error is None and not self.stopped and blocks:
                    base = self.tape.write_framed(memoryview(out)[:pos], blocks, fr.prev)
                    for e, rel in offsets:
                        e.offset = base + rel
            except BaseException as exc:
                if self.error is None:
                    self.error = exc
            finally:
                self.turn += 1
                self.cond.notify_all()
                if out is not None:
                    self.buffers.append(out)

    def flush(self) -> None:
        self._submit()
        while self.window:
            self.window.popleft().result()
        if self.error is not None:
            raise self.error

    def abort(self) -> None:
        """Drop what is not written yet and end the threads."""
        with self.cond:
            self.stopped = True               # nothing more is written; waiters give up
            self.cond.notify_all()
        self.batch = _Batch()
        for fut in self.window:
            fut.cancel()                      # not started yet
        self.close()

    def close(self) -> None:
        """End the worker threads (after :meth:`flush` or :meth:`abort`)."""
        self.pool.shutdown(wait=True)
        self.window.clear()
        self.buffers.clear()


@dataclass
class Damage:
    """A block a reader had to pass over (or stop at)."""

    block: int                        # block number in the run's data file (SPKR = 0)
    offset: int                       # the tape's seek offset of the block
    file: str                         # "OWNER SPOOLID" of the file it belongs to, or ""
    message: str

    def text(self) -> str:
        of = f" of spool file {self.file}" if self.file else ""
        return f"block {self.block} at offset {self.offset}{of}: {self.message}"


@dataclass
class Run:
    """One run found on a tape."""

    header: RunHeader
    file_number: int                  # tape file number of its data file (0-based)
    start: int                        # seek offset of the SPKR block
    entries: list[CatalogEntry] = field(default_factory=list)
    complete: bool = True             # False: no catalog, entries were recovered
    problem: str = ""                 # why the catalog is missing or incomplete
    archive: str = ""
    sealed: bool = False              # its catalog was written for a run cut short
    damage: list[Damage] = field(default_factory=list)   # blocks recovery passed over
    catalog_at: Optional[int] = None  # seek offset where the catalog file starts
    data_blocks: Optional[int] = None # blocks of the data file, where the tape counts them

    @property
    def whole(self) -> bool:
        """The run is complete as its dump wrote it (not cut short, not sealed)."""
        return self.complete and not self.sealed

    def to_dict(self) -> dict[str, Any]:
        return {"run_id": self.header.run_id, "source": self.header.source,
                "created": self.header.created, "file_number": self.file_number,
                "complete": self.complete, "sealed": self.sealed, "problem": self.problem,
                "damage": [d.text() for d in self.damage],
                "files": [e.to_dict() for e in self.entries]}


def _is_label(block: Any) -> bool:
    return len(block) == 80 and bytes(block[:3]) in _LABELS


#: the smallest framed tape block (an AWS chunk header and one byte): a data
#: file of n bytes holds at most n / 7 blocks
_MIN_BLOCK = 7


def read_runs(tape: Any, path: str = "", *, recover: bool = True) -> list[Run]:
    """Every run on the tape, from the start to its end, reading only run
    headers and catalogs (empty tape files, labels and foreign files are
    passed over).  A run whose catalog is missing or damaged (a dump cut
    short) is rebuilt by reading its data file when ``recover`` is true, and
    flagged incomplete; a tape that ends in a torn block (a dump killed while
    it wrote its first block) ends in an incomplete run without files."""
    tape.rewind()
    runs: list[Run] = []
    fileno = 0
    while True:
        start = tape.tell()
        try:
            block = read_next(tape)
            if block is None:
                break
            if block is TAPEMARK:
                fileno += 1
                continue
            hdr = RunHeader.decode(block, path=path, block=0, offset=start) \
                if block_kind(block) == "SPKR" else None
        except SpoolkitError as exc:
            runs.append(_unreadable(start, fileno, path, exc))
            break
        if hdr is None:
            # labels and foreign files are passed over
            try:
                if not tape.skip_files(1):
                    break
            except SpoolkitError as exc:
                runs.append(_unreadable(start, fileno, path, exc))
                break
            fileno += 1
            continue
        run = Run(hdr, fileno, start, archive=path)
        runs.append(run)
        before = getattr(tape, "block_number", -1)
        try:
            if not tape.skip_files(1):       # no tapemark after the data file
                run.complete, run.problem = False, "the data file has no tapemark"
            after = getattr(tape, "block_number", -1)
            if before >= 0 and after > before:
                run.data_blocks = after - before    # SPKR read, then the rest + tapemark
        except SpoolkitError as exc:
            run.complete, run.problem = False, f"data file: {exc}"
        if run.complete:
            fileno += 1
            run.catalog_at = tape.tell()
            try:
                run.entries, run.sealed = _read_catalog(tape, run, path)
                fileno += 1
            except SpoolkitError as exc:
                run.complete, run.problem = False, f"catalog: {exc}"
        if run.sealed:
            run.problem = "the dump was cut short; a later append sealed it with its " \
                          "whole files"
        if not run.complete:
            if recover:
                run.entries, run.damage = _recover(tape, run.start, path)[:2]
            if run.catalog_at is None or not _past_catalog(tape, run):
                break                          # nothing can be read behind a torn run
    for run in runs:
        for e in run.entries:
            e.run_id, e.archive = run.header.run_id, path
    return runs


def _past_catalog(tape: Any, run: Run) -> bool:
    """Position after a damaged catalog file whose framing holds (the runs
    behind it are read on); False when its tapemark cannot be reached."""
    assert run.catalog_at is not None
    try:
        goto(tape, run.catalog_at, run.start)
        return tape.skip_files(1) == 1
    except SpoolkitError:
        return False


def _unreadable(offset: int, fileno: int, path: str, exc: SpoolkitError) -> Run:
    """The incomplete run that stands for a tape file whose first block
    cannot be read (torn by a kill, or damaged)."""
    run = Run(RunHeader(0, 0, "?"), fileno, offset, complete=False, archive=path,
              problem=f"unreadable tape file at offset {offset}: {exc}")
    run.damage.append(Damage(0, offset, "", str(exc)))
    return run


def _read_catalog(tape: Any, run: Run, path: str) -> tuple[list[CatalogEntry], bool]:
    """The checked entries of ``run``'s catalog file (the tape is at its
    start) and whether it is sealed.  Every count is checked against what
    the data file can hold."""
    hdr = run.header
    assert run.catalog_at is not None
    span = max(run.catalog_at - run.start, 0)    # >= its blocks in any tape's offsets
    entries: list[CatalogEntry] = []
    seq = 0
    sealed = False
    while True:
        off = tape.tell()
        block = read_next(tape)
        where = {"path": path, "block": seq, "offset": off}
        if block is None or block is TAPEMARK:
            raise TruncatedError(f"catalog ends after {seq} blocks without its last block",
                                 **where)
        info, part = decode_catalog_block(block, **where)
        if info["seq"] != seq or info["run_id"] != hdr.run_id:
            raise FormatError(f"catalog block {info['seq']} of run {info['run_id']} where "
                              f"block {seq} of run {hdr.run_id} was expected", **where)
        sealed = sealed or bool(info["sealed"])
        entries += part
        seq += 1
        if len(entries) > info["total"]:
            raise FormatError(f"catalog lists {len(entries)} files, says {info['total']}",
                              **where)
        if info["last"]:
            if len(entries) != info["total"]:
                raise FormatError(f"catalog lists {len(entries)} files, says {info['total']}",
                                  **where)
            _check_counts(info, entries, span, run.data_blocks, where)
            after = read_next(tape)
            # a dump killed just before the catalog's tapemark: whole all the same
            if after is not TAPEMARK and after is not None:
                raise FormatError("no tapemark after the last catalog block", **where)
            return entries, sealed


def _check_counts(info: dict[str, int], entries: list[CatalogEntry], span: int,
                  counted: Optional[int], where: dict[str, Any]) -> None:
    """The catalog's counts fit the data file it describes: its blocks are
    the ones counted on the tape (or fit the file's extent in the tape's
    offsets: bytes, or blocks), each file's header block and pages fit the
    blocks, the page total is the entries' sum."""
    blocks = info["data_blocks"]
    if counted is not None and blocks != counted or not 1 <= blocks <= max(span, 1):
        found = f"{counted} blocks" if counted is not None else f"an extent of {span}"
        raise FormatError(f"catalog claims {blocks} blocks in a data file of {found}",
                          **where)
    total = 0
    last = -1
    for i, e in enumerate(entries):
        if e.fileseq <= last:
            raise FormatError(f"catalog entry {i} has file sequence {e.fileseq} after "
                              f"{last}", **where)
        last = e.fileseq
        if e.is_ref:
            continue
        room = blocks - 1 - e.block           # page blocks after its header block
        if not 1 <= e.block < blocks or e.pages > room * PAGES_PER_BLOCK:
            raise FormatError(f"catalog entry {i} ({e.owner} {e.spoolid}) claims {e.pages} "
                              f"pages from block {e.block} of a data file of {blocks} blocks",
                              **where)
        total += e.pages
    if total != info["pages"]:
        raise FormatError(f"catalog claims {info['pages']} data pages, its entries "
                          f"{total}", **where)


def recover_run(tape: Any, run: Run, path: str = "") -> list[CatalogEntry]:
    """Catalog entries of the files of a run that were written completely and
    are intact (read sequentially from the run's start; damaged blocks are
    passed over while the tape's framing holds, and listed in ``run.damage``)."""
    entries, run.damage = _recover(tape, run.start, path)[:2]
    return entries


class _Partial:
    __slots__ = ("fh", "block", "offset", "done", "bad")

    def __init__(self, fh: FileHeader, block: int, offset: int) -> None:
        self.fh, self.block, self.offset, self.done, self.bad = fh, block, offset, 0, False

    @property
    def name(self) -> str:
        return f"{self.fh.owner} {self.fh.spoolid}"


def _recover(tape: Any, start: int, path: str
             ) -> tuple[list[CatalogEntry], list[Damage], int, int]:
    """-> (entries of the whole, intact files, damaged blocks, seek offset
    after the last whole file, blocks up to there) of the data file starting
    at ``start``.  A block that cannot be read (torn framing) ends it."""
    tape.seek(start)
    read_next(tape)                         # SPKR
    entries: list[CatalogEntry] = []
    damage: list[Damage] = []
    blockno = 1
    end, end_blocks = tape.tell(), 1
    cur: Optional[_Partial] = None
    while True:
        offset = tape.tell()
        where = {"path": path, "block": blockno, "offset": offset}
        try:
            block = read_next(tape)
        except SpoolkitError as exc:
            damage.append(Damage(blockno, offset, cur.name if cur else "", str(exc)))
            break
        if block is None or block is TAPEMARK:
            if cur is not None and not cur.bad:
                damage.append(Damage(blockno, offset, cur.name,
                                     f"the file ends after {cur.done} of its {cur.fh.pages} "
                                     f"pages"))
            break
        kind = block_kind(block)
        try:
            if kind == "SPKF":
                if cur is not None and not cur.bad:
                    damage.append(Damage(blockno, offset, cur.name,
                                         f"a new file starts after {cur.done} of its "
                                         f"{cur.fh.pages} pages"))
                cur = None
                cur = _Partial(FileHeader.decode(block, **where), blockno, offset)
            elif kind == "SPKP" and cur is not None and cur.bad:
                pass                          # the rest of a damaged file
            else:
                seq, first, pages = decode_pages(block, **where)
                if cur is None or seq != cur.fh.fileseq or first != cur.done:
                    raise FormatError(f"page block of file {seq} at page {first} without "
                                      f"its header block", **where)
                cur.done += len(pages) // PAGE_SIZE
                if cur.done > cur.fh.pages:
                    raise FormatError(f"more than the file's {cur.fh.pages} pages", **where)
        except SpoolkitError as exc:
            damage.append(Damage(blockno, offset, cur.name if cur else "", str(exc)))
            if cur is not None:
                cur.bad = True
        blockno += 1
        if cur is not None and not cur.bad and cur.done == cur.fh.pages:
            fh = cur.fh
            entries.append(_recovered_entry(fh, cur.block, cur.offset, fh.fileseq))
            end, end_blocks = tape.tell(), blockno
            cur = None
    return entries, damage, end, end_blocks


def _recovered_entry(fh: FileHeader, block: int, offset: int, seq: int) -> CatalogEntry:
    """A catalog entry from a file's header block (its attributes from the
    header page where it parses)."""
    e = CatalogEntry(seq, fh.spoolid, fh.owner, "?", "?", fh.pages, fh.records, fh.created,
                     fh.crc, block, offset)
    try:
        from ..spool.pages import parse_header_page
        from .dumper import catalog_entry

        info = parse_header_page(fh.header_page)
        full = catalog_entry(info.spoolfile, fh.pages, fh.crc)
    except Exception:  # noqa: BLE001 - a header page of another layout: keep the basics
        return e
    full.fileseq, full.block, full.offset = e.fileseq, block, offset
    full.spoolid, full.owner, full.created = fh.spoolid, fh.owner, fh.created
    full.records = fh.records
    return full


def seal_torn_run(tape: Any, header: RunHeader, start: int,
                  catalog_at: Optional[int] = None, path: str = "") -> int:
    """Finish a run cut short so that what follows on the tape stays
    reachable: its whole, intact files get a catalog flagged
    :data:`~.archive.CATALOG_SEALED` (the rest of the data file is cut off).
    ``catalog_at``: where a torn catalog file starts (the data file itself is
    whole).  Returns the number of files kept; the tape is left after the
    catalog's tapemark."""
    entries, _, end, blocks = _recover(tape, start, path)
    if catalog_at is not None:
        goto(tape, catalog_at, start)
    else:
        goto(tape, end, start)
        tape.tapemark()
    for block in encode_catalog(header.run_id, blocks, entries, sealed=True):
        tape.write_block(block)
    tape.tapemark()
    return len(entries)


def describe_tape(tape: Any, *, limit: int = 100_000) -> str:
    """What a tape holds, in words, for a tape without a spoolkit run:
    "it holds IBM standard labels VOL1 J90009 and 3 data files", "it is
    empty", "it holds only tapemarks", "it holds 2 tape files of other data"."""
    tape.rewind()
    volser = None
    labels = data = files = 0
    torn = ""
    try:
        for _ in range(limit):
            pos = tape.tell()
            block = read_next(tape)
            if block is None:
                break
            if block is TAPEMARK:
                continue
            files += 1
            if _is_label(block):
                labels += 1
                if bytes(block[:4]) == "VOL1".encode("cp037") and volser is None:
                    volser = bytes(block[4:10]).decode("cp037", "replace").strip()
            else:
                data += 1
            if not tape.skip_files(1):
                break
    except SpoolkitError as exc:
        torn = f"; it ends in an unreadable block at offset {pos}: {exc.message}"
    if files == 0 and not torn:
        return "it is empty" if tape.tell() == 0 else "it holds only tapemarks"
    count = {0: "no data files", 1: "1 data file"}.get(data, f"{data} data files")
    if labels:
        vol = f" VOL1 {volser}" if volser else ""
        return f"it holds IBM standard labels{vol} and {count}{torn}"
    other = {1: "1 tape file"}.get(files, f"{files} tape files")
    return f"it holds {other} of other data{torn}"


def plan_append(tape: Any, path: str = "") -> tuple[int, int]:
    """Where a new run goes on ``tape`` (opened for update), and how many
    tapemarks follow that point: the closing tapemark of the double tapemark
    after the last non-empty tape file, or the end of the tape.  Empty tape
    files and foreign files before it are kept.  A run cut short by a kill
    (its data or catalog file torn, or without its tapemark) is sealed first
    (:func:`seal_torn_run`), a torn block after the last run cut off.  A
    damaged block elsewhere, or a torn foreign file, is refused: appending
    would cut it off."""
    tape.rewind()
    data_end = 0                  # after the tapemark closing the last non-empty file
    marks = 0                     # tapemarks since then
    prev_run: Optional[tuple[RunHeader, int]] = None   # a run whose catalog comes next
    prev_kind: Optional[str] = None          # block kind that began the last non-empty file
    while True:
        pos = tape.tell()
        try:
            block = read_next(tape)
        except TruncatedError:
            return _after_tear(tape, pos, prev_run, prev_kind, path)
        if block is None:
            break
        if block is TAPEMARK:
            marks += 1
            continue
        kind = block_kind(block)
        header = RunHeader.decode(block, path=path, block=0, offset=pos) \
            if kind == "SPKR" else None
        try:
            closed = tape.skip_files(1)
        except TruncatedError:
            closed = 0
        if not closed:                        # the file runs into the end of the tape
            if header is not None:
                return _seal(tape, header, pos, None, path)
            if prev_run is not None:          # the run's catalog file, cut short
                if _whole_catalog(tape, prev_run, pos, path):
                    tape.tapemark()           # only its tapemark was missing
                    at = tape.tell()
                    tape.tapemark()
                    return at, 1
                return _seal(tape, prev_run[0], prev_run[1], pos, path)
            raise FormatError("the last tape file (not a spoolkit run) ends without a "
                              "tapemark or in a torn block; appending would cut it off",
                              path=path, offset=pos)
        prev_run = (header, pos) if header is not None else None
        prev_kind = kind
        data_end, marks = tape.tell(), 1
    if prev_run is not None:                  # a run's data file without its catalog
        return _seal(tape, prev_run[0], prev_run[1], data_end, path)
    if data_end == 0:
        return 0, 0                           # nothing but tapemarks: start at the load point
    return data_end, max(marks - 1, 0)


def _whole_catalog(tape: Any, run: tuple[RunHeader, int], pos: int, path: str) -> bool:
    """True when the catalog file at ``pos`` is whole up to the end of the
    tape (the tape is then at its end)."""
    try:
        goto(tape, pos, run[1])
        _read_catalog(tape, Run(run[0], 0, run[1], catalog_at=pos), path)
    except SpoolkitError:
        return False
    return read_next(tape) is None


def _after_tear(tape: Any, pos: int, prev_run: Optional[tuple[RunHeader, int]],
                prev_kind: Optional[str], path: str) -> tuple[int, int]:
    """The first block of the file at ``pos`` is torn (it runs past the end
    of the tape): a dump was killed there, or another program."""
    if prev_run is not None:                  # the run's catalog file was being written
        return _seal(tape, prev_run[0], prev_run[1], pos, path)
    head = _torn_head(tape, pos)
    if head == MAGIC_RUN or head is None and prev_kind == "SPKC":
        return pos, 0                         # a run killed in its first block: cut it off
    raise FormatError("the last tape file (not a spoolkit run) ends in a torn block; "
                      "appending would cut it off", path=path, offset=pos)


def _torn_head(tape: Any, pos: int) -> Optional[bytes]:
    """The first 4 data bytes of the torn block at ``pos`` of a tape image
    (read from the file itself: no reader passes a torn block); None where
    they cannot be told (an in-memory tape, a bzip2 block)."""
    import bz2
    import zlib

    path = getattr(tape, "path", None)
    fmt = getattr(tape, "format", None)
    if not isinstance(path, str) or fmt not in ("aws", "het", "fkt", "faketape"):
        return None
    try:
        with open(path, "rb") as f:
            f.seek(pos)
            raw = f.read(1024)
    except OSError:
        return None
    if fmt in ("fkt", "faketape"):
        return raw[12:16] if len(raw) >= 16 else None
    if len(raw) < 6:
        return None
    data, method = raw[6:], raw[4] & 0x03
    try:
        if method == 1:
            data = zlib.decompressobj().decompress(data, 4)
        elif method == 2:
            data = bz2.BZ2Decompressor().decompress(data, 4)
    except (zlib.error, OSError, EOFError, ValueError):
        return None
    return data[:4] if len(data) >= 4 else None


def _seal(tape: Any, header: RunHeader, start: int, catalog_at: Optional[int],
          path: str) -> tuple[int, int]:
    seal_torn_run(tape, header, start, catalog_at, path)
    at = tape.tell()
    tape.tapemark()                           # the closing double tapemark
    return at, 1


def goto(tape: Any, offset: int, anchor: int) -> None:
    """Position at ``offset`` even where the block there is torn (a tape's
    ``seek`` checks that a whole block starts there): read forward from the
    block boundary ``anchor`` before it."""
    if tape.tell() == offset:
        return
    try:
        tape.seek(offset)
        return
    except TruncatedError:
        pass
    tape.seek(anchor)
    while tape.tell() < offset:
        if read_next(tape) is None:
            break
    if tape.tell() != offset:
        raise FormatError(f"offset {offset} is not a block boundary", offset=offset)


def _read_page_blocks(tape: Any, fh: FileHeader, path: str, blockno: int
                      ) -> Iterator[memoryview]:
    done = 0
    while done < fh.pages:
        where = {"path": path, "block": blockno}
        block = read_next(tape)
        if block is None or block is TAPEMARK:
            raise TruncatedError(f"spool file {fh.owner} {fh.spoolid} ends after {done} of "
                                 f"{fh.pages} pages", **where)
        seq, first, pages = decode_pages(block, **where)
        if seq != fh.fileseq or first != done:
            raise FormatError(f"page block of file {seq} at page {first} where file "
                              f"{fh.fileseq} page {done} was expected", **where)
        done += len(pages) // PAGE_SIZE
        if done > fh.pages:
            raise FormatError(f"spool file {fh.owner} {fh.spoolid} has more than its "
                              f"{fh.pages} pages", **where)
        blockno += 1
        yield pages


def read_file(tape: Any, entry: CatalogEntry, path: str = "", *, start: Optional[int] = None
              ) -> tuple[FileHeader, Iterator[memoryview]]:
    """Seek to ``entry``'s header block; return its header and an iterator of
    its checked page blocks (views of whole pages).

    If the seek offset does not lead to the file (a tape copied to another
    format), the file is found by block number from the run's ``start``."""
    where = {"path": path, "block": entry.block}
    if entry.is_ref:
        raise FormatError(f"spool file {entry.owner} {entry.spoolid} is a reference to an "
                          f"earlier archive, not data", **where)
    block: Any = None
    try:
        tape.seek(entry.offset)
        block = read_next(tape)
    except SpoolkitError:
        if start is None:
            raise
    if (block is None or block is TAPEMARK or block_kind(block) != "SPKF") and start is not None:
        tape.seek(start)
        for _ in range(entry.block):
            if read_next(tape) in (None, TAPEMARK):
                break
        block = read_next(tape)
    if block is None or block is TAPEMARK:
        raise TruncatedError(f"spool file {entry.owner} {entry.spoolid}: no header block at "
                             f"offset {entry.offset}", **where)
    fh = FileHeader.decode(block, **where)
    if (fh.fileseq, fh.spoolid, fh.owner, fh.crc) != (entry.fileseq, entry.spoolid,
                                                      entry.owner, entry.crc):
        raise FormatError(f"header block holds {fh.owner} {fh.spoolid}, the catalog says "
                          f"{entry.owner} {entry.spoolid}", **where)
    if (fh.pages, fh.records, fh.created) != (entry.pages, entry.records, entry.created):
        raise FormatError(f"header block of {fh.owner} {fh.spoolid} says {fh.pages} pages, "
                          f"{fh.records} records, created {fh.created}; the catalog says "
                          f"{entry.pages}, {entry.records}, {entry.created}", **where)
    return fh, _read_page_blocks(tape, fh, path, entry.block + 1)


def resolve_latest(runs: list[Run]) -> list[CatalogEntry]:
    """The files of the newest state an archive chain describes: the live set
    of the last run, each reference replaced by the newest data entry of the
    same identity in an earlier run."""
    if not runs:
        return []
    # a run cut short (or sealed) lists only what was written before the
    # kill: the newest whole run is the latest state
    last = max([r for r in runs if r.whole] or [r for r in runs if r.entries] or runs,
               key=lambda r: r.header.run_id)
    data: dict[tuple[str, int, int, int], CatalogEntry] = {}
    for run in sorted(runs, key=lambda r: r.header.run_id):
        for e in run.entries:
            if not e.is_ref:
                data[e.identity] = e
    out = []
    for e in last.entries:
        found = data.get(e.identity)
        if found is None:
            raise FormatError(f"spool file {e.owner} {e.spoolid} is listed as archived "
                              f"earlier, but no given archive holds it", path=last.archive)
        out.append(found)
    return out


__all__ = ["ArchiveFile", "RunWriter", "Run", "Damage", "read_runs", "read_file",
           "describe_tape",
           "recover_run", "seal_torn_run", "plan_append",
           "resolve_latest"]
