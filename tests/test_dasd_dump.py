"""``dasd dump-track`` and :mod:`spoolkit.hexview`: each record's count, key
and data as hex + EBCDIC, against Hercules' cckddiag track dump."""

from __future__ import annotations

import json
import re

import pytest

from spoolkit import Track, open_dasd
from spoolkit.cli import main
from spoolkit.dasd.dump import track_dump
from spoolkit.hexview import hexdump, text_column

E = "cp037"


def run(capsys, *argv):
    rc = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return rc, out, err


def test_hexdump_lines():
    data = "VOL1VM50U1".encode(E) + bytes(6) + b"\x40" * 16 + bytes(64) + b"\xc1"
    assert hexdump(data) == [
        "+0000 E5D6D3F1 E5D4F5F0 E4F10000 00000000  *VOL1VM50U1......*",
        "+0010 40404040 40404040 40404040 40404040  *                *",
        "+0020 00000000 00000000 00000000 00000000  *................*",
        "      3 lines same as above",
        "+0060 C1                                   *A               *"]
    assert hexdump(b"\x00" * 16 * 3) == [
        "+0000 00000000 00000000 00000000 00000000  *................*",
        "      1 line same as above",
        "+0020 00000000 00000000 00000000 00000000  *................*"]
    assert hexdump(b"ABCDEFGH".decode().encode(E), width=8, indent="  ", start=0x100) == [
        "  +0100 C1C2C3C4 C5C6C7C8  *ABCDEFGH*"]
    assert hexdump(b"") == []
    with pytest.raises(ValueError):
        hexdump(b"x", width=6)


def test_text_column_follows_the_code_page():
    b = bytes([0x4A, 0x5A, 0x4F, 0x15, 0xC1])
    assert text_column(b, "037") == "¢!|.A"
    assert text_column(b, "500") == "[]!.A"


def _volume(tmp_path, capsys):
    path = tmp_path / "d.3390"
    main(["dasd", "init", str(path), "3390", "DUMP01", "3"])
    capsys.readouterr()
    recs = [(1, "KEY1".encode(E), "HELLO WORLD".encode(E) + bytes(40)),
            (2, b"", bytes(range(256)) * 2), (3, b"", b"")]
    with open_dasd(path, "r+") as d:
        d.write_track(1, 4, Track.from_records(1, 4, recs, r0=b"R0DATA!!"))
    return path, recs


def test_dump_track_text(tmp_path, capsys):
    path, recs = _volume(tmp_path, capsys)
    rc, out, err = run(capsys, "dasd", "dump-track", path, 1, 4)
    assert rc == 0, err
    lines = out.splitlines()
    assert lines[0].startswith("track 1/4: 3 records after R0")
    assert lines[1] == "HA   00 0001 0004  CC=1 HH=4"
    counts = [ln for ln in lines if re.match(r"R\d+ +count", ln)]
    assert [re.search(r"R=(\d+) KL=(\d+) DL=(\d+)", c).groups() for c in counts] == \
        [("0", "0", "8"), ("1", "4", "51"), ("2", "0", "512"), ("3", "0", "0")]
    assert "     +0000 D2C5E8F1                             *KEY1            *" in lines
    assert any(ln.endswith("*HELLO WORLD.....*") for ln in lines)
    assert lines[-1].startswith("EOT  FFFFFFFF FFFFFFFF  at +")
    # --track N is the same track; a relative number past the volume is refused
    rc, same, _ = run(capsys, "dasd", "dump-track", path, "--track", 1 * 15 + 4)
    assert rc == 0 and same == out
    rc, _, err = run(capsys, "dasd", "dump-track", path, "--track", 45)
    assert rc == 2 and "outside the volume" in err


def test_dump_track_json(tmp_path, capsys):
    path, recs = _volume(tmp_path, capsys)
    rc, out, err = run(capsys, "dasd", "dump-track", path, 1, 4, "--json")
    assert rc == 0, err
    d = json.loads(out)
    assert (d["cyl"], d["head"], d["home_address"]) == (1, 4, "0000010004")
    r0, *rest = d["records"]
    assert bytes.fromhex(r0["data"]) == b"R0DATA!!"
    assert [(r["r"], bytes.fromhex(r["key"]), bytes.fromhex(r["data"])) for r in rest] == recs
    assert rest[0]["key_text"] == "KEY1"
    assert rest[0]["count"] == "0001000401040033"
    with open_dasd(path) as dev:
        image = dev.read_track(1, 4).image
    assert d["length"] == len(image)
    for r in d["records"]:
        assert image[r["offset"]:r["offset"] + 8].hex() == r["count"]


