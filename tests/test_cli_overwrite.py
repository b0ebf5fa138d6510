"""Every creating verb refuses an existing destination (exit 2, one line, the
old file byte-identical, no temp left) and replaces it with --force."""

from __future__ import annotations

import glob
import os
import subprocess
import sys

import pytest
from conftest import ROOT

import spoolkit
from spoolkit.backup import dump
from spoolkit.output import temp_pattern
from spoolkit.spool import create_volume
from spoolkit.tape import open_tape

ENV = {**os.environ, "PYTHONPATH": str(ROOT)}


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    d = tmp_path_factory.mktemp("in")
    with spoolkit.create_dasd(d / "src.3390", "3390", "SRC001", cylinders=2) as v:
        v.write_track(1, 0, spoolkit.Track.from_records(1, 0, [(1, b"", b"\x40" * 80)]))
    with open_tape(d / "src.aws", "w") as t:
        t.write_block(b"\xc1" * 800)
        t.tapemark()
    from spoolkit.demo import demo_spool_files
    with create_volume(d / "spool.3390", "3390", volser="SPOOL1", cylinders=4,
                       extents=[("SPOL", 1, 2), ("DRCT", 3, 3)]) as vol:
        vol.add_many(demo_spool_files()[:2])
    dump(d / "spool.3390", d / "arch.aws")
    return d


# (verb words, with {src}/{tape}/{spool}/{dst} filled in)
VERBS = [
    ["dasd", "init", "{dst}", "3390", "--cylinders", "2"],
    ["dasd", "copy", "{src}", "{dst}", "-z"],
    ["dasd", "read", "{src}", "0", "0", "-o", "{dst}"],
    ["dasd", "dump", "{src}", "{dst}.aws"],
    ["tape", "init", "{dst}.aws", "--volser", "T00001"],
    ["tape", "copy", "{tape}", "{dst}.het", "-z"],
    ["tape", "get", "{tape}", "1", "{dst}", "--raw", "--nl"],
    ["spool", "format", "{dst}", "3390", "--volser", "NEW001", "--cylinders", "4",
     "--spol", "1-2", "--drct", "3-3"],
    ["spool", "get", "{spool}", "1", "-o", "{dst}"],
    ["spool", "dump", "{spool}", "--to", "{dst}.aws", "--new"],
    ["cp", "format", "{dst}", "2305-1", "--volser", "VM0001", "--perm", "1-47"],
]


def _run(words):
    return subprocess.run([sys.executable, "-m", "spoolkit", *words], env=ENV,
                          capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("verb", VERBS, ids=[" ".join(v[:2]) for v in VERBS])
def test_creating_verb_refuses_then_forces(tmp_path, inputs, verb):
    names = {"src": inputs / "src.3390", "tape": inputs / "src.aws",
             "spool": inputs / "spool.3390", "dst": tmp_path / "out"}
    words = [w.format(**names) for w in verb]
    dst = next(w for w in words if w.startswith(str(tmp_path)))
    old = b"a file the user keeps" * 100
    with open(dst, "wb") as f:
        f.write(old)
    os.chmod(dst, 0o640)
    r = _run(words)
    assert r.returncode == 2, (words, r.stdout, r.stderr)
    assert "exists" in r.stderr or "already" in r.stderr
    assert r.stderr.count("\n") == 1 and "Traceback" not in r.stderr
    with open(dst, "rb") as f:
        assert f.read() == old
    assert glob.glob(temp_pattern(dst)) == []
    r = _run([*words, "--force"])
    assert r.returncode == 0, (words, r.stderr)
    with open(dst, "rb") as f:
        assert f.read() != old
    assert os.stat(dst).st_mode & 0o777 == 0o640      # a replaced file keeps its mode
    assert glob.glob(temp_pattern(dst)) == []
