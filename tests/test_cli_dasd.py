"""The spoolkit command line: dasd verbs, JSON output, one-line errors."""

import json
import subprocess
import sys

from spoolkit import Track, open_dasd
from spoolkit.cli import main


def run(capsys, *argv):
    rc = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return rc, out, err


def test_init_info_tracks(tmp_path, capsys):
    img = tmp_path / "c.3390"
    rc, out, _ = run(capsys, "dasd", "init", img, "3390", "--volser", "cli001",
                     "--cylinders", "3", "--json")
    assert rc == 0 and json.loads(out)["volser"] == "CLI001"
    rc, out, _ = run(capsys, "dasd", "info", img, "--json")
    info = json.loads(out)
    assert (info["devtype"], info["cylinders"], info["heads"], info["volser"]) == \
        ("3390", 3, 15, "CLI001")
    rc, out, _ = run(capsys, "dasd", "tracks", img, "--cyl", "0", "--json")
    rows = json.loads(out)
    assert len(rows) == 15
    assert [r["dl"] for r in rows[0]["records"]] == [24, 144, 80]
    rc, out, _ = run(capsys, "dasd", "tracks", img, "--nonempty")
    assert out.splitlines() == ["    0  0    3 rec    313 bytes  R1:4/24 R2:4/144 R3:4/80"]


def test_trackread_trackwrite(tmp_path, capsys):
    img = tmp_path / "w.3380"
    run(capsys, "dasd", "init", img, "3380", "--cylinders", "2")
    t = Track.from_records(1, 4, [(r, b"", bytes([r]) * 4096) for r in range(1, 11)])
    src = tmp_path / "t.bin"
    src.write_bytes(t.image)
    rc, _, err = run(capsys, "dasd", "write", img, 1, 4, src)
    assert rc == 0, err
    dst = tmp_path / "r.bin"
    rc, _, _ = run(capsys, "dasd", "read", img, 1, 4, "-o", dst)
    assert rc == 0 and dst.read_bytes() == t.image
    with open_dasd(img) as dev:
        assert dev.read_track(1, 4) == t


def test_errors_are_one_line(tmp_path, capsys):
    img = tmp_path / "e.3390"
    run(capsys, "dasd", "init", img, "3390", "--cylinders", "1")
    over = Track.from_records(0, 3, [(r, b"", bytes(4096)) for r in range(1, 14)])
    src = tmp_path / "o.bin"
    src.write_bytes(over.image)
    rc, _, err = run(capsys, "dasd", "write", img, 0, 3, src)
    assert rc == 2
    assert err.count("\n") == 1 and "track 0/3" in err and str(img) in err
    assert "does not fit" in err
    rc, _, err = run(capsys, "dasd", "read", img, 5, 0)
    assert rc == 2 and "outside the volume" in err
    rc, _, err = run(capsys, "dasd", "info", tmp_path / "missing.3390")
    assert rc == 2 and "missing.3390" in err and "Traceback" not in err


def test_entry_point_runs_as_module(tmp_path):
    img = tmp_path / "m.3390"
    proc = subprocess.run([sys.executable, "-m", "spoolkit", "dasd", "init", str(img), "3390",
                           "--cylinders", "1", "--volser", "MOD001"],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    proc = subprocess.run([sys.executable, "-m", "spoolkit", "dasd", "info", str(img)],
                          capture_output=True, text=True)
    assert "MOD001" in proc.stdout


def test_demo(capsys):
    rc, out, _ = run(capsys, "demo")
    assert rc == 0
    assert "volser DEMO01" in out
    assert "78" in out and "49277" in out


def test_trackwrite_guarded_by_default(tmp_path, capsys, caplog):
    img = tmp_path / "g.3390"
    run(capsys, "dasd", "init", img, "3390", "--cylinders", "10", "--volser", "SPOOL1")
    directory = tmp_path / "user.direct"
    directory.write_text("USER $SPOOL$ NOLOG\n MDISK A01 3390 003 004 SPOOL1 R\n"
                         "USER MAINT PASSWORD 8M 16M G\n MDISK 191 3390 007 002 SPOOL1 MR\n")
    t = Track.from_records(4, 0, [(1, b"", b"x" * 100)])
    src = tmp_path / "t.bin"
    src.write_bytes(t.image)
    rc, _, err = run(capsys, "dasd", "write", img, 4, 0, src, "--directory", directory)
    assert rc == 2 and "protected" in err and "track 4/0" in err
    with open_dasd(img) as dev:
        assert dev.read_track(4, 0).nrecs == 0  # nothing written
    # cylinder 0 of a CP-owned volume is protected too
    t0 = Track.from_records(0, 1, [(1, b"", b"y")])
    src.write_bytes(t0.image)
    rc, _, err = run(capsys, "dasd", "write", img, 0, 1, src, "--directory", directory)
    assert rc == 2 and "CYL0" in err
    # outside the locks the write goes through
    t8 = Track.from_records(8, 2, [(1, b"", b"z")])
    src.write_bytes(t8.image)
    assert run(capsys, "dasd", "write", img, 8, 2, src, "--directory", directory)[0] == 0
    # an explicit override writes and is logged
    src.write_bytes(t.image)
    with caplog.at_level("WARNING", logger="spoolkit.overlay"):
        rc, _, err = run(capsys, "dasd", "write", img, 4, 0, src, "--directory", directory,
                         "--override", "rebuilding the spool area")
    assert rc == 0
    assert "rebuilding the spool area" in caplog.text
    with open_dasd(img) as dev:
        assert dev.read_track(4, 0) == t and dev.read_track(8, 2) == t8
