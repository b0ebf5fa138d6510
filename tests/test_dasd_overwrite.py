"""No silent overwrite by the creating dasd verbs and APIs (split sets
included), wrong input named in one line, permissions of new images."""

from __future__ import annotations

import os

import pytest

import spoolkit
from spoolkit import Track, open_dasd
from spoolkit.cli import main
from spoolkit.dasd import ckd
from spoolkit.errors import ExistsError


def run(capsys, *argv):
    rc = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return rc, out, err


def _listing(d):
    return sorted((p.name, p.stat().st_size, p.read_bytes() if p.is_file() else None)
                  for p in d.iterdir())


@pytest.fixture
def vols(tmp_path):
    """A plain and a compressed 2-cylinder 3390 with one written track."""
    plain = tmp_path / "src.3390"
    with spoolkit.create_dasd(plain, "3390", "SRC001", cylinders=2) as d:
        d.write_track(1, 3, Track.from_records(1, 3, [(1, b"", b"\x55" * 4000)]))
    cckd = tmp_path / "src.cckd"
    spoolkit.convert(plain, cckd, compress="zlib")
    return plain, cckd


@pytest.mark.parametrize("verb", ["init", "copy-cckd", "copy-plain", "copy-fba"])
def test_creating_verbs_refuse_an_existing_file(tmp_path, capsys, vols, verb):
    plain, cckd = vols
    dst = tmp_path / "old.img"
    dst.write_bytes(b"precious volume")
    os.chmod(dst, 0o600)
    if verb == "init":
        argv = ["dasd", "init", dst, "3390", "--cylinders", "1"]
    elif verb == "copy-cckd":
        argv = ["dasd", "copy", plain, dst, "-z"]
    elif verb == "copy-plain":
        argv = ["dasd", "copy", cckd, dst]
    else:
        fba = tmp_path / "s.fba"
        spoolkit.create_fba(fba, blocks=400).close()
        argv = ["dasd", "copy", fba, dst, "-z"]
    rc, _, err = run(capsys, *argv)
    assert rc == 2 and err.count("\n") == 1
    assert "old.img" in err and "already exists" in err and "--force" in err
    assert dst.read_bytes() == b"precious volume"
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]
    rc, _, err = run(capsys, *argv, "--force")
    assert rc == 0, err
    assert (dst.stat().st_mode & 0o777) == 0o600   # a replaced file keeps its mode
    with open_dasd(dst) as d:
        if verb == "copy-fba":
            assert d.kind == "CFBA"
        else:
            assert d.devtype == "3390" and d.cylinders == (1 if verb == "init" else 2)
        if verb.startswith("copy-c") or verb == "copy-plain":
            assert d.read_track(1, 3).records[0].data == b"\x55" * 4000


def test_apis_refuse_an_existing_file(tmp_path, vols):
    plain, cckd = vols
    dst = tmp_path / "keep.img"
    dst.write_bytes(b"keep")
    calls = [lambda **kw: spoolkit.create_dasd(dst, "3390", cylinders=1, **kw),
             lambda **kw: spoolkit.create_dasd(dst, "3390", cylinders=1, compress="zlib", **kw),
             lambda **kw: spoolkit.create_fba(dst, blocks=100, **kw),
             lambda **kw: spoolkit.create_fba(dst, blocks=100, compress="zlib", **kw),
             lambda **kw: spoolkit.convert(plain, dst, compress="zlib", **kw),
             lambda **kw: spoolkit.convert(cckd, dst, **kw)]
    for call in calls:
        with pytest.raises(ExistsError):
            call()
        assert dst.read_bytes() == b"keep"
    for call in calls:
        r = call(overwrite=True)
        if hasattr(r, "close"):
            r.close()
        assert dst.read_bytes() != b"keep"
        dst.write_bytes(b"keep")


@pytest.fixture
def small_split(monkeypatch):
    """Split plain volumes at 2 cylinders of a 3380 instead of at 2 GB."""
    monkeypatch.setattr(ckd, "SPLIT_LIMIT", 512 + 2 * 15 * 47616)


