"""Spool archives on a minidisk extent of a CKD volume."""

import pytest
from backup_fakes import FakeSource, FakeTarget, make_file

from spoolkit import backup as B
from spoolkit import create_dasd, open_dasd
from spoolkit.errors import NoSpaceError, ProtectedExtentError


@pytest.fixture
def vol(tmp_path):
    path = tmp_path / "md.3390"
    create_dasd(path, "3390", volser="MDISK1", cylinders=8).close()
    return path


def test_round_trip_and_append(vol):
    fs = [make_file(i, 7 * i) for i in range(1, 6)]
    target = f"{vol}@3-5"
    B.dump(FakeSource(fs[:3]), target)
    B.dump(FakeSource(fs), target, incremental=[target])
    res = B.scan(target)
    assert len(res.runs) == 2 and all(r.complete for r in res.runs)
    assert [e.is_ref for e in res.runs[1].entries] == [True] * 3 + [False] * 2
    t = FakeTarget()
    B.load(target, t)
    assert {k[1] for k in t.files} == {1, 2, 3, 4, 5}
    for f, pages in fs:
        assert t.files[(f.entry.owner, f.entry.spoolid)][1] == pages
    assert not B.verify(target).errors
    # the tracks outside the extent are untouched, the extent holds 4K records
    with open_dasd(vol) as dev:
        assert dev.read_track(2, 14).nrecs == 0 and dev.read_track(6, 0).nrecs == 0
        assert [r.dl for r in dev.read_track(3, 0).records] == [4096] * 12


def test_cp_owned_extent_refused(vol):
    with pytest.raises(ProtectedExtentError):
        B.dump(FakeSource([make_file(1, 1)]), f"{vol}@0-2")


def test_killed_and_full_dumps_leave_archive_unchanged(vol):
    fs = [make_file(i, 30) for i in range(1, 4)]
    target = f"{vol}@5-5"                        # one cylinder: 15 x 12 x 4 KiB = 720 KiB
    B.dump(FakeSource(fs[:1]), target)
    with open_dasd(vol) as dev:
        before = [t.image for t in dev.tracks(5, 5)]

    def boom(n):
        if n >= 3:
            raise RuntimeError("kill")

    with pytest.raises(RuntimeError):
        B.dump(FakeSource(fs[1:]), target, on_block=boom)
    res = B.scan(target)
    assert len(res.runs) == 1 and res.runs[0].complete
    big = [make_file(i, 60) for i in range(10, 14)]
    with pytest.raises(NoSpaceError):
        B.dump(FakeSource(big), target)
    res = B.scan(target)
    assert [e.spoolid for e in res.entries] == [1]
    with open_dasd(vol) as dev:
        after = [t.image for t in dev.tracks(5, 5)]
    assert after[0][:200] == before[0][:200]      # HA, R0 and the label's start: unchanged
