"""What the VM/370 and EDF formats share: a file's data blocks and records."""

from __future__ import annotations

import threading
from array import array
from typing import Any, Iterator, Optional, Sequence

from .._native import check, ffi, lib, new_err
from ..errors import FormatError, SpoolkitError
from .extent import Extent
from .fst import FileStatus
from .records import CMSRecords, u32, u64

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
        each file's data, V files' blocks into a reused buffer, their records
        moved together there in C and copied once into their bytes."""
        bs = self.ext.blksize
        nf = len(files)
        allb = array("I")
        fstart = array("Q", [0])
        kind = bytearray(nf)                     # 0: F in place, 1: F, 2: V in the scratch
        at = array("Q", [0]) * nf
        size = array("Q", [0]) * nf
        lrecl = array("I", [0]) * nf
        nrecs = array("Q", [0]) * nf
        outs: list[Optional[bytes]] = [None] * nf
        vsize = 0
        for i, (f, b) in enumerate(zip(files, blocks)):
            allb.extend(b)
            fstart.append(len(allb))
            need = f.records * f.lrecl
            lrecl[i], nrecs[i], size[i] = f.lrecl, f.records, len(b) * bs
            if f.recfm != "V" and 0 < f.lrecl and 2 <= need <= min(size[i], 0xFFFFFFFF):
                # F records are the blocks' first records * lrecl bytes: a fresh
                # bytes object (no one else holds it yet) filled in place by C
                outs[i] = bytes(need)
                size[i] = need
            else:
                kind[i] = 2 if f.recfm == "V" else 1
                at[i] = vsize
                vsize += size[i]
        scratch = self._scratch_for(vsize)
        keep: list[Any] = []                     # the cdata views dests points into
        dests = ffi.new("spk_cms_dest[]", max(nf, 1))
        sbuf = ffi.from_buffer("uint8_t[]", scratch)
        for i in range(nf):
            o = outs[i]
            if o is not None:
                c = ffi.from_buffer("uint8_t[]", o)
                keep.append(c)
                dests[i].data = c
            else:
                dests[i].data = sbuf + at[i]
            dests[i].len = size[i]
        if len(allb):
            self.ext.read_files(allb, fstart, dests)
        ends = array("I", [0]) * sum(nrecs)
        got = array("Q", [0]) * nf
        bad = ffi.new("uint64_t *")
        err = new_err()
        rc = lib.spk_cms_unpack_files(sbuf, len(scratch), nf, ffi.from_buffer("uint8_t[]", kind),
                                      u64(at), u64(size), u32(lrecl), u64(nrecs), u32(ends),
                                      len(ends), u64(got), bad, err)
        check(rc, err, path=self.path)
        view = memoryview(scratch)
        recs: list[CMSRecords] = []
        e = 0
        for i in range(nf):
            o = outs[i]
            data = o if o is not None else bytes(view[at[i]:at[i] + got[i]])
            n = nrecs[i]
            recs.append(CMSRecords(data, ends[e:e + n]))
            e += n
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
