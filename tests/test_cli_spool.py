"""``spoolkit spool`` verbs, in process."""

from __future__ import annotations

import json

from spoolkit.cli import main
from spoolkit.spool import open_volume


def _format(tmp_path, capsys, name="v.cckd"):
    img = str(tmp_path / name)
    assert main(["spool", "format", img, "3390", "--volser", "SPL001", "--cylinders", "20",
                 "--spol", "1-10", "--drct", "11"]) == 0
    assert "SPOL 1-10, DRCT 11-11" in capsys.readouterr().out
    return img


def test_format_add_list_get(tmp_path, capsys):
    img = _format(tmp_path, capsys)
    txt = tmp_path / "h.txt"
    txt.write_text("HELLO\nWORLD\n")
    assert main(["spool", "add", img, str(txt), "--owner", "MAINT", "--name", "HELLO",
                 "--ftype", "LISTING", "--class", "B", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {"spoolid": 1, "records": 2}
    assert main(["spool", "add", img, str(txt), "--type", "PUN", "--owner", "OPER"]) == 0
    assert "spool file 2: 2 records" in capsys.readouterr().out
    assert main(["spool", "list", img]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split()[:3] == ["ORIGINID", "FILE", "CLASS"]
    assert out[1].split()[:5] == ["MAINT", "1", "PRT", "B", "2"]
    assert out[2].split()[:5] == ["OPER", "2", "PUN", "A", "2"]
    assert main(["spool", "get", img, "1"]) == 0
    assert capsys.readouterr().out.split() == ["HELLO", "WORLD"]
    raw = tmp_path / "r.raw"
    assert main(["spool", "get", img, "2", "--raw", "-o", str(raw)]) == 0
    assert raw.stat().st_size == 4096
    assert main(["spool", "add", img, str(raw), "--owner", "X", "--type", "RDR"]) == 0
    capsys.readouterr()
    with open_volume(img) as vol:
        assert list(vol.get(3).records()) == list(vol.get(2).records())
    assert main(["spool", "get", img, "2", "--pipes", "-o", str(tmp_path / "p")]) == 0
    data = (tmp_path / "p").read_bytes()
    assert data[:3] == b"\x00\x89\x03" and len(data) == 2 + 137 + 2 * (2 + 1 + 5)
    assert main(["spool", "list", img, "--json"]) == 0
    assert [r["spoolid"] for r in json.loads(capsys.readouterr().out)] == [1, 2, 3]


def test_recover_and_errors(tmp_path, capsys):
    img = _format(tmp_path, capsys, "v.ckd")
    txt = tmp_path / "h.txt"
    txt.write_text("A\n")
    main(["spool", "add", img, str(txt)])
    with open_volume(img, "r+") as vol:
        vol.cp.write_slots({vol.cp.allocation.index_slot: bytes(4096)})
    capsys.readouterr()
    assert main(["spool", "list", img]) == 2
    assert "not a spool index page" in capsys.readouterr().err
    assert main(["spool", "recover", img]) == 0
    assert "kept 1 files: 1" in capsys.readouterr().out
    assert main(["spool", "get", img, "7"]) == 2
    assert main(["spool", "remove", img, "1"]) == 0
    assert main(["spool", "list", img, "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == []


def test_demo_spool(capsys):
    assert main(["demo"]) == 0
    out = capsys.readouterr().out
    assert "== spool:" in out and "7 files read back" in out
    assert out.count(" ok\n") == 7 and "DIFFERS" not in out
    assert "SCAN lists 7 files" in out and "7 files restored; volumes equal: yes" in out


def test_demo_netdata_detected():
    from spoolkit.demo import demo_spool_files
    from spoolkit.spool.vmur import detect_kind
    kinds = {sf.ftype: detect_kind(sf) for sf in demo_spool_files()}
    assert kinds["NETDATA"] == "NETDATA" and kinds["LISTING"] is None


def test_list_two_volumes(tmp_path, capsys):
    a = _format(tmp_path, capsys, "a.ckd")
    b = _format(tmp_path, capsys, "b.cckd")
    txt = tmp_path / "h.txt"
    txt.write_text("X\n")
    main(["spool", "add", a, str(txt), "--spoolid", "5"])
    main(["spool", "add", b, str(txt), "--spoolid", "3", "--owner", "OPER"])
    capsys.readouterr()
    assert main(["spool", "list", a, b]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[-1] == "VOLSER"
    assert [ln.split()[1] for ln in lines[1:]] == ["3", "5"]
    assert [ln.split()[-1] for ln in lines[1:]] == ["SPL001", "SPL001"]
