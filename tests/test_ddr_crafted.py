"""DDR tapes crafted in the test from the documented layout (tests/ddr_layout.py,
../shared/docs/vm-formats.md §1.1), restored by spoolkit; damaged DDR tapes
give typed errors naming the tape block and the track."""

from __future__ import annotations

import hashlib
import os
import shutil
import struct
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT
from ddr_layout import Rec, cut_blocks, header_bytes, thr_buffer, track_records

from spoolkit import create_dasd, open_dasd
from spoolkit.ddr import COMPACT_HINT, Dump, describe_file, restore
from spoolkit.errors import (
    FormatError,
    InUseError,
    SpoolkitError,
    TruncatedError,
    UnsupportedError,
)
from spoolkit.lock import lock_fd
from spoolkit.tape import open_tape

#: the module (the package's ``restore`` is its function)
ddr_restore = sys.modules["spoolkit.ddr.restore"]
CLOCK = 0xB5E3_1234_5678_9000
HEADS = 19                      # a 3330: VHRMTCK 18, VHRMREC 100 (DMKDDR's table)


def content(cyl, head):
    """What the crafted dump holds on track cyl/head: (records, special)."""
    if (cyl, head) == (0, 0):
        return [Rec(0, 0, 1, b"", b"IPL1" * 6), Rec(0, 0, 3, b"VOL1".decode().encode("cp037"),
                b"\xe5\xd6\xd3\xf1" + "CRAFT1".encode("cp037") + bytes(70))], False
    if head == 2:               # three blocks: 4096, 4096, short
        return [Rec(cyl, head, 1, b"", bytes([cyl]) * 5000),
                Rec(cyl, head, 2, b"KEY2", bytes([head]) * 5000)], False
    if head == 3:               # last record written with write special CKD
        return [Rec(cyl, head, 1, b"", b"a" * 300), Rec(cyl, head, 2, b"", b"b" * 2000)], True
    if head == 4:               # an EOF record
        return [Rec(cyl, head, 1, b"", b"x" * 80), Rec(cyl, head, 2, b"", b"")], False
    if head == 5:               # exactly 4096 bytes: one block, no short block
        return [Rec(cyl, head, 1, b"", b"y" * (4096 - 40))], False
    return [], False            # R0 only: one 80-byte block


def track_blocks(cyl, head):
    recs, special = content(cyl, head)
    return cut_blocks(thr_buffer(cyl, head, recs, special=special))


def write_reel(path, first, tracks, end_kind, end_track):
    with open_tape(path, "w") as t:
        t.write_block(header_bytes("VHR", *first, CLOCK, 100, 410, 18, "CRAFT1"))
        for cyl, head in tracks:
            for b in track_blocks(cyl, head):
                t.write_block(b)
        t.write_block(header_bytes(end_kind, *end_track, CLOCK, 100, 410, 18, "CRAFT1"))
        t.tapemark()


def all_tracks(cyls):
    return [(c, h) for c in cyls for h in range(HEADS)]


@pytest.fixture
def crafted(tmp_path):
    """Two reels: cylinders 0-1, EOV at 1/7, then 1/7 to 2/18, EOJ."""
    tracks = all_tracks(range(3))
    split = tracks.index((1, 7))
    r1, r2 = tmp_path / "craft.aws", tmp_path / "craft.2.aws"
    write_reel(r1, (0, 0), tracks[:split], "EOV", (1, 7))
    write_reel(r2, (1, 7), tracks[split:], "EOJ", (2, 18))
    return r1, r2


