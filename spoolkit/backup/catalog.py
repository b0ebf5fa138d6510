"""The runs on a tape and their catalogs (see :mod:`.blocks` for the blocks).

:func:`read_runs` finds the runs of a tape and reads only their catalogs
(skipping the data files by tapemark); a run whose catalog is missing or
damaged is rebuilt from its data file (:mod:`.recover`).
:func:`resolve_latest` gives the files of the newest state of a chain.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

from ..errors import FormatError, SpoolkitError, TruncatedError, Where
from ..tape.medium import TAPEMARK, TapeMedium, goto, read_next
from .blocks import PAGES_PER_BLOCK, CatalogEntry, RunHeader, block_kind, decode_catalog_block
from .recover import Damage, recover_files


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

    def to_dict(self) -> dict[str, object]:
        return {"run_id": self.header.run_id, "source": self.header.source,
                "created": self.header.created, "file_number": self.file_number,
                "complete": self.complete, "sealed": self.sealed, "problem": self.problem,
                "damage": [d.text() for d in self.damage],
                "files": [e.to_dict() for e in self.entries]}


def read_runs(tape: TapeMedium, path: str = "", *, recover: bool = True) -> list[Run]:
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
                run.entries, run.sealed = read_catalog(tape, run, path)
                fileno += 1
            except SpoolkitError as exc:
                run.complete, run.problem = False, f"catalog: {exc}"
        if run.sealed:
            run.problem = "the dump was cut short; a later append sealed it with its " \
                          "whole files"
        if not run.complete:
            if recover:
                run.entries, run.damage = recover_files(tape, run.start, path)[:2]
            if run.catalog_at is None or not _past_catalog(tape, run):
                break                          # nothing can be read behind a torn run
    for run in runs:
        for e in run.entries:
            e.run_id, e.archive = run.header.run_id, path
    return runs


def _past_catalog(tape: TapeMedium, run: Run) -> bool:
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


def read_catalog(tape: TapeMedium, run: Run, path: str) -> tuple[list[CatalogEntry], bool]:
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
        where: Where = {"path": path, "block": seq, "offset": off}
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
                  counted: Optional[int], where: Where) -> None:
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


def recover_run(tape: TapeMedium, run: Run, path: str = "") -> list[CatalogEntry]:
    """Catalog entries of the files of a run that were written completely and
    are intact (read sequentially from the run's start; damaged blocks are
    passed over while the tape's framing holds, and listed in ``run.damage``)."""
    entries, run.damage = recover_files(tape, run.start, path)[:2]
    return entries


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


__all__ = ["Run", "read_catalog", "read_runs", "recover_run", "resolve_latest"]
