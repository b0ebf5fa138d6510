"""Spool files on a CP-formatted volume (design.md section 4).

Every file is a header page plus its SPLINK data page chain in SPOL slots.
The spool index is a chain of DRCT pages listing (spool ID, owner, header
slot) of every live file; it is rewritten copy-on-write and made current by
one rewrite of track 0 (the SPKALLOC index pointer).  Free slots are derived
by walking the chains (on the first write), never stored.
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass, field
from typing import Any, Iterable, Iterator, Optional, Union

from ..cp import CPVolume, SlotAllocator, format_volume, open_cp_volume
from ..errors import (
    ChainLoopError,
    ChecksumError,
    FormatError,
    InvalidArgumentError,
    NoSpaceError,
    NotFoundError,
    ReadOnlyError,
    SpoolkitError,
)
from .file import SpoolFile
from .pages import (
    PAGE_SIZE,
    HeaderInfo,
    build_header_page,
    chain_loader,
    count_pages,
    crc32c,
    is_header_page,
    iter_blocks,
    pack_chain,
    page_address,
    parse_header_page,
    split_address,
)

INDEX_MAGIC = "SPKI".encode("cp037")
INDEX_VERSION = 1
INDEX_HEAD = 16
INDEX_ENTRY = 16
INDEX_PER_PAGE = (PAGE_SIZE - 4 - INDEX_HEAD) // INDEX_ENTRY     # 254
INDEX_CRC = PAGE_SIZE - 4
_ZERO = bytes(PAGE_SIZE)


@dataclass(frozen=True)
class IndexEntry:
    spoolid: int
    owner: str
    header: int          # slot of the header page


def build_index_pages(entries: list[IndexEntry], slots: list[int]) -> list[bytes]:
    """The index chain: page i links to slots[i+1]; CRC-32C in the last 4 bytes."""
    pages = []
    for i in range(len(slots)):
        chunk = entries[i * INDEX_PER_PAGE:(i + 1) * INDEX_PER_PAGE]
        page = bytearray(PAGE_SIZE)
        nxt = slots[i + 1] if i + 1 < len(slots) else 0
        struct.pack_into(">I4sHHI", page, 0, nxt, INDEX_MAGIC, INDEX_VERSION, len(chunk), i + 1)
        for j, e in enumerate(chunk):
            struct.pack_into(">HH8sI", page, INDEX_HEAD + j * INDEX_ENTRY, e.spoolid, 0,
                             e.owner.encode("cp037").ljust(8, b"\x40"), e.header)
        struct.pack_into(">I", page, INDEX_CRC, crc32c(bytes(page[:INDEX_CRC])))
        pages.append(bytes(page))
    return pages


def index_pages_needed(n: int) -> int:
    return -(-n // INDEX_PER_PAGE)


@dataclass
class RecoverReport:
    """What :meth:`SpoolVolume.recover` found."""

    kept: list[int] = field(default_factory=list)
    broken: list[tuple[int, Optional[int], str]] = field(default_factory=list)  # slot, id, why
    duplicates: list[tuple[int, int]] = field(default_factory=list)             # slot, id
    orphan_pages: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {"kept": self.kept, "broken": [list(b) for b in self.broken],
                "duplicates": [list(d) for d in self.duplicates],
                "orphan_pages": self.orphan_pages}


class SpoolVolume:
    """A spool volume: files stored in SPOL slots, indexed from DRCT."""

    def __init__(self, cp: CPVolume, mode: str = "r") -> None:
        self.cp = cp
        self.path = cp.path
        self.mode = mode
        self._entries: Optional[dict[int, IndexEntry]] = None
        self._index_slots: list[int] = []
        self._chains: Optional[dict[int, list[int]]] = None   # spoolid -> header + data slots
        self._slots: Optional[SlotAllocator] = None

    # -- pages -------------------------------------------------------------
    def read_page(self, address: int) -> bytes:
        """The page at a page address (volume index ignored: chains are volume-local)."""
        return self.cp.read_slot(split_address(address)[1])

    # -- index ---------------------------------------------------------------
    def _read_index(self) -> dict[int, IndexEntry]:
        slot = self.cp.allocation.index_slot
        entries: dict[int, IndexEntry] = {}
        seen: list[int] = []
        seq = 0
        while slot:
            where = {"path": self.path, "page": slot}
            if slot in seen:
                raise ChainLoopError("spool index chain returns to a page it passed", **where)
            if self.cp.slot_kind(slot) != "DRCT":
                raise FormatError(f"spool index page slot {slot} is not in a DRCT extent",
                                  **where)
            seen.append(slot)
            page = self.cp.read_slot(slot)
            nxt, magic, version, count, pseq = struct.unpack_from(">I4sHHI", page, 0)
            if magic != INDEX_MAGIC:
                raise FormatError("not a spool index page (no SPKI)", **where)
            stored = struct.unpack_from(">I", page, INDEX_CRC)[0]
            if stored != crc32c(page[:INDEX_CRC]):
                raise ChecksumError("spool index page CRC-32C mismatch", offset=INDEX_CRC,
                                    **where)
            seq += 1
            if version != INDEX_VERSION or count > INDEX_PER_PAGE or pseq != seq:
                raise FormatError(f"spool index page version {version}, {count} entries, "
                                  f"sequence {pseq} (expected {seq})", **where)
            for j in range(count):
                sid, _, owner, hdr = struct.unpack_from(">HH8sI", page,
                                                        INDEX_HEAD + j * INDEX_ENTRY)
                if not 1 <= sid <= 9999 or sid in entries:
                    raise FormatError(f"spool index entry {j}: bad or repeated spool ID {sid}",
                                      **where)
                entries[sid] = IndexEntry(sid, owner.decode("cp037").rstrip(), hdr)
            slot = nxt
        self._index_slots = seen
        return entries

    @property
    def entries(self) -> dict[int, IndexEntry]:
        if self._entries is None:
            self._entries = self._read_index()
        return self._entries

    def spoolids(self) -> list[int]:
        return sorted(self.entries)

    def __len__(self) -> int:
        return len(self.entries)

    def __contains__(self, spoolid: object) -> bool:
        return spoolid in self.entries

    # -- reading files -------------------------------------------------------
    def header(self, spoolid: int) -> HeaderInfo:
        e = self.entries.get(spoolid)
        if e is None:
            raise NotFoundError(f"no spool file {spoolid} on this volume", path=self.path)
        info = parse_header_page(self.cp.read_slot(e.header), path=self.path, address=e.header)
        if info.spoolfile.spoolid != spoolid:
            raise FormatError(f"header page holds spool ID {info.spoolfile.spoolid}, index "
                              f"says {spoolid}", path=self.path, page=e.header)
        return info

    def _with_loader(self, info: HeaderInfo) -> SpoolFile:
        load = chain_loader(self.read_page, info, path=self.path)
        expect = info.spoolfile.record_count

        def counted() -> Iterator[Any]:
            n = 0
            for block in load():
                n += len(block)
                yield block
            if n != expect:
                raise FormatError(f"spool file {info.spoolfile.spoolid}: chain holds {n} "
                                  f"records, header says {expect}", path=self.path,
                                  page=info.address)
        return info.spoolfile.with_attrs(loader=counted)

    def get(self, spoolid: int) -> SpoolFile:
        """One file: metadata now, records read lazily from its chain."""
        return self._with_loader(self.header(spoolid))

    def files(self, select: Any = None) -> Iterator[SpoolFile]:
        """Every file in spool ID order (records lazily, memory bounded);
        ``select`` is a :class:`~spoolkit.spool.select.Selection` or callable."""
        for sid in self.spoolids():
            sf = self.get(sid)
            if select is None or (select.match(sf) if hasattr(select, "match") else select(sf)):
                yield sf

    def __iter__(self) -> Iterator[SpoolFile]:
        return self.files()

    # -- space -------------------------------------------------------------
    def _walk(self, info: HeaderInfo) -> list[int]:
        """Slots of a chain by its links only (no CRC), bounded by npages."""
        slots, addr = [], info.first
        seen: set[int] = set()
        while addr and len(slots) < info.npages:
            slot = split_address(addr)[1]
            if slot in seen or self.cp.slot_kind(slot) != "SPOL":
                break
            seen.add(slot)
            slots.append(slot)
            addr = int.from_bytes(self.cp.read_slot(slot)[0:4], "big")
        return slots

    def _space(self) -> SlotAllocator:
        """The slot allocator, built on first use by walking the index and every chain."""
        if self._slots is None:
            chains: dict[int, list[int]] = {}
            entries = self.entries          # reading the index sets _index_slots
            alloc = SlotAllocator(self.cp, self._index_slots)
            for sid, e in entries.items():
                slots = [e.header]
                try:
                    slots += self._walk(self.header(sid))
                except SpoolkitError:
                    pass                    # a broken chain keeps what could be walked
                chains[sid] = slots
                alloc.mark(slots)
            self._chains, self._slots = chains, alloc
        return self._slots

    def free_slots(self, kind: str = "SPOL") -> int:
        """Free slots of an extent type (derived from the chains)."""
        return self._space().free_count(kind)

    def _writable(self) -> None:
        if self.mode != "r+":
            raise ReadOnlyError("spool volume is open read-only", path=self.path)

    def _commit(self, entries: dict[int, IndexEntry]) -> None:
        """Write a new index chain, then switch the pointer in track 0."""
        alloc = self._space()
        lst = [entries[k] for k in sorted(entries)]
        slots = alloc.allocate(index_pages_needed(len(lst)), "DRCT")
        if slots:
            self.cp.write_slots(dict(zip(slots, build_index_pages(lst, slots))))
        self.cp.set_index_slot(slots[0] if slots else 0)
        self.cp.flush()
        alloc.free(self._index_slots)
        self._index_slots = slots
        self._entries = entries

    # -- changing ----------------------------------------------------------
    def next_spoolid(self, start: int = 1, taken: Iterable[int] = ()) -> int:
        """The first spool ID from ``start`` on (wrapping at 9999) that is free."""
        busy = set(self.entries) | set(taken)
        for k in range(9999):
            sid = (max(start, 1) - 1 + k) % 9999 + 1
            if sid not in busy:
                return sid
        raise NoSpaceError("all spool IDs 1-9999 are in use", path=self.path)

    def _store(self, sf: SpoolFile, entries: dict[int, IndexEntry], taken: set[int]) -> int:
        """Write one file's data chain and header page (not yet in the index)."""
        sid = sf.spoolid
        if sid is None or sid in entries or sid in taken:
            sid = self.next_spoolid(sid or 1, set(entries) | taken)
        sf = sf.with_attrs(spoolid=sid)
        npages = count_pages(sf)
        slots = self._space().allocate(npages + 1, "SPOL")
        hdr, data = slots[0], slots[1:]
        addrs = [page_address(0, s) for s in data]
        pages, crc = pack_chain(sf, addrs)
        out = {s: pages[i * PAGE_SIZE:(i + 1) * PAGE_SIZE] for i, s in enumerate(data)}
        out[hdr] = build_header_page(sf, addrs[0], addrs[-1], npages, crc)
        self.cp.write_slots(out)
        self._chains[sid] = slots                             # type: ignore[index]
        entries[sid] = IndexEntry(sid, sf.owner, hdr)
        return sid

    def add(self, sf: SpoolFile, *, taken: Iterable[int] = ()) -> int:
        """Store a file: data chain and header page, then the index; returns
        the spool ID (the file's own if free, else the next free one after it)."""
        return self.add_many([sf], taken=taken)[0]

    def add_many(self, files: Iterable[SpoolFile], *, taken: Iterable[int] = ()) -> list[int]:
        """Store several files and switch the index once at the end (a crash
        before the switch leaves the old index: the new files are not there)."""
        self._writable()
        self._space()
        entries = dict(self.entries)
        taken = set(taken)
        ids = [self._store(sf, entries, taken) for sf in files]
        self._commit(entries)
        return ids

    def remove(self, spoolid: int) -> None:
        """Drop a file from the index, then clear its header page."""
        self._writable()
        if spoolid not in self.entries:
            raise NotFoundError(f"no spool file {spoolid} on this volume", path=self.path)
        self._space()
        entries = dict(self.entries)
        old = entries.pop(spoolid)
        self._commit(entries)
        self.cp.write_slots({old.header: _ZERO})
        self._space().free(self._chains.pop(spoolid, [old.header]))  # type: ignore[union-attr]

    def change(self, spoolid: int, **attrs: Any) -> SpoolFile:
        """Change attributes (CHANGE command): a new header page, copy-on-write."""
        self._writable()
        if "spoolid" in attrs or "records" in attrs or "loader" in attrs:
            raise InvalidArgumentError("change: spool ID and records cannot be changed",
                                       path=self.path)
        info = self.header(spoolid)
        new = info.spoolfile.with_attrs(**attrs)
        self._space()
        hdr = self._space().allocate(1, "SPOL")[0]
        self.cp.write_slots({hdr: build_header_page(new, info.first, info.last, info.npages,
                                                    info.data_crc)})
        old = self.entries[spoolid]
        entries = dict(self.entries)
        entries[spoolid] = IndexEntry(spoolid, new.owner, hdr)
        self._commit(entries)
        self.cp.write_slots({old.header: _ZERO})
        self._space().free([old.header])
        chain = self._chains.get(spoolid, [])                 # type: ignore[union-attr]
        self._chains[spoolid] = [hdr] + chain[1:]             # type: ignore[index]
        return self._with_loader(parse_header_page(self.cp.read_slot(hdr), address=hdr))

    # -- recovery ------------------------------------------------------------
    def recover(self) -> RecoverReport:
        """Rebuild the index from every SPOL slot holding a header page whose
        whole chain reads back (links, CRCs, data CRC); report the rest."""
        self._writable()
        report = RecoverReport()
        try:
            current = {e.header: sid for sid, e in self._read_index().items()}
        except SpoolkitError:
            current = {}
        found: dict[int, tuple[int, HeaderInfo, list[int]]] = {}
        nonzero: set[int] = set()
        for slot, page in self.cp.iter_slots(["SPOL"]):
            if page == _ZERO:
                continue
            nonzero.add(slot)
            if not is_header_page(page):
                continue
            info = None
            try:
                info = parse_header_page(page, path=self.path, address=slot)
                sid = info.spoolfile.spoolid
                nrec = sum(len(b) for b in iter_blocks(self.read_page, info.first, info.npages,
                                                       sid, path=self.path,
                                                       expect_crc=info.data_crc))
                if nrec != info.spoolfile.record_count:
                    raise FormatError(f"chain holds {nrec} records, header says "
                                      f"{info.spoolfile.record_count}", path=self.path, page=slot)
                chain = self._walk(info)
            except SpoolkitError as exc:
                report.broken.append((slot, info.spoolfile.spoolid if info else None,
                                      str(exc)))
                continue
            if sid in found:
                prev_slot = found[sid][0]
                if current.get(slot) == sid and current.get(prev_slot) != sid:
                    report.duplicates.append((prev_slot, sid))
                else:
                    report.duplicates.append((slot, sid))
                    continue
            found[sid] = (slot, info, chain)
        entries = {sid: IndexEntry(sid, info.spoolfile.owner, slot)
                   for sid, (slot, info, _) in found.items()}
        alloc = SlotAllocator(self.cp)
        chains = {}
        for sid, (slot, _, chain) in found.items():
            chains[sid] = [slot] + chain
            alloc.mark(chains[sid])
        report.orphan_pages = len(nonzero - alloc.used)
        report.kept = sorted(found)
        self._index_slots = []
        self._chains, self._slots = chains, alloc
        self._commit(entries)
        return report

    # -- lifetime ------------------------------------------------------------
    def close(self) -> None:
        self.cp.close()

    def __enter__(self) -> SpoolVolume:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<SpoolVolume {self.path} {self.cp.volser} mode={self.mode}>"


def open_volume(path: Union[str, os.PathLike], mode: str = "r") -> SpoolVolume:
    """Open a spool volume (``"r"`` or ``"r+"``)."""
    return SpoolVolume(open_cp_volume(path, mode), mode)


def create_volume(path: Union[str, os.PathLike], model: str = "3390-3", *, volser: str,
                  extents: Iterable, compress: Optional[str] = None,
                  cylinders: Optional[int] = None) -> SpoolVolume:
    """Format a CP volume (see :func:`spoolkit.cp.format_volume`) and open it ``r+``."""
    format_volume(path, model, volser=volser, extents=extents, compress=compress,
                  cylinders=cylinders)
    return open_volume(path, "r+")
