"""``spoolkit.cms.copy`` and ``spoolkit cms copy|list SRC``: every file of the
real minidisks in ../shared/fixtures/cms/ through fresh VM/370 and EDF
minidisks, tapes and host directories and back, exact; CMS patterns;
--force; the listing JSON of any source equals the minidisk one."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys

import pytest
from conftest import ROOT

import spoolkit
from spoolkit.cms import (
    CMSFile,
    CMSRecords,
    FilePattern,
    FileSource,
    FileTarget,
    copy,
    open_minidisk,
    open_source,
    open_target,
)
from spoolkit.cms.format import format_minidisk
from spoolkit.cms.sources import MANIFEST
from spoolkit.errors import ExistsError, FormatError, InvalidArgumentError, SpoolkitError

ENV = {**os.environ, "PYTHONPATH": str(ROOT)}
DISKS = ["cmsuser_191", "gcccms_201"]
WHEN = dt.datetime(2024, 3, 14, 15, 9, 26)


def cli(*args, check=True):
    proc = subprocess.run([sys.executable, "-m", "spoolkit", *map(str, args)],
                          capture_output=True, env=ENV, timeout=120)
    if check and proc.returncode:
        raise AssertionError(proc.stderr.decode())
    return proc


def image(fixtures, name):
    return str(fixtures / "cms" / f"{name}.cckd")


def files_of(uri, **kw):
    src = open_source(uri, **kw)
    try:
        return list(src.files())
    finally:
        src.close()


def blank_disk(tmp_path, kind, name="d"):
    """disk: URI of a fresh minidisk: VM/370 (3350, 800) or EDF (3390 4K, FBA 512)."""
    if kind == "edf-fba":
        path = tmp_path / f"{name}.fba"
        spoolkit.create_fba(path, "3370", blocks=20000).close()
        first, last, bs = 16, 19999, 512
    else:
        dev = "3350" if kind == "vm370" else "3390"
        path = tmp_path / f"{name}.{dev}"
        spoolkit.create_dasd(path, dev, "USER01", cylinders=6, compress=None).close()
        first, last, bs = 1, 5, (None if kind == "vm370" else 4096)
    with spoolkit.open_dasd(path, "r+") as d:
        format_minidisk(d, first, last, "COPY", blocksize=bs)
    return f"disk:{path}@{first}-{last}"


@pytest.fixture(params=DISKS)
def real(request, fixtures):
    return image(fixtures, request.param)


def test_protocols():
    assert FilePattern("A", "B").matches("A", "B", "C1")
    for cls_src in ("disk", "vmfplc2", "tapedump", "dir", "vmarc"):
        assert cls_src in spoolkit.cms.sources.schemes()


@pytest.mark.parametrize("kind", ["vm370", "edf", "edf-fba"])
def test_disk_to_fresh_minidisk_and_back(tmp_path, real, kind):
    want = files_of(real)
    dst = blank_disk(tmp_path, kind)
    done = copy(real, dst)
    assert [d.name for d in done] == [f.name for f in want]
    back = files_of(dst)
    key = sorted
    assert key(back, key=lambda f: f.name) == key(want, key=lambda f: f.name)


@pytest.mark.parametrize("kind", ["vmfplc2", "tapedump"])
def test_disk_tape_disk(tmp_path, real, kind):
    want = files_of(real)
    copy(real, f"{kind}:{tmp_path / 't.aws'}")
    dst = blank_disk(tmp_path, "edf")
    copy(f"{kind}:{tmp_path / 't.aws'}", dst)
    assert sorted(files_of(dst), key=lambda f: f.name) == sorted(want, key=lambda f: f.name)


def test_dir_raw_round_trip(tmp_path, real):
    want = files_of(real)
    d = tmp_path / "host"
    d.mkdir()
    copy(real, f"dir:{d}", raw=True)
    names = sorted(p.name for p in d.iterdir())
    assert MANIFEST in names
    assert sorted(n for n in names if n != MANIFEST) == \
        sorted(f"{f.fname}.{f.ftype}.{f.fmode}" for f in want)
    # raw F is the records back to back; V each after its 2-byte length
    for f in want:
        data = (d / f"{f.fname}.{f.ftype}.{f.fmode}").read_bytes()
        if f.recfm == "F":
            assert data == b"".join(f.records)
        else:
            assert data == b"".join(len(r).to_bytes(2, "big") + r for r in f.records)
    assert sorted(files_of(f"dir:{d}", raw=True), key=lambda f: f.name) == \
        sorted(want, key=lambda f: f.name)


def test_dir_text(tmp_path):
    d = tmp_path / "h"
    d.mkdir()
    (d / "PROFILE.EXEC").write_text("/* hi */\nSAY 'HELLO'\n")
    (d / "notes.txt.b2").write_text("x\n")
    (d / "bad name.exec").write_text("x\n")
    (d / "TOOLONGNAME.EXEC").write_text("x\n")
    (d / "README").write_text("x\n")
    got = sorted(files_of(f"dir:{d}"), key=lambda f: f.name)
    assert [f.name for f in got] == ["NOTES TXT B2", "PROFILE EXEC A1"]
    prof = got[1]
    assert prof.recfm == "V" and prof.lrecl == 11
    assert list(prof.records) == [s.encode("cp037") for s in ("/* hi */", "SAY 'HELLO'")]
    got1047 = {f.name: f for f in files_of(f"dir:{d}", codepage="1047")}
    assert got1047["PROFILE EXEC A1"].records[1] == bytes.fromhex("e2c1e8407dc8c5d3d3d67d")
    # text out: F files lose their trailing blanks, through the code page
    out = tmp_path / "o"
    out.mkdir()
    f = CMSFile("CARDS", "DATA", "A1", "F", 80, WHEN,
                CMSRecords.from_text("ONE\nTWO", recfm="F", lrecl=80))
    copy(_ListSource([f]), f"dir:{out}")
    assert (out / "CARDS.DATA.A1").read_text() == "ONE\nTWO\n"
    m = json.loads((out / MANIFEST).read_text())["files"]["CARDS.DATA.A1"]
    assert (m["recfm"], m["lrecl"], m["date"]) == ("F", 80, WHEN.isoformat())
    assert files_of(f"dir:{out}") == [f]          # F 80 back, blanks padded


class _ListSource:
    def __init__(self, files):
        self._files = files

    def entries(self):
        return [spoolkit.cms.sources.status_of(f) for f in self._files]

    def files(self, pattern=None):
        return (f for f in self._files if pattern is None or pattern(f))

    def close(self):
        pass


def test_open_objects_are_the_protocols(tmp_path, real):
    src = open_source(real)
    try:
        assert isinstance(src, FileSource)
    finally:
        src.close()
    tgt = open_target(f"vmfplc2:{tmp_path / 'x.aws'}")
    assert isinstance(tgt, FileTarget)
    tgt.abort()
    assert not (tmp_path / "x.aws").exists()


def test_patterns(tmp_path):
    files = [CMSFile(n, t, m, "V", 1, WHEN, CMSRecords.from_iter([b"x"]))
             for n, t, m in [("PROFILE", "EXEC", "A1"), ("PROG", "EXEC", "B1"),
                             ("PROG", "ASSEMBLE", "A2"), ("XY", "EXEC", "A1"),
                             ("XYZ", "EXEC", "A1")]]
    src = _ListSource(files)

    def names(*pat):
        return [f.name for f in src.files(FilePattern(*pat))]
    assert names() == [f.name for f in files]
    assert names("PRO*") == ["PROFILE EXEC A1", "PROG EXEC B1", "PROG ASSEMBLE A2"]
    assert names("*", "EXEC", "A") == ["PROFILE EXEC A1", "XY EXEC A1", "XYZ EXEC A1"]
    assert names("*", "*", "A2") == ["PROG ASSEMBLE A2"]
    assert names("%%") == ["XY EXEC A1"]
    assert names("prog", "exec") == ["PROG EXEC B1"]
    tgt = open_target(f"tapedump:{tmp_path / 't.aws'}")
    copy(src, tgt, FilePattern("X*"))
    # an open target is committed by the caller
    assert not (tmp_path / "t.aws").exists()
    tgt.commit()
    assert [f.name for f in files_of(f"tapedump:{tmp_path / 't.aws'}")] == \
        ["XY EXEC A1", "XYZ EXEC A1"]


def test_force(tmp_path, real):
    tape = tmp_path / "t.aws"
    copy(real, f"vmfplc2:{tape}", FilePattern("*", "*", "*"))
    before = tape.read_bytes()
    with pytest.raises(ExistsError):
        copy(real, f"vmfplc2:{tape}")
    assert tape.read_bytes() == before
    copy(real, f"vmfplc2:{tape}", FilePattern("%%%%%*"), force=True)
    assert tape.read_bytes() != before
    # a disk target: an existing file of that name is replaced only with force
    dst = blank_disk(tmp_path, "vm370")
    copy(real, dst)
    with pytest.raises(ExistsError):
        copy(real, dst)
    copy(real, dst, force=True)
    # a directory: an existing host file
    d = tmp_path / "h"
    d.mkdir()
    copy(real, f"dir:{d}")
    with pytest.raises(ExistsError):
        copy(real, f"dir:{d}")
    copy(real, f"dir:{d}", force=True)


def test_failed_copy_to_tape_leaves_nothing(tmp_path):
    good = CMSFile("GOOD", "FILE", "A1", "V", 1, WHEN, CMSRecords.from_iter([b"x"]))
    bad = CMSFile("BAD", "FILE", "A1", "F", 80, WHEN, CMSRecords.from_iter([b"short"]))
    with pytest.raises(FormatError, match="LRECL 80"):
        copy(_ListSource([good, bad]), f"vmfplc2:{tmp_path / 't.aws'}")
    assert list(tmp_path.iterdir()) == []


def test_bad_uris(tmp_path):
    with pytest.raises(InvalidArgumentError, match="nothing after"):
        open_source("vmfplc2:")
    with pytest.raises(SpoolkitError):
        open_source(f"dir:{tmp_path / 'nope'}")
    with pytest.raises(SpoolkitError):
        open_source(f"vmfplc2:{tmp_path / 'nope.aws'}")


def test_vmarc_adapter(tmp_path, real):
    pytest.importorskip("spoolkit.cms.vmarc")
    want = files_of(real)
    arc = tmp_path / "a.vmarc"
    copy(real, f"vmarc:{arc}")
    assert files_of(f"vmarc:{arc}") == want
    with pytest.raises(ExistsError):
        copy(real, f"vmarc:{arc}")


# -- the command line -----------------------------------------------------------------

def test_cli_list_json_is_the_minidisk_json(tmp_path, real):
    disk = json.loads(cli("cms", "list", real, "--json").stdout)
    cli("cms", "copy", real, f"vmfplc2:{tmp_path / 'p.aws'}")
    cli("cms", "copy", real, f"tapedump:{tmp_path / 'd.aws'}")
    d = tmp_path / "h"
    d.mkdir()
    cli("cms", "copy", real, f"dir:{d}", "--raw")
    again = json.loads(cli("cms", "list", f"disk:{real}", "--json").stdout)
    assert again == disk
    for uri, extra in ((f"vmfplc2:{tmp_path / 'p.aws'}", []),
                       (f"tapedump:{tmp_path / 'd.aws'}", []), (f"dir:{d}", ["--raw"])):
        got = json.loads(cli("cms", "list", uri, "--json", *extra).stdout)
        rows = sorted(got["files"], key=lambda r: (r["fname"], r["ftype"]))
        want = sorted(disk["files"], key=lambda r: (r["fname"], r["ftype"]))
        assert [set(r) for r in rows] == [set(r) for r in want]
        assert [(r["fname"], r["ftype"], r["fmode"], r["recfm"], r["lrecl"], r["records"],
                 r["blocks"]) for r in rows] == \
            [(r["fname"], r["ftype"], r["fmode"], r["recfm"], r["lrecl"], r["records"],
              r["blocks"]) for r in want]


def test_cli_copy(tmp_path, real):
    tape = tmp_path / "t.aws"
    out = json.loads(cli("cms", "copy", real, f"vmfplc2:{tape}", "*", "*", "--json").stdout)
    n = len(out["copied"])
    assert n == len(files_of(real))
    p = cli("cms", "copy", real, f"vmfplc2:{tape}", check=False)
    assert p.returncode and b"--force" in p.stderr
    one = out["copied"][0]
    cli("cms", "copy", real, f"vmfplc2:{tape}", one["fname"], one["ftype"], "--force")
    assert [f.name for f in files_of(f"vmfplc2:{tape}")] == \
        [f"{one['fname']} {one['ftype']} {one['fmode']}"]
    dst = blank_disk(tmp_path, "edf")
    cli("cms", "copy", f"vmfplc2:{tape}", dst)
    with open_minidisk(*_split(dst)) as md:
        assert [f.fname for f in md.files()] == [one["fname"]]


def _split(uri):
    path, rng = uri[len("disk:"):].rsplit("@", 1)
    a, b = rng.split("-")
    return path, int(a), int(b)


def test_real_vmarc_to_tapes_and_back(tmp_path, fixtures):
    pytest.importorskip("spoolkit.cms.vmarc")
    arc = fixtures / "vmarc" / "hrc248dk.vmarc"
    want = files_of(f"vmarc:{arc}")
    assert len(want) == 28
    copy(f"vmarc:{arc}", f"vmfplc2:{tmp_path / 'p.aws'}")
    assert files_of(f"vmfplc2:{tmp_path / 'p.aws'}") == want
    dst = blank_disk(tmp_path, "vm370")
    copy(f"vmfplc2:{tmp_path / 'p.aws'}", dst)
    assert sorted(files_of(dst), key=lambda f: f.name) == sorted(want, key=lambda f: f.name)
