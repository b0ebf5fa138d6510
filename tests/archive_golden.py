"""Deterministic DUMPs for the archive byte-identity tests: a small generated
spool volume plus a source that hands pages over in uneven pieces, dumped to
every target kind with a fixed clock.  ``python tests/archive_golden.py``
prints the SHA-256 of each archive (how the constants in
``test_backup_identity.py`` were captured from the pure-Python encoder)."""

from __future__ import annotations

import datetime as dt
import hashlib
import random
import types
from pathlib import Path
from typing import Any

from spoolkit import create_dasd
from spoolkit.backup import VolumeSource, dump, writer
from spoolkit.backup import blocks as A
from spoolkit.backup.writer import ArchiveFile
from spoolkit.spool import SpoolFile, create_volume, open_volume
from spoolkit.tape import open_tape

EXTENTS = [("SPOL", 1, 10), ("DRCT", 11, 11)]
CLOCK = 1_790_000_000.25            # fixed time.time() for the run header
T0 = dt.datetime(2026, 11, 1, 8, 0, tzinfo=dt.timezone.utc)
#: data pages of the generated files: around the 15-page block boundary
SIZES = [1, 14, 15, 16, 29, 30, 31, 47]


def spool_files() -> list[SpoolFile]:
    """Files whose chains take about SIZES pages (4000-byte records, one a page)."""
    out = []
    for i, n in enumerate(SIZES):
        rnd = random.Random(1000 + i)
        # odd files: random (stored plain on HET), even: text (compressed)
        recs = [(0x09, rnd.randbytes(4000) if i % 2 else
                 ((b"\xc8\xc5\xd3\xd3\xd6 %d " % j) * 300)[:4000]) for j in range(n)]
        out.append(SpoolFile(type="PRT", owner="USER%d" % i, spoolid=100 + i,
                             fname="F%d" % i, ftype="LISTING", class_="A",
                             created=T0 + dt.timedelta(minutes=i), records=recs))
    return out


def make_volume(path: Path) -> Path:
    with create_volume(path, "3390", volser="SPL001", extents=EXTENTS, cylinders=20) as vol:
        for sf in spool_files():
            vol.add(sf)
    return path


class PiecesSource:
    """Archive files whose pages come in uneven buffers (bytes, bytearray,
    memoryview), as a chain walk might yield them."""

    name = "PIECES"

    def __init__(self, seed: int = 7, sizes: tuple[int, ...] = (1, 15, 16, 44, 45, 46, 90)
                 ) -> None:
        self.files = []
        rnd = random.Random(seed)
        for i, n in enumerate(sizes):
            pages = b"".join(rnd.randbytes(A.PAGE_SIZE) if (i + j) % 3 else
                             bytes([j % 256]) * A.PAGE_SIZE for j in range(n))
            header = rnd.randbytes(A.PAGE_SIZE)
            cuts = sorted({0, n, *(rnd.randrange(n + 1) for _ in range(4))})
            kinds = (bytes, bytearray, memoryview)
            pieces = [kinds[j % 3](pages[a * A.PAGE_SIZE:b * A.PAGE_SIZE])
                      for j, (a, b) in enumerate(zip(cuts, cuts[1:]))]
            e = A.CatalogEntry(0, 200 + i, "OWNER%d" % i, "RDR", "A", n, n * 3,
                               1_700_000_000_000_000 + i, A.crc32c(pages), fname="P%d" % i)
            self.files.append((e, header, pieces))

    def archive_files(self, select: Any = None) -> Any:
        for e, header, pieces in self.files:
            yield ArchiveFile(A.CatalogEntry(**{k: getattr(e, k) for k in
                                                e.__dataclass_fields__}),
                              header, lambda p=pieces: iter(p))

    def identities(self, select: Any = None) -> set:
        return set()


#: target name -> (file name, dump keyword arguments, open_tape keyword arguments)
TARGETS: dict[str, tuple[str, dict[str, Any], dict[str, Any]]] = {
    "aws": ("a.aws", {}, {}),
    "aws4k": ("s.aws", {}, {"chunk_size": 4096}),
    "het": ("h.het", {"compress": "zlib", "level": 1}, {}),
    "hetbz": ("b.het", {"compress": "bzip2", "level": 9}, {}),
    "fkt": ("f.fkt", {}, {}),
    "mdisk": ("md.3390", {}, {}),
}


def dump_bytes(src: Any, tmp: Path, target: str, monkeypatch: Any = None) -> bytes:
    """The archive bytes of one deterministic DUMP of ``src`` to ``target``
    (the whole tape image, or the minidisk extent's track data)."""
    fake = types.SimpleNamespace(time=lambda: CLOCK)
    old = writer.time
    writer.time = fake                 # fixed run ID and created stamp
    try:
        name, kw, topen = TARGETS[target]
        path = tmp / name
        if target == "mdisk":
            create_dasd(path, "3390", volser="BKUP01", cylinders=12).close()
            dump(src, f"{path}@1-10", append=False)
            return _extent_bytes(path, 1, 10)
        if topen:
            with open_tape(path, "w", format="aws", **topen) as t:
                dump(src, t)
        else:
            dump(src, path, append=False, **kw)
        return path.read_bytes()
    finally:
        writer.time = old


def _extent_bytes(path: Path, lo: int, hi: int) -> bytes:
    from spoolkit.dasd import open_dasd

    out = bytearray()
    with open_dasd(path) as dev:
        for cyl in range(lo, hi + 1):
            for head in range(dev.heads):
                out += dev.read_track(cyl, head).image
    return bytes(out)


def volume_source(path: Path) -> VolumeSource:
    src = VolumeSource(open_volume(path))
    src.name = "SPL001"                # not the temp path: the run header records it
    return src


def digests(tmp: Path) -> dict[str, str]:
    vol = make_volume(tmp / "src.3390")
    out = {}
    for target in TARGETS:
        for label, make in (("volume", lambda: volume_source(vol)),
                            ("pieces", PiecesSource)):
            src = make()
            run = tmp / f"{label}-{target}"       # each dump to a fresh destination
            run.mkdir()
            data = dump_bytes(src, run, target)
            out[f"{label}-{target}"] = hashlib.sha256(data).hexdigest()
            if hasattr(src, "close"):
                src.close()
    return out


if __name__ == "__main__":
    import tempfile

    with tempfile.TemporaryDirectory() as d:
        for k, v in digests(Path(d)).items():
            print(f'    "{k}": "{v}",')
