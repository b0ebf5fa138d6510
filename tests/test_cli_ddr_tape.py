"""``spoolkit dasd dump/restore`` with DDR tapes (the default) and SPKD dumps,
``tape map`` of a DDR tape; errors are one line, exit 2."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from conftest import ROOT
from ddr_layout import decode_dump, decode_header

from spoolkit import open_dasd
from spoolkit.cli import main
from spoolkit.tape import open_tape

ENV = {**os.environ, "PYTHONPATH": str(ROOT)}


def run(*argv, input=None):
    return subprocess.run([sys.executable, "-m", "spoolkit", *map(str, argv)],
                          capture_output=True, env=ENV, input=input, timeout=300)


def blocks_of(path):
    with open_tape(path) as t:
        return [None if b.is_tapemark else b.data for b in t]


def images(path):
    with open_dasd(path) as dev:
        return [t.image for t in dev.tracks()]


@pytest.fixture
def vol(fixtures):
    return fixtures / "cms" / "gcccms_201.cckd"


def test_dump_writes_ddr_by_default_and_restore_reads_both(vol, tmp_path, capsys):
    ddr_tape, spkd_tape = tmp_path / "d.het", tmp_path / "s.aws"
    assert main(["dasd", "dump", str(vol), str(ddr_tape)]) == 0
    assert "as a DDR tape" in capsys.readouterr().out
    hdr, tracks, end = decode_dump(blocks_of(ddr_tape))
    assert (hdr.volser, len(tracks), end.kind) == ("GCC201", 30, "EOJ")
    assert main(["dasd", "dump", str(vol), str(spkd_tape), "--format", "spoolkit"]) == 0
    assert blocks_of(spkd_tape)[0][:4] == "SPKD".encode("cp037")
    capsys.readouterr()
    for tape in (ddr_tape, spkd_tape):
        out = tmp_path / f"{tape.name}.ckd"
        assert main(["dasd", "restore", str(tape), str(out), "--json"]) == 0
        info = json.loads(capsys.readouterr().out)
        assert info["tracks"] == 30
        assert images(out) == images(vol)


def test_legacy_tape_format_option(vol, tmp_path):
    tape = tmp_path / "x.tape"
    assert main(["dasd", "dump", str(vol), str(tape), "--format", "faketape"]) == 0
    with open_tape(tape) as t:
        assert t.format == "fkt"
    assert decode_header(blocks_of(tape)[0]).kind == "VHR"


def test_tape_map_describes_ddr(fixtures, tmp_path, capsys):
    tape = tmp_path / "m.aws"
    assert main(["dasd", "dump", str(fixtures / "vm14-3.cckd"), str(tape), "--cyl", "0-1",
                 "--cyl", "10-12"]) == 0
    capsys.readouterr()
    assert main(["tape", "map", str(tape), "--json"]) == 0
    m = json.loads(capsys.readouterr().out)
    d = m["files"][0]["ddr"]
    assert d["volser"] == "VM14-3" and d["devtype"] == "2314" and d["tracks"] == 5 * 20
    assert [(e["first_cyl"], e["last_cyl"]) for e in d["extents"]] == [(0, 1), (10, 12)]
    assert d["trailer"] == {"kind": "EOJ", "track": [12, 19]}
    assert "ddr" not in m["files"][1]
    assert main(["tape", "map", str(tape)]) == 0
    text = capsys.readouterr().out
    assert "DDR volume          : VM14-3 (2314, 203 cylinders of 20 heads)" in text
    assert "DDR extents         : 0-1, 10-12" in text


def test_reels_from_the_command_line(fixtures, tmp_path, capsys):
    src = fixtures / "cms" / "cmsuser_191.cckd"
    tape = tmp_path / "r.aws"
    assert main(["dasd", "dump", str(src), str(tape), "--reel-size", "16M", "--json"]) == 0
    reels = json.loads(capsys.readouterr().out)["reels"]
    assert len(reels) >= 3 and all(os.path.getsize(r) <= 16 << 20 for r in reels)
    out = tmp_path / "r.ckd"
    assert main(["dasd", "restore", *reels, str(out)]) == 0
    assert images(out) == images(src)


def test_restore_with_cyl_and_reorder(fixtures, tmp_path, capsys):
    tape = tmp_path / "c.aws"
    assert main(["dasd", "dump", str(fixtures / "vm14-3.cckd"), str(tape)]) == 0
    dst = tmp_path / "dst.2314"
    assert main(["dasd", "init", str(dst), "2314", "--volser", "DST001"]) == 0
    capsys.readouterr()
    assert main(["dasd", "restore", str(tape), str(dst), "--cyl", "1-2", "--reorder", "100",
                 "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert (info["tracks"], info["reorder"]) == (40, 99)
    with open_dasd(dst) as d, open_dasd(fixtures / "vm14-3.cckd") as s:
        for h in range(20):
            assert d.read_track(100, h).image[5:] == s.read_track(1, h).image[5:]
            assert d.read_track(1, h).nrecs == 0


def test_errors_are_one_line(fixtures, tmp_path):
    tape = tmp_path / "e.aws"
    assert run("dasd", "dump", fixtures / "vm14-3.cckd", tape).returncode == 0
    small = tmp_path / "small.2314"
    r = run("dasd", "init", small, "2314", "--volser", "SMALL1", "--cylinders", "10")
    assert r.returncode == 0
    r = run("dasd", "restore", tape, small)
    assert r.returncode == 2
    lines = r.stderr.decode().strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("spoolkit: error: ")
    assert "has 10 cylinders" in lines[0] and "Traceback" not in r.stderr.decode()
    cut = tmp_path / "cut.aws"
    cut.write_bytes(tape.read_bytes()[:5000])
    r = run("dasd", "restore", cut, tmp_path / "new.2314", "--json")
    assert r.returncode == 2
    err = json.loads(r.stdout)
    assert err["error"] == "TruncatedError" and "block" in err and "track" in err
    assert not (tmp_path / "new.2314").exists()
    spkd = tmp_path / "s.aws"
    assert run("dasd", "dump", fixtures / "vm14-3.cckd", spkd, "--format", "spoolkit",
               "--cyl", "0-1").returncode == 0
    r = run("dasd", "restore", spkd, tmp_path / "x.2314", "--reorder", "5")
    assert r.returncode == 2 and b"holds a spoolkit (SPKD) dump" in r.stderr


def test_stdout_and_stdin(vol, tmp_path):
    r = run("dasd", "dump", vol, "-")
    assert r.returncode == 0, r.stderr
    assert r.stdout[6:10] == "VHR ".encode("cp037")       # after the AWS chunk header
    out = tmp_path / "in.ckd"
    r2 = run("dasd", "restore", "-", out, input=r.stdout)
    assert r2.returncode == 0, r2.stderr
    assert images(out) == images(vol)
