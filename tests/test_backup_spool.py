"""Real spool files (SpoolFile, SPLINK pages, header pages) through archives:
attributes and records come back equal."""

import datetime as dt
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from memtape import MemTape

from spoolkit import backup as B
from spoolkit.errors import ChecksumError, NoSpaceError
from spoolkit.spool import SpoolFile


class ListVolume:
    """The part of a spool volume the backup adapters use: files() and add()."""

    def __init__(self, files=(), max_files=None):
        self._files = list(files)
        self.max_files = max_files
        self.path = "listvol"

    def files(self):
        return list(self._files)

    def add(self, sf):
        if self.max_files is not None and len(self._files) >= self.max_files:
            raise NoSpaceError("volume full", path=self.path)
        if sf.spoolid is None:
            sf = sf.with_attrs(spoolid=max([f.spoolid for f in self._files] + [0]) + 1)
        self._files.append(sf)
        return sf

    def close(self):
        pass


def spool_file(i, rnd):
    kind = rnd.choice(["PRT", "PUN", "RDR", "CON", "NSS"])
    recs = [(rnd.choice([0x09, 0x11, 0x41]) if kind in ("PRT", "CON") else 0x41,
             bytes(rnd.randrange(0x40, 0xFA) for _ in range(rnd.randrange(1, 81))))
            for _ in range(rnd.randrange(0, 400))]
    return SpoolFile(type=kind, owner=rnd.choice(["MAINT", "OPERATOR", "TCPIP"]), spoolid=i,
                     class_=rnd.choice("ABZ"), fname=f"FILE{i}", ftype="LISTING",
                     records=recs, lrecl=133 if kind in ("PRT", "CON") else 80,
                     hold=rnd.choice(["none", "user", "system", "both"]),
                     copies=rnd.randrange(1, 5), tag=f"TAG {i}", form=rnd.choice(["STANDARD",
                                                                                 "WIDE"]),
                     dest=rnd.choice(["OFF", "PRT1"]), keep=rnd.random() < 0.5,
                     created=dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc)
                     + dt.timedelta(microseconds=rnd.randrange(10**13)))


@given(st.integers(0, 2**32), st.integers(0, 6))
@settings(max_examples=20, deadline=None)
def test_spool_files_round_trip(seed, n):
    rnd = random.Random(seed)
    files = [spool_file(i, rnd) for i in range(1, n + 1)]
    tape = MemTape()
    log = B.dump(ListVolume(files), tape)
    assert [x.records for x in log.lines] == [f.record_count for f in files]
    res = B.scan(tape)
    assert [(e.owner, e.spoolid, e.kind, e.klass, e.records) for e in res.entries] == \
        [(f.owner, f.spoolid, f.type, f.class_, f.record_count) for f in files]
    target = ListVolume()
    B.load(tape, target)
    assert target.files() == files          # every attribute and every record


def test_new_spoolids_and_selection():
    rnd = random.Random(7)
    files = [spool_file(i, rnd) for i in range(1, 9)]
    tape = MemTape()
    B.dump(ListVolume(files), tape, select=lambda sf: sf.owner != "TCPIP")
    target = ListVolume([files[0].with_attrs(spoolid=50)])
    # one predicate, written against SpoolFile's names, selects catalog entries too
    B.load(tape, target, spoolid="new", select=lambda f: f.type != "NSS" and f.class_ != "Q")
    want = [f for f in files if f.owner != "TCPIP" and f.type != "NSS"]
    got = target.files()[1:]
    assert [f.spoolid for f in got] == list(range(51, 51 + len(want)))
    assert [f.with_attrs(spoolid=1) for f in got] == [f.with_attrs(spoolid=1) for f in want]


def test_identity_is_stable_and_incremental_skips():
    rnd = random.Random(3)
    files = [spool_file(i, rnd) for i in range(1, 5)]
    vol = ListVolume(files)
    a1, a2 = MemTape(), MemTape()
    B.dump(vol, a1)
    vol.add(spool_file(9, rnd))
    log = B.dump(vol, a2, incremental=[a1])
    assert [x.result for x in log.lines] == ["REFERENCED"] * 4 + ["DUMPED"]
    target = ListVolume()
    B.load([a1, a2], target)
    assert target.files() == vol.files()


def test_load_into_full_volume_stops():
    rnd = random.Random(5)
    files = [spool_file(i, rnd) for i in range(1, 6)]
    tape = MemTape()
    B.dump(ListVolume(files), tape)
    target = ListVolume(max_files=3)
    with pytest.raises(NoSpaceError):
        B.load(tape, target)
    assert target.files() == files[:3]


def test_damaged_page_is_caught_before_the_volume():
    rnd = random.Random(11)
    files = [spool_file(i, rnd) for i in range(1, 4)]
    files = [f if f.record_count else f.with_attrs(records=[(0x41, b"X")]) for f in files]
    tape = MemTape()
    B.dump(ListVolume(files), tape)
    e = B.scan(tape).entries[1]
    blk = tape.blocks[e.block + 1]
    data = bytearray(blk.data)
    data[20 + 300] ^= 0x01                     # inside the first page, block CRC fixed up
    from spoolkit.backup.blocks import crc32c
    data[-4:] = crc32c(bytes(data[:-4])).to_bytes(4, "big")
    blk.data = bytes(data)
    target = ListVolume()
    log = B.load(tape, target)
    assert [x.result for x in log.lines] == ["LOADED", "ERROR", "LOADED"]
    assert "CRC" in log.lines[1].message
    assert target.files() == [files[0], files[2]]
    with pytest.raises(ChecksumError):
        B.load(tape, ListVolume(), on_error="raise")


def test_dump_straight_into_a_volume():
    rnd = random.Random(12)
    files = [spool_file(i, rnd) for i in range(1, 6)]
    target = ListVolume()
    log = B.dump(ListVolume(files), target, select=lambda f: f.hold != "both")
    want = [f for f in files if f.hold != "both"]
    assert [x.result for x in log.lines] == ["DUMPED"] * len(want)
    assert target.files() == want


def test_entry_view_matches_spoolfile_names():
    rnd = random.Random(13)
    files = [spool_file(i, rnd) for i in range(1, 5)]
    tape = MemTape()
    B.dump(ListVolume(files), tape)
    names = ("spoolid", "owner", "type", "class_", "hold", "created", "record_count",
             "lrecl", "copies", "form", "dest", "dist", "is_sdf")
    for f, e in zip(files, B.scan(tape).entries):
        view = B.EntryView(e)
        assert {n: getattr(view, n) for n in names} == {n: getattr(f, n) for n in names}
