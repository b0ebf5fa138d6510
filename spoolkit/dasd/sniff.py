"""What a file is when it is not a disk image: enough to say so in the error.

Plain FBA images have no header (block 0 is at offset 0), so "anything
else" would open as FBA; :func:`open_dasd` accepts a headerless file as FBA
only when it is whole 512-byte blocks and none of the kinds named here.
"""

from __future__ import annotations

import os
import stat

from ..errors import FormatError, InvalidArgumentError

TYPE_CHECKING = False  # typing costs every command's start
if TYPE_CHECKING:
    from typing import Optional

BLOCK = 512
MAX_FBA_BLOCKS = 0x7FFFFFFF


def describe(head: bytes, size: int) -> Optional[str]:
    """"an AWS tape image", "a text file", ... for a file that is recognisably
    not a disk image, from its first bytes (4 KiB are plenty); else None."""
    from ..kinds import not_a_disk  # here: only the error paths describe

    return not_a_disk(head, size)


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
        if not stat.S_ISREG(st.st_mode) and not stat.S_ISBLK(st.st_mode):
            raise InvalidArgumentError("not a regular file, not a disk image", path=path)
        head = f.read(n)
    return head, (st.st_size if st.st_size else len(head))
