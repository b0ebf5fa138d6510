"""What a file is, by its first bytes: a tape image, a disk image, text, ...

:func:`file_kind` names the kind of any file so that a verb given the wrong
one can say so ("not a tape image (this is a CKD disk image)") instead of
reporting the first header it fails to parse.  Disk images are told by the
8-byte device id Hercules writes at offset 0; plain FBA images have none and
are told by their volume label in block 1.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from typing import Optional, Union

from .._native import ffi, lib, new_err

HEAD = 4096

DEVICE_IDS = {
    "CKD_P370": ("ckd", "a CKD disk image"),
    "CKD_P064": ("ckd64", "a CKD64 disk image"),
    "CKD_C370": ("cckd", "a compressed CKD disk image (CCKD)"),
    "CKD_C064": ("cckd64", "a compressed CKD64 disk image (CCKD64)"),
    "CKD_S370": ("cckd-shadow", "a CCKD shadow file"),
    "CKD_S064": ("cckd64-shadow", "a CCKD64 shadow file"),
    "FBA_C370": ("cfba", "a compressed FBA disk image (CFBA)"),
    "FBA_C064": ("cfba64", "a compressed FBA64 disk image (CFBA64)"),
    "FBA_S370": ("cfba-shadow", "a CFBA shadow file"),
    "FBA_S064": ("cfba64-shadow", "a CFBA64 shadow file"),
}
TAPES = {"aws": "an AWS tape image", "het": "a HET tape image", "fkt": "a FakeTape image"}
_FBA_LABELS = tuple(t.encode("cp037") for t in ("VOL1", "CMS1"))


@dataclass(frozen=True)
class FileKind:
    """``kind``: "aws", "het", "fkt", "ckd", "cckd", "fba", "text", "empty",
    "directory", "missing", "special", "unknown", ...; ``text``: the kind
    as a phrase ("a CKD disk image")."""

    kind: str
    text: str

    @property
    def is_tape(self) -> bool:
        return self.kind in TAPES

    @property
    def is_disk(self) -> bool:
        return self.kind in {k for k, _ in DEVICE_IDS.values()} or self.kind == "fba"

    @property
    def known(self) -> bool:
        """True unless the bytes are nothing recognised (a damaged tape, perhaps)."""
        return self.kind != "unknown"


def tape_format(head: bytes, name: str) -> str:
    """"aws", "het" or "fkt" by the first header, else by the file name."""
    if head[:4] == b"0000":
        return "fkt"
    if len(head) >= 6 and head[2:4] == b"\0\0" and not head[4] & 0x40:
        if head[4] & 0x03 or head[5] & 0x80:
            return "het"
        return "aws"
    low = name.lower()
    if low.endswith(".fkt"):
        return "fkt"
    if low.endswith(".het"):
        return "het"
    return "aws"


def _first_block_ok(head: bytes, size: int, fmt: str) -> bool:
    """The first block's headers parse (as far as ``head`` reaches)."""
    src = ffi.new("spk_tape_src *")
    keep = ffi.from_buffer(head)
    src.buf, src.base, src.len, src.size = keep, 0, len(head), size
    src.format = lib.SPK_TAPE_FAKETAPE if fmt == "fkt" else lib.SPK_TAPE_AWS
    b = ffi.new("spk_tape_block *")
    rc = lib.spk_tape_scan_block(src, 0, b, new_err())
    return rc >= 0 or rc == lib.SPK_EWINDOW


def _is_text(head: bytes) -> bool:
    if b"\0" in head:
        return False
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        # a multi-byte character cut at the end of the head is still text
        try:
            text = head[:-3].decode("utf-8")
        except UnicodeDecodeError:
            return False
    printable = sum(1 for c in text if c.isprintable() or c in "\t\r\n\f")
    return printable >= 0.95 * max(1, len(text))


def kind_of_bytes(head: bytes, size: int, name: str = "") -> FileKind:
    """The kind of a regular file of ``size`` bytes that starts with ``head``."""
    if size == 0:
        return FileKind("empty", "an empty file")
    ident = DEVICE_IDS.get(head[:8].decode("ascii", "replace"))
    if ident is not None:
        return FileKind(*ident)
    fmt = tape_format(head, name)
    if _first_block_ok(head, size, fmt):
        return FileKind(fmt, TAPES[fmt])
    if size % 512 == 0 and size >= 1024 and head[512:516] in _FBA_LABELS:
        return FileKind("fba", "an FBA disk image")
    # twelve hex digits are a (damaged) FakeTape header: the parser names the damage
    looks_fkt = len(head) >= 12 and all(c in b"0123456789abcdefABCDEF" for c in head[:12])
    if _is_text(head) and not looks_fkt:
        return FileKind("text", "a text file")
    return FileKind("unknown", "unrecognised data")


def file_kind(path: Union[str, os.PathLike[str]], head: Optional[bytes] = None) -> FileKind:
    """What the file at ``path`` is (never raises for a missing or odd file)."""
    p = os.fspath(path)
    try:
        st = os.stat(p)
    except FileNotFoundError:
        return FileKind("missing", "a file that does not exist")
    except OSError as exc:
        return FileKind("unreadable", f"a file that cannot be examined ({exc.strerror})")
    if stat.S_ISDIR(st.st_mode):
        return FileKind("directory", "a directory")
    if not stat.S_ISREG(st.st_mode):
        return FileKind("special", "not a regular file")
    if head is None:
        try:
            with open(p, "rb") as f:
                head = f.read(HEAD)
        except OSError as exc:
            return FileKind("unreadable", f"a file that cannot be read ({exc.strerror})")
    return kind_of_bytes(head, st.st_size, p)


__all__ = ["FileKind", "file_kind", "kind_of_bytes", "DEVICE_IDS"]
