"""What the VM/370 and EDF formats share: a file's data blocks and records."""

from __future__ import annotations

import threading
from array import array
from typing import Any, Iterator, Optional, Sequence

from .._native import ffi
from ..errors import FormatError, SpoolkitError
from .extent import Extent
from .fst import FileStatus
from .records import CMSRecords, f_records, unpack_in_place

_SCRATCH = threading.local()
SCRATCH_KEEP = 64 << 20
RESOLVE_BATCHES = 8             # data batches whose chains are resolved together


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

    def resolve_many(self, files: Sequence[FileStatus]) -> list[array[int]]:
        """Every file's data blocks, the chains of all read together; any
        SpoolkitError means "resolve them one by one" (that names the file)."""
        return [self.data_blocks(f) for f in files]

    def data_block_batches(self, files: Sequence[FileStatus], budget: int
                           ) -> Iterator[tuple[list[FileStatus], list[array[int]]]]:
        """Files in order with their data blocks, in batches of about
        ``budget`` blocks (chains resolved RESOLVE_BATCHES batches at a
        time); a bad chain is raised at its own file, the files before it
        still given."""
        i = 0
        while i < len(files):
            chunk: list[FileStatus] = []
            est = 0
            while i < len(files) and (not chunk or est < budget * RESOLVE_BATCHES):
                chunk.append(files[i])
                est += max(files[i].blocks, 1)
                i += 1
            try:
                got = self.resolve_many(chunk)
            except SpoolkitError:
                for f in chunk:
                    yield [f], [self.data_blocks(f)]
                continue
            j = 0
            while j < len(chunk):
                k, size = j, 0
                while k < len(chunk) and (k == j or size < budget):
                    size += len(got[k])
                    k += 1
                yield chunk[j:k], got[j:k]
                j = k

    def read(self, f: FileStatus) -> CMSRecords:
        """The file's records."""
        return self.read_many([f], [self.data_blocks(f)])[0]

    def read_many(self, files: Sequence[FileStatus],
                  blocks: Sequence[array[int]]) -> list[CMSRecords]:
        """The records of ``files`` (``blocks``: each one's data blocks), their
        blocks gathered in one pass over the tracks: F records straight into
        each file's data, V files' blocks into a reused buffer and their
        records from there."""
        bs = self.ext.blksize
        allb = array("I")
        fstart = array("Q", [0])
        outs: list[Optional[bytes]] = []
        vat: list[int] = []                      # V (or bad F): offset in the scratch buffer
        vsize = 0
        for f, b in zip(files, blocks):
            allb.extend(b)
            fstart.append(len(allb))
            need = f.records * f.lrecl
            if f.recfm != "V" and 0 < f.lrecl and 2 <= need <= min(len(b) * bs, 0xFFFFFFFF):
                # F records are the blocks' first records * lrecl bytes: a fresh
                # bytes object (no one else holds it yet) filled in place by C
                outs.append(bytes(need))
                vat.append(-1)
            else:
                outs.append(None)
                vat.append(vsize)
                vsize += len(b) * bs
        scratch = self._scratch_for(vsize)
        keep: list[Any] = []                     # the cdata views dests points into
        dests = ffi.new("spk_cms_dest[]", max(len(files), 1))
        sbuf = ffi.from_buffer("uint8_t[]", scratch)
        for i in range(len(files)):
            o = outs[i]
            if o is not None:
                c = ffi.from_buffer("uint8_t[]", o)
                keep.append(c)
                dests[i].data, dests[i].len = c, len(o)
            elif vat[i] >= 0:
                dests[i].data, dests[i].len = sbuf + vat[i], (fstart[i + 1] - fstart[i]) * bs
        if vsize and 0 in allb:                   # null blocks read as zeros
            scratch[:vsize] = bytes(vsize)
        if len(allb):
            self.ext.read_files(allb, fstart, dests)
        view = memoryview(scratch)
        recs: list[CMSRecords] = []
        for i, f in enumerate(files):
            o = outs[i]
            if o is not None:
                recs.append(f_records(o, f.lrecl))
                continue
            n = (fstart[i + 1] - fstart[i]) * bs
            recs.append(unpack_in_place(view[vat[i]:vat[i] + n], f.recfm, f.lrecl, f.records,
                                     self.path))
        return recs

    def _scratch_for(self, size: int) -> bytearray:
        """A buffer of at least ``size`` bytes, this thread's (up to
        SCRATCH_KEEP kept between reads: fresh memory costs a page fault a
        page, more than the copy into it)."""
        buf: Optional[bytearray] = getattr(_SCRATCH, "buf", None)
        if buf is not None and len(buf) >= size:
            return buf
        buf = bytearray(max(size, 1))
        if size <= SCRATCH_KEEP:
            _SCRATCH.buf = buf
        return buf


__all__ = ["CMSDisk"]
