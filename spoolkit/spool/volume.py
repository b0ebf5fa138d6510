"""Spool files on a CP-formatted volume (design.md section 4).

Every file is a header page plus its SPLINK data page chain in SPOL slots.
The spool index is a chain of DRCT pages listing (spool ID, owner, header
slot) of every live file; it is rewritten copy-on-write and made current by
one rewrite of track 0 (the SPKALLOC index pointer).  Free slots are derived
by walking the chains (on the first write), never stored.
"""

from __future__ import annotations

import contextlib
import os
import struct
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable, Iterable, Iterator, Optional, Union

from ..cp import CPVolume, SlotAllocator, format_volume, open_cp_volume
from ..errors import (
    FormatError,
    InvalidArgumentError,
    NoSpaceError,
    NotFoundError,
    ReadOnlyError,
    SpoolkitError,
)
from ..lifetime import Finalizing
from .file import SpoolFile, SpoolFileFields
from .index import (
    IndexEntry,
    build_index_pages,
    index_pages_needed,
    read_index,
)
from .pages import (
    PAGE_SIZE,
    HeaderInfo,
    build_header_page,
    chain_loader,
    count_pages,
    is_header_page,
    iter_blocks,
    pack_chain,
    page_address,
    parse_header_page,
    split_address,
)
from .records import Records

if TYPE_CHECKING:
    from typing_extensions import Unpack

_ZERO = bytes(PAGE_SIZE)


@dataclass
class RecoverReport:
    """What :meth:`SpoolVolume.recover` found."""

    kept: list[int] = field(default_factory=list)
    broken: list[tuple[int, Optional[int], str]] = field(default_factory=list)  # slot, id, why
    duplicates: list[tuple[int, int]] = field(default_factory=list)             # slot, id
    orphan_pages: int = 0

    def to_dict(self) -> dict[str, object]:
        return {"kept": self.kept, "broken": [list(b) for b in self.broken],
                "duplicates": [list(d) for d in self.duplicates],
                "orphan_pages": self.orphan_pages}


class DamagedError(FormatError):
    """The spool volume's index or chains are inconsistent: it is read, but
    not written to until ``recover`` has rebuilt the index."""


