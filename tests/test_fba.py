"""FBA images: plain (no header) and compressed CFBA, against dasdinit/dasdcopy."""

from __future__ import annotations

import random
import re
import shutil

import pytest

import spoolkit
from spoolkit.dasd import FBAImage, create_fba, open_dasd
from spoolkit.errors import AddressError, FormatError, InvalidArgumentError, ReadOnlyError


def scribble(img: FBAImage, seed: int, n: int = 60) -> None:
    rng = random.Random(seed)
    for _ in range(n):
        start = rng.randrange(0, img.blocks - 12)
        k = rng.randrange(1, 12)
        img.write_blocks(start, bytes(rng.getrandbits(8) & 0x0F for _ in range(512 * k)))


@pytest.mark.hercules
def test_create_matches_dasdinit(herc, tmp_path):
    theirs = tmp_path / "h.fba"
    herc("dasdinit", theirs, "3370", "FBA001", "1000")
    ours = tmp_path / "o.fba"
    create_fba(ours, "3370", blocks=1000, volser="FBA001").close()
    assert ours.read_bytes() == theirs.read_bytes()
    hz = tmp_path / "h.cfba"
    herc("dasdinit", "-z", hz, "3370", "FBA001", "1000")
    with open_dasd(hz) as c, open_dasd(theirs) as p:
        assert c.info()["format"] == "CFBA" and p.info()["format"] == "FBA"
        assert c.blocks == p.blocks == 1000
        assert c.read_blocks(0, 1000) == p.read_blocks(0, 1000)
        assert c.volser == p.volser == "FBA001"


@pytest.mark.hercules
@pytest.mark.parametrize("compress", ["zlib", "bzip2"])
def test_cfba_updates_and_hercules(herc, tmp_path, compress):
    plain = create_fba(tmp_path / "p.fba", "3370", blocks=2000, volser="FBA002")
    comp = create_fba(tmp_path / "c.cfba", "3370", blocks=2000, volser="FBA002",
                      compress=compress)
    for img in (plain, comp):
        scribble(img, 1)
        scribble(img, 2)  # rewrites: old group images become free space
        img.write_blocks(0, bytes(512 * 240))  # whole zero groups become null entries
    plain.close()
    comp.close()
    path = tmp_path / "c.cfba"
    with open_dasd(path) as c:
        assert c.read_blocks(0, 2000) == (tmp_path / "p.fba").read_bytes()
    report = spoolkit.check_dasd(path, 3)
    assert report["ok"], report
    copy = tmp_path / "cdsk.cfba"
    shutil.copy(path, copy)
    out = herc("cckdcdsk", "-3", copy)
    assert not re.search(r"HHCCU\d+[WE]", out.stdout + out.stderr), out.stdout
    assert copy.read_bytes() == path.read_bytes()
    herc("dasdcopy", path, tmp_path / "h.fba")
    assert (tmp_path / "h.fba").read_bytes() == (tmp_path / "p.fba").read_bytes()


def test_convert_fba_both_ways(tmp_path):
    p = create_fba(tmp_path / "p.fba", "9336-20", blocks=5000, volser="CONV01")
    scribble(p, 3, 100)
    p.close()
    for kw in ({"compress": "zlib"}, {"cckd64": True}):
        c = tmp_path / "c.cfba"
        back = tmp_path / "back.fba"
        r = spoolkit.convert(tmp_path / "p.fba", c, **kw, overwrite=True)
        assert r["format"] in ("CFBA", "CFBA64")
        assert open(c, "rb").read(8) == (b"FBA_C064" if kw.get("cckd64") else b"FBA_C370")
        spoolkit.convert(c, back, overwrite=True)
        assert back.read_bytes() == (tmp_path / "p.fba").read_bytes()
        assert spoolkit.check_dasd(c, 3)["ok"]


def test_cfba_shadow(tmp_path):
    base = create_fba(tmp_path / "b.cfba", "3370", blocks=1000, compress="zlib")
    base.write_blocks(10, b"\x11" * 1024)
    base.close()
    before = (tmp_path / "b.cfba").read_bytes()
    sf = str(tmp_path / "b_*.cfba")
    with open_dasd(tmp_path / "b.cfba", "r+", sf=sf) as d:
        d.write_blocks(11, b"\x22" * 512)
    assert (tmp_path / "b.cfba").read_bytes() == before
    with open_dasd(tmp_path / "b.cfba", sf=sf) as d:
        assert d.read_blocks(10, 2) == b"\x11" * 512 + b"\x22" * 512


def test_fba_errors(tmp_path):
    p = create_fba(tmp_path / "e.fba", "3370", blocks=300)
    with pytest.raises(AddressError):
        p.read_blocks(299, 2)
    with pytest.raises(InvalidArgumentError):
        p.write_blocks(0, b"x" * 100)
    p.close()
    with open_dasd(tmp_path / "e.fba") as r, pytest.raises(ReadOnlyError):
        r.write_blocks(0, bytes(512))
    (tmp_path / "odd.fba").write_bytes(b"\x01" * 1000)
    with pytest.raises(FormatError):
        open_dasd(tmp_path / "odd.fba")
    (tmp_path / "hdr.fba").write_bytes(b"CKD_X370" + bytes(1016))  # a header, not FBA data
    with pytest.raises(FormatError, match="unknown disk image format"):
        open_dasd(tmp_path / "hdr.fba")


def test_cli_fba(tmp_path, capsys):
    import json

    from spoolkit.cli import main
    p = create_fba(tmp_path / "c.fba", "3370", blocks=3000, volser="CLI001")
    scribble(p, 5, 30)
    p.close()
    z = tmp_path / "c.cfba"
    assert main(["dasd", "copy", str(tmp_path / "c.fba"), str(z), "--bzip2", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["format"] == "CFBA"
    assert main(["dasd", "info", str(z), str(tmp_path / "c.fba")]) == 0
    out = capsys.readouterr().out
    assert out.count("CLI001") == 2 and "CFBA" in out
    assert main(["dasd", "check", str(tmp_path / "c.fba"), "--json"]) == 0
    rep = json.loads(capsys.readouterr().out)
    assert rep["ok"] and rep["stats"]["blocks"] == 3000
    assert main(["dasd", "check", str(z), "--level", "3"]) == 0
