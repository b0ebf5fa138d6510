"""``spoolkit cms put|erase|rename|format|check`` end to end, a minidisk named
by its directory entry, and the cmsread/cmswrite pipeline stages."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import cmslayout as L
import pytest
from conftest import ROOT

import spoolkit
from spoolkit.cms import open_minidisk
from spoolkit.cms.format import format_minidisk
from spoolkit.pipes import cmsread, cmswrite, readspool, tospool, writespool
from spoolkit.spool import SpoolFile, create_volume, open_volume

ENV = {**os.environ, "PYTHONPATH": str(ROOT)}


def cli(*args, check=True, input=None):
    proc = subprocess.run([sys.executable, "-m", "spoolkit", *map(str, args)],
                          capture_output=True, env=ENV, input=input, timeout=120)
    if check and proc.returncode:
        raise AssertionError(proc.stderr.decode() + proc.stdout.decode())
    return proc


@pytest.fixture
def vol(tmp_path):
    path = tmp_path / "user.3350"
    spoolkit.create_dasd(path, "3350", "USER01", cylinders=6, compress=None).close()
    return path


def test_format_put_get_erase_rename(vol, tmp_path):
    md = f"{vol}@2-4"
    out = json.loads(cli("cms", "format", md, "work1", "--json").stdout)
    assert out["format"] == "vm370" and out["label"] == "WORK1" and out["blocks"] == 3 * 570
    r = cli("cms", "format", md, "again", check=False)
    assert r.returncode == 2 and "holds a vm370 minidisk WORK1" in r.stderr.decode()
    text = "Hello, world\n\n  indented line  \nÄ not in 037? no: it is\n"
    cli("cms", "put", md, "-", "hello", "exec", input=text.encode())
    assert cli("cms", "get", md, "HELLO", "EXEC").stdout.decode() == (
        "Hello, world\n \n  indented line  \nÄ not in 037? no: it is\n")
    src = tmp_path / "cards.txt"
    src.write_text("CARD ONE\nCARD TWO\n")
    cli("cms", "put", md, src, "CARDS", "DATA", "B1", "--recfm", "F", "--lrecl", "80")
    raw = cli("cms", "get", md, "CARDS", "DATA", "--raw").stdout
    assert raw == "CARD ONE".ljust(80).encode("cp037") + "CARD TWO".ljust(80).encode("cp037")
    assert cli("cms", "get", md, "CARDS", "DATA").stdout == b"CARD ONE\nCARD TWO\n"
    binary = bytes(range(256)) * 5
    cli("cms", "put", md, "-", "BIN", "F64", "--raw", "--recfm", "F", "--lrecl", "64",
        input=binary)
    assert cli("cms", "get", md, "BIN", "F64", "-o", "-", "--raw").stdout == binary
    r = cli("cms", "put", md, "-", "BIN", "F64", "--raw", "--lrecl", "64", input=b"x" * 64,
            check=False)
    assert r.returncode == 2 and "exists" in r.stderr.decode()
    assert cli("cms", "get", md, "BIN", "F64", "--raw").stdout == binary     # untouched
    cli("cms", "put", md, "-", "BIN", "F64", "--raw", "--lrecl", "64", "--force",
        input=b"y" * 128)
    assert cli("cms", "get", md, "BIN", "F64", "--raw").stdout == b"y" * 128
    r = cli("cms", "put", md, "-", "BAD", "F64", "--raw", "--lrecl", "64", input=b"z" * 65,
            check=False)
    assert r.returncode == 2 and "not whole records" in r.stderr.decode()
    cli("cms", "rename", md, "CARDS", "DATA", "DECK", "DATA")
    cli("cms", "erase", md, "HELLO", "EXEC")
    listing = json.loads(cli("cms", "list", md, "--json").stdout)
    assert [(f["fname"], f["ftype"], f["fmode"], f["recfm"], f["lrecl"], f["records"])
            for f in listing["files"]] == [("BIN", "F64", "A1", "F", 64, 2),
                                          ("DECK", "DATA", "B1", "F", 80, 2)]
    check = json.loads(cli("cms", "check", md, "--json").stdout)
    assert check["ok"] and check["findings"] == []
    # the blocks, decoded by the independent model
    with spoolkit.open_dasd(vol) as dev:
        s = L.vm370_decode(L.CKDBlocks(dev, 2, 800).read)
    assert s["label"] == "WORK1" and [f.fname for f in s["files"]] == ["BIN", "DECK"]
    assert L.bits_used(s["qmsk"], s["adtnum"]) == s["referenced"]


def test_put_date_and_edf_format(tmp_path):
    path = tmp_path / "z.3390"
    spoolkit.create_dasd(path, "3390", "ZVM001", cylinders=3, compress=None).close()
    md = f"{path}@1-2"
    out = json.loads(cli("cms", "format", md, "ZWORK", "--blocksize", "1024", "--json").stdout)
    assert out["format"] == "edf" and out["blocksize"] == 1024
    cli("cms", "put", md, "-", "DATED", "FILE", "--date", "2023-11-05T06:07:08", input=b"x\n")
    f = json.loads(cli("cms", "list", md, "--json").stdout)["files"][0]
    assert f["date"] == "2023-11-05 06:07:08" and f["recfm"] == "V" and f["lrecl"] == 1
    r = cli("cms", "put", md, "-", "X", "Y", "--date", "yesterday", input=b"x", check=False)
    assert r.returncode == 2 and "--date" in r.stderr.decode()


def test_protected_extent_refused_by_cli(tmp_path):
    from spoolkit.cp import format_volume

    path = tmp_path / "cp.3350"
    format_volume(path, "3350", volser="CPVOL1", cylinders=12,
                  extents=[("PAGE", 1, 3), ("PERM", 4, 11)])
    r = cli("cms", "format", f"{path}@0-1", "BAD", check=False)
    assert r.returncode == 2 and "protected" in r.stderr.decode()
    cli("cms", "format", f"{path}@4-5", "GOOD")
    assert json.loads(cli("cms", "list", f"{path}@4-5", "--json").stdout)["label"] == "GOOD"


DIRECT = """\
USER MAINT PASSWORD 4M 8M G
 MDISK 191 3350 2 3 USER01 MR
 MDISK 192 3350 5 END USER01 MR
