"""Writing one DUMP run onto an open tape-like medium (the blocks:
:mod:`.blocks`).

:class:`RunWriter` writes the run's data file (SPKR, then per spool file its
SPKF block and SPKP page blocks) and, at :meth:`RunWriter.finish`, its
catalog file.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Optional

from .._native import check, ffi, lib, new_err
from ..compress import Buffer
from ..errors import FormatError
from ..tape.medium import FramedMedium, TapeMedium
from ..util import default_workers
from .blocks import (
    ENTRY_REF,
    PAGE_SIZE,
    PAGES_PER_BLOCK,
    CatalogEntry,
    FileHeader,
    RunHeader,
    _pad,
    encode_catalog,
    encode_pages,
)

if TYPE_CHECKING:
    from .._spoolkit import spk_archive_file


@dataclass
class ArchiveFile:
    """One spool file to dump: its catalog attributes, header page and pages."""

    entry: CatalogEntry
    header_page: bytes
    #: yields buffers of whole 4096-byte pages (any sizes); ``bytes`` and other
    #: read-only buffers are kept until written and must not change, writable
    #: ones are copied before the next buffer is asked for
    pages: Callable[[], Iterable[Buffer]]


class RunWriter:
    """Write one run (data file, then catalog file) onto an open tape.

    Nothing of the run is valid until :meth:`finish` wrote the catalog; callers
    make the tape itself atomic (:func:`spoolkit.backup.tapefile.open_archive_tape`).

    On a tape that frames blocks itself (``block_framing`` and
    ``write_framed``: tape images and minidisk archives) the SPKF and SPKP
    blocks are built and framed in C (``spk_archive_encode``) on worker
    threads, several files per batch, and written in order with one
    large write per batch; the bytes are those of the per-block path
    (:func:`~.blocks.encode_pages` and the tape's ``write_block``), which
    other tapes, and runs with an ``on_block`` hook, still take.  A file's
    ``offset`` is then filled in when its blocks are written, and an I/O error
    may surface at a later :meth:`add` or at :meth:`finish`; a caller that
    gives up before :meth:`finish` calls :meth:`abort`.
    """

    def __init__(self, tape: TapeMedium, source: str = "", *, run_id: Optional[int] = None,
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
        if on_block is None and isinstance(tape, FramedMedium):
            self._framed = _FramedWriter(tape, tape.block_framing(), workers)

    def _write(self, block: Buffer) -> None:
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
        header: Optional[bytes] = f.header_page
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


def _stable(buf: Optional[Buffer]) -> Optional[memoryview]:
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
        self.items: list[tuple[spk_archive_file, Optional[bytes], Optional[CatalogEntry],
                               int, Buffer, bool]] = []
        self.pages = 0
        self.bound = 0


class _FramedWriter:
    """Frames archive blocks in C on worker threads (the calls release the
    GIL, so framing, compression and the writes overlap the caller's Python
    work) and writes each batch in order with one ``write_framed``."""

    def __init__(self, tape: FramedMedium, framing: tuple[int, int, int, int],
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

    def file_info(self, e: CatalogEntry) -> spk_archive_file:
        return ffi.new("spk_archive_file *", {
            "fileseq": e.fileseq, "pages": e.pages, "records": e.records,
            "spoolid": e.spoolid, "owner": _pad(e.owner), "created": e.created, "crc": e.crc})

    def put(self, info: spk_archive_file, header: Optional[bytes], e: CatalogEntry, first: int,
            pages: Buffer, final: bool) -> None:
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

    def _item(self, info: spk_archive_file, header: Optional[bytes], e: CatalogEntry, first: int,
              pages: Buffer, final: bool) -> None:
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
                elif self.error is None and not self.stopped and blocks and out is not None:
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


__all__ = ["ArchiveFile", "RunWriter"]
