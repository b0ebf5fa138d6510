"""Spool archives and DDR-like dumps on real tape images (AWS, HET, FakeTape)
through ``spoolkit.open_tape``; Hercules' hetmap/hetinit as peers.

Skipped as a whole when the tape module is not in the build."""

import json
import os
import random
import re

import pytest
from test_backup_spool import ListVolume, spool_file

from spoolkit import Track, create_dasd, open_dasd
from spoolkit import backup as B
from spoolkit.backup.blocks import PAGES_PER_BLOCK
from spoolkit.cli import main

pytest.importorskip("spoolkit.tape")

FORMATS = ["aws", "het", "fkt"]


def files(n, seed=0):
    rnd = random.Random(seed)
    return [spool_file(i, rnd) for i in range(1, n + 1)]


def hetmap_blocks(herc, path):
    out = herc("hetmap", "-a", path).stdout
    return [int(b) for _, b in re.findall(r"File #\s*:\s*(\d+)\s*\nBlocks\s*:\s*(\d+)", out)]


@pytest.mark.parametrize("ext", FORMATS)
def test_round_trip_each_format(tmp_path, ext):
    fs = files(6, 1)
    tape = tmp_path / f"a.{ext}"
    B.dump(ListVolume(fs), tape)
    target = ListVolume()
    B.load(tape, target)
    assert target.files() == fs
    assert not B.verify(tape).errors
    # append a second run and load the chain (one tape)
    more = ListVolume(fs + files(2, 9)[1:])
    more._files[-1] = more._files[-1].with_attrs(spoolid=77)
    B.dump(more, tape, incremental=[tape])
    res = B.scan(tape)
    assert len(res.runs) == 2 and all(r.complete for r in res.runs)
    target = ListVolume()
    B.load(tape, target)
    assert target.files() == more.files()


