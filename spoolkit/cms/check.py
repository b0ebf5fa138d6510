"""check(): every chain of a CMS minidisk, its bitmap and its counters.

Each file's chain (first chain link and Nth chain links, or EDF pointer
blocks) is walked and its records decoded; every block referenced is marked
in a map built here.  Findings: a chain that loops or names blocks past the
extent, records the blocks do not hold (FST counts that disagree), a block
used by two owners, a block in use that the bitmap calls free (the next
write would overwrite it), blocks marked used that nothing references
(lost, harmless), counters (ADTUSED, ADTLEFT, ADTLAST, the label's used
count, the directory's entry count) that disagree with the bitmap.
"""

from __future__ import annotations

from array import array
from dataclasses import asdict, dataclass, field
from typing import Any, Optional, Protocol

from .._native import ffi, lib
from ..errors import SpoolkitError
from .alloc import count_used, last_byte


class CheckedDisk(Protocol):
    """What the checker reads of an open minidisk (``spoolkit.cms.Minidisk``)."""

    @property
    def impl(self) -> Any: ...   # the format's reader: VM/370 or EDF, duck-typed
    @property
    def path(self) -> str: ...
    @property
    def format(self) -> str: ...
    @property
    def label(self) -> str: ...

MAX_LISTED = 20            # block numbers listed per finding


@dataclass
class CMSFinding:
    """One problem: ``severity`` is "error" (data at risk or unreadable) or
    "warning" (harmless: lost blocks, a counter CMS recomputes)."""

    code: str              # chain, records, cross-link, free-in-bitmap, lost, counter, ...
    message: str
    severity: str = "error"
    file: Optional[str] = None
    blocks: list[int] = field(default_factory=list)

    def __str__(self) -> str:
        who = f"{self.file}: " if self.file else ""
        return f"{self.severity}: {who}{self.message}"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class CMSReport:
    path: str
    format: str
    label: str
    files: int = 0
    blocks: int = 0
    referenced: int = 0
    findings: list[CMSFinding] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """No error (warnings allowed)."""
        return not any(f.severity == "error" for f in self.findings)

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "format": self.format, "label": self.label,
                "files": self.files, "blocks": self.blocks, "referenced": self.referenced,
                "ok": self.ok, "findings": [f.to_dict() for f in self.findings]}

    def text(self) -> str:
        head = (f"{self.path}: {self.format} minidisk {self.label}: {self.files} files, "
                f"{self.referenced} of {self.blocks} blocks referenced")
        lines = [head] + [f"  {f}" for f in self.findings]
        lines.append("  no errors" if self.ok else
                     f"  {sum(f.severity == 'error' for f in self.findings)} errors")
        return "\n".join(lines)