def test_crafted_tape_restores_as_the_layout_says(crafted, tmp_path):
    r1, r2 = crafted
    out = tmp_path / "vol.3330"
    info = restore([r1, r2], out)
    assert info["tracks"] == 3 * HEADS and info["model"].startswith("3330")
    with open_dasd(out) as dev:
        assert (dev.devtype, dev.cylinders, dev.heads) == ("3330", 411, HEADS)
        assert dev.volser == "CRAFT1"
        for cyl in range(3):
            for head in range(HEADS):
                image = dev.read_track(cyl, head).image
                assert image[:5] == bytes([0]) + struct.pack(">HH", cyl, head)
                r0, recs = track_records(image)
                assert r0 == struct.pack(">HHBBH", cyl, head, 0, 0, 8) + bytes(8)
                want, special = content(cyl, head)
                assert [r for r, _ in recs] == want
                assert [o for _, o in recs] == [special and i == len(want) - 1
                                                for i in range(len(want))]
        assert dev.read_track(3, 0).nrecs == 0          # not on the tape: left empty


def test_crafted_tape_restores_a_reordered_extent(crafted, tmp_path):
    r1, r2 = crafted
    dst = tmp_path / "dst.3330"
    create_dasd(dst, "3330", volser="DST001", cylinders=20).close()
    restore([r1, r2], dst, cyl=(1, 2), reorder=10)
    with open_dasd(dst) as dev:
        for cyl in (10, 11):
            for head in range(HEADS):
                image = dev.read_track(cyl, head).image
                r0, recs = track_records(image)
                # a 3330's R0 names the track it is on; record counts keep their CCHH
                assert r0[:4] == struct.pack(">HH", cyl, head)
                assert [r for r, _ in recs] == content(cyl - 9, head)[0]
        assert dev.read_track(1, 2).nrecs == 0


def test_crafted_tape_summary_and_map(crafted):
    r1, r2 = crafted
    s = Dump([str(r1), str(r2)]).summary()
    assert s.tracks == 3 * HEADS and s.special == 3 and s.trailer.kind == "EOJ"
    assert [(e.first_cyl, e.last_cyl) for e in s.extents] == [(0, 2)]
    info = describe_file(r1, 0)
    assert info["volser"] == "CRAFT1" and info["devtype"] == "3330"
    assert info["tracks"] == HEADS + 7 and info["trailer"] == {"kind": "EOV", "track": [1, 7]}


def test_missing_next_reel_is_named(crafted, tmp_path):
    r1, r2 = crafted
    r2.rename(tmp_path / "elsewhere.aws")
    with pytest.raises(TruncatedError, match="another reel") as e:
        restore(r1, tmp_path / "v.3330")
    assert e.value.block is not None
    assert not (tmp_path / "v.3330").exists()


def test_wrong_second_reel_is_refused(crafted, tmp_path):
    r1, r2 = crafted
    other = tmp_path / "other.aws"
    with open_tape(other, "w") as t:
        t.write_block(header_bytes("VHR", 1, 7, CLOCK + 1, 100, 410, 18, "CRAFT1"))
    with pytest.raises(FormatError, match="wrong reel"):
        restore([r1, other], tmp_path / "v.3330")


def reel_blocks(path):
    with open_tape(path) as t:
        return [(b.offset, None if b.is_tapemark else b.data) for b in t]


def rewrite(path, blocks):
    with open_tape(path, "w", overwrite=True) as t:
        for b in blocks:
            if b is None:
                t.tapemark()
            else:
                t.write_block(b)


def test_truncated_tape_names_block_and_track(crafted, tmp_path):
    r1, _ = crafted
    blocks = reel_blocks(r1)
    # cut inside the second data block of track 0/2 (a 3-block track)
    idx = next(i for i, (_, b) in enumerate(blocks)
               if b and b[:4] == "THR ".encode("cp037") and b[12:16] == b"\0\0\0\2")
    cut_at = blocks[idx + 2][0] + 100
    data = r1.read_bytes()[:cut_at]
    bad = tmp_path / "cut.aws"
    bad.write_bytes(data)
    with pytest.raises(TruncatedError) as e:
        restore(bad, tmp_path / "v.3330")
    assert e.value.block == idx + 3 and e.value.track == (0, 2)
    assert "block %d" % (idx + 3) in str(e.value) and "track 0/2" in str(e.value)
    assert not (tmp_path / "v.3330").exists()


