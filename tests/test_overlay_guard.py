"""Guarded TRACKWRITE / FBA block writes."""

from __future__ import annotations

import logging

import pytest

import spoolkit
from spoolkit.dasd.track import Track
from spoolkit.errors import InvalidArgumentError, ProtectedExtentError
from spoolkit.overlay import Protected, guard, parse_directory, parse_system_config
from spoolkit.overlay.guard import protected_extents


def payload(cyl, head):
    """A one-record track for (cyl, head) whose data names its place."""
    return Track.from_records(cyl, head, [(1, b"", b"TRK %d/%d" % (cyl, head) * 50)])


@pytest.fixture
def vol(tmp_path):
    dev = spoolkit.create_dasd(tmp_path / "v.3390", "3390", "CPVOL1", cylinders=10)
    yield dev
    if not dev.closed:
        dev.close()


def test_refused_inside_allowed_outside(vol):
    g = guard(vol, [Protected(3, 5, "SPOL"), (8, 8, "PAGE")])
    assert [(p.first, p.last, p.kind) for p in g.protected] == [
        (0, 0, "CYL0"), (3, 5, "SPOL"), (8, 8, "PAGE")]
    for cyl, head in [(0, 1), (3, 0), (5, 14), (8, 7)]:
        before = vol.read_track(cyl, head).image
        with pytest.raises(ProtectedExtentError) as ei:
            g.write_track(cyl, head, payload(cyl, head))
        msg = str(ei.value)
        assert vol.path in msg and f"track {cyl}/{head}" in msg
        assert ei.value.track == (cyl, head)
        assert vol.read_track(cyl, head).image == before   # nothing written
    assert "SPOL extent 3-5" in str(pytest.raises(ProtectedExtentError, g.write_track, 4, 2,
                                                  payload(4, 2)).value)
    # outside: written through to the image
    g.write_track(2, 3, payload(2, 3))
    assert vol.read_track(2, 3).records[0].data == b"TRK 2/3" * 50
    assert g.overrides == []
    # everything else is the wrapped image
    assert g.cylinders == 10 and g.volser == "CPVOL1" and g.path == vol.path


def test_override_is_logged(vol, caplog):
    g = guard(vol, [(3, 5, "SPOL")])
    with caplog.at_level(logging.WARNING, logger="spoolkit.overlay"):
        g.write_track(4, 1, payload(4, 1), override="restoring spool from SPXTAPE dump")
    assert vol.read_track(4, 1).records[0].data == b"TRK 4/1" * 50
    assert len(g.overrides) == 1
    o = g.overrides[0]
    assert o["reason"] == "restoring spool from SPXTAPE dump" and o["where"] == "track 4/1"
    assert "SPOL extent 3-5" in o["extent"]
    rec = [r for r in caplog.records if r.name == "spoolkit.overlay"]
    assert len(rec) == 1 and "restoring spool" in rec[0].getMessage()
    assert "track 4/1" in rec[0].getMessage()


def test_user_volume_cylinder0_not_protected_and_context_manager(tmp_path):
    dev = spoolkit.create_dasd(tmp_path / "u.3390", "3390", "USR001", cylinders=10)
    with guard(dev, [(5, 6, "MDISK", "LINUX01")], cp_owned=False) as g:
        g.write_track(0, 1, payload(0, 1))
        assert dev.read_track(0, 1).records[0].data == b"TRK 0/1" * 50
        with pytest.raises(ProtectedExtentError, match="LINUX01"):
            g.write_track(6, 0, payload(6, 0))
    assert dev.closed


def test_bad_protected_extent(vol):
    with pytest.raises(InvalidArgumentError):
        guard(vol, [(5, 2, "SPOL")])


def test_fba_blocks(tmp_path):
    from spoolkit.dasd.fba import create_fba
    dev = create_fba(tmp_path / "f.fba", "3370", blocks=2000)
    g = guard(dev, [(100, 199, "SPOL")])
    assert [p.kind for p in g.protected] == ["SPOL"]   # no cylinder 0 on FBA
    data = bytes(range(256)) * 4                        # 2 blocks
    with pytest.raises(ProtectedExtentError) as ei:
        g.write_blocks(99, data)                        # 99-100: second block protected
    assert ei.value.block == 99 and "blocks 99-100" in str(ei.value)
    g.write_blocks(97, data)
    assert dev.read_blocks(97, 2) == data
    g.write_blocks(150, data, override="test")
    assert dev.read_blocks(150, 2) == data and len(g.overrides) == 1
    dev.close()


