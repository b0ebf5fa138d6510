"""An in-memory tape with the block API of ``spoolkit.open_tape`` (write_block,
tapemark, read_block, tell/seek, rewind, skip_files) that counts the bytes it
reads and can fail on a chosen write: a test double for the archive layer."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional


@dataclass
class Block:
    data: bytes
    is_tapemark: bool
    offset: int


class MemTape:
    def __init__(self, fail_at: Optional[int] = None) -> None:
        self.blocks: list[Block] = []
        self.pos = 0
        self.bytes_read = 0
        self.writes = 0
        self.fail_at = fail_at

    # writing truncates, as on a real tape
    def _put(self, data: bytes, tm: bool) -> None:
        if self.fail_at is not None and self.writes >= self.fail_at:
            raise RuntimeError(f"simulated kill at write {self.writes}")
        self.writes += 1
        del self.blocks[self.pos:]
        self.blocks.append(Block(bytes(data), tm, self.pos))
        self.pos += 1

    def write_block(self, data) -> None:
        self._put(data, False)

    def tapemark(self) -> None:
        self._put(b"", True)

    def read_block(self):
        if self.pos >= len(self.blocks):
            return None
        b = self.blocks[self.pos]
        self.pos += 1
        self.bytes_read += len(b.data) + 6
        return b

    def tell(self) -> int:
        return self.pos

    def seek(self, offset: int) -> None:
        self.pos = offset

    def rewind(self) -> None:
        self.pos = 0

    def skip_files(self, n: int = 1) -> int:
        done = 0
        while done < n and self.pos < len(self.blocks):
            self.bytes_read += 6        # a real image reads only the block header
            b = self.blocks[self.pos]
            self.pos += 1
            if b.is_tapemark:
                done += 1
        return done

    @property
    def size(self) -> int:
        return sum(len(b.data) + 6 for b in self.blocks)

    def close(self) -> None:
        pass
