"""Hostile and damaged disk images: no crash, no memory bomb, no write over
live data, typed errors that name the file; foreign shadows refused."""

from __future__ import annotations

import os
import struct
import subprocess
import sys
import textwrap

import pytest
from conftest import ROOT, small_cckd

import spoolkit
from spoolkit.dasd import open_dasd
from spoolkit.dasd.cckd import CompressedFile, shadow_name
from spoolkit.dasd.sample import fill_volume
from spoolkit.dasd.track import Track
from spoolkit.errors import (
    FormatError,
    InvalidArgumentError,
    SpoolkitError,
    TruncatedError,
)

L1 = 1024
ENV = {**os.environ, "PYTHONPATH": str(ROOT)}


def run_py(code: str, *args: str, timeout: int = 120) -> subprocess.CompletedProcess:
    """Run code in a fresh interpreter (a crash there must not take pytest down)."""
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code), *args], env=ENV,
                          capture_output=True, text=True, timeout=timeout)


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "spoolkit", *args], env=ENV,
                          capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def good(tmp_path_factory) -> bytes:
    return small_cckd(tmp_path_factory.mktemp("good"), seed=7)


def l2_offset(raw: bytes, g: int = 0) -> int:
    return struct.unpack_from("<I", raw, L1 + 4 * g)[0]


def entry(raw: bytes, trk: int) -> tuple[int, int, int]:
    return struct.unpack_from("<IHH", raw, l2_offset(raw) + 8 * trk)


def put(raw: bytes, off: int, fmt: str, *vals) -> bytes:
    b = bytearray(raw)
    struct.pack_into(fmt, b, off, *vals)
    return bytes(b)


def stored_tracks(raw: bytes) -> list[int]:
    return [t for t in range(90) if entry(raw, t)[0]]


# -- 1. the checker's use after free -----------------------------------------


@pytest.mark.parametrize("name", ["vm50u1.cckd", "cms/gcccms_201.cckd",
                                  "hercules-tests/3390.cckd64"])
def test_check_survives_l1_count_0x80(fixtures, tmp_path, name):
    raw = bytearray((fixtures / name).read_bytes())
    raw[516] = 0x80
    p = tmp_path / "bad.img"
    p.write_bytes(raw)
    for level in ("0", "3"):
        proc = cli("dasd", "check", str(p), "--level", level, "--json")
        assert proc.returncode == 1, (proc.returncode, proc.stderr[-2000:])
        assert '"offset": 516' in proc.stdout and "L1 table size 128" in proc.stdout
    # in-process too: the L2 problems are reported as plain values
    report = spoolkit.check_dasd(p, 1)
    assert not report["ok"]
    assert all(isinstance(e.get("track", 0), int) for e in report["errors"])


def test_check_reports_bad_l2_entries_after_the_arrays_are_gone(good, tmp_path):
    trk = stored_tracks(good)[3]
    off, ln, size = entry(good, trk)
    p = tmp_path / "b.cckd"
    p.write_bytes(put(good, l2_offset(good) + 8 * trk, "<IHH", off, ln, ln - 1))
    errs = spoolkit.check_dasd(p, 1)["errors"]
    assert [e["track"] for e in errs if e["kind"] == "l2"] == [trk]
    assert [e["offset"] for e in errs if e["kind"] == "l2"] == [off]


# -- 2. truncated under a reader ---------------------------------------------


def test_plain_ckd_truncated_while_open(tmp_path):
    p = tmp_path / "v.3390"
    spoolkit.create_dasd(p, "3390", "TRUNC1", cylinders=20).close()
    proc = run_py("""
        import os, sys
        from spoolkit.dasd import open_dasd
        from spoolkit.errors import TruncatedError
        path = sys.argv[1]
        with open_dasd(path) as d:
            d.read_track(19, 14)
            os.truncate(path, 512 + 56832 * 15 * 3)
            for call in (lambda: d.read_track(19, 14), d.scan):
                try:
                    call()
                except TruncatedError as exc:
                    print("typed:", exc)
                else:
                    print("no error")
    """, str(p))
    assert proc.returncode == 0, proc.stderr[-2000:]
    lines = proc.stdout.splitlines()
    assert len(lines) == 2 and all(ln.startswith("typed:") for ln in lines), proc.stdout
    assert "shrank" in lines[0] and str(p) in lines[0]