def test_protected_extents_from_map_directory_and_config(vol, monkeypatch):
    class Ext:
        def __init__(self, kind, first, last):
            self.kind, self.first_cyl, self.last_cyl = kind, first, last

    import spoolkit.cp

    areas = {"CPVOL1": [Ext("PERM", 0, 0), Ext("PAGE", 1, 3), Ext("PERM", 4, 9)]}
    monkeypatch.setattr(spoolkit.cp, "read_cp_extents", lambda dev: areas.get(dev.volser, []))
    prot = protected_extents(vol)
    assert [(p.first, p.last, p.kind) for p in prot] == [(0, 0, "CYL0"), (1, 3, "PAGE")]
    # no map: a $-user lock in the directory, or SYSTEM CONFIG, makes it CP's
    areas.clear()
    assert protected_extents(vol) == []
    cfg = parse_system_config("CP_Owned Slot 1 CPVOL1\n")
    assert [(p.first, p.kind) for p in protected_extents(vol, system_config=cfg)] == [
        (0, "CYL0")]
    d = parse_directory("USER $TEMP$ NOLOG\n MDISK A01 3390 7 2 CPVOL1 R\n")
    prot = protected_extents(vol, d)
    assert [(p.first, p.last, p.kind, p.owner) for p in prot] == [
        (0, 0, "CYL0", "CP"), (7, 8, "TEMP", "$TEMP$")]
    g = guard(vol, prot)
    with pytest.raises(ProtectedExtentError, match=r"TEMP extent of \$TEMP\$ 7-8"):
        g.write_track(8, 0, payload(8, 0))


def test_guard_on_a_real_cp_formatted_volume(tmp_path, caplog):
    """The allocation map written by spoolkit.cp protects the SPOL/DRCT/PAGE areas."""
    from spoolkit import Track, open_dasd
    from spoolkit.cp import format_volume

    path = tmp_path / "cp.3390"
    format_volume(path, "3390", volser="CPSPL1", cylinders=20,
                  extents=[("PAGE", 1, 4), ("SPOL", 5, 14), ("DRCT", 15, 15)])
    with open_dasd(path, "r+") as dev:
        prot = protected_extents(dev)
        assert [(p.first, p.last, p.kind) for p in prot] == [
            (0, 0, "CYL0"), (1, 4, "PAGE"), (5, 14, "SPOL"), (15, 15, "DRCT")]
        g = guard(dev, prot)
        for cyl in (0, 3, 9, 15):
            with pytest.raises(ProtectedExtentError):
                g.write_track(cyl, 1, Track.from_records(cyl, 1, [(1, b"", b"x")]))
        user = Track.from_records(17, 2, [(1, b"", b"user data")])
        g.write_track(17, 2, user)
        assert dev.read_track(17, 2) == user
        with caplog.at_level("WARNING", logger="spoolkit.overlay"):
            g.write_track(9, 1, Track.from_records(9, 1, [(1, b"", b"ok")]), override="test")
        assert "test" in caplog.text and len(g.overrides) == 1


def test_profile_mdisk_locks_nothing(vol, monkeypatch):
    """An MDISK in a PROFILE is rejected by DIRECTXA: included by a $-user it
    does not become a lock; the $-user's own MDISK does."""
    import spoolkit.cp
    monkeypatch.setattr(spoolkit.cp, "read_cp_extents", lambda dev: [])
    d = parse_directory("PROFILE LOCKS\n MDISK A01 3390 3 2 CPVOL1 R\n"
                        "USER $SPOOL$ NOLOG\n INCLUDE LOCKS\n MDISK A02 3390 6 2 CPVOL1 R\n")
    assert [(f.line, f.code) for f in d.findings] == [(2, "mdisk-in-profile")]
    prot = protected_extents(vol, d)
    assert [(p.first, p.last, p.kind, p.owner) for p in prot] == [
        (0, 0, "CYL0", "CP"), (6, 7, "SPOL", "$SPOOL$")]
    g = guard(vol, prot)
    g.write_track(3, 0, payload(3, 0))
    assert vol.read_track(3, 0).records[0].data == b"TRK 3/0" * 50
    before = vol.read_track(6, 0).image
    with pytest.raises(ProtectedExtentError, match=r"SPOL extent of \$SPOOL\$ 6-7"):
        g.write_track(6, 0, payload(6, 0))
    assert vol.read_track(6, 0).image == before


def test_fba_volume_has_no_cp_map_and_no_tracks(tmp_path):
    from spoolkit.dasd.fba import create_fba
    from spoolkit.overlay import volume_info
    dev = create_fba(tmp_path / "f.fba", "3370", blocks=2000, volser="FBA001")
    assert protected_extents(dev) == []
    info = volume_info(dev)
    assert (info.volser, info.size, info.unit, info.cp_areas) == ("FBA001", 2000, "block", [])
    g = guard(dev, [(100, 199, "SPOL")])
    with pytest.raises(InvalidArgumentError, match="use write_blocks"):
        g.write_track(0, 0, payload(0, 0))
    assert g.device is dev
    dev.close()
    assert volume_info(tmp_path / "f.fba").size == 2000


def test_ckd_volume_has_no_blocks(vol):
    g = guard(vol, [(3, 5, "SPOL")])
    before = vol.read_track(0, 1).image
    with pytest.raises(InvalidArgumentError, match="use write_track"):
        g.write_blocks(0, bytes(512))
    assert vol.read_track(0, 1).image == before