@pytest.mark.hercules
@pytest.mark.parametrize("ext", ["aws", "het"])
def test_hetmap_sees_our_blocks(tmp_path, herc, ext):
    fs = files(5, 2)
    tape = tmp_path / f"m.{ext}"
    B.dump(ListVolume(fs), tape)
    entries = B.scan(tape).entries
    data_blocks = 1 + sum(1 + -(-e.pages // PAGES_PER_BLOCK) for e in entries)
    assert hetmap_blocks(herc, tape)[:2] == [data_blocks, 1]


@pytest.mark.hercules
def test_append_to_a_hetinit_labelled_tape(tmp_path, herc):
    tape = tmp_path / "lab.het"
    herc("hetinit", "-d", tape, "SPL001")
    fs = files(3, 3)
    B.dump(ListVolume(fs), tape)
    res = B.scan(tape)
    assert len(res.runs) == 1 and res.runs[0].file_number == 1
    target = ListVolume()
    B.load(tape, target)
    assert target.files() == fs
    assert "SPL001" in herc("hetmap", "-a", tape).stdout


def test_killed_new_dump_leaves_no_target(tmp_path):
    tape = tmp_path / "new.aws"

    def boom(n):
        if n >= 4:
            raise RuntimeError("kill")

    with pytest.raises(RuntimeError):
        B.dump(ListVolume(files(5, 4)), tape, on_block=boom)
    assert not tape.exists()
    assert [p for p in os.listdir(tmp_path)] == []


@pytest.mark.parametrize("kill", [1, 3, 7])
def test_killed_append_is_truncated_back(tmp_path, kill):
    tape = tmp_path / "app.het"
    B.dump(ListVolume(files(3, 5)), tape)
    before = tape.read_bytes()

    def boom(n):
        if n >= kill:
            raise RuntimeError("kill")

    with pytest.raises(RuntimeError):
        B.dump(ListVolume(files(6, 6)), tape, on_block=boom)
    assert tape.read_bytes() == before


def _rchar() -> int:
    with open("/proc/self/io") as f:
        for line in f:
            if line.startswith("rchar:"):
                return int(line.split()[1])
    return 0


def test_selective_load_reads_under_one_percent(tmp_path):
    """128 MiB archive: SCAN + LOAD of one file read < 1 % of it."""
    from spoolkit.spool import pages as P

    rnd = random.Random(8)
    big = spool_file(1, rnd).with_attrs(type="PRT", lrecl=133,
                                        records=[(0x09, bytes([0xC1 + i % 9]) * 133)
                                                 for i in range(64 * 30)])
    n = P.count_pages(big)
    vol = ListVolume([big.with_attrs(spoolid=i) for i in range(1, 128 * 256 // n + 1)])
    tape = tmp_path / "big.aws"
    B.dump(vol, tape)
    size = tape.stat().st_size
    assert size > 100 * 2**20
    t0 = _rchar()
    target = ListVolume()
    B.load(tape, target, select=lambda e: e.spoolid == 300)
    read = _rchar() - t0
    assert [f.spoolid for f in target.files()] == [300]
    assert read < 0.01 * size, f"read {read} of {size} bytes"


# -- DDR-like volume dump through the CLI ----------------------------------------
@pytest.mark.parametrize("ext", FORMATS)
def test_dasd_dump_restore_cli(tmp_path, capsys, ext):
    src = tmp_path / "s.3390"
    with create_dasd(src, "3390", volser="DDR777", cylinders=5) as dev:
        for cyl in range(1, 5):
            dev.write_track(cyl, 3, Track.from_records(
                cyl, 3, [(r, b"", bytes([cyl * r % 256]) * 4096) for r in range(1, 13)]))
    tape = tmp_path / f"v.{ext}"
    assert main(["dasd", "dump", str(src), str(tape), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["tracks"] == 75 and info["volser"] == "DDR777"
    dst = tmp_path / "d.3390"
    assert main(["dasd", "restore", str(tape), str(dst)]) == 0
    with open_dasd(src) as a, open_dasd(dst) as b:
        assert [t.image for t in a.tracks()] == [t.image for t in b.tracks()]
        assert b.volser == "DDR777"
    part = tmp_path / f"p.{ext}"
    assert main(["dasd", "dump", str(src), str(part), "--cyl", "2-3"]) == 0
    capsys.readouterr()
    assert main(["dasd", "restore", str(part), str(dst)]) == 0


@pytest.mark.hercules
def test_spool_backup_to_dasd_then_ddr_to_tape(tmp_path, herc):
    """'backup to DASD, then DDR to tape': a minidisk archive travels by DDR."""
    vol = tmp_path / "bk.3390"
    create_dasd(vol, "3390", volser="BACKUP", cylinders=6).close()
    fs = files(4, 7)
    B.dump(ListVolume(fs), f"{vol}@2-5")
    tape = tmp_path / "bk.het"
    assert main(["dasd", "dump", str(vol), str(tape)]) == 0
    # a DDR tape: VHR, each track's THR buffer (image + 3 bytes) in 4096-byte
    # blocks and a short one, EOJ
    with open_dasd(vol) as dev:
        per_track = [-(-(len(t.image) + 3) // 4096) for t in dev.tracks()]
    assert hetmap_blocks(herc, tape)[0] == 2 + sum(per_track)
    copy = tmp_path / "copy.3390"
    assert main(["dasd", "restore", str(tape), str(copy)]) == 0
    target = ListVolume()
    B.load(f"{copy}@2-5", target)
    assert target.files() == fs


@pytest.mark.parametrize("fmt, head", [("faketape", b"0000"), ("het", None)])
def test_dump_format_option_picks_the_new_tape_format(tmp_path, fmt, head):
    """``format=`` (``--format``) names the format of a new archive tape,
    whatever the file is called; an append keeps the tape's own format."""
    from spoolkit.tape import detect_format

    fs = files(3, 4)
    tape = tmp_path / "nightly.aws"
    B.dump(ListVolume(fs), tape, format=fmt)
    assert detect_format(tape) == ("fkt" if fmt == "faketape" else fmt)
    if head is not None:
        assert tape.read_bytes()[:4] == head
    B.dump(ListVolume(files(2, 5)), tape, format="aws")        # an append
    assert detect_format(tape) == ("fkt" if fmt == "faketape" else fmt)
    assert len(B.scan(tape).runs) == 2 and not B.verify(tape).errors
    target = ListVolume()
    B.load(tape, target)
    assert len(target.files()) == 2                      # the latest run's files


def test_cli_dump_format_option(tmp_path, capsys):
    vol = tmp_path / "v.3390"
    from spoolkit.spool import create_volume
    with create_volume(vol, "3390", volser="SPL001", extents=[("SPOL", 1, 4), ("DRCT", 5, 5)],
                       cylinders=8) as v:
        for sf in files(2, 6):
            v.add(sf)
    assert main(["spool", "dump", str(vol), "--to", str(tmp_path / "t.aws"),
                 "--format", "faketape"]) == 0
    assert (tmp_path / "t.aws").read_bytes()[:4] == b"0000"
