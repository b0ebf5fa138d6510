"""Pipeline stages: readspool/writespool, trackread/trackwrite, READER form."""

from __future__ import annotations

import pytest

from spoolkit import create_dasd, open_dasd
from spoolkit.errors import FormatError, InvalidArgumentError
from spoolkit.pipes import (
    from_reader_records,
    reader_records,
    readspool,
    trackread,
    trackwrite,
    writespool,
)
from spoolkit.spool import Selection, SpoolFile, System, create_volume, open_volume

EXTENTS = [("SPOL", 1, 8), ("DRCT", 9, 9)]


def _vol(path, files=()):
    vol = create_volume(path, "3390", volser="S", extents=EXTENTS, cylinders=12)
    for sf in files:
        vol.add(sf)
    return vol


FILES = [SpoolFile(owner=o, type=t, spoolid=i + 1, tag="NODE1 USER1",
                   records=[(0x09 if t == "PRT" else 0x41, b"%s %d" % (o.encode(), j))
                            for j in range(i * 50 + 1)])
         for i, (o, t) in enumerate([("MAINT", "PRT"), ("OPER", "PUN"), ("MAINT", "PUN")])]


def test_readspool_writespool(tmp_path):
    src = _vol(tmp_path / "a.ckd", FILES)
    dst = _vol(tmp_path / "b.cckd")
    ids = list(readspool(src, select=Selection(owner="MAINT")) | writespool(dst))
    assert ids == [1, 3]
    dst.close()
    with open_volume(tmp_path / "b.cckd") as back:
        assert list(back.files()) == [FILES[0], FILES[2]]
    with System([src]) as system:
        assert [sf.spoolid for sf in readspool(system, select={"type": "PUN"})] == [2, 3]
    # plain iterables feed a stage too
    dst2 = _vol(tmp_path / "c.ckd")
    assert list(FILES | writespool(dst2)) == [1, 2, 3]
    with pytest.raises(InvalidArgumentError):
        list(writespool(dst2))


def test_trackread_trackwrite(tmp_path):
    src = _vol(tmp_path / "a.ckd", FILES)
    src.cp.flush()
    with create_dasd(tmp_path / "b.ckd", "3390", "S", cylinders=12) as dst:
        n = (trackread(src.cp.dev) | trackwrite(dst)).run()
        assert n == 12 * 15
    src.close()
    with open_volume(tmp_path / "b.ckd") as copy:
        assert list(copy.files()) == FILES
    with open_dasd(tmp_path / "a.ckd") as a, open_dasd(tmp_path / "b.ckd") as b:
        assert all(x == y for x, y in zip(a.tracks(), b.tracks()))


def test_reader_form_round_trip():
    sf = FILES[1]
    recs = list(reader_records(sf))
    assert recs[0][0] == 0x03 and len(recs[0]) == 137
    assert recs[0][1:].decode("cp037").rstrip() == "NODE1 USER1"
    assert recs[1] == b"\x41" + b"OPER 0"
    back = from_reader_records(recs, owner="OPER", type="PUN", spoolid=2,
                               created=sf.created)
    assert back == sf
    with pytest.raises(FormatError):
        from_reader_records([b"\x03", b""], owner="X")


def test_a_bad_selection_dict_is_refused_when_the_stage_is_made(tmp_path):
    src = _vol(tmp_path / "a.ckd", FILES)
    with pytest.raises(InvalidArgumentError, match="spool ID range"):
        readspool(src, select={"spoolid": "x-y"})
    src.close()


def test_an_empty_pipeline_is_refused():
    from spoolkit.pipes import Pipeline
    with pytest.raises(InvalidArgumentError, match="without stages"):
        list(Pipeline([]))
