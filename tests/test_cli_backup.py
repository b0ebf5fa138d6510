"""``spoolkit spool scan|verify`` (and dump/load through the library) on a
minidisk archive."""

import json
import random

from test_backup_spool import ListVolume, spool_file

from spoolkit import backup as B
from spoolkit import create_dasd, open_dasd
from spoolkit.cli import main


def run(capsys, *argv):
    rc = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return rc, out, err


def test_scan_and_verify(tmp_path, capsys):
    vol = tmp_path / "v.3390"
    create_dasd(vol, "3390", volser="ARCH01", cylinders=4).close()
    rnd = random.Random(1)
    files = [spool_file(i, rnd) for i in range(1, 6)]
    target = f"{vol}@1-3"
    B.dump(ListVolume(files), target)
    rc, out, err = run(capsys, "spool", "scan", target, "--json")
    assert rc == 0, err
    data = json.loads(out)
    assert [(f["owner"], f["spoolid"], f["kind"], f["records"]) for f in data["files"]] == \
        [(f.owner, f.spoolid, f.type, f.record_count) for f in files]
    assert len(data["runs"]) == 1 and data["runs"][0]["complete"]
    rc, out, _ = run(capsys, "spool", "scan", target)
    assert rc == 0 and out.splitlines()[1].split()[:3] == ["OWNER", "SPOOLID", "TYPE"]
    log = tmp_path / "verify.log"
    rc, out, _ = run(capsys, "spool", "verify", target, "--log", log)
    assert rc == 0 and out.count("VERIFIED") == 5 and "Errors: 0" in out
    assert log.read_text() == out
    # damage one byte inside file 3's first page block: verify names the file
    e = B.scan(target).entries[2]
    damage(vol, 1, e.offset + 8 + 4148 + 8 + 100)
    rc, out, err = run(capsys, "spool", "verify", target, "--json")
    assert rc == 1, err
    summary = json.loads(out)
    bad = [x for x in summary["lines"] if x["result"] == "ERROR"]
    assert [(x["owner"], x["spoolid"]) for x in bad] == [(e.owner, e.spoolid)]
    assert "block %d" % (e.block + 1) in bad[0]["message"]
    assert [x["result"] for x in summary["lines"]].count("VERIFIED") == 4
    # damage the framing (a block header): the run is reported incomplete, the
    # files before the damage are still verified
    damage(vol, 1, e.offset + 1)
    rc, out, err = run(capsys, "spool", "verify", target)
    assert rc == 1 and "ERROR" in out and "VERIFIED" in out


def damage(vol, first_cyl, pos):
    """Flip a byte at stream position ``pos`` of the minidisk archive."""
    from spoolkit import Track

    absolute = pos + 4096                       # after the label record
    t, off = divmod(absolute, 12 * 4096)
    r, byte = divmod(off, 4096)
    cyl, head = divmod(first_cyl * 15 + t, 15)
    with open_dasd(vol, "r+") as dev:
        recs = [(x.r, b"", bytearray(x.data)) for x in dev.read_track(cyl, head).records]
        recs[r][2][byte] ^= 0xFF
        dev.write_track(cyl, head, Track.from_records(cyl, head, recs))


def test_errors_are_one_line(tmp_path, capsys):
    rc, _, err = run(capsys, "spool", "scan", tmp_path / "missing.aws")
    assert rc == 2 and err.count("\n") == 1