@pytest.mark.parametrize("argv,message", [
    ([], "which track?"), (["1"], "which track?"), (["1", "2", "--track", "3"], "once"),
    (["9", "0"], "outside the volume"), (["0", "0", "--codepage", "875"], "875"),
])
def test_dump_track_bad_arguments(tmp_path, capsys, argv, message):
    path, _ = _volume(tmp_path, capsys)
    rc, _, err = run(capsys, "dasd", "dump-track", path, *argv)
    assert rc == 2 and message in err and err.count("\n") == 1, err


def test_dump_track_refuses_fba(tmp_path, capsys):
    path = tmp_path / "f.fba"
    main(["dasd", "init", str(path), "3370", "F1", "100"])
    rc, _, err = run(capsys, "dasd", "dump-track", path, 0, 0)
    assert rc == 2 and "FBA" in err


CCKDDIAG_HEX = re.compile(r"^\+([0-9A-F]{4}) ((?:[0-9A-F]{8} ?)+)")


def cckddiag_records(herc, path, cyl, head):
    """(CC, HH, R, KL, DL) and {offset: hex} of key and data per record from
    ``cckddiag -a CC HH -t -x`` (it skips repeated lines, so offsets are sparse)."""
    out = herc("cckddiag", "-a", cyl, head, "-t", "-x", path).stdout
    recs = []
    part = None
    for ln in out.splitlines():
        m = re.match(r"Track \d+ COUNT CC=(\d+) HH=(\d+) R=(\d+) KL=(\d+) DL=(\d+)", ln)
        if m:
            recs.append({"count": tuple(map(int, m.groups())), "key": {}, "data": {}})
            continue
        m = re.match(r"Track \d+ R\d+ (KEY|DATA) ", ln)
        if m:
            part = m.group(1).lower()
            continue
        m = CCKDDIAG_HEX.match(ln)
        if m and recs and part:
            recs[-1][part][int(m.group(1), 16)] = m.group(2).replace(" ", "")
    return recs


@pytest.mark.hercules
@pytest.mark.parametrize("name,cyl,head", [("vm50u1.cckd", 0, 0), ("vm14-3.cckd", 0, 0),
                                           ("hercules-tests/CCWILS.3390-1.comp-z", 0, 0),
                                           ("cms/gcccms_201.cckd", 0, 3)])
def test_records_equal_cckddiag(fixtures, herc, capsys, name, cyl, head):
    path = fixtures / name
    theirs = cckddiag_records(herc, path, cyl, head)
    rc, out, err = run(capsys, "dasd", "dump-track", path, cyl, head, "--json")
    assert rc == 0, err
    ours = json.loads(out)["records"]
    assert [(r["cyl"], r["head"], r["r"], r["kl"], r["dl"]) for r in ours] == \
        [t["count"] for t in theirs]
    for o, t in zip(ours, theirs):
        for part in ("key", "data"):
            raw = o[part].upper()
            assert t[part] or not raw
            for off, hexline in t[part].items():
                assert raw[off * 2:off * 2 + len(hexline)] == hexline, (o["r"], part, off)
    # the text view shows the same hex lines
    rc, text, _ = run(capsys, "dasd", "dump-track", path, cyl, head)
    hexes = {m.group(2).replace(" ", "") for ln in text.splitlines()
             if (m := CCKDDIAG_HEX.match(ln.strip()))}
    assert {h for t in theirs for p in ("key", "data") for h in t[p].values()} <= hexes


def test_track_dump_of_every_null_format():
    for fmt in (0, 1, 2):
        text = track_dump(Track.null(2, 3, fmt))
        assert text.splitlines()[1] == "HA   00 0002 0003  CC=2 HH=3"
        assert text.count("count ") == {0: 2, 1: 1, 2: 13}[fmt]


def test_stdin_image(tmp_path, capsys):
    """``-`` reads the image from stdin, as every reading verb does."""
    import os
    import subprocess
    import sys

    from conftest import ROOT

    path, _ = _volume(tmp_path, capsys)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    cmd = [sys.executable, "-m", "spoolkit", "dasd"]
    piped = subprocess.run([*cmd, "dump-track", "-", "1", "4", "--json"], env=env,
                           input=path.read_bytes(), capture_output=True, check=True).stdout
    direct = subprocess.run([*cmd, "dump-track", str(path), "1", "4", "--json"], env=env,
                            capture_output=True, check=True).stdout
    assert piped == direct and json.loads(piped)["records"][1]["key_text"] == "KEY1"
    ls = json.loads(subprocess.run([*cmd, "ls", "-", "--json"], env=env,
                                   input=path.read_bytes(), capture_output=True,
                                   check=True).stdout)
    assert ls["path"] == "<stdin>" and ls["label"]["volser"] == "DUMP01"
