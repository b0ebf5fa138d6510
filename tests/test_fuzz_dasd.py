"""Fuzz families for disk images (CKD, CCKD/CCKD64, FBA/CFBA): real fixture
images and generated ones, mutated in their headers, L1/L2 tables, free
chain, track bytes and length, then opened, read, checked and scanned.

Only SpoolkitError subclasses may come out (and their str() must work); the
memory a file's tables take stays bounded by the file size.  CI runs these
under ASan/UBSan (see the PREAMBLE / README)."""

from __future__ import annotations

import os
import resource
import struct
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import spoolkit
from spoolkit.dasd import open_dasd
from spoolkit.dasd.cckd import CompressedFile
from spoolkit.dasd.sample import fill_volume
from spoolkit.errors import SpoolkitError

FIXTURES = Path("/work/shared/fixtures")
SETTINGS = settings(max_examples=300, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture,
                                           HealthCheck.too_slow])
MAX_RSS_GROWTH_KB = 512 * 1024
_RSS0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def _fixture_seeds() -> list[Path]:
    from conftest import FIXTURES as found
    base = found or FIXTURES
    names = ["vm14-3.cckd", "vm50u1.cckd", "cms/gcccms_201.cckd",
             "hercules-tests/3330.cckd64", "hercules-tests/3380.cckd64",
             "hercules-tests/3390.cckd64", "hercules-tests/CCWILS.3390-1.comp-z"]
    return [base / n for n in names if (base / n).is_file()]


@pytest.fixture(scope="module")
def seeds(tmp_path_factory) -> dict[str, list[bytes]]:
    d = tmp_path_factory.mktemp("seeds")
    plain = d / "g.3350"
    with spoolkit.create_dasd(plain, "3350", "FUZZ01", cylinders=2) as img:
        fill_volume(img, seed=11, fraction=0.6)
    cckd, cckd64 = d / "g.cckd", d / "g.cckd64"
    spoolkit.convert(plain, cckd, compress="zlib")
    spoolkit.convert(plain, cckd64, compress="bzip2", cckd64=True)
    # a generated image with a free chain: rewrite some tracks after conversion
    with open_dasd(cckd, "r+") as img:
        fill_volume(img, seed=12, fraction=0.2)
    fba = d / "g.fba"
    with spoolkit.create_fba(fba, "3370", blocks=600, volser="FBA001") as f:
        f.write_blocks(10, bytes(range(256)) * 20)
    cfbas = []
    for name, kw in (("g.cfba", {}), ("g.cfba64", {"cckd64": True})):
        p = d / name
        with spoolkit.create_fba(p, "3370", blocks=800, compress="zlib", **kw) as f:
            f.write_blocks(100, bytes(range(256)) * 2 * 150)
            f.write_blocks(300, b"\x40" * 512 * 7)
        cfbas.append(p.read_bytes())
    return {
        "ckd": [plain.read_bytes()],
        "cckd": [cckd.read_bytes(), cckd64.read_bytes()]
        + [p.read_bytes() for p in _fixture_seeds()],
        "fba": [fba.read_bytes()] + cfbas,
    }


# -- mutations ------------------------------------------------------------------

INTS = st.one_of(st.integers(0, 8), st.integers(0, 0xFFFF), st.integers(0, 2**32 - 1),
                 st.sampled_from([0x7FFFFFFF, 0x80000000, 0xFFFFFFFF, 0xFFFFFFFE]))


def _l1_pos(raw: bytes, i: int) -> int:
    is64 = raw[5:8] == b"064"
    return 1024 + i * (8 if is64 else 4)