class _Map:
    """Blocks referenced so far (a bitmap built in C) and who owns them."""

    def __init__(self, nbits: int) -> None:
        self.nbits = nbits
        self.bits = bytearray(-(-nbits // 8))

    def mark(self, blocks: array[int]) -> list[int]:
        """Mark; returns the blocks already marked (the first few)."""
        if not len(blocks):
            return []
        dups = array("I", [0]) * MAX_LISTED
        n = lib.spk_cms_mark(ffi.from_buffer(self.bits), len(self.bits), self.nbits,
                             ffi.from_buffer("uint32_t[]", blocks), len(blocks),
                             ffi.from_buffer("uint32_t[]", dups), MAX_LISTED)
        return list(dups[:min(n, MAX_LISTED)]) if n > 0 else []

    def diff(self, a: bytes, b: bytes) -> tuple[int, list[int]]:
        out = array("I", [0]) * MAX_LISTED
        n = lib.spk_cms_bitmap_diff(a, b, len(self.bits), self.nbits,
                                    ffi.from_buffer("uint32_t[]", out), MAX_LISTED)
        return int(n), list(out[:min(int(n), MAX_LISTED)])


def check_disk(md: CheckedDisk) -> CMSReport:
    """Check an open minidisk (see the module)."""
    impl = md.impl
    rep = CMSReport(md.path, md.format, md.label)
    nbits = impl.maxblock
    rep.blocks = nbits
    refs = _Map(nbits)
    if md.format == "vm370":
        base = array("I", [1, 2, 3, 4, *impl.mfd.fst_blocks, *impl.mfd.ext_blocks])
        bitmap = bytes(impl.mfd.qmsk)
    else:
        bitmap = bytes(impl.bitmap)
        other = 9 - impl.dop           # the other directory origin, when kept reserved
        keep = [other] if bitmap[(other - 1) >> 3] & (0x80 >> ((other - 1) & 7)) else []
        base = array("I", [1, 2, 3, *impl.dir_blocks, *keep, *impl.dir_meta,
                           *impl.map_blocks, *impl.map_meta])
    dup = refs.mark(base)
    if dup:
        rep.findings.append(CMSFinding("cross-link", "the directory's blocks are named twice",
                                       blocks=dup))
    quarters: dict[int, int] = {}
    files = impl.files()
    rep.files = len(files)
    for f in files:
        try:
            if md.format == "vm370":
                meta, data = impl.file_blocks(f)
                fcl_blocks = meta[:1]
                if impl.is_2314 and len(meta) and not f.fcl & 0x2000:
                    quarters[meta[0]] = quarters.get(meta[0], 0) + 1   # shared by quarters
                    fcl_blocks = array("I")
                own = array("I", fcl_blocks) + array("I", meta[1:]) + data
            else:
                meta, data, _, _ = impl.file_blocks(f)
                own = array("I", meta) + array("I", (b for b in data if b))
        except SpoolkitError as exc:
            rep.findings.append(CMSFinding("chain", exc.message, file=f.name,
                                           blocks=[exc.block] if exc.block else []))
            continue
        dup = refs.mark(own)
        if dup:
            rep.findings.append(CMSFinding("cross-link", "blocks another file or the "
                                           "directory also uses", file=f.name, blocks=dup))
        try:
            impl.read(f)
        except SpoolkitError as exc:
            rep.findings.append(CMSFinding("records", exc.message, file=f.name))
        if md.format == "vm370" and f.write_pointer != f.records + 1 and f.records < 0xFFFF:
            rep.findings.append(CMSFinding("counter", f"write pointer {f.write_pointer} for "
                                           f"{f.records} records", "warning", file=f.name))
    if md.format == "vm370" and impl.is_2314:
        from .vm370 import decode_fcl
        for v in impl.mfd.qqmsk:          # free quarters of blocks still allocated
            if v:
                quarters.setdefault(decode_fcl(v, True)[0], 0)
    if quarters:
        refs.mark(array("I", (b for b in quarters if 0 < b <= nbits)))
    rep.referenced = count_used(refs.bits, nbits)
    _compare_bitmap(rep, refs, bitmap)
    _counters(md, rep, bitmap)
    return rep


def _compare_bitmap(rep: CMSReport, refs: _Map, bitmap: bytes) -> None:
    n, blocks = refs.diff(bytes(refs.bits), bitmap)
    if n:
        rep.findings.append(CMSFinding(
            "free-in-bitmap", f"{n} blocks in use are marked free in the allocation bitmap "
            "(the next write would overwrite them)", blocks=blocks))
    n, blocks = refs.diff(bitmap, bytes(refs.bits))
    if n:
        rep.findings.append(CMSFinding("lost", f"{n} blocks marked used belong to nothing",
                                       "warning", blocks=blocks))


def _counters(md: CheckedDisk, rep: CMSReport, bitmap: bytes) -> None:
    impl = md.impl
    used = count_used(bitmap, impl.maxblock)
    if md.format == "vm370":
        mfd = impl.mfd
        pairs = [("ADTUSED", mfd.adtused, used), ("ADTLEFT", mfd.adtleft, mfd.adtnum - used),
                 ("ADTLAST", mfd.adtlast, last_byte(bitmap))]
    else:
        from .fst import is_empty
        live = 2 + sum(not is_empty(e) for e in impl.entries[2:])
        pairs = [("the label's used count", impl.used, used),
                 ("the directory's entry count", impl.dir_fst.records, live)]
    for name, have, want in pairs:
        if have != want:
            rep.findings.append(CMSFinding("counter", f"{name} is {have}, the bitmap says {want}",
                                           "warning"))


__all__ = ["CMSFinding", "CMSReport", "check_disk"]
