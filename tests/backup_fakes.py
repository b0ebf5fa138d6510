"""Spool-side test doubles for the backup layer: a source of archive files and
a target that keeps restored files (and can run full)."""

from __future__ import annotations

import random

from spoolkit.backup import EntryView
from spoolkit.backup import blocks as A
from spoolkit.backup.writer import ArchiveFile
from spoolkit.errors import NoSpaceError


def make_file(spoolid, npages, owner="MAINT", seed=0, created=None, kind="RDR", klass="A"):
    rnd = random.Random(seed * 7919 + spoolid)
    pages = rnd.randbytes(npages * A.PAGE_SIZE)
    header = rnd.randbytes(A.PAGE_SIZE)
    e = A.CatalogEntry(0, spoolid, owner, kind, klass, npages, npages * 10,
                       created if created is not None else 1_700_000_000_000_000 + spoolid,
                       A.crc32c(pages), fname=f"F{spoolid}", ftype="DATA")
    cuts = sorted({0, npages, *(rnd.randrange(npages + 1) for _ in range(3))})
    pieces = [pages[a * A.PAGE_SIZE:b * A.PAGE_SIZE] for a, b in zip(cuts, cuts[1:])]
    return ArchiveFile(e, header, lambda: iter(pieces)), pages


class FakeSource:
    name = "FAKE01"

    def __init__(self, files):
        self.files = list(files)           # [(ArchiveFile, pages)]

    def archive_files(self, select=None):
        for f, _ in self.files:
            if select is None or select(EntryView(f.entry)):
                # a fresh entry per run, as a volume would build one
                e = A.CatalogEntry(**{k: getattr(f.entry, k) for k in
                                      f.entry.__dataclass_fields__})
                yield ArchiveFile(e, f.header_page, f.pages)

    def identities(self, select=None):
        return {f.entry.identity for f, _ in self.files
                if select is None or select(EntryView(f.entry))}


class FakeTarget:
    name = "TARGET"

    def __init__(self, max_pages=None):
        self.files = {}
        self.max_pages = max_pages
        self.used = 0
        self.next_id = 1000

    def restore(self, fh, pages, spoolid="keep"):
        data = b"".join(bytes(p) for p in pages)    # all pages checked before commit
        if self.max_pages is not None and self.used + fh.pages > self.max_pages:
            raise NoSpaceError(f"no room for {fh.pages} pages", path="target")
        sid = fh.spoolid if spoolid == "keep" else self.next_id
        self.next_id += 1
        self.files[(fh.owner, sid)] = (fh, data)
        self.used += fh.pages
        return sid