def _tables(raw: bytes) -> list[int]:
    """Offsets of the L2 tables the L1 table names (of a compressed image)."""
    if len(raw) < 1024 or raw[4:5] not in (b"C", b"S"):
        return []
    is64 = raw[5:8] == b"064"
    n = max(0, min(struct.unpack_from("<i", raw, 516)[0], (len(raw) - 1024) // 8, 4096))
    fmt, esz = ("<Q", 8) if is64 else ("<I", 4)
    out = [struct.unpack_from(fmt, raw, 1024 + i * esz)[0] for i in range(n)]
    return [o for o in out if 1024 < o < len(raw) and o not in (0xFFFFFFFF, 2**64 - 1)]


@st.composite
def mutated(draw, raw: bytes) -> bytes:
    b = bytearray(raw)
    tables = _tables(raw)
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["hdr", "chdr", "l1", "l2", "free", "flip", "trunc",
                                   "bytes"]))
        if not b:
            break
        if op == "hdr":                       # device header: heads, track size, type...
            off = draw(st.sampled_from([8, 12, 16, 17, 18]))
            if off + 4 <= len(b):
                struct.pack_into("<I", b, off, draw(INTS))
        elif op == "chdr" and len(b) >= 560:  # compressed header fields
            off = 512 + 4 * draw(st.integers(0, 11))
            struct.pack_into("<I", b, off, draw(INTS))
        elif op == "l1" and len(b) >= 1032:
            i = draw(st.integers(0, 40))
            off = _l1_pos(raw, i)
            if off + 4 <= len(b):
                val = draw(st.one_of(INTS, st.sampled_from(tables or [0])))
                struct.pack_into("<I", b, off, val)
        elif op == "l2" and tables:
            t = draw(st.sampled_from(tables))
            is64 = raw[5:8] == b"064"
            e = t + draw(st.integers(0, 255)) * (16 if is64 else 8)
            if e + 8 <= len(b):
                field = draw(st.sampled_from([(0, "<I"), (4 if not is64 else 8, "<H"),
                                              (6 if not is64 else 10, "<H")]))
                val = draw(INTS) & (0xFFFF if field[1] == "<H" else 0xFFFFFFFF)
                struct.pack_into(field[1], b, e + field[0], val)
        elif op == "free" and len(b) >= 560:
            is64 = raw[5:8] == b"064"
            struct.pack_into("<I", b, 512 + (32 if is64 else 20),
                             draw(st.integers(0, len(b) + 64)))
            struct.pack_into("<I", b, 512 + (56 if is64 else 32), draw(st.integers(0, 70)))
        elif op == "flip":
            pos = draw(st.integers(0, len(b) - 1))
            b[pos] ^= 1 << draw(st.integers(0, 7))
        elif op == "trunc":
            del b[draw(st.integers(0, len(b) - 1)):]
        elif op == "bytes":
            pos = draw(st.integers(0, len(b) - 1))
            chunk = draw(st.binary(min_size=1, max_size=16))
            b[pos:pos + len(chunk)] = chunk
    return bytes(b)


# -- what every mutated image goes through -------------------------------------------


def _exercise(path: Path) -> None:
    size = path.stat().st_size
    try:
        f = CompressedFile(str(path), False, 0, problems=[])
    except SpoolkitError as exc:
        assert str(exc)
    else:
        try:  # tables decoded: only those the file holds, each once
            assert len(f.l2.tabs) * f.l2_bytes <= size
        finally:
            f.close()
    try:
        with open_dasd(path) as img:
            if hasattr(img, "read_track"):
                ntrk = min(img.total_tracks, 4 * img.heads)
                for trk in range(ntrk):
                    try:
                        img.read_track(*divmod(trk, img.heads))
                    except SpoolkitError as exc:
                        assert str(exc)
                img.scan(0, min(1, img.cylinders - 1))
            else:
                for start in range(0, min(img.blocks, 480), 120):
                    try:
                        img.read_blocks(start, min(120, img.blocks - start))
                    except SpoolkitError as exc:
                        assert str(exc)
    except SpoolkitError as exc:
        assert str(exc)
    try:
        report = spoolkit.check_dasd(path, 3, workers=1)
        assert isinstance(report["ok"], bool)
    except SpoolkitError as exc:
        assert str(exc)
    # ASan keeps freed memory in its quarantine: the bound is checked by the plain run
    if "asan" not in os.environ.get("LD_PRELOAD", ""):
        grown = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - _RSS0
        assert grown < MAX_RSS_GROWTH_KB, f"peak RSS grew by {grown} KiB"


def _family(seeds, kind: str, data, tmp_path) -> None:
    raw = data.draw(st.sampled_from(seeds[kind]))
    bad = data.draw(mutated(raw))
    p = tmp_path / "fuzz.img"
    p.write_bytes(bad)
    _exercise(p)


@pytest.mark.fuzz
@pytest.mark.parametrize("kind", ["ckd", "cckd", "fba"])  # CKD, CCKD/CCKD64, FBA/CFBA
@SETTINGS
@given(data=st.data())
def test_fuzz_disk_family(seeds, tmp_path, kind, data):
    _family(seeds, kind, data, tmp_path)


@pytest.mark.fuzz
@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_fuzz_rplus_never_writes_a_damaged_image(seeds, tmp_path, data):
    """r+ either refuses (file untouched) or the image checks out after a write."""
    from spoolkit.dasd.track import Track
    raw = data.draw(st.sampled_from(seeds["cckd"][:2]))
    bad = data.draw(mutated(raw))
    p = tmp_path / "w.cckd"
    p.write_bytes(bad)
    try:
        img = open_dasd(p, "r+")
    except SpoolkitError as exc:
        assert str(exc)
        assert p.read_bytes() == bad
        return
    with img:
        before = {}
        for trk in range(img.total_tracks):
            try:
                before[trk] = img.read_track(*divmod(trk, img.heads)).image
            except SpoolkitError:
                pass
        # track 1/3, or the last one of a volume the mutation made smaller
        target = min(img.heads + 3, img.total_tracks - 1)
        cyl, head = divmod(target, img.heads)
        img.write_track(cyl, head, Track.from_records(cyl, head, [(1, b"", b"fuzz" * 64)]))
    with open_dasd(p) as img:
        for trk, image in before.items():
            if trk != target:
                assert img.read_track(*divmod(trk, img.heads)).image == image, trk
