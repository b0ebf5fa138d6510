"""VM/370 CMS minidisks read from the real disks in ../shared/fixtures/cms/:
every attribute of every file and every record hash as the manifests say,
through the API and the CLI."""

from __future__ import annotations

import hashlib
import json
import os
import struct
import subprocess
import sys

import pytest
from conftest import ROOT

from spoolkit import create_dasd, open_dasd
from spoolkit.cms import open_minidisk
from spoolkit.errors import FormatError, NotFoundError, SpoolkitError

ENV = {**os.environ, "PYTHONPATH": str(ROOT)}
DISKS = ["cmsuser_191", "gcccms_201"]


def manifest(fixtures, name):
    return json.loads((fixtures / "cms" / f"{name}.json").read_text())


def image(fixtures, name):
    return str(fixtures / "cms" / f"{name}.cckd")


def cli(*args, check=True, input=None):
    proc = subprocess.run([sys.executable, "-m", "spoolkit", *map(str, args)],
                          capture_output=True, env=ENV, input=input, timeout=120)
    if check and proc.returncode:
        raise AssertionError(proc.stderr.decode())
    return proc


@pytest.mark.parametrize("name", DISKS)
def test_every_file_matches_the_manifest(fixtures, name):
    m = manifest(fixtures, name)
    with open_minidisk(image(fixtures, name)) as md:
        assert (md.label, md.blocksize, md.format) == (m["label"], m["block_size"], "vm370")
        stats = md.stats()
        mfd = m["mfd"]
        assert stats == {"blocks": mfd["adtnum"], "used": mfd["adtused"],
                         "left": mfd["adtleft"], "cylinders": mfd["adtcyl"]}
        assert md.impl.mfd.fst_blocks == mfd["fst_blocks"]
        assert md.impl.mfd.adtlast == mfd["adtlast"]
        assert md.impl.mfd.unit_type == int(mfd["unit_type"], 16)
        files = md.files()
        assert len(files) == m["file_count"] == len(m["files"])
        total = 0
        for f, e in zip(files, m["files"]):
            assert (f.fname, f.ftype, f.fmode) == (e["fname"].rstrip(), e["ftype"].rstrip(),
                                                   e["fmode"])
            assert (f.recfm, f.lrecl, f.records, f.blocks) == (e["recfm"], e["lrecl"],
                                                               e["records"], e["blocks"])
            assert f.date == e["datetime"]
            assert (f.write_pointer, f.read_pointer, f"{f.flags:02X}") == (
                e["write_pointer"], e["read_pointer"], e["flags"])
            assert f"{f.fcl:04X}" == e["fcl"] and f.where == (e["fst_block"], e["fst_slot"])
            assert f.raw[16:18].hex() == e["date_mmdd_hex"]
            assert f.raw[38:40].hex() == e["year_hex"]
            records = md.read(f)
            assert len(records) == e["records"]
            assert hashlib.sha256(records.data).hexdigest() == e["sha256"]
            assert records[0].hex() == e["first_record_hex"]
            assert len(records.data) == e["data_bytes"]
            if f.recfm == "F":
                assert all(len(r) == f.lrecl for r in records)
            else:
                assert max(len(r) for r in records) <= f.lrecl
            total += len(records)
        assert total == m["total_records"]


