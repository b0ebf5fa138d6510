"""What the VM/370 and EDF formats share: a file's data blocks and records."""

from __future__ import annotations

from array import array
from typing import Optional, Sequence

from ..errors import FormatError
from .extent import Extent
from .fst import FileStatus
from .records import CMSRecords, unpack


class CMSDisk:
    """A CMS file system on an extent; a format gives :meth:`file_blocks`."""

    ext: Extent
    path: str

    def file_blocks(self, f: FileStatus) -> Sequence[Optional[array[int]]]:  # pragma: no cover
        """The file's chain or pointer blocks, then its data blocks, ..."""
        raise NotImplementedError

    def data_blocks(self, f: FileStatus) -> array[int]:
        """The file's data blocks, in order (0: a null block)."""
        if f.recfm not in ("F", "V"):
            raise FormatError(f"{f.name}: record format {f.recfm}", path=self.path)
        data = self.file_blocks(f)[1]
        assert data is not None                    # every format names its data blocks
        return data

    def read(self, f: FileStatus) -> CMSRecords:
        """The file's records."""
        blob = self.ext.read(self.data_blocks(f))
        return unpack(blob, f.recfm, f.lrecl, f.records, path=self.path)


__all__ = ["CMSDisk"]
