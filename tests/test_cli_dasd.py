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