def test_tape_ending_before_trailer(crafted, tmp_path):
    r1, _ = crafted
    blocks = [b for _, b in reel_blocks(r1)]
    eov = next(i for i, b in enumerate(blocks) if b and b[:4] == "EOV ".encode("cp037"))
    bad = tmp_path / "noeov.aws"
    rewrite(bad, blocks[:eov] + [None])
    with pytest.raises(TruncatedError, match="before its EOV or EOJ") as e:
        Dump([str(bad)]).summary()
    assert e.value.block == eov + 1


@pytest.mark.parametrize("what", ["ndrt", "count", "drl", "flag", "r0", "tapemark", "vhr",
                                  "short"])
def test_corrupted_thr_is_a_typed_error(crafted, tmp_path, what):
    r1, _ = crafted
    blocks = [b for _, b in reel_blocks(r1)]
    idx = next(i for i, b in enumerate(blocks)
               if b and b[:4] == "THR ".encode("cp037") and b[12:16] == b"\0\1\0\2")
    thr = bytearray(blocks[idx])
    if what == "ndrt":
        thr[6:8] = b"\0\5"
    elif what == "count":
        thr[32 + 6:32 + 8] = b"\x13\x88"[::-1]        # record 1 DL 0x8813
    elif what == "drl":
        thr[8:10] = b"\0\x10"                         # 16 < 80
    elif what == "flag":
        thr[10] = 0x82
    elif what == "r0":
        thr[16 + 7] = 9                               # R0 DL 9
    blocks[idx] = bytes(thr)
    if what == "tapemark":
        blocks[idx + 1] = None
    elif what == "vhr":
        blocks[idx] = header_bytes("VHR", 1, 2, CLOCK, 100, 410, 18, "CRAFT1")
    elif what == "short":
        blocks[idx + 2] = blocks[idx + 2][:-1]
    bad = tmp_path / f"bad-{what}.aws"
    rewrite(bad, blocks)
    with pytest.raises(SpoolkitError) as e:
        restore(bad, tmp_path / "v.3330")
    err = e.value
    assert isinstance(err, (FormatError, TruncatedError)), err
    assert err.block is not None and err.block >= idx + 1
    if what != "vhr":
        assert err.track == (1, 2), err
    assert not (tmp_path / "v.3330").exists()


def test_compacted_tape_is_refused(tmp_path):
    bad = tmp_path / "compact.aws"
    rewrite(bad, [header_bytes("VHR", 0, 0, CLOCK, 100, 410, 18, "CMP001"),
                  bytes(range(256)) * 12, b"\x12\x34" * 900, None])
    with pytest.raises(UnsupportedError, match="COMPACT or LZCOMPACT") as e:
        restore(bad, tmp_path / "v.3330")
    assert e.value.block == 2 and COMPACT_HINT in str(e.value)
    assert not (tmp_path / "v.3330").exists()


def test_not_a_ddr_tape(tmp_path):
    bad = tmp_path / "plain.aws"
    rewrite(bad, [b"HELLO" * 20, None])
    with pytest.raises(FormatError, match="no DDR volume header") as e:
        restore(bad, tmp_path / "v.3330")
    assert e.value.block == 1


