"""Volume dumps that lie: every SPKD/SPKT/SPKE count, size and track is checked
against the tape and the device before anything is created or written."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from conftest import ROOT
from memtape import MemTape

from spoolkit import Track, create_dasd, open_dasd, open_tape
from spoolkit.backup.blocks import seal
from spoolkit.dasd import ddr
from spoolkit.errors import (
    CapacityError,
    ChecksumError,
    FormatError,
    InvalidArgumentError,
    TruncatedError,
)


def header(model="3390-1", cylinders=2, first=0, last=None, heads=15, track_size=56832,
           devt=None):
    devt = int(model[:4], 16) if devt is None else devt
    last = cylinders - 1 if last is None else last
    return ddr.VolumeHeader(model[:4], devt, model, cylinders, heads, track_size, first, last,
                            "HOSTIL")


def track_block(cyl, head, image):
    return ddr._encode_track(cyl, head, image)


def trailer(tracks, nbytes):
    return seal(bytearray(ddr._END.pack(ddr.MAGIC_END, ddr.VERSION, 0, 0, tracks, nbytes)))


def dump_tape(hdr, tracks=None, end=None):
    """A MemTape holding hdr, the given (cyl, head, image) tracks (default: null
    tracks for the header's whole range) and a trailer (default: matching)."""
    tape = MemTape()
    tape.write_block(hdr.encode())
    if tracks is None:
        tracks = [(c, h, Track.null(c, h).image) for c in range(hdr.first_cyl, hdr.last_cyl + 1)
                  for h in range(hdr.heads)]
    nbytes = 0
    for cyl, head, image in tracks:
        tape.write_block(track_block(cyl, head, image))
        nbytes += len(image)
    tape.write_block(end if end is not None else trailer(len(tracks), nbytes))
    tape.tapemark()
    tape.rewind()
    return tape


def test_honest_crafted_dump_restores(tmp_path):
    # the helpers make dumps the reader accepts, so each refusal below is about one lie
    out = ddr.restore_volume(dump_tape(header()), tmp_path / "ok.3390")
    assert out["tracks"] == 30
    with open_dasd(tmp_path / "ok.3390") as dev:
        assert dev.cylinders == 2 and dev.read_track(1, 14) == Track.null(1, 14)


@pytest.mark.parametrize("hdr,match", [
    (header("3380-1", cylinders=8000, heads=15, track_size=47616), "claims 8000 cylinders"),
    (header("3390-1", cylinders=0, last=0), "claims 0 cylinders"),
    (header("3390-1", heads=16), "16 heads"),
    (header("3390-1", track_size=1 << 30), "1073741824-byte tracks"),
    (header("3390-1", devt=0x3380), "not a known CKD model"),
    (header("9999-1", devt=0x9999), "not a known CKD model"),
    (header("3390-1", first=1, last=0), "cylinders 1-0"),
    (header("3390-1", first=0, last=2), "cylinders 0-2 of 2"),
])
def test_inconsistent_geometry_refused_before_anything_is_created(tmp_path, hdr, match):
    tape = MemTape()
    tape.write_block(hdr.encode())
    tape.rewind()
    with pytest.raises(FormatError, match=match) as ei:
        ddr.restore_volume(tape, tmp_path / "new.img")
    assert ei.value.block == 0
    assert os.listdir(tmp_path) == []


def test_header_claiming_more_tracks_than_the_tape_holds(tmp_path):
    # the 13 KB dump that claimed 8000 cylinders: a 3380-x declares them, the tape holds 2
    hdr = header("3380-x", cylinders=8000, heads=15, track_size=47616)
    tracks = [(0, h, Track.null(0, h).image) for h in range(15)] + \
        [(1, h, Track.null(1, h).image) for h in range(15)]
    tape = dump_tape(hdr, tracks, end=b"")
    del tape.blocks[-2:]  # no trailer, no tapemark: the tape simply ends
    with pytest.raises(TruncatedError, match="after 30 of 120000 tracks") as ei:
        ddr.restore_volume(tape, tmp_path / "bomb.3380")
    assert ei.value.block == 31
    assert os.listdir(tmp_path) == []


def test_partial_dump_needs_an_existing_volume(tmp_path):
    hdr = header("3390-1", cylinders=1000, first=998, last=999)
    with pytest.raises(InvalidArgumentError, match="cylinders 998-999 of a 1000-cylinder"):
        ddr.restore_volume(dump_tape(hdr), tmp_path / "new.3390")
    assert os.listdir(tmp_path) == []
    target = tmp_path / "t.3390"
    create_dasd(target, "3390", cylinders=1000).close()
    assert ddr.restore_volume(dump_tape(hdr), target)["tracks"] == 30


def existing(tmp_path, cylinders=3, model="3390"):
    path = tmp_path / f"t.{model}"
    with create_dasd(path, model, volser="KEEPME", cylinders=cylinders) as dev:
        dev.write_track(0, 3, Track.from_records(0, 3, [(1, b"", b"precious" * 100)]))
        dev.write_track(1, 3, Track.from_records(1, 3, [(1, b"", b"precious" * 200)]))
    return path, path.read_bytes()


def filled(hdr, bad=None):
    """(cyl, head, image) for the header's range; track ``bad`` replaced by a callable's result."""
    out = []
    for c in range(hdr.first_cyl, hdr.last_cyl + 1):
        for h in range(hdr.heads):
            img = Track.from_records(c, h, [(1, b"", bytes([c, h]) * 50)]).image
            if bad and (c, h) == bad[0]:
                img = bad[1](c, h, img)
            out.append((c, h, img))
    return out


def over_capacity(c, h, img):
    # 13 x 4096 fits the 56832-byte slot but not a real 3390 track (12 do)
    return Track.from_records(c, h, [(r, b"", bytes(4096)) for r in range(1, 14)]).image


def no_eot(c, h, img):
    return img[:-8] + bytes(8)


def wrong_ha(c, h, img):
    return Track.from_records(c, h + 1 if h < 14 else 0, [(1, b"", b"x")]).image


def r0_as_record(c, h, img):
    return Track.from_records(c, h, [(1, b"", b"x"), (0, b"", b"y")]).image


@pytest.mark.parametrize("bad,exc,match", [
    (over_capacity, CapacityError, "does not fit"),
    (no_eot, FormatError, "end-of-track"),
    (wrong_ha, FormatError, "home address"),
    (r0_as_record, FormatError, "record number 0"),
])
def test_bad_track_late_in_dump_leaves_existing_volume_untouched(tmp_path, bad, exc, match):
    path, before = existing(tmp_path)
    hdr = header(cylinders=3)
    tape = dump_tape(hdr, filled(hdr, ((2, 7), bad)))
    with pytest.raises(exc, match=match) as ei:
        ddr.restore_volume(tape, path)
    assert ei.value.track == (2, 7) and ei.value.block == 2 * 15 + 7 + 1
    assert path.read_bytes() == before


def test_damaged_block_late_in_dump_leaves_existing_volume_untouched(tmp_path):
    path, before = existing(tmp_path)
    hdr = header(cylinders=3)
    tape = dump_tape(hdr, filled(hdr))
    blk = tape.blocks[40]
    blk.data = blk.data[:30] + bytes([blk.data[30] ^ 1]) + blk.data[31:]
    with pytest.raises(ChecksumError) as ei:
        ddr.restore_volume(tape, path)
    assert ei.value.block == 40 and ei.value.track == divmod(39, 15)
    assert path.read_bytes() == before


@pytest.mark.parametrize("lie", ["long", "short", "huge", "beyond_slot"])
def test_track_block_length_field_checked(tmp_path, lie):
    path, before = existing(tmp_path)
    hdr = header(cylinders=3)
    tracks = filled(hdr)
    tape = dump_tape(hdr, tracks)
    cyl, head, image = tracks[5]
    if lie == "beyond_slot":
        raw = bytearray(ddr._TRACK.pack(ddr.MAGIC_TRACK, 1, 0, 0, cyl, head, 60000))
        raw += image + bytes(60000 - len(image))
    else:
        n = {"long": len(image) + 1, "short": len(image) - 1, "huge": 0xFFFFFFFF}[lie]
        raw = bytearray(ddr._TRACK.pack(ddr.MAGIC_TRACK, 1, 0, 0, cyl, head, n)) + image
    tape.blocks[6].data = bytes(seal(raw))
    with pytest.raises(FormatError, match="image bytes") as ei:
        ddr.restore_volume(tape, path)
    assert ei.value.block == 6 and ei.value.track == (0, 5)
    assert path.read_bytes() == before


def test_extra_missing_and_misplaced_tracks(tmp_path):
    path, before = existing(tmp_path)
    hdr = header(cylinders=3, first=1, last=1)
    tracks = filled(hdr)
    # a block more than the header's range: never written beyond cylinder 1
    extra = tracks + [(2, 0, Track.null(2, 0).image)]
    with pytest.raises(FormatError, match="expected the SPKE trailer") as ei:
        ddr.restore_volume(dump_tape(hdr, extra), path)
    assert ei.value.block == 16
    # trailer counts that disagree with the blocks
    nbytes = sum(len(t[2]) for t in tracks)
    for end in (trailer(15, nbytes + 1), trailer(16, nbytes), trailer(2**32 - 1, 2**64 - 1)):
        with pytest.raises(FormatError, match="trailer says"):
            ddr.restore_volume(dump_tape(hdr, tracks, end), path)
    # a short trailer block, a track out of sequence
    with pytest.raises(FormatError, match="SPKE block of"):
        ddr.restore_volume(dump_tape(hdr, tracks, seal(bytearray(trailer(15, nbytes)[:-4] + b"x"))),
                           path)
    swapped = tracks[:3] + [tracks[4], tracks[3]] + tracks[5:]
    with pytest.raises(FormatError, match="for 1/4 where 1/3"):
        ddr.restore_volume(dump_tape(hdr, swapped), path)
    assert path.read_bytes() == before


def test_smaller_or_other_volume_refused_before_writing(tmp_path):
    small, before = existing(tmp_path, cylinders=2)
    with pytest.raises(InvalidArgumentError, match="reaches cylinder 2, the volume has 2"):
        ddr.restore_volume(dump_tape(header(cylinders=3)), small)
    assert small.read_bytes() == before
    other, before = existing(tmp_path, cylinders=3, model="3380")
    with pytest.raises(InvalidArgumentError, match="3380"):
        ddr.restore_volume(dump_tape(header(cylinders=3)), other)
    assert other.read_bytes() == before


def test_header_block_size_checked(tmp_path):
    raw = bytes(header().encode())
    for bad in (seal(bytearray(raw[:-4] + b"\0\0")), raw[:40]):
        tape = MemTape()
        tape.write_block(bad)
        tape.rewind()
        with pytest.raises(FormatError, match="SPKD block"):
            ddr.restore_volume(tape, tmp_path / "n.3390")
    assert os.listdir(tmp_path) == []


def test_cli_bomb_dump_exits_2_and_creates_nothing(tmp_path):
    tape_path = tmp_path / "bomb.aws"
    hdr = header("3380-x", cylinders=8000, heads=15, track_size=47616)
    with open_tape(tape_path, "w") as tape:
        tape.write_block(hdr.encode())
        for h in range(15):
            tape.write_block(track_block(0, h, Track.null(0, h).image))
        tape.tapemark()
    assert tape_path.stat().st_size < 16 * 1024
    target = tmp_path / "v.3380"
    proc = subprocess.run([sys.executable, "-m", "spoolkit", "dasd", "restore", str(tape_path),
                           str(target)], capture_output=True, text=True, timeout=60,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and proc.stderr.startswith("spoolkit: error: ")
    assert "bomb.aws" in proc.stderr and "block 16" in proc.stderr
    assert "15 of 120000 tracks" in proc.stderr
    assert sorted(os.listdir(tmp_path)) == ["bomb.aws"]


def test_damaged_dump_leaves_existing_compressed_volume_untouched(tmp_path):
    path = tmp_path / "t.cckd"
    with create_dasd(path, "3390", volser="KEEPME", cylinders=3, compress="zlib") as dev:
        dev.write_track(1, 3, Track.from_records(1, 3, [(1, b"", b"precious" * 200)]))
    before = path.read_bytes()
    hdr = header(cylinders=3)
    tape = dump_tape(hdr, filled(hdr, ((2, 14), over_capacity)))
    with pytest.raises(CapacityError):
        ddr.restore_volume(tape, path)
    assert path.read_bytes() == before
    tape = dump_tape(hdr, filled(hdr))
    assert ddr.restore_volume(tape, path)["tracks"] == 45
    with open_dasd(path) as dev:
        assert bytes(dev.read_track(2, 14).records[0].data) == bytes([2, 14]) * 50
