"""Every track of every real CKD fixture image goes through TRACKWRITE and
through ``dasd dump`` / ``dasd restore`` unchanged, byte for byte.

Real VM/370 CP-formatted tracks (vm50u1 cylinder 0) interleave record
numbers R5, R133, R6, R134, ...: only structure and real capacity are rules.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from conftest import FIXTURES, ROOT

from spoolkit import create_dasd, open_dasd
from spoolkit.cli import main

IMAGES = ["vm14-3.cckd", "vm50u1.cckd", "cms/cmsuser_191.cckd", "cms/gcccms_201.cckd",
          "hercules-tests/3330.cckd64", "hercules-tests/3380.cckd64",
          "hercules-tests/3390.cckd64", "hercules-tests/CCWILS.3390-1.comp-z"]


def fixture(name):
    if FIXTURES is None or not (FIXTURES / name).exists():
        pytest.skip(f"fixture {name} not found")
    return FIXTURES / name


def images(path, lo=0, hi=None):
    with open_dasd(path) as dev:
        return [t.image for t in dev.tracks(lo, hi)]


def interleaved(track):
    rs = [r.r for r in track.records]
    return any(b <= a for a, b in zip(rs, rs[1:]))


def test_vm50u1_cp_cylinder_interleaves_record_numbers():
    # the case the tests below must cover: real tracks whose R numbers do not ascend
    with open_dasd(fixture("vm50u1.cckd")) as dev:
        tracks = list(dev.tracks(0, 0))
        bad = [(t.cyl, t.head) for t in tracks if interleaved(t)]
        assert bad == [(0, h) for h in range(1, 30)]
        assert [r.r for r in tracks[1].records] == [5, 133, 6, 134, 7, 135, 8]


# a plain copy of these writes 300-950 MB of slots: compressed copies in default CI
BIG = {"vm50u1.cckd", "hercules-tests/3380.cckd64", "hercules-tests/3390.cckd64",
       "hercules-tests/CCWILS.3390-1.comp-z"}
WRITE_CASES = [pytest.param(n, k, marks=[pytest.mark.slow] if k == "plain" and n in BIG else [])
               for n in IMAGES for k in ("cckd", "plain")]


def fresh(path, like, kind, cylinders=None):
    """A new, empty volume of the same device as ``like`` (plain or compressed)."""
    opts = {"compress": "zlib"} if kind == "cckd" else {"lfs": True}
    return create_dasd(path, like.model, None, cylinders=cylinders or like.cylinders,
                       raw=True, **opts)


@pytest.mark.parametrize("name,kind", WRITE_CASES)
def test_every_track_survives_write_track(tmp_path, name, kind):
    src = fixture(name)
    out = tmp_path / "copy.img"
    with open_dasd(src) as s:
        with fresh(out, s, kind) as d:
            assert (d.model, d.heads, d.track_size) == (s.model, s.heads, s.track_size)
            n = 0
            for t in s.tracks():
                d.write_track(t.cyl, t.head, t)
                n += 1
        assert n == s.cylinders * s.heads
    assert images(out) == images(src)


@pytest.mark.parametrize("kind", ["cckd", "plain"])
def test_cp_tracks_survive_write_track_as_raw_bytes(tmp_path, kind):
    src = fixture("vm50u1.cckd")
    out = tmp_path / "cp.img"
    with open_dasd(src) as s, fresh(out, s, kind, cylinders=2) as d:
        for t in s.tracks(0, 1):
            d.write_track(t.cyl, t.head, bytes(t.image) + b"after EOT")
    assert images(out, 0, 1) == images(src, 0, 1)


def test_cp_tracks_written_by_us_pass_cckdcdsk(tmp_path, herc):
    src = fixture("vm50u1.cckd")
    out = tmp_path / "cp.cckd"
    with open_dasd(src) as s, fresh(out, s, "cckd", cylinders=2) as d:
        for t in s.tracks(0, 1):
            d.write_track(t.cyl, t.head, t)
    proc = herc("cckdcdsk", "-3", out, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def cli(*argv):
    return main([str(a) for a in argv])


@pytest.mark.parametrize("name", IMAGES)
def test_dump_restore_cli_onto_existing_volume(tmp_path, capsys, name):
    # onto a fresh compressed volume of the same device: small and fast even for 3390-1
    src = fixture(name)
    tape, out = tmp_path / "v.aws", tmp_path / "v.cckd"
    with open_dasd(src) as s:
        fresh(out, s, "cckd").close()
    assert cli("dasd", "dump", src, tape) == 0
    assert cli("dasd", "restore", tape, out) == 0, capsys.readouterr().err
    assert images(out) == images(src)


@pytest.mark.parametrize("name", ["cms/gcccms_201.cckd", "vm14-3.cckd"])
def test_dump_restore_cli_onto_new_volume(tmp_path, capsys, name):
    src = fixture(name)
    tape, out = tmp_path / "v.het", tmp_path / "v.ckd"
    assert cli("dasd", "dump", src, tape) == 0
    assert cli("dasd", "restore", tape, out, "--json") == 0
    assert '"tracks"' in capsys.readouterr().out
    with open_dasd(out) as d, open_dasd(src) as s:
        assert (d.kind, d.model, d.cylinders, d.volser) == ("CKD", s.model, s.cylinders,
                                                            s.volser)
    assert images(out) == images(src)


def test_cp_cylinder_dump_restore_as_a_process(tmp_path):
    # `python -m spoolkit`: the commands of the report, on cylinders 0-1 of vm50u1
    src = fixture("vm50u1.cckd")
    tape, out = tmp_path / "v.aws", tmp_path / "v.3350"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}

    def run(*argv):
        proc = subprocess.run([sys.executable, "-m", "spoolkit", *map(str, argv)],
                              capture_output=True, text=True, env=env, timeout=120)
        assert proc.returncode == 0, proc.stderr
        return proc.stdout

    run("dasd", "dump", src, tape, "--cyl", "0-1")
    run("dasd", "init", out, "3350", "--cylinders", "555", "--raw")
    assert "60 tracks" in run("dasd", "restore", tape, out)
    assert images(out, 0, 1) == images(src, 0, 1)
    with open_dasd(out) as d:
        assert d.read_track(2, 0).nrecs == 0  # nothing past the dumped cylinders


def test_cp_tracks_through_dasd_write_copy_and_check(tmp_path, capsys):
    src = fixture("vm50u1.cckd")
    vol = tmp_path / "w.3350"
    assert cli("dasd", "init", vol, "3350", "--cylinders", "2", "--raw") == 0
    raw = tmp_path / "t.bin"
    for head in range(1, 30):
        assert cli("dasd", "read", src, 0, head, "-o", raw, "--force") == 0
        assert cli("dasd", "write", vol, 0, head, raw) == 0, capsys.readouterr().err
    assert images(vol, 0, 0)[1:] == images(src, 0, 0)[1:]
    # conversions and the checker take the same tracks
    copy = tmp_path / "c.cckd"
    assert cli("dasd", "copy", src, copy, "-z") == 0
    assert images(copy, 0, 1) == images(src, 0, 1)
    capsys.readouterr()
    for img in (src, copy, vol):
        assert cli("dasd", "check", img, "--level", "3", "--json") == 0
        assert '"ok": true' in capsys.readouterr().out