@pytest.mark.parametrize("name", DISKS)
def test_file_blocks_are_the_allocated_ones(fixtures, name):
    """Every block the files' chains name (first chain links and data) plus the
    directory is exactly what the QMSK marks used."""
    m = manifest(fixtures, name)
    with open_minidisk(image(fixtures, name)) as md:
        used = {1, 2, 3, 4, *md.impl.mfd.fst_blocks}
        for f in md.files():
            meta, data = md.impl.file_blocks(f)
            assert not used & set(meta) and not used & set(data)
            used |= set(meta) | set(data)
        qmsk = md.impl.mfd.qmsk
        marked = {i + 1 for i in range(len(qmsk) * 8) if qmsk[i // 8] & (0x80 >> i % 8)}
    assert used == marked
    assert len(used) == m["allocation_check"]["blocks_referenced"]


def test_mfd_counters_decoded_from_the_bytes(fixtures):
    """The counters come from offsets 364-383 of block 4 (read independently)."""
    with open_dasd(image(fixtures, "gcccms_201")) as dev:
        block4 = bytes(dev.read_track(0, 0).records[3].data)
    num, used, left, last, cyl = struct.unpack_from(">5I", block4, 364)
    with open_minidisk(image(fixtures, "gcccms_201")) as md:
        assert md.stats() == {"blocks": num, "used": used, "left": left, "cylinders": cyl}
        assert md.impl.mfd.adtlast == last


def test_find_the_minidisks(fixtures):
    for name in DISKS:
        m = manifest(fixtures, name)
        out = json.loads(cli("cms", "find", image(fixtures, name), "--json").stdout)
        ncyl = m["extent"]["cylinders"]
        assert out == [{"first": 0, "last": ncyl - 1, "unit": "cylinders",
                        "label": m["label"], "format": "vm370", "blocksize": 800}]
    assert json.loads(cli("cms", "find", fixtures / "vm50u1.cckd", "--json").stdout) == []


@pytest.mark.parametrize("name", DISKS)
def test_cli_list_json_is_the_manifest(fixtures, name):
    m = manifest(fixtures, name)
    last = m["extent"]["cylinders"] - 1
    out = json.loads(cli("cms", "list", f"{image(fixtures, name)}@0-{last}", "--json").stdout)
    assert out == {"label": m["label"], "format": "vm370", "blocksize": 800,
                   "files": [{"fname": e["fname"].rstrip(), "ftype": e["ftype"].rstrip(),
                              "fmode": e["fmode"], "recfm": e["recfm"], "lrecl": e["lrecl"],
                              "records": e["records"], "blocks": e["blocks"],
                              "date": e["datetime"]} for e in m["files"]]}


@pytest.mark.parametrize("name", DISKS)
def test_cli_get_raw_hashes_as_the_manifest(fixtures, name, tmp_path):
    m = manifest(fixtures, name)
    for e in m["files"][:6]:
        out = tmp_path / f"{e['fname'].strip()}.{e['ftype'].strip()}"
        cli("cms", "get", image(fixtures, name), e["fname"], e["ftype"], e["fmode"], "--raw",
            "-o", out)
        assert hashlib.sha256(out.read_bytes()).hexdigest() == e["sha256"]
    e = m["files"][0]
    raw = cli("cms", "get", image(fixtures, name), e["fname"], e["ftype"], "--raw",
              "-o", "-").stdout
    assert hashlib.sha256(raw).hexdigest() == e["sha256"]


def test_cli_get_text(fixtures):
    path = image(fixtures, "cmsuser_191")
    with open_minidisk(path) as md:
        profile = md.read("PROFILE", "EXEC")       # V records
        worklen = md.read("worklen", "testfile")   # F 80
    text = cli("cms", "get", path, "PROFILE", "EXEC").stdout.decode()
    assert text.splitlines() == [r.decode("cp037") for r in profile]
    assert text.splitlines()[0] == "&CONTROL OFF NOMSG"
    lines = cli("cms", "get", path, "WORKLEN", "TESTFILE", "P1").stdout.decode().splitlines()
    # F records as TYPE shows them: trailing blanks dropped
    assert lines == [r.decode("cp037").rstrip(" ") for r in worklen]
    assert len(lines) == 102 and any(len(r.decode("cp037").rstrip()) < 80 for r in worklen)
    cp1047 = cli("cms", "get", path, "PROFILE", "EXEC", "--codepage", "1047").stdout.decode()
    assert cp1047.splitlines() == [r.decode("cp1047") for r in profile]


def test_cli_errors_are_one_line(fixtures, tmp_path):
    path = image(fixtures, "cmsuser_191")
    r = cli("cms", "get", path, "NOPE", "EXEC", check=False)
    assert r.returncode == 2 and r.stderr.decode().count("\n") == 1
    assert "file NOPE EXEC not found" in r.stderr.decode()
    r = cli("cms", "list", fixtures / "vm50u1.cckd", check=False)
    assert r.returncode == 2 and "no CMS label" in r.stderr.decode()
    r = cli("cms", "list", f"{path}@0-200", check=False)
    assert r.returncode == 2 and "outside the volume" in r.stderr.decode()
    r = cli("cms", "list", fixtures / "vm50u1.cckd", "--json", check=False)
    assert r.returncode == 2 and json.loads(r.stdout)["error"] == "FormatError"
    out = tmp_path / "exists"
    out.write_text("keep")
    r = cli("cms", "get", path, "PROFILE", "EXEC", "-o", out, check=False)
    assert r.returncode == 2 and out.read_text() == "keep"


def test_api_errors(fixtures):
    path = image(fixtures, "cmsuser_191")
    with open_minidisk(path) as md:
        with pytest.raises(NotFoundError):
            md.read("NOPE", "EXEC")
        with pytest.raises(NotFoundError):
            md.read("PROFILE", "EXEC", "A")         # the disk's files are mode P1
        assert md.read("PROFILE", "EXEC", "P") == md.read("PROFILE", "EXEC", "P1")
        with pytest.raises(SpoolkitError):
            md.write("X", "Y", "A1", [b"x"])        # read-only
    with pytest.raises(FormatError):
        open_minidisk(fixtures / "vm50u1.cckd")
    md.close()
    with pytest.raises(SpoolkitError):
        md.files()


@pytest.mark.parametrize("name", DISKS)
def test_cp67_829_byte_records_read_as_the_blocks(fixtures, name, tmp_path):
    """A disk as CP-67 writes it: every physical record 829 bytes, of which the
    first 800 are the CMS block (vm-formats.md 2.1).  The fixture's tracks are
    rewritten so, the 29 extra bytes differing per record, straight into the
    slots of a plain image (829-byte records overfill a real 3350 track, so
    write_track would refuse them); every file reads as the manifest says."""
    from spoolkit.dasd.track import Track

    m = manifest(fixtures, name)
    path = tmp_path / f"{name}.cp67.3350"
    with open_dasd(image(fixtures, name)) as src:
        ncyl, heads = src.cylinders, src.heads
        with create_dasd(path, "3350", cylinders=ncyl, raw=True, compress=None) as dst:
            size = dst.track_size
        with open(path, "r+b") as out:
            for t in range(ncyl * heads):
                cyl, head = divmod(t, heads)
                recs = [(r.cyl, r.head, r.r, bytes(r.key),
                         bytes(r.data) + bytes((t * 7 + r.r + k) & 0xFF for k in range(29))
                         if r.dl == 800 else bytes(r.data))
                        for r in src.read_track(cyl, head).records]
                img = Track.from_records(cyl, head, recs).image
                assert len(img) <= size
                out.seek(512 + t * size)
                out.write(bytes(img).ljust(size, b"\0"))
    with open_dasd(str(path)) as dev:
        assert {r.dl for r in dev.read_track(0, 1).records} == {829}
    with open_minidisk(path) as md:
        assert (md.label, md.format, md.blocksize) == (m["label"], "vm370", 800)
        files = md.files()
        assert [(f.fname, f.ftype, f.records) for f in files] == [
            (e["fname"].rstrip(), e["ftype"].rstrip(), e["records"]) for e in m["files"]]
        for (f, recs), e in zip(md.read_all(), m["files"]):
            assert hashlib.sha256(recs.data).hexdigest() == e["sha256"]
            assert len(recs) == e["records"] and len(recs.data) == e["data_bytes"]
            assert md.read(f) == recs
        assert not md.check().findings
