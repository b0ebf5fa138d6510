"""DDR-like volume dump/restore: whole track images through a tape."""

import pytest
from memtape import MemTape

from spoolkit import Track, create_dasd, open_dasd
from spoolkit.dasd import ddr
from spoolkit.errors import ChecksumError, FormatError, InvalidArgumentError, TruncatedError


def fill(dev, cyls):
    for cyl in cyls:
        for head in range(1 if cyl == 0 else 0, dev.heads, 3):
            recs = [(r, b"K%03d" % r if r % 2 else b"", bytes([cyl, head, r]) * (300 + r))
                    for r in range(1, 1 + (cyl + head) % 9)]
            dev.write_track(cyl, head, Track.from_records(cyl, head, recs))


def tracks_of(path, lo=0, hi=None):
    with open_dasd(path) as dev:
        return [t.image for t in dev.tracks(lo, hi)]


@pytest.mark.parametrize("devtype", ["3390", "3380", "3350"])
def test_dump_restore_whole_volume(tmp_path, devtype):
    src = tmp_path / f"a.{devtype}"
    with create_dasd(src, devtype, volser="DDR001", cylinders=4) as dev:
        fill(dev, range(4))
    tape = MemTape()
    with open_dasd(src) as dev:
        info = ddr.dump_volume(dev, tape)
    assert info["tracks"] == 4 * dev.heads and info["volser"] == "DDR001"
    tape.rewind()
    dst = tmp_path / f"b.{devtype}"
    out = ddr.restore_volume(tape, dst)
    assert out["tracks"] == info["tracks"]
    assert tracks_of(dst) == tracks_of(src)
    with open_dasd(dst) as dev:
        assert (dev.volser, dev.cylinders, dev.devtype) == ("DDR001", 4, devtype)


def test_cylinder_range_onto_existing_volume(tmp_path):
    src, dst = tmp_path / "s.3390", tmp_path / "d.3390"
    with create_dasd(src, "3390", volser="SRC001", cylinders=6) as dev:
        fill(dev, range(6))
    create_dasd(dst, "3390", volser="DST001", cylinders=6).close()
    before = tracks_of(dst)
    tape = MemTape()
    with open_dasd(src) as dev:
        ddr.dump_volume(dev, tape, 2, 3)
    tape.rewind()
    ddr.restore_volume(tape, dst)
    after = tracks_of(dst)
    assert after[2 * 15:4 * 15] == tracks_of(src, 2, 3)
    assert after[:2 * 15] == before[:2 * 15] and after[4 * 15:] == before[4 * 15:]


def test_refusals_and_damage(tmp_path):
    src = tmp_path / "s.3390"
    with create_dasd(src, "3390", volser="SRC001", cylinders=3) as dev:
        fill(dev, range(3))
    tape = MemTape()
    with open_dasd(src) as dev:
        ddr.dump_volume(dev, tape)
        with pytest.raises(InvalidArgumentError):
            ddr.dump_volume(dev, MemTape(), 2, 5)
    # wrong device type
    other = tmp_path / "o.3380"
    create_dasd(other, "3380", cylinders=3).close()
    tape.rewind()
    with pytest.raises(InvalidArgumentError, match="3380"):
        ddr.restore_volume(tape, other)
    # a damaged track block: typed error naming the block; a new target is not left behind
    bad = tape.blocks[7]
    bad.data = bad.data[:50] + bytes([bad.data[50] ^ 0xFF]) + bad.data[51:]
    tape.rewind()
    with pytest.raises(ChecksumError) as ei:
        ddr.restore_volume(tape, tmp_path / "new.3390")
    assert ei.value.block == 7
    assert not (tmp_path / "new.3390").exists()
    # a dump cut short
    del tape.blocks[20:]
    bad.data = tape.blocks[6].data  # duplicate: out of order
    tape.rewind()
    with pytest.raises(FormatError):
        ddr.restore_volume(tape, tmp_path / "new.3390")
    tape = MemTape()
    with open_dasd(src) as dev:
        ddr.dump_volume(dev, tape)
    del tape.blocks[30:]
    tape.rewind()
    with pytest.raises(TruncatedError):
        ddr.restore_volume(tape, tmp_path / "new.3390")