def test_cckd_truncated_while_open(good, tmp_path):
    p = tmp_path / "v.cckd"
    p.write_bytes(good)
    last = max(stored_tracks(good), key=lambda t: entry(good, t)[0])
    with open_dasd(p) as d:
        os.truncate(p, entry(good, last)[0] + 2)
        with pytest.raises(TruncatedError) as ei:
            d.read_track(*divmod(last, 30))
    assert ei.value.track == divmod(last, 30) and str(p) in str(ei.value)


# -- 3. counts bounded by the file and the geometry --------------------------


def test_l1_count_memory_bomb_refused(tmp_path, good):
    """A 1 MiB file whose L1 count says 261,888 tables (1 GiB of L2 entries)."""
    n = (1 << 20) // 4 - 256
    raw = bytearray(1 << 20)
    raw[:1024] = good[:1024]
    struct.pack_into("<i", raw, 516, n)
    p = tmp_path / "bomb.cckd"
    p.write_bytes(raw)
    proc = run_py("""
        import resource, sys
        resource.setrlimit(resource.RLIMIT_AS, (900 << 20, 900 << 20))
        from spoolkit.dasd import open_dasd
        from spoolkit.errors import SpoolkitError
        try:
            open_dasd(sys.argv[1])
        except SpoolkitError as exc:
            print(type(exc).__name__, exc)
    """, str(p))
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.startswith("FormatError") and "offset 516" in proc.stdout
    assert f"L1 table size {n} does not fit 3 cylinders" in proc.stdout


def test_l1_entries_sharing_one_table_decoded_once(tmp_path):
    """Every L1 entry of a 3390-sized header pointing at one L2 table."""
    p = tmp_path / "g.cckd"
    spoolkit.create_dasd(p, "3390", "SHARE1", cylinders=400, compress="zlib").close()
    raw = bytearray(p.read_bytes())
    (num_l1,) = struct.unpack_from("<i", raw, 516)
    first = struct.unpack_from("<I", raw, L1)[0]
    for g in range(num_l1):
        struct.pack_into("<I", raw, L1 + 4 * g, first)
    p.write_bytes(raw)
    f = CompressedFile(str(p), False, 0)
    try:
        assert list(f.l2.tabs) == [0] and len(f.l2.damaged) == num_l1 - 1
    finally:
        f.close()
    with open_dasd(p) as d:
        assert d.volser == "SHARE1"
        with pytest.raises(FormatError, match="overlaps the L2 table of L1 entry 0"):
            d.read_track(100, 0)
    errs = spoolkit.check_dasd(p, 1)["errors"]
    assert sum("overlaps the L2 table" in e["message"] for e in errs) == num_l1 - 1


@pytest.mark.parametrize("field,value,match", [
    (512 + 40, 0, "declares 0 cylinders"),                 # cdh_cyls
    (512 + 40, 0x7FFFFFFF, "declares 2147483647 cylinders"),
    (8, 100000, "bad geometry in header: 100000 heads"),   # dh_heads
])
def test_header_geometry_bounded(good, tmp_path, field, value, match):
    p = tmp_path / "g.cckd"
    p.write_bytes(put(good, field, "<I", value))
    with pytest.raises(FormatError, match=match) as ei:
        open_dasd(p)
    assert ei.value.path == str(p) and ei.value.offset is not None
    assert not spoolkit.check_dasd(p, 3)["ok"]


# -- 4. errors name the track as (cyl, head) ---------------------------------


def test_l2_entry_error_names_cylinder_and_head(good, tmp_path):
    trk = stored_tracks(good)[5]
    off, ln, _ = entry(good, trk)
    p = tmp_path / "b.cckd"
    p.write_bytes(put(good, l2_offset(good) + 8 * trk, "<IHH", off, 3, 3))
    with open_dasd(p) as d, pytest.raises(FormatError) as ei:
        d.read_track(*divmod(trk, 30))
    assert ei.value.track == divmod(trk, 30)
    assert f"track {trk // 30}/{trk % 30}" in str(ei.value)


