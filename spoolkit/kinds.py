"""What a file is, by its first bytes: a disk image, a tape image, text, ...

Every layer that is given the wrong kind of file says so with these names
("not a tape image (this is a CKD disk image)", "not a disk image (this
looks like an AWS tape image)") instead of reporting the first header it
fails to parse.  Disk images are told by the 8-byte device id Hercules
writes at offset 0; plain FBA images have none and are told by their volume
label in block 1; tape images by their first block header.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from typing import NamedTuple, Optional, Union

from ._native import ffi, lib, new_err

HEAD = 4096


class DeviceId(NamedTuple):
    """What the device id at offset 0 of a Hercules disk image says."""

    kind: str           # "ckd", "cckd64", "cfba-shadow", ...
    text: str           # "a CKD disk image", as a phrase
    name: str           # "CKD", "compressed CKD (64-bit)": the disk kind in a sentence
    family: str         # "ckd" or "fba"


DEVICE_IDS = {
    "CKD_P370": DeviceId("ckd", "a CKD disk image", "CKD", "ckd"),
    "CKD_P064": DeviceId("ckd64", "a CKD64 disk image", "CKD (64-bit)", "ckd"),
    "CKD_C370": DeviceId("cckd", "a compressed CKD disk image (CCKD)", "compressed CKD",
                         "ckd"),
    "CKD_C064": DeviceId("cckd64", "a compressed CKD64 disk image (CCKD64)",
                         "compressed CKD (64-bit)", "ckd"),
    "CKD_S370": DeviceId("cckd-shadow", "a CCKD shadow file", "CKD shadow", "ckd"),
    "CKD_S064": DeviceId("cckd64-shadow", "a CCKD64 shadow file", "CKD shadow (64-bit)",
                         "ckd"),
    "FBA_C370": DeviceId("cfba", "a compressed FBA disk image (CFBA)", "compressed FBA",
                         "fba"),
    "FBA_C064": DeviceId("cfba64", "a compressed FBA64 disk image (CFBA64)",
                         "compressed FBA (64-bit)", "fba"),
    "FBA_S370": DeviceId("cfba-shadow", "a CFBA shadow file", "FBA shadow", "fba"),
    "FBA_S064": DeviceId("cfba64-shadow", "a CFBA64 shadow file", "FBA shadow (64-bit)",
                         "fba"),
}
TAPES = {"aws": "an AWS tape image", "het": "a HET tape image", "fkt": "a FakeTape image"}
#: other files a verb may be given by mistake, by their magic
ARCHIVES = ((b"\x1f\x8b", "a gzip file"), (b"PK\x03\x04", "a zip file"),
            (b"BZh", "a bzip2 file"))
_FBA_LABELS = tuple(t.encode("cp037") for t in ("VOL1", "CMS1"))
_HEX = frozenset(b"0123456789abcdefABCDEF")
_TEXT = frozenset(range(0x20, 0x7F)) | {0x09, 0x0A, 0x0D, 0x0C}


def device_id(head: bytes) -> Optional[DeviceId]:
    """The Hercules device id ``head`` starts with, or None."""
    return DEVICE_IDS.get(head[:8].decode("ascii", "replace"))


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
        return self.kind in {d.kind for d in DEVICE_IDS.values()} or self.kind == "fba"

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


def tape_header(head: bytes, size: Optional[int] = None) -> Optional[str]:
    """"aws", "het" or "fkt" when ``head`` starts with a plausible first
    block header (checked in Python, no parser: for telling a file that is
    not a disk image what it is), else None.  ``size``: the file's, when known.

    AWS/HET: a chain of 6-byte headers {cur LE16, prev LE16, flags1, flags2};
    the first block has prev 0 and the next header's prev repeats cur.
    FakeTape: 12 ASCII hex digits, previous length (0000 first), current
    length, XOR check."""
    if len(head) >= 12 and head[:4] == b"0000" and all(c in _HEX for c in head[:12]) \
            and int(head[4:8], 16) ^ int(head[:4], 16) == int(head[8:12], 16):
        return "fkt"
    if len(head) < 6:
        return None
    cur = int.from_bytes(head[0:2], "little")
    prev = int.from_bytes(head[2:4], "little")
    f1 = head[4]
    if prev != 0 or not f1 & 0xE0 or f1 & 0x1C:
        return None
    if f1 & 0x40 and cur:              # a tapemark carries no data
        return None
    nxt = 6 + cur
    if nxt + 6 <= len(head):
        if int.from_bytes(head[nxt + 2:nxt + 4], "little") != cur:
            return None
    elif size is not None and nxt != size and nxt + 6 > size:
        return None
    return "het" if f1 & 0x03 or head[5] & 0x80 else "aws"


def _first_block_ok(head: bytes, size: int, fmt: str) -> bool:
    """The first block's headers parse in the C tape reader (as far as
    ``head`` reaches)."""
    src = ffi.new("spk_tape_src *")
    keep = ffi.from_buffer(head)
    src.buf, src.base, src.len, src.size = keep, 0, len(head), size
    src.format = lib.SPK_TAPE_FAKETAPE if fmt == "fkt" else lib.SPK_TAPE_AWS
    b = ffi.new("spk_tape_block *")
    rc = lib.spk_tape_scan_block(src, 0, b, new_err())
    return bool(rc >= 0 or rc == lib.SPK_EWINDOW)


def is_text(head: bytes) -> bool:
    """``head`` decodes as UTF-8 of printable characters and line controls (a
    multi-byte character cut at the end of the head still counts)."""
    if not head:
        return False
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(head) - 3:
            return False
        text = head[:exc.start].decode("utf-8")
    return all(ord(c) >= 0x80 or ord(c) in _TEXT for c in text)


def archive_magic(head: bytes) -> Optional[str]:
    """"a gzip file", "a zip file", "a bzip2 file", or None."""
    return next((text for magic, text in ARCHIVES if head.startswith(magic)), None)


def kind_of_bytes(head: bytes, size: int, name: str = "") -> FileKind:
    """The kind of a regular file of ``size`` bytes that starts with ``head``."""
    if size == 0:
        return FileKind("empty", "an empty file")
    ident = device_id(head)
    if ident is not None:
        return FileKind(ident.kind, ident.text)
    fmt = tape_format(head, name)
    if _first_block_ok(head, size, fmt):
        return FileKind(fmt, TAPES[fmt])
    if size % 512 == 0 and size >= 1024 and head[512:516] in _FBA_LABELS:
        return FileKind("fba", "an FBA disk image")
    # twelve hex digits are a (damaged) FakeTape header: the parser names the damage
    looks_fkt = len(head) >= 12 and all(c in _HEX for c in head[:12])
    if is_text(head) and not looks_fkt:
        return FileKind("text", "a text file")
    magic = archive_magic(head)
    if magic is not None:
        return FileKind(magic.split()[1], magic)
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


def not_a_disk(head: bytes, size: int) -> Optional[str]:
    """"an AWS tape image", "a text file", ... for a file without a device id
    that is recognisably not a disk image, from its first bytes (4 KiB are
    plenty); else None (it may be a plain FBA image)."""
    if size == 0:
        return "an empty file"
    tape = tape_header(head, size)
    if tape is not None:
        return TAPES[tape]
    magic = archive_magic(head)
    if magic is not None:
        return magic
    if is_text(head):
        return "a text file"
    return None


def disk_kind(path: str) -> Optional[str]:
    """``"CKD"``, ``"compressed CKD"``, ``"compressed FBA"``, ... when ``path``
    starts with a Hercules device id, else None."""
    try:
        with open(path, "rb") as f:
            head = f.read(8)
    except OSError:
        return None
    ident = device_id(head)
    return ident.name if ident is not None else None


__all__ = ["ARCHIVES", "DEVICE_IDS", "DeviceId", "FileKind", "HEAD", "TAPES", "archive_magic",
           "device_id", "disk_kind", "file_kind", "is_text", "kind_of_bytes", "not_a_disk",
           "tape_format", "tape_header"]
