"""The tape-file handling of DUMP (new archive: temp file renamed into place;
append: truncated back when it fails) and the DDR CLI verbs, on a file-backed
tape double installed as ``spoolkit.tape`` (the real formats are tested in
test_backup_tape.py)."""

import json
import sys
import types

import pytest
from memtape import FileTape
from test_backup_spool import ListVolume, spool_file

from spoolkit import Track, create_dasd, open_dasd
from spoolkit.cli import main
from spoolkit.spool import backup as B


@pytest.fixture
def fake_tape(monkeypatch):
    if "spoolkit.tape" in sys.modules and not getattr(sys.modules["spoolkit.tape"], "FAKE",
                                                       False):
        pytest.skip("the real tape module is present (see test_backup_tape.py)")
    mod = types.ModuleType("spoolkit.tape")
    mod.FAKE = True
    opened = []

    def open_tape(path, mode="r", format=None, **kw):
        opened.append((str(path), mode, format))
        return FileTape(path, mode)

    mod.open_tape = open_tape
    monkeypatch.setitem(sys.modules, "spoolkit.tape", mod)
    return opened


def files(n, seed):
    import random
    rnd = random.Random(seed)
    return [spool_file(i, rnd) for i in range(1, n + 1)]


def test_new_dump_renamed_into_place(tmp_path, fake_tape):
    tape = tmp_path / "a.het"
    fs = files(4, 1)
    B.dump(ListVolume(fs), tape)
    # written under a temp name in the same directory, with the format from the name
    assert fake_tape[0][0] != str(tape) and fake_tape[0][1:] == ("w", "het")
    assert [p.name for p in tmp_path.iterdir()] == ["a.het"]
    target = ListVolume()
    B.load(tape, target)
    assert target.files() == fs


@pytest.mark.parametrize("kill", [1, 2, 5, 9])
def test_killed_dumps(tmp_path, fake_tape, kill):
    def boom(n):
        if n >= kill:
            raise RuntimeError("kill")

    new = tmp_path / "new.aws"
    with pytest.raises(RuntimeError):
        B.dump(ListVolume(files(5, 2)), new, on_block=boom)
    assert list(tmp_path.iterdir()) == []          # unchanged: still no archive
    old = tmp_path / "old.aws"
    B.dump(ListVolume(files(3, 3)), old)
    before = old.read_bytes()
    with pytest.raises(RuntimeError):
        B.dump(ListVolume(files(6, 4)), old, on_block=boom)
    assert old.read_bytes() == before              # the failed append is truncated back
    assert len(B.scan(old).runs) == 1


def test_append_and_chain(tmp_path, fake_tape):
    tape = tmp_path / "c.aws"
    vol = ListVolume(files(3, 5))
    B.dump(vol, tape)
    vol.add(files(1, 6)[0].with_attrs(spoolid=40))
    B.dump(vol, tape, incremental=[tape])
    res = B.scan(tape)
    assert len(res.runs) == 2 and [r.file_number for r in res.runs] == [0, 2]
    target = ListVolume()
    B.load(tape, target)
    assert target.files() == vol.files()


def test_dasd_dump_restore_cli(tmp_path, capsys, fake_tape):
    src = tmp_path / "s.3390"
    with create_dasd(src, "3390", volser="DDR001", cylinders=4) as dev:
        for cyl in range(1, 4):
            dev.write_track(cyl, 2, Track.from_records(
                cyl, 2, [(r, b"", bytes([cyl + r]) * 4096) for r in range(1, 13)]))
    tape = tmp_path / "v.aws"
    assert main(["dasd", "dump", str(src), str(tape), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert (info["tracks"], info["volser"], info["model"]) == (60, "DDR001", "3390-1")
    dst = tmp_path / "d.3390"
    assert main(["dasd", "restore", str(tape), str(dst)]) == 0
    assert "restored" in capsys.readouterr().out
    with open_dasd(src) as a, open_dasd(dst) as b:
        assert [t.image for t in a.tracks()] == [t.image for t in b.tracks()]
    part = tmp_path / "p.aws"
    assert main(["dasd", "dump", str(src), str(part), "--cyl", "2-3"]) == 0
    other = tmp_path / "o.3390"
    create_dasd(other, "3390", volser="OTHER1", cylinders=4).close()
    assert main(["dasd", "restore", str(part), str(other)]) == 0
    with open_dasd(src) as a, open_dasd(other) as b:
        assert [t.image for t in a.tracks(2, 3)] == [t.image for t in b.tracks(2, 3)]
        assert b.volser == "OTHER1"
    rc = main(["dasd", "dump", str(src), str(part), "--cyl", "3-9"])
    assert rc == 2 and "outside the volume" in capsys.readouterr().err