def test_cfba_error_names_block(tmp_path):
    p = tmp_path / "b.cfba"
    with spoolkit.create_fba(p, "3370", blocks=1000, compress="zlib") as f:
        f.write_blocks(240, bytes(range(256)) * 2 * 120)
    raw = p.read_bytes()
    g2 = l2_offset(raw) + 8 * 2
    off, ln, size = struct.unpack_from("<IHH", raw, g2)
    assert off
    p.write_bytes(put(raw, g2, "<IHH", off, 4, 4))
    with open_dasd(p) as f, pytest.raises(FormatError) as ei:
        f.read_blocks(250, 1)
    assert ei.value.block == 240 and ei.value.track is None
    assert "block 240" in str(ei.value)


# -- 5. files that are not disk images ---------------------------------------


def _not_disks(tmp_path, fixtures):
    text = tmp_path / "notes.txt"
    text.write_text("line one\nline two\n" * 64)   # 1152 bytes: not 512-aligned anyway
    text512 = tmp_path / "five12.txt"
    text512.write_text("x" * 511 + "\n")
    empty = tmp_path / "empty.img"
    empty.write_bytes(b"")
    d = tmp_path / "dir.img"
    d.mkdir()
    odd = tmp_path / "odd.img"
    odd.write_bytes(bytes(range(256)) * 5)
    return [
        (fixtures / "hercules-tests" / "tape.aws", FormatError, "this looks like an AWS tape"),
        (fixtures / "j90009.het", FormatError, "this looks like a HET tape"),
        (text, FormatError, "this looks like a text file"),
        (text512, FormatError, "this looks like a text file"),
        (empty, FormatError, "empty file"),
        (d, InvalidArgumentError, "is a directory"),
        (odd, FormatError, "not a plain FBA image of whole 512-byte blocks"),
    ]


def test_open_dasd_names_what_a_file_is(tmp_path, fixtures):
    for path, cls, text in _not_disks(tmp_path, fixtures):
        with pytest.raises(cls) as ei:
            open_dasd(path)
        assert text in str(ei.value) and str(path) in str(ei.value), path
        with pytest.raises(cls):
            spoolkit.check_dasd(path)


def test_cli_dasd_info_on_not_disks(tmp_path, fixtures):
    for path, _, text in _not_disks(tmp_path, fixtures)[:3]:
        proc = cli("dasd", "info", str(path))
        assert proc.returncode == 2 and text in proc.stderr, proc.stderr
        assert "Traceback" not in proc.stderr


def test_plain_fba_still_opens(tmp_path):
    p = tmp_path / "p.fba"
    spoolkit.create_fba(p, "3370", blocks=300, volser="FBA001").close()
    with open_dasd(p) as f:
        assert (f.kind, f.blocks, f.volser) == ("FBA", 300, "FBA001")


# -- 6. r+ on a damaged image ------------------------------------------------


def _damaged(good: bytes) -> dict[str, bytes]:
    tracks = stored_tracks(good)
    a, b = tracks[2], tracks[3]
    off_b, ln_b, _ = entry(good, b)
    off_a, ln_a, sz_a = entry(good, a)
    end = len(good)
    return {
        # track a's entry points into track b's image
        "overlap": put(good, l2_offset(good) + 8 * a, "<IHH", off_b + 1, ln_a, sz_a),
        # the header claims a terabyte-sized file: new space would go there
        "size": put(good, 512 + 12, "<I", 0xFFFFF000),
        # a free block in the middle of track b's image
        "free": put(put(put(good, off_b, "<II", 0, 64), 512 + 20, "<I", off_b),
                    512 + 32, "<i", 1),
        # an L2 entry past the end of the file
        "past": put(good, l2_offset(good) + 8 * a, "<IHH", end + 10, ln_a, ln_a),
    }


