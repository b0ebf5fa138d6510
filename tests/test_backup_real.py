"""DUMP / LOAD / SCAN end to end on real spool volumes and real tape images
(AWS, HET, FakeTape), a volume target and a minidisk target."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from spool_strategies import spoolfiles

from spoolkit.backup import dump, load, scan
from spoolkit.cp import format_volume
from spoolkit.errors import ProtectedExtentError
from spoolkit.spool import SpoolFile, create_volume, open_volume
from spoolkit.tape import open_tape

EXTENTS = [("SPOL", 1, 10), ("DRCT", 11, 11)]


def _files():
    t0 = dt.datetime(2026, 11, 1, 8, 0, tzinfo=dt.timezone.utc)
    return [
        SpoolFile(type="PRT", owner="MAINT", spoolid=11, fname="SYSTEM", ftype="LISTING",
                  class_="A", created=t0, records=[(0x09, b"LINE %d" % j) for j in range(300)]),
        SpoolFile(type="PUN", owner="OPERATOR", spoolid=12, fname="DECK", ftype="EXEC",
                  class_="B", created=t0 + dt.timedelta(hours=1),
                  records=[(0x41, (b"CARD %03d" % j).ljust(80)) for j in range(60)]),
        SpoolFile(type="NSS", owner="SYSTEM", spoolid=13, fname="CMS", ftype="NSS",
                  class_="A", created=t0 + dt.timedelta(hours=2),
                  records=[(0x01, bytes([j % 256]) * 4000) for j in range(40)]),
    ]


def _volume(path, files):
    with create_volume(path, "3390", volser="SPL001", extents=EXTENTS, cylinders=20) as vol:
        for sf in files:
            vol.add(sf)
    return path


def _read_all(path):
    with open_volume(path) as vol:
        return sorted(((sf.spoolid, sf.owner, sf.type, sf.fname, sf.created,
                        list(sf.records())) for sf in vol.files()), key=lambda x: x[0])


@pytest.mark.parametrize("name", ["a.aws", "h.het", "f.fkt"])
def test_dump_load_round_trip_tapes(tmp_path, name):
    src = _volume(tmp_path / "src.3390", _files())
    tape = tmp_path / name
    log = dump(src, tape, compress="zlib" if name.endswith(".het") else None)
    assert log.to_dict()["files"] == 3 and not log.errors
    with open_tape(tape) as t:  # a valid tape image whichever format
        assert sum(1 for b in t if not b.is_tapemark) > 3
    res = scan(tape)
    assert sorted(e.spoolid for e in res.entries) == [11, 12, 13]
    dst = tmp_path / "dst.3390"
    create_volume(dst, "3390", volser="SPL002", extents=EXTENTS, cylinders=20).close()
    load(tape, dst)
    assert _read_all(dst) == _read_all(src)


def test_selective_load_and_volume_target(tmp_path):
    src = _volume(tmp_path / "src.3390", _files())
    tape = tmp_path / "sel.het"
    dump(src, tape, compress="zlib")
    dst = tmp_path / "dst.3390"
    create_volume(dst, "3390", volser="SPL003", extents=EXTENTS, cylinders=20).close()
    load(tape, dst, select={"owner": "OPERATOR"})
    got = _read_all(dst)
    assert [g[:4] for g in got] == [(12, "OPERATOR", "PUN", "DECK")]
    # DUMP straight into a SPOL volume: the backup is itself a spool volume
    vol2 = tmp_path / "backup.3390"
    create_volume(vol2, "3390", volser="SPL004", extents=EXTENTS, cylinders=20).close()
    dump(src, vol2)
    assert _read_all(vol2) == _read_all(src)


def test_incremental_chain_restores_latest(tmp_path):
    files = _files()
    src = _volume(tmp_path / "src.3390", files[:2])
    full = tmp_path / "full.aws"
    dump(src, full)
    with open_volume(src, "r+") as vol:
        vol.add(files[2])
    inc = tmp_path / "inc.aws"
    log = dump(src, inc, incremental=[full])
    results = {x["spoolid"]: x["result"] for x in log.to_dict()["lines"]}
    assert results[13] == "DUMPED" and results[11] != "DUMPED"
    assert inc.stat().st_size < full.stat().st_size + 200_000
    dst = tmp_path / "dst.3390"
    create_volume(dst, "3390", volser="SPL005", extents=EXTENTS, cylinders=20).close()
    load([full, inc], dst)
    assert _read_all(dst) == _read_all(src)


def test_minidisk_target_refused_over_cp_area(tmp_path):
    src = _volume(tmp_path / "src.3390", _files())
    disk = tmp_path / "user.3390"
    format_volume(disk, "3390", volser="USR001", cylinders=30,
                  extents=[("SPOL", 1, 9), ("PERM", 10, 29)])
    with pytest.raises(ProtectedExtentError):
        dump(src, (str(disk), (5, 12)))
    dump(src, (str(disk), (12, 20)))
    dst = tmp_path / "dst.3390"
    create_volume(dst, "3390", volser="SPL006", extents=EXTENTS, cylinders=20).close()
    load((str(disk), (12, 20)), dst)
    assert _read_all(dst) == _read_all(src)


@settings(max_examples=8, deadline=None, suppress_health_check=list(HealthCheck))
@given(files=st.lists(spoolfiles(max_records=20), max_size=5, unique_by=lambda f: f.spoolid))
def test_property_round_trip(tmp_path_factory, files):
    d = tmp_path_factory.mktemp("p")
    src = _volume(d / "src.3390", files)
    dump(src, d / "t.het", compress="zlib")
    dst = d / "dst.3390"
    create_volume(dst, "3390", volser="SPL007", extents=EXTENTS, cylinders=20).close()
    load(d / "t.het", dst)
    assert _read_all(dst) == _read_all(src)


def test_cli_dump_scan_load_with_selection(tmp_path, capsys):
    import json

    from spoolkit.cli import main

    src = _volume(tmp_path / "src.3390", _files())
    tape = tmp_path / "cli.het"
    assert main(["spool", "dump", str(src), "--to", str(tape), "--owner", "OPER*",
                 "--compress", "zlib"]) == 0
    capsys.readouterr()
    assert main(["spool", "scan", str(tape), "--json"]) == 0
    scanned = json.loads(capsys.readouterr().out)
    assert "OPERATOR" in json.dumps(scanned) and "MAINT" not in json.dumps(scanned)
    dst = tmp_path / "dst.3390"
    create_volume(dst, "3390", volser="SPL008", extents=EXTENTS, cylinders=20).close()
    assert main(["spool", "load", str(tape), "--to", str(dst)]) == 0
    assert [g[:2] for g in _read_all(dst)] == [(12, "OPERATOR")]
    assert main(["spool", "verify", str(tape)]) == 0
    # a date range that matches nothing dumps nothing
    capsys.readouterr()
    assert main(["spool", "dump", str(src), "--to", str(tmp_path / "none.aws"),
                 "--date", "2020-01-01:2020-12-31", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["files"] == 0