USER OTHER PASSWORD 1M 2M G
 MDISK 191 3350 1 1 USER02 MR
"""


def test_minidisk_by_directory(vol, tmp_path):
    direct = tmp_path / "USER.DIRECT"
    direct.write_text(DIRECT)
    cli("cms", "format", vol, "MNT191", "--directory", direct, "--user", "maint", "--vaddr",
        "191")
    cli("cms", "put", vol, "-", "FROM", "DIRECT", "--directory", direct, "--user", "MAINT",
        "--vaddr", "0191", input=b"ok\n")
    with open_minidisk(vol, 2, 4) as md:                     # MDISK 191 3350 2 3
        assert md.label == "MNT191" and md.read("FROM", "DIRECT") == [b"\x96\x92"]
    other = tmp_path / "other.img"
    other.write_bytes(b"")
    out = json.loads(cli("cms", "list", other, "--directory", direct, "--user", "MAINT",
                         "--vaddr", "191", "--volume", f"USER01={vol}", "--json").stdout)
    assert out["label"] == "MNT191"
    cli("cms", "format", vol, "END192", "--directory", direct, "--user", "MAINT", "--vaddr",
        "192")                                               # 5 END: cylinder 5 only
    with open_minidisk(vol, 5, 5) as md:
        assert md.label == "END192"
    r = cli("cms", "list", vol, "--directory", direct, "--user", "OTHER", "--vaddr", "191",
            check=False)
    assert r.returncode == 2 and "not USER02" in r.stderr.decode()
    r = cli("cms", "list", vol, "--directory", direct, "--user", "NOBODY", "--vaddr", "191",
            check=False)
    assert r.returncode == 2 and "no minidisk 191" in r.stderr.decode()


def test_pipes_spool_to_cms_and_back(vol, tmp_path):
    with spoolkit.open_dasd(vol, "r+") as dev:
        format_minidisk(dev, 1, 2, "PIPES")
    spool = create_volume(tmp_path / "spool.3390", "3390", volser="SPOOL1",
                          extents=[("SPOL", 1, 8), ("DRCT", 9, 9)], cylinders=12)
    deck = [(0x41, b"CARD %d" % i) for i in range(12)]
    spool.add(SpoolFile(owner="MAINT", type="PUN", spoolid=7, records=deck))
    with open_minidisk(vol, 1, 2, "r+") as md:
        passed = list(readspool(spool, select={"spoolid": 7})
                      | cmswrite(md, "DECK", "DATA", recfm="F", lrecl=80))
        assert len(passed) == 12
        assert md.read("DECK", "DATA") == [d.ljust(80, b"\x40") for _, d in deck]
        ids = list(cmsread(md, "DECK", "DATA") | tospool(owner="OPER", type="PUN")
                   | writespool(spool))
    spool.close()
    with open_volume(tmp_path / "spool.3390") as back:
        sf = [f for f in back.files() if f.spoolid == ids[0]][0]
        assert [d for _, d in sf.records()] == [d for _, d in deck]   # blanks dropped again
        assert sf.owner == "OPER"


def test_image_on_stdin_for_reading_verbs(fixtures):
    image = (fixtures / "cms" / "gcccms_201.cckd").read_bytes()
    listing = json.loads(cli("cms", "list", "-", "--json", input=image).stdout)
    assert listing["label"] == "GCC201" and len(listing["files"]) == 17
    text = cli("cms", "get", "-", "ASSERT", "H", input=image).stdout.decode()
    assert text.splitlines()[0].startswith("/****")
    r = cli("cms", "put", "-", "in.txt", "A", "B", check=False)
    assert r.returncode == 2 and "cannot be '-'" in r.stderr.decode()
    r = cli("cms", "erase", "-", "A", "B", check=False)
    assert r.returncode == 2 and "cannot be '-'" in r.stderr.decode()