@pytest.mark.parametrize("kind", ["overlap", "size", "free", "past"])
def test_rplus_refuses_damaged_tables(good, tmp_path, kind):
    raw = _damaged(good)[kind]
    p = tmp_path / "d.cckd"
    p.write_bytes(raw)
    with pytest.raises(FormatError, match="not opened for writing.*dasd check --repair") as ei:
        open_dasd(p, "r+")
    assert ei.value.path == str(p)
    assert p.read_bytes() == raw                       # nothing written, not even OPENED
    intact = [t for t in stored_tracks(good) if t not in (stored_tracks(good)[2:4])][-1]
    with open_dasd(p) as d:                            # reading what is intact still works
        assert d.read_track(*divmod(intact, 30)).nrecs > 0
    assert not spoolkit.check_dasd(p, 1)["ok"]


def test_rplus_sound_image_still_writable(good, tmp_path):
    p = tmp_path / "ok.cckd"
    p.write_bytes(good)
    with open_dasd(p, "r+") as d:
        d.write_track(2, 7, Track.from_records(2, 7, [(1, b"", b"new" * 50)]))
    with open_dasd(p) as d:
        assert bytes(d.read_track(2, 7).records[0].data) == b"new" * 50
    assert spoolkit.check_dasd(p, 3)["ok"]


# -- 7. shadow files belong to their base ------------------------------------


def _base(tmp_path, name: str, seed: int):
    plain = tmp_path / f"{name}.3350"
    with spoolkit.create_dasd(plain, "3350", "BASE01", cylinders=2) as img:
        fill_volume(img, seed=seed, fraction=0.5)
    out = tmp_path / f"{name}.cckd"
    spoolkit.convert(plain, out, compress="zlib")
    return out


def test_foreign_shadow_refused(tmp_path):
    a, b = _base(tmp_path, "a", 1), _base(tmp_path, "b", 2)
    sf = str(tmp_path / "sh_*.cckd")
    with open_dasd(a, "r+", sf=sf) as d:
        d.write_track(1, 2, Track.from_records(1, 2, [(1, b"", b"mine" * 30)]))
    raw = open(shadow_name(sf, 1), "rb").read()
    assert raw[512 + 496:512 + 504] == b"SPKBASE1"
    with open_dasd(a, sf=sf) as d:                       # its own base: fine
        assert bytes(d.read_track(1, 2).records[0].data) == b"mine" * 30
    for mode in ("r", "r+"):
        with pytest.raises(FormatError, match="made for another base image") as ei:
            open_dasd(b, mode, sf=sf)
        assert ei.value.path == shadow_name(sf, 1)
    assert open(shadow_name(sf, 1), "rb").read() == raw  # refused before any write


def test_shadow_refused_after_base_changed(tmp_path):
    a = _base(tmp_path, "a", 3)
    sf = str(tmp_path / "sh_*.cckd")
    open_dasd(a, "r+", sf=sf).close()
    with open_dasd(a, "r+") as d:                        # the base written behind its shadow
        d.write_track(0, 5, Track.from_records(0, 5, [(1, b"", b"x" * 80)]))
    with pytest.raises(FormatError, match="changed after the shadow was made"):
        open_dasd(a, sf=sf)


def test_unmarked_shadow_checked_by_hercules_fields(tmp_path):
    """A shadow as Hercules makes it (nothing recorded): the copied headers
    must still agree with the base."""
    a = _base(tmp_path, "a", 4)
    sf = str(tmp_path / "sh_*.cckd")
    open_dasd(a, "r+", sf=sf).close()
    sh = shadow_name(sf, 1)
    raw = bytearray(open(sh, "rb").read())
    raw[512 + 496:512 + 512] = bytes(16)
    open(sh, "wb").write(raw)
    with open_dasd(a, sf=sf) as d:
        assert d.volser == "BASE01"
    other = tmp_path / "o.cckd"
    spoolkit.create_dasd(other, "3380", "OTHER1", cylinders=2, compress="zlib").close()
    with pytest.raises(FormatError, match="shadow file of another volume"):
        open_dasd(other, sf=sf)


def test_errors_format(good, tmp_path):
    """Every error above formats (str() never raises)."""
    for kind, raw in _damaged(good).items():
        p = tmp_path / f"{kind}.cckd"
        p.write_bytes(raw)
        try:
            open_dasd(p, "r+").close()
        except SpoolkitError as exc:
            assert str(exc)