def test_split_set_refused_if_any_piece_exists(tmp_path, capsys, small_split):
    base = tmp_path / "vol.3380"
    piece2 = tmp_path / "vol_2.3380"
    piece2.write_bytes(b"a piece of another volume")
    rc, _, err = run(capsys, "dasd", "init", base, "3380", "--cylinders", "5")
    assert rc == 2 and "vol_2.3380" in err and "already exists" in err
    assert _listing(tmp_path) == [("vol_2.3380", 25, b"a piece of another volume")]
    piece2.unlink()
    base.write_bytes(b"the unsplit volume")
    rc, _, err = run(capsys, "dasd", "init", base, "3380", "--cylinders", "5")
    assert rc == 2 and "vol.3380" in err
    assert _listing(tmp_path) == [("vol.3380", 18, b"the unsplit volume")]
    # and a single-file volume is refused over an existing split set
    base.unlink()
    rc, _, _ = run(capsys, "dasd", "init", base, "3380", "--cylinders", "5")
    assert rc == 0 and sorted(p.name for p in tmp_path.iterdir()) == \
        ["vol_1.3380", "vol_2.3380", "vol_3.3380"]
    before = _listing(tmp_path)
    rc, _, err = run(capsys, "dasd", "init", base, "3380", "--cylinders", "1")
    assert rc == 2 and "vol_1.3380" in err
    assert _listing(tmp_path) == before


def test_split_set_force_replaces_the_whole_set(tmp_path, capsys, small_split):
    base = tmp_path / "vol.3380"
    rc, _, _ = run(capsys, "dasd", "init", base, "3380", "--cylinders", "7", "--volser", "OLD")
    assert rc == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == \
        ["vol_1.3380", "vol_2.3380", "vol_3.3380", "vol_4.3380"]
    os.chmod(tmp_path / "vol_1.3380", 0o600)
    unrelated = tmp_path / "vol_9.3380"
    unrelated.write_bytes(b"not a piece")
    rc, _, err = run(capsys, "dasd", "init", base, "3380", "--cylinders", "3", "--volser",
                     "NEW")
    assert rc == 2 and "vol_1.3380" in err
    rc, _, err = run(capsys, "dasd", "init", base, "3380", "--cylinders", "3", "--volser",
                     "NEW", "--force")
    assert rc == 0, err
    # the stale pieces 3 and 4 of the old, bigger set are gone; a file that
    # only looks like a piece name is no piece and stays
    assert sorted(p.name for p in tmp_path.iterdir()) == \
        ["vol_1.3380", "vol_2.3380", "vol_9.3380"]
    assert unrelated.read_bytes() == b"not a piece"
    unrelated.unlink()
    assert (tmp_path / "vol_1.3380").stat().st_mode & 0o777 == 0o600
    with open_dasd(tmp_path / "vol_1.3380") as d:
        assert (d.cylinders, d.volser, len(d.files)) == (3, "NEW", 2)
    # a plain copy into a split set follows the same rules
    src = tmp_path / "s.cckd"
    spoolkit.convert(tmp_path / "vol_1.3380", src, compress="zlib")
    rc, _, err = run(capsys, "dasd", "copy", src, base)
    assert rc == 2 and "vol_1.3380" in err
    rc, _, err = run(capsys, "dasd", "copy", src, tmp_path / "one.3380", "--lfs")
    assert rc == 0 and sorted(p.name for p in tmp_path.iterdir() if "one" in p.name) == \
        ["one.3380"]
    rc, _, err = run(capsys, "dasd", "copy", src, base, "--lfs", "--force")
    assert rc == 0, err
    # the single file replaced the set: its pieces went after it was in place
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("vol")) == \
        ["vol.3380"]
    with open_dasd(base) as d:
        assert (d.cylinders, d.volser) == (3, "NEW")


def test_sf_pattern_matching_nothing_is_named(tmp_path, capsys, vols):
    _, cckd = vols
    out = tmp_path / "out.cckd"
    rc, _, err = run(capsys, "dasd", "copy", cckd, out, "--sf", str(tmp_path / "nonexist_*.cckd"))
    assert rc == 2 and err.count("\n") == 1
    assert "nonexist_*.cckd" in err and "no shadow file matches" in err
    assert not out.exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