def _digest(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def _exclusive_lock_from_another_process(path):
    """A writer's exclusive lock on ``path`` taken in a child process, not
    waiting: its exit code (0 taken, 3 refused as in use)."""
    code = ("import sys, os\n"
            "from spoolkit.lock import lock_fd\nfrom spoolkit.errors import InUseError\n"
            "fd = os.open(sys.argv[1], os.O_RDWR)\n"
            "try:\n    lock_fd(fd, sys.argv[1], exclusive=True, wait=0)\n"
            "except InUseError:\n    sys.exit(3)\n")
    return subprocess.run([sys.executable, "-c", code, str(path)], cwd=ROOT).returncode


def test_restore_holds_every_reel_from_check_to_write(crafted, tmp_path, monkeypatch):
    r1, r2 = crafted
    dst = tmp_path / "dst.3330"
    create_dasd(dst, "3330", volser="DST001", cylinders=5).close()
    passes = []
    real = ddr_restore._tracks

    def between_passes(dump, plan, summary, target, write, progress):
        if write is not None:      # the verify pass is done, the write pass starts
            passes.append([_exclusive_lock_from_another_process(r) for r in (r1, r2)])
            fd = os.open(r2, os.O_RDWR)
            try:
                with pytest.raises(InUseError):
                    lock_fd(fd, str(r2), exclusive=True, wait=0)
            finally:
                os.close(fd)
        else:
            passes.append("verify")
        return real(dump, plan, summary, target, write, progress)

    monkeypatch.setattr(ddr_restore, "_tracks", between_passes)
    info = restore([r1, r2], dst)
    assert passes == ["verify", [3, 3]] and info["tracks"] == 3 * HEADS
    assert info["reels"] == [str(r1), str(r2)]
    assert [_exclusive_lock_from_another_process(r) for r in (r1, r2)] == [0, 0]


def test_reel_replaced_between_check_and_write_is_refused(crafted, tmp_path, monkeypatch):
    r1, r2 = crafted
    dst = tmp_path / "dst.3330"
    create_dasd(dst, "3330", volser="DST001", cylinders=5).close()
    before = _digest(dst)
    real = ddr_restore._tracks

    def replace_reel2(dump, plan, summary, target, write, progress):
        if write is not None:      # a new file renamed over the name: no lock stops that
            copy = tmp_path / "copy.aws"
            shutil.copyfile(r2, copy)
            os.replace(copy, r2)
        return real(dump, plan, summary, target, write, progress)

    monkeypatch.setattr(ddr_restore, "_tracks", replace_reel2)
    with pytest.raises(InUseError, match="replaced or changed since") as e:
        restore([r1, r2], dst)
    assert e.value.path == str(r2)
    assert _digest(dst) == before


def test_reel_in_use_by_a_writer_is_refused(crafted, tmp_path):
    r1, r2 = crafted
    fd = os.open(r2, os.O_RDWR)
    try:
        lock_fd(fd, str(r2), exclusive=True, wait=0)
        with pytest.raises(InUseError) as e:
            restore([r1, r2], tmp_path / "v.3330", wait=0)
        assert e.value.path == str(r2)
    finally:
        os.close(fd)
    assert not (tmp_path / "v.3330").exists()


@pytest.mark.parametrize("eoj", [(2, 17), (1, 18), (3, 18), (0, 0)])
def test_eoj_naming_another_track_than_the_last(tmp_path, eoj):
    tracks = all_tracks(range(3))
    split = tracks.index((1, 7))
    r1, r2 = tmp_path / "e.aws", tmp_path / "e.2.aws"
    write_reel(r1, (0, 0), tracks[:split], "EOV", (1, 7))
    write_reel(r2, (1, 7), tracks[split:], "EOJ", eoj)
    eoj_block = 1 + sum(len(track_blocks(c, h)) for c, h in tracks[split:]) + 1
    with pytest.raises(FormatError, match=r"EOJ trailer names track %d/%d as the dump's last, "
                       r"but the last track on the tape is 2/18" % eoj) as e:
        restore([r1, r2], tmp_path / "v.3330")
    assert e.value.path == str(r2) and e.value.block == eoj_block and e.value.track == eoj
    assert not (tmp_path / "v.3330").exists()
    dst = tmp_path / "dst.3330"
    create_dasd(dst, "3330", volser="DST001", cylinders=5).close()
    before = _digest(dst)
    with pytest.raises(FormatError, match="EOJ trailer"):
        restore([r1, r2], dst)
    assert _digest(dst) == before            # refused in the verify pass
    with pytest.raises(FormatError, match="EOJ trailer"):
        Dump([str(r1), str(r2)]).summary()
    honest = tmp_path / "h.2.aws"
    write_reel(honest, (1, 7), tracks[split:], "EOJ", (2, 18))
    assert restore([r1, honest], tmp_path / "ok.3330")["tracks"] == 3 * HEADS
