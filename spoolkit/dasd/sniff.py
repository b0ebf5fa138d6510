"""What a file is when it is not a disk image: enough to say so in the error.

Plain FBA images have no header (block 0 is at offset 0), so "anything
else" would open as FBA; :func:`open_dasd` accepts a headerless file as FBA
only when it is whole 512-byte blocks and none of the kinds named here.
"""

from __future__ import annotations

import os
from typing import Optional

from ..errors import FormatError, InvalidArgumentError

BLOCK = 512
MAX_FBA_BLOCKS = 0x7FFFFFFF
_HEX = frozenset(b"0123456789abcdefABCDEF")
_TEXT = frozenset(range(0x20, 0x7F)) | {0x09, 0x0A, 0x0D, 0x0C}


def _aws_like(head: bytes, size: int) -> Optional[str]:
    """AWS/HET: a chain of 6-byte headers {cur LE16, prev LE16, flags1, flags2};
    the first block has prev 0 and the next header's prev repeats cur."""
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
    elif nxt != size and nxt + 6 > size:
        return None
    return "a HET tape image" if f1 & 0x03 or head[5] & 0x80 else "an AWS tape image"


def _faketape_like(head: bytes) -> bool:
    # 12 ASCII hex digits: previous length (0000 first), current length, XOR check
    return len(head) >= 12 and head[:4] == b"0000" and all(c in _HEX for c in head[:12]) \
        and int(head[4:8], 16) ^ int(head[:4], 16) == int(head[8:12], 16)


def _text_like(head: bytes) -> bool:
    if not head:
        return False
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as exc:   # a multi-byte character cut at the end is fine
        if exc.start < len(head) - 3:
            return False
        text = head[:exc.start].decode("utf-8")
    return all(ord(c) >= 0x80 or ord(c) in _TEXT for c in text)


def describe(head: bytes, size: int) -> Optional[str]:
    """"an AWS tape image", "a text file", ... for a file that is recognisably
    not a disk image, from its first bytes (4 KiB are plenty); else None."""
    if size == 0:
        return "an empty file"
    if _faketape_like(head):
        return "a FakeTape tape image"
    aws = _aws_like(head, size)
    if aws:
        return aws
    if head[:2] == b"\x1f\x8b":
        return "a gzip file"
    if head[:4] == b"PK\x03\x04":
        return "a zip file"
    if head[:3] == b"BZh":
        return "a bzip2 file"
    if _text_like(head):
        return "a text file"
    return None


def check_plain_fba(path: str, head: bytes, size: int) -> None:
    """Raise unless a file without a known device id can be a plain FBA image."""
    what = describe(head, size)
    if what:
        raise FormatError(f"not a disk image (this looks like {what})", path=path, offset=0)
    if size % BLOCK or size < 2 * BLOCK or size // BLOCK > MAX_FBA_BLOCKS:
        raise FormatError(f"not a disk image: no known device id ({head[:8]!r}), and "
                          f"{size} bytes is not a plain FBA image of whole 512-byte blocks",
                          path=path, offset=0)


def read_head(path: str, n: int = 4096) -> tuple[bytes, int]:
    """The first ``n`` bytes and the size of ``path``; a directory or other
    non-regular file is refused with a typed error."""
    if os.path.isdir(path):
        raise InvalidArgumentError("is a directory, not a disk image", path=path)
    with open(path, "rb") as f:
        st = os.fstat(f.fileno())
        if not os.path.stat.S_ISREG(st.st_mode) and not os.path.stat.S_ISBLK(st.st_mode):
            raise InvalidArgumentError("not a regular file, not a disk image", path=path)
        head = f.read(n)
    return head, (st.st_size if st.st_size else len(head))
