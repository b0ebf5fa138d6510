"""Positioning a tape image: tell/seek, forward and back over blocks and
files, the place an append starts."""

from __future__ import annotations

from ..errors import FormatError, InvalidArgumentError
from .reading import Reading
from .state import AWS, FAKETAPE


class Positioning(Reading):
    """Where the tape is, and moving it."""

    def tell(self) -> int:
        """Offset of the next block's header (give it to :meth:`seek`)."""
        return self._pos

    def _file_size(self) -> int:
        return self._size if self._size is not None else self._win.file_size()

    def seek(self, offset: int) -> None:
        """Position at a block offset returned by :meth:`tell` or a Block's
        ``offset``.  Block and file numbers become unknown (-1)."""
        self._check_open()
        size = self._file_size()
        if not 0 <= offset <= size:
            raise InvalidArgumentError(f"offset {offset} outside the tape ({size} bytes)",
                                       path=self.path)
        if offset < size:
            b = self._scan(offset)  # validates that a block starts here
            self._last = b.prev if b is not None else 0
        else:
            self._last = int(self._walk_all(0).last) if size else 0
        self._pos = offset
        if offset == 0:
            self.block_number = self.file_number = 0
        else:
            self.block_number = self.file_number = -1

    def rewind(self) -> None:
        """Back to the load point."""
        self.seek(0)

    def skip_files(self, n: int = 1) -> int:
        """Forward space ``n`` files (past ``n`` tapemarks); returns how many
        were skipped before the end of the tape."""
        self._check_open()
        if n <= 0:
            return 0
        st = self._walk_all(self._pos, max_marks=n)
        if st.blocks:
            self._last = st.last
        self._pos = int(st.off)
        if self.block_number >= 0:
            self.block_number += int(st.blocks)
        if self.file_number >= 0:
            self.file_number += int(st.tapemarks)
        return int(st.tapemarks)

    def _prev_header(self, off: int, last: int) -> int:
        """Offset of the chunk (FakeTape: block) whose length is ``last`` and
        which ends at ``off``."""
        hdr = 12 if self._fmt == FAKETAPE else 6
        start = off - hdr - last
        if start < 0:
            raise FormatError(f"previous-length field {last} at offset {off} points before "
                              "the load point", path=self.path, offset=off)
        return start

    def backspace_block(self) -> bool:
        """Back over one block (or tapemark), following the previous-chunk
        lengths; False at the load point."""
        self._check_open()
        if self._pos == 0:
            return False
        start = self._prev_header(self._pos, self._last)
        if self._fmt == AWS:
            # walk back chunk by chunk to the chunk with BOR (or a tapemark);
            # every step goes back at least one header, so this ends
            while True:
                head = self._pread(6, start)
                if len(head) < 6 or head[4] & (0x80 | 0x40):
                    break
                start = self._prev_header(start, int.from_bytes(head[2:4], "little"))
        b = self._scan(start)
        if b is None or b.next != self._pos:
            raise FormatError(f"backspace from offset {self._pos} does not land on a block "
                              "boundary", path=self.path, offset=start)
        self._pos = start
        self._last = b.prev
        if self.block_number > 0:
            self.block_number -= 1
        if b.tapemark and self.file_number > 0:
            self.file_number -= 1
        return True

    def backspace_file(self) -> bool:
        """Back over blocks until a tapemark has been passed (positioned before
        it), like BSF; False when the load point was reached first."""
        while self.backspace_block():
            b = self._scan(self._pos)
            if b is not None and b.tapemark:
                return True
        return False

    def _position_for_append(self) -> None:
        st = self._walk_all(0)
        end = int(st.off)
        if not st.data_blocks:
            start = 0
        elif st.trailing >= 2:
            start = int(st.mark[1])  # keep the tapemark that closes the last file
        else:
            start = end
        self.seek(start)
        self._append = (start, end, self._pread(end - start, start))