class SpoolVolume(Finalizing):
    """A spool volume: files stored in SPOL slots, indexed from DRCT.

    Opened ``"r+"`` it is closed at garbage collection or interpreter exit
    if the program does not close it (:mod:`spoolkit.lifetime`); every
    change is on the file when its method returns."""

    closed = True       # until __init__ completes: a half-built object has nothing to close

    def __init__(self, cp: CPVolume, mode: str = "r") -> None:
        if mode not in ("r", "r+"):
            raise InvalidArgumentError(f"mode must be 'r' or 'r+', not {mode!r}", path=cp.path)
        self.cp = cp
        self.path = cp.path
        self.mode = mode
        self._broken: Optional[str] = None
        self._entries: Optional[dict[int, IndexEntry]] = None
        self._index_slots: list[int] = []
        self._chains: Optional[dict[int, list[int]]] = None   # spoolid -> header + data slots
        self._slots: Optional[SlotAllocator] = None
        self.closed = False
        if mode == "r+":
            self._finalize_on_exit()

    # -- pages -------------------------------------------------------------
    def read_page(self, address: int) -> bytes:
        """The page at a page address (volume index ignored: chains are volume-local)."""
        return self.cp.read_slot(split_address(address)[1])

    # -- index ---------------------------------------------------------------
    def _read_index(self) -> dict[int, IndexEntry]:
        entries, self._index_slots = read_index(self.cp, self.path)
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

        def counted() -> Iterator[Records]:
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

    def files(self, select: Optional[Callable[[SpoolFile], bool]] = None
              ) -> Iterator[SpoolFile]:
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
        slots: list[int] = []
        addr = info.first
        seen: set[int] = set()
        while addr and len(slots) < info.npages:
            slot = split_address(addr)[1]
            if slot in seen or self.cp.slot_kind(slot) != "SPOL":
                break
            seen.add(slot)
            slots.append(slot)
            addr = int.from_bytes(self.cp.read_slot(slot)[0:4], "big")
        return slots

    def _chain_slots(self, sid: int, e: IndexEntry) -> list[int]:
        """Header and data slots of a listed file; DamagedError unless its
        links form the whole chain its header announces, every page its own."""
        def damaged(why: str, page: Optional[int]) -> DamagedError:
            return DamagedError(f"spool file {sid}: {why}; the volume is damaged and is not "
                                "written to ('spoolkit spool recover' rebuilds its index)",
                                path=self.path, page=page)
        try:
            info = self.header(sid)
        except SpoolkitError as exc:
            raise damaged(f"header page: {exc.message}", e.header) from None
        slots: list[int] = []
        addr = info.first
        seen = {e.header}
        while len(slots) < info.npages:
            slot = split_address(addr)[1]
            if addr == 0 or split_address(addr)[0] != 0 or self.cp.slot_kind(slot) != "SPOL":
                raise damaged(f"page {len(slots) + 1} of {info.npages} has address "
                              f"{addr:08X}, not a SPOL slot", slots[-1] if slots else e.header)
            if slot in seen:
                raise damaged(f"the chain returns to slot {slot}", slot)
            page = self.cp.read_slot(slot)
            if struct.unpack_from(">H", page, 0xFF8)[0] != sid:
                raise damaged(f"page {len(slots) + 1} (slot {slot}) belongs to another file",
                              slot)
            seen.add(slot)
            slots.append(slot)
            addr = int.from_bytes(page[0:4], "big")
        if addr != 0:
            raise damaged(f"the last of {info.npages} pages links on to {addr:08X}", slots[-1])
        return [e.header] + slots

    def _space(self) -> SlotAllocator:
        """The slot allocator, built on first use by walking the index and
        every chain; a volume whose chains are broken or shared is refused
        (DamagedError): trusting them would hand out slots of live data."""
        if self._broken is not None:
            raise DamagedError(f"an earlier update failed ({self._broken}); reopen the volume",
                               path=self.path)
        if self._slots is None:
            chains: dict[int, list[int]] = {}
            entries = self.entries          # reading the index sets _index_slots
            owner = {s: 0 for s in self._index_slots}
            alloc = SlotAllocator(self.cp, self._index_slots)
            for sid, e in entries.items():
                slots = self._chain_slots(sid, e)
                for s in slots:
                    other = owner.setdefault(s, sid)
                    if other != sid:
                        raise DamagedError(
                            f"slot {s} belongs to spool file {sid} and to "
                            f"{'the index' if other == 0 else f'spool file {other}'}; the "
                            "volume is damaged and is not written to ('spoolkit spool "
                            "recover' rebuilds its index)", path=self.path, page=s)
                chains[sid] = slots
                alloc.mark(slots)
            self._chains, self._slots = chains, alloc
        return self._slots

    def _chain_map(self) -> dict[int, list[int]]:
        """Header and data slots of every file (built with the allocator)."""
        self._space()
        assert self._chains is not None       # _space() builds both
        return self._chains

    def free_slots(self, kind: str = "SPOL") -> int:
        """Free slots of an extent type (derived from the chains)."""
        return self._space().free_count(kind)

    def _writable(self) -> None:
        if self.mode != "r+":
            raise ReadOnlyError("spool volume is open read-only", path=self.path)
        if self.closed:
            raise InvalidArgumentError("I/O on a closed spool volume", path=self.path)

    @contextlib.contextmanager
    def _update(self) -> Iterator[None]:
        """One change: if it fails, what is known of the volume is read again
        from the file (the old index stays current until the switch)."""
        try:
            yield
        except BaseException:
            self._entries = self._chains = self._slots = None
            self._index_slots = []
            try:
                self.cp.reread()
            except Exception as exc:  # noqa: BLE001 - the first error is the one to raise
                self._broken = str(exc)
            raise

    def _commit(self, entries: dict[int, IndexEntry]) -> None:
        """Write a new index chain, make every page written so far durable,
        then switch the pointer in track 0 (the one atomic step)."""
        alloc = self._space()
        lst = [entries[k] for k in sorted(entries)]
        slots = alloc.allocate(index_pages_needed(len(lst)), "DRCT")
        gen = self.cp.allocation.generation + 1
        if slots:
            self.cp.write_slots(dict(zip(slots, build_index_pages(lst, slots, gen))))
        self.cp.flush()                     # pages and their tables before the pointer
        self.cp.set_index(slots[0] if slots else 0, len(slots), len(lst))
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
        self._chain_map()[sid] = slots
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
        with self._update():
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
        with self._update():
            self._space()
            entries = dict(self.entries)
            old = entries.pop(spoolid)
            self._commit(entries)
            self.cp.write_slots({old.header: _ZERO})
            self._space().free(self._chain_map().pop(spoolid, [old.header]))

    def change(self, spoolid: int, /, **attrs: Unpack[SpoolFileFields]) -> SpoolFile:
        """Change attributes (CHANGE command): a new header page, copy-on-write."""
        self._writable()
        if "spoolid" in attrs or "records" in attrs or "loader" in attrs:
            raise InvalidArgumentError("change: spool ID and records cannot be changed",
                                       path=self.path)
        info = self.header(spoolid)
        new = info.spoolfile.with_attrs(**attrs)
        with self._update():
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
            chains = self._chain_map()
            chains[spoolid] = [hdr] + chains.get(spoolid, [])[1:]
        return self._with_loader(parse_header_page(self.cp.read_slot(hdr), address=hdr))

    # -- recovery ------------------------------------------------------------
    def recover(self) -> RecoverReport:
        """Rebuild the index from every SPOL slot holding a header page whose
        whole chain reads back (links, CRCs, data CRC); report the rest."""
        self._writable()
        with self._update():
            return self._recover()

    def _recover(self) -> RecoverReport:
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
                sid = info.spoolid
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
        """Close the volume and the image under it (idempotent)."""
        if self.closed:
            return
        self.closed = True
        self._forget_on_exit()
        self.cp.close()

    def __enter__(self) -> SpoolVolume:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<SpoolVolume {self.path} {self.cp.volser} mode={self.mode}>"


def open_volume(path: Union[str, os.PathLike[str]], mode: str = "r") -> SpoolVolume:
    """Open a spool volume (``"r"`` or ``"r+"``).  A file that is not one is
    refused saying what it is; ``"r+"`` takes the image's writer lock."""
    cp = open_cp_volume(path, mode)
    try:
        return SpoolVolume(cp, mode)
    except BaseException:
        cp.close()
        raise


def create_volume(path: Union[str, os.PathLike[str]], model: str = "3390-3", *, volser: str,
                  extents: Iterable[tuple[str, int, int]], compress: Optional[str] = None,
                  cylinders: Optional[int] = None, overwrite: bool = False) -> SpoolVolume:
    """Format a CP volume (see :func:`spoolkit.cp.format_volume`) and open it ``r+``;
    an existing file is refused unless ``overwrite``."""
    format_volume(path, model, volser=volser, extents=extents, compress=compress,
                  cylinders=cylinders, overwrite=overwrite)
    return open_volume(path, "r+")