@pytest.mark.parametrize("cyls", ["0", "-1", "70000"])
def test_init_bad_cylinder_count(tmp_path, capsys, cyls):
    img = tmp_path / "x.3390"
    rc, _, err = run(capsys, "dasd", "init", img, "3390", "--cylinders", cyls)
    assert rc == 2 and err.count("\n") == 1 and "Traceback" not in err
    assert "x.3390" in err and f"{cyls} cylinders" in err and "1 to 65535" in err
    assert list(tmp_path.iterdir()) == []


def test_create_fba_bad_block_count(tmp_path):
    for n in (0, 1, -5, 1 << 40):
        with pytest.raises(ValueError, match="blocks"):
            spoolkit.create_fba(tmp_path / "f.fba", blocks=n)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("argv", [
    ["dasd", "info", "{d}"],
    ["dasd", "copy", "{d}", "{t}/o.cckd", "-z"],
    ["dasd", "write", "{d}", "0", "1", "{src}"],
    ["dasd", "check", "{d}"],
    ["dasd", "copy", "{src}", "{d}", "-z"],
    ["dasd", "init", "{d}", "3390", "--cylinders", "1"],
])
def test_directory_where_an_image_is_expected(tmp_path, capsys, vols, argv):
    d = tmp_path / "adir"
    d.mkdir()
    before = _listing(tmp_path)
    rc, _, err = run(capsys, *[a.format(d=d, t=tmp_path, src=vols[0]) for a in argv])
    assert rc == 2 and err.count("\n") == 1 and "Traceback" not in err
    assert "adir" in err and "directory" in err.lower()
    assert _listing(tmp_path) == before and list(d.iterdir()) == []


def test_read_output_refuses_existing_and_links(tmp_path, capsys, vols):
    plain, _ = vols
    out = tmp_path / "t.bin"
    out.write_bytes(b"old")
    rc, _, err = run(capsys, "dasd", "read", plain, 1, 3, "-o", out)
    assert rc == 2 and "already exists" in err and out.read_bytes() == b"old"
    rc, _, err = run(capsys, "dasd", "read", plain, 1, 3, "-o", out, "--force")
    assert rc == 0
    with open_dasd(plain) as d:
        assert out.read_bytes() == d.read_track(1, 3).image
    target = tmp_path / "victim"
    link = tmp_path / "link.bin"
    link.symlink_to(target)
    for force in ([], ["--force"]):
        rc, _, err = run(capsys, "dasd", "read", plain, 1, 3, "-o", link, *force)
        assert rc == 2 and "symbolic link" in err
        assert not target.exists() and link.is_symlink()


def test_new_images_honour_the_umask(tmp_path, vols, small_split):
    plain, cckd = vols
    old = os.umask(0o027)
    try:
        made = [spoolkit.create_dasd(tmp_path / "u.3380", "3380", cylinders=5),
                spoolkit.create_dasd(tmp_path / "u.cckd", "3390", cylinders=1,
                                     compress="zlib"),
                spoolkit.create_fba(tmp_path / "u.fba", blocks=100),
                spoolkit.create_fba(tmp_path / "u.cfba", blocks=100, compress="zlib")]
        for m in made:
            m.close()
        spoolkit.convert(cckd, tmp_path / "c.3390")
        spoolkit.convert(plain, tmp_path / "c.cckd", compress="zlib")
        spoolkit.convert(tmp_path / "u_1.3380", tmp_path / "c.3380")
    finally:
        os.umask(old)
    names = ["u_1.3380", "u_2.3380", "u_3.3380", "u.cckd", "u.fba", "u.cfba", "c_1.3390",
             "c_2.3390", "c.cckd", "c_1.3380", "c_2.3380", "c_3.3380"]
    for n in names:
        assert (tmp_path / n).stat().st_mode & 0o777 == 0o640, n
