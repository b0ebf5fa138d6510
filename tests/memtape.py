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


class FileTape:
    """A file-backed tape double with the ``open_tape`` API: each block is a
    flag byte, a 4-byte length and the data; writes truncate as on a tape.
    Lets the tape-file logic (temp file + rename, truncate back on a failed
    append) be tested without a real tape format."""

    def __init__(self, path, mode="r", **kw):
        self.path = str(path)
        self.mode = mode
        self.f = open(self.path, {"r": "rb", "w": "w+b", "a": "r+b"}[mode])
        if mode == "a":
            self.f.seek(0, 2)
        self.bytes_read = 0

    def _put(self, flag, data):
        if self.mode == "r":
            raise OSError("read-only")
        self.f.write(bytes([flag]) + len(data).to_bytes(4, "big") + bytes(data))
        self.f.truncate()

    def write_block(self, data):
        self._put(0, data)

    def tapemark(self):
        self._put(1, b"")

    def read_block(self):
        offset = self.f.tell()
        head = self.f.read(5)
        if len(head) < 5:
            return None
        n = int.from_bytes(head[1:], "big")
        data = self.f.read(n)
        self.bytes_read += 5 + n
        return Block(data, head[0] == 1, offset)

    def skip_files(self, n=1):
        done = 0
        while done < n:
            head = self.f.read(5)
            if len(head) < 5:
                break
            self.bytes_read += 5
            self.f.seek(int.from_bytes(head[1:], "big"), 1)
            if head[0] == 1:
                done += 1
        return done

    def tell(self):
        return self.f.tell()

    def seek(self, offset):
        self.f.seek(offset)

    def rewind(self):
        self.f.seek(0)

    def close(self):
        self.f.close()
