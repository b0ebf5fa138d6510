"""spoolkit batch: a job over a directory of generated images (good and
corrupt), the journal, resume after a rerun and after SIGKILL, reports."""

from __future__ import annotations

import csv
import io
import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from batch_images import (
    CMS_DISKS,
    CORRUPT,
    SPLIT_CYLS,
    make_fact_images,
    make_images,
    split_track,
)
from conftest import IMPORT_ALL, ROOT, need_tool, run_killed

import spoolkit
import spoolkit.batch as batch
from spoolkit.batch.jobs import JobOptions

ENV = {**os.environ, "PYTHONPATH": str(ROOT)}
JOURNAL = "spoolkit-batch.sqlite"


@pytest.fixture(scope="module")
def images(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, list[str]]]:
    d = tmp_path_factory.mktemp("batch-src")
    return d, make_images(d)


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "spoolkit", "batch", *args], env=ENV,
                          capture_output=True, text=True, timeout=300)


def _good(m: dict[str, list[str]]) -> list[str]:
    return [n for k, names in m.items() if k != "corrupt" for n in names]


def _rows(to: Path) -> list[tuple[object, ...]]:
    db = sqlite3.connect(to / JOURNAL)
    try:
        return db.execute("SELECT name, status, size, bytes_out, error_type FROM images "
                          "ORDER BY name").fetchall()
    finally:
        db.close()


def test_convert_directory_good_clean_corrupt_reported(images, tmp_path):
    src, m = images
    assert len(_good(m)) + len(m["corrupt"]) >= 50
    to = tmp_path / "out"
    r = _cli("convert", str(src), "--to", str(to), "-z", "--tape-zlib", "--json", "-j", "2")
    assert r.returncode == 1, r.stderr
    rep = json.loads(r.stdout)
    by_name = {x["name"]: x for x in rep["results"]}
    assert rep["images"] == len(_good(m)) + len(CORRUPT)
    assert rep["failed"] == len(CORRUPT) and rep["ok"] == len(_good(m))
    for name in m["corrupt"]:
        x = by_name[name]
        assert x["status"] == "failed" and x["error"] and x["error_type"], x
        assert not (to / name).exists()            # no half-written output
    assert "runs past the end" in by_name["bad/trunc.het"]["error"]
    assert "1024 bytes" in by_name["bad/trunc.cckd"]["error"]
    cckdcdsk, hetmap = need_tool("cckdcdsk"), need_tool("hetmap")
    for name in m["ckd"] + m["cckd"] + m["fba"]:
        out = to / name
        assert out.read_bytes()[:8] in (b"CKD_C370", b"FBA_C370"), name
        p = subprocess.run([cckdcdsk, "-3", str(out)], capture_output=True, text=True)
        assert p.returncode == 0, (name, p.stdout, p.stderr)
    for name in m["aws"] + m["het"]:
        p = subprocess.run([hetmap, str(to / name)], capture_output=True, text=True)
        q = subprocess.run([hetmap, str(src / name)], capture_output=True, text=True)
        assert p.returncode == 0 and q.returncode == 0, (name, p.stdout, p.stderr)
        blocks = [ln for ln in p.stdout.splitlines() if ln.startswith("Blocks")]
        assert blocks and blocks == [ln for ln in q.stdout.splitlines()
                                     if ln.startswith("Blocks")], name
    # the journal says the same, and no temporaries are left
    rows = _rows(to)
    assert [r[0] for r in rows] == sorted(by_name)
    assert all((r[1] == "failed") == (r[0] in m["corrupt"]) for r in rows)
    assert not [p for p in to.rglob(".*.tmp")]


def test_converted_disk_reads_back_the_source(images, tmp_path):
    import spoolkit

    src, m = images
    to = tmp_path / "out"
    s = batch.run("convert", [src / m["ckd"][3], src / m["cckd"][4]], to=to,
                  options=JobOptions(compress="bzip2"))
    assert s.ok == 2 and s.failed == 0
    for name in (m["ckd"][3], m["cckd"][4]):
        with spoolkit.open_dasd(src / name) as a, spoolkit.open_dasd(to / Path(name).name) as b:
            assert b.info()["compression"] == "bzip2"
            for trk in range(a.total_tracks):
                cyl, head = divmod(trk, a.heads)
                assert a.read_track(cyl, head).image == b.read_track(cyl, head).image


def test_rerun_skips_finished_and_redoes_changed(images, tmp_path):
    src, m = images
    to = tmp_path / "out"
    first = batch.run("convert", [src / "disks"], to=to, options=JobOptions(compress="zlib"))
    assert first.failed == 0 and first.ok == len(m["ckd"] + m["cckd"] + m["fba"])
    again = batch.run("convert", [src / "disks"], to=to, options=JobOptions(compress="zlib"))
    assert again.images == 0 and again.skipped == first.ok
    # a source that changed (new mtime) is redone; its old output is replaced
    victim = src / m["ckd"][0]
    st = victim.stat()
    os.utime(victim, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    try:
        third = batch.run("convert", [src / "disks"], to=to,
                          options=JobOptions(compress="zlib"))
    finally:
        os.utime(victim, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert [s.name for s, _ in third.results] == [Path(m["ckd"][0]).name]
    assert third.ok == 1


def test_failed_images_skipped_unless_retry(images, tmp_path):
    src, m = images
    to = tmp_path / "out"
    r = _cli("check", str(src / "bad"), "--to", str(to))
    assert r.returncode == 1 and "6 failed" in r.stdout
    r = _cli("check", str(src / "bad"), "--to", str(to))
    assert r.returncode == 1 and "0 images" in r.stdout and "6 of them failed" in r.stdout
    r = _cli("check", str(src / "bad"), "--to", str(to), "--retry-failed", "--json")
    assert r.returncode == 1 and json.loads(r.stdout)["failed"] == 6


def test_verify_sources_hash(images, tmp_path):
    src, m = images
    to = tmp_path / "out"
    one = src / m["aws"][0]
    s = batch.run("check", [one], to=to, hash_sources=True)
    assert s.ok == 1
    (row,) = batch.report(str(to))
    import hashlib
    assert row["sha256"] == hashlib.sha256(one.read_bytes()).hexdigest()
    assert batch.run("check", [one], to=to, hash_sources=True).skipped == 1


def test_existing_output_refused_without_force(images, tmp_path):
    src, m = images
    to = tmp_path / "out"
    to.mkdir()
    (to / "t00.aws").write_bytes(b"mine")
    s = batch.run("convert", [src / m["aws"][0]], to=to)
    assert s.failed == 1 and s.results[0][1].error_type == "ExistsError"
    assert (to / "t00.aws").read_bytes() == b"mine"
    assert "exists" in s.results[0][1].error
    # retrying the failure does not make the file the batch's own
    s = batch.run("convert", [src / m["aws"][0]], to=to, retry_failed=True)
    assert s.failed == 1 and (to / "t00.aws").read_bytes() == b"mine"
    s = batch.run("convert", [src / m["aws"][0]], to=to, overwrite=True, retry_failed=True)
    assert s.ok == 1 and (to / "t00.aws").read_bytes() == (src / m["aws"][0]).read_bytes()


def test_manifests(images, tmp_path):
    src, m = images
    lst = tmp_path / "list.lst"
    lst.write_text("# images\n" + "\n".join(str(src / n) for n in m["het"][:3]) + "\n\n")
    js = tmp_path / "more.json"
    js.write_text(json.dumps({"sources": [str(src / m["aws"][0]), str(src / "bad")]}))
    names = [s.name for s in batch.discover([lst, js])]
    assert names == [Path(n).name for n in m["het"][:3]] + ["t00.aws"] + sorted(
        Path(n).name for n in m["corrupt"])
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    r = _cli("check", str(bad), "--to", str(tmp_path / "o"))
    assert r.returncode == 2 and r.stderr.startswith("spoolkit: error:") and "JSON" in r.stderr


def test_report_text_json_csv(images, tmp_path):
    src, m = images
    to = tmp_path / "out"
    batch.run("check", [src / "bad", src / m["ckd"][0]], to=to)
    r = _cli("report", str(to), "--json")
    assert r.returncode == 1
    rows = json.loads(r.stdout)
    assert {x["name"]: x["status"] for x in rows} == {
        **{n: "failed" for n in CORRUPT}, Path(m["ckd"][0]).name: "ok"}
    r = _cli("report", str(to), "--csv")
    got = list(csv.DictReader(io.StringIO(r.stdout)))
    assert sorted(x["name"] for x in got) == sorted(x["name"] for x in rows)
    r = _cli("report", str(to))
    assert "trunc.cckd" in r.stdout and "failed" in r.stdout
    r = _cli("report", str(tmp_path / "nothing"))
    assert r.returncode == 2 and "no batch journal" in r.stderr


def test_journal_schema_is_queryable(images, tmp_path):
    src, m = images
    to = tmp_path / "out"
    batch.run("inventory", [src / m["ckd"][0]], to=to)
    db = sqlite3.connect(to / JOURNAL)
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute("SELECT value FROM meta WHERE key='schema'").fetchone()[0] == "1"
    (volser,) = db.execute("SELECT json_extract(f.value, '$') FROM facts f JOIN images i "
                           "ON i.id = f.image_id WHERE f.key = 'volser'").fetchone()
    assert volser == "VOL000"
    db.close()


KILLER = IMPORT_ALL + """
import sys
from spoolkit.cli import main
print("ready", flush=True)
sys.exit(main(sys.argv[1:]))
"""


def test_resume_after_sigkill_redoes_only_unfinished(images, tmp_path):
    src, m = images
    argv = [sys.executable, "-c", KILLER, "batch", "convert", str(src), "--to", "",
            "-z", "-j", "1", "-q"]
    for attempt, delay in enumerate((0.6, 0.4, 0.9, 0.25, 1.3, 0.15, 2.0)):
        to = tmp_path / f"out{attempt}"
        argv[-5] = str(to)
        _, _, rc, err = run_killed(argv, delay, ENV)
        if rc != -9 or not (to / JOURNAL).exists():
            continue
        try:
            before = {r[0]: r[1] for r in _rows(to)}
        except sqlite3.OperationalError:     # killed before the schema was made
            continue
        done = {n for n, st in before.items() if st != "running"}
        if 0 < len(done) < len(_good(m)):
            break
    else:
        pytest.skip("the batch never stopped mid-way")
    kept = {n: (to / n).stat().st_mtime_ns for n in done if before[n] == "ok"}
    s = batch.run("convert", [src], to=to, options=JobOptions(compress="zlib"))
    redone = {x.name for x, _ in s.results}
    total = len(_good(m)) + len(CORRUPT)
    assert redone == {n for n in (_good(m) + m["corrupt"]) if n not in done}
    assert s.skipped == len(done) and s.skipped + s.images == total
    assert {n: (to / n).stat().st_mtime_ns for n in kept} == kept   # not redone
    rows = _rows(to)
    assert len(rows) == total and not [r for r in rows if r[1] == "running"]
    assert not [p for p in to.rglob(".*.tmp")]
    cckdcdsk = need_tool("cckdcdsk")
    for name in m["ckd"] + m["cckd"]:
        p = subprocess.run([cckdcdsk, "-3", str(to / name)], capture_output=True, text=True)
        assert p.returncode == 0, (name, p.stdout)


def test_inventory_facts(images, tmp_path):
    src, m = images
    to = tmp_path / "out"
    picks = [m["ckd"][2], m["cckd"][3], m["fba"][1], m["aws"][0], m["het"][1], m["aws"][1],
             "bad/notes.txt"]
    s = batch.run("inventory", [src / n for n in picks], to=to)
    assert s.failed == 0 and s.ok == len(picks)
    facts = {r["name"]: r["facts"] for r in batch.report(str(to))}
    ckd = facts[Path(m["ckd"][2]).name]
    assert ckd["kind"] == "ckd" and ckd["volser"] == "VOL002" and ckd["device_type"] == "3350-1"
    assert ckd["compression"] is None and ckd["cylinders"] == 2
    cckd = facts[Path(m["cckd"][3]).name]
    assert cckd["kind"] == "cckd" and cckd["compression"] == "zlib" and cckd["volser"] == "VOL003"
    fba = facts[Path(m["fba"][1]).name]     # the CFBA copy of f00
    assert fba["kind"] == "cfba" and fba["volser"] == "FBA000" and fba["blocks"] == 600
    sl = facts["t00.aws"]                  # labelled, uncompressed
    assert sl["labels"] == "SL" and sl["volser"] == "T00000" and sl["compression"] is None
    assert [d["dsn"] for d in sl["datasets"]] == ["BATCH.DS0", "BATCH.DS1"]
    assert sl["datasets"][0]["recfm"] == "FB" and sl["datasets"][0]["lrecl"] == 80
    assert sl["tape_files"] == 7            # VOL1 HDR TM data TM EOF TM x2 + end
    het = facts["h01.het"]
    assert het["labels"] == "SL" and het["compression"] == "compressed"
    nl = facts["t01.aws"]
    assert nl["labels"] == "NL" and nl["datasets"] == [] and nl["volser"] is None
    assert nl["size"] == (src / m["aws"][1]).stat().st_size
    assert facts["notes.txt"]["kind"] == "text"


def test_verify_spool_archives(tmp_path):
    from backup_fakes import FakeSource, make_file

    from spoolkit.spool import backup as B

    d = tmp_path / "arch"
    d.mkdir()
    for i in range(3):
        B.dump(FakeSource([make_file(j + 1, 2, seed=i * 10 + j) for j in range(3)]),
               str(d / f"a{i}.aws"))
    raw = bytearray((d / "a1.aws").read_bytes())
    raw[len(raw) // 2] ^= 0xFF              # a page's bytes: its CRC no longer matches
    (d / "a1.aws").write_bytes(bytes(raw))
    (d / "plain.txt").write_text("no archive\n")
    r = _cli("verify", str(d), "--to", str(tmp_path / "out"), "--json")
    assert r.returncode == 1, r.stderr
    res = {x["name"]: x for x in json.loads(r.stdout)["results"]}
    assert res["a0.aws"]["status"] == "ok" and res["a2.aws"]["status"] == "ok"
    assert res["a1.aws"]["status"] == "failed" and "error" in res["a1.aws"]["error"]
    assert res["plain.txt"]["status"] == "failed"


def _journal_view(to: Path) -> list[tuple[object, ...]]:
    db = sqlite3.connect(to / JOURNAL)
    try:
        return db.execute("SELECT i.job, i.name, i.size, i.mtime_ns, i.status, i.kind,"
                          " i.output, i.bytes_in, i.bytes_out,"
                          " i.error_type, i.error, i.result,"
                          " (SELECT group_concat(key || '=' || value, ';') FROM"
                          "  (SELECT key, value FROM facts WHERE image_id = i.id ORDER BY key))"
                          " FROM images i ORDER BY i.job, i.path").fetchall()
    finally:
        db.close()


def test_dask_local_cluster_gives_the_same_journal(images, tmp_path):
    distributed = pytest.importorskip(
        "distributed", reason="Dask is not installed (pip install 'spoolkit[dask]')")
    src, m = images
    opts = JobOptions(compress="zlib", tape_compress="zlib")
    local, remote = tmp_path / "local", tmp_path / "dask"
    for job in ("convert", "inventory"):
        batch.run(job, [src], to=local, workers=2, options=opts)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        for job in ("convert", "inventory"):
            s = batch.run(job, [src], to=remote, client=client, options=opts)
            assert s.images == len(_good(m)) + len(CORRUPT)
    a, b = _journal_view(local), _journal_view(remote)
    assert len(a) == 2 * (len(_good(m)) + len(CORRUPT))
    assert a == b
    for name in m["cckd"]:
        assert (local / name).read_bytes() == (remote / name).read_bytes()
    db = sqlite3.connect(remote / JOURNAL)
    assert {r[0] for r in db.execute("SELECT runner FROM runs")} == {"dask"}
    db.close()


def test_dask_option_needs_a_scheduler(tmp_path):
    pytest.importorskip("distributed", reason="Dask is not installed")
    r = _cli("check", str(tmp_path), "--to", str(tmp_path / "o"), "--dask", "tcp://127.0.0.1:1",
             "--dask-timeout", "1", "--json")
    assert r.returncode == 2, r.stdout + r.stderr
    assert "cannot reach the Dask scheduler" in json.loads(r.stdout)["message"]


def test_progress_bar_follows_the_cli_conventions(images, tmp_path):
    src, m = images
    r = _cli("check", str(src / "tapes"), "--to", str(tmp_path / "a"), "--progress", "always")
    assert r.returncode == 0, r.stderr
    last = r.stderr.strip().splitlines()[-1]
    n = len(m["aws"] + m["het"])
    assert last.startswith("batch check: ") and f"{n}/{n} images" in last and "ETA" in last
    assert "MB/s" in last
    r = _cli("check", str(src / "tapes"), "--to", str(tmp_path / "b"), "-q")
    assert r.returncode == 0 and r.stderr == "" and r.stdout.startswith("check: ")


# -- facts of CMS volumes, OS volumes and split sets ------------------------------
@pytest.fixture(scope="module")
def fact_images(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, object]]:
    d = tmp_path_factory.mktemp("batch-facts") / "src"
    return d, make_fact_images(d)


def test_inventory_cms_minidisks_datasets_and_split_sets(fact_images, tmp_path):
    src, m = fact_images
    to = tmp_path / "out"
    s = batch.run("inventory", [src], to=to)
    assert s.failed == 0
    rows = {r["name"]: r for r in batch.report(str(to))}
    split_files = m["split_files"]
    assert len(split_files) == 3
    # the three files of the split set are one source, named by the base name
    assert sorted(rows) == sorted(n for n in (m["cms"], m.get("os"), m["split"]) if n)
    cms = rows[m["cms"]]["facts"]
    assert [(d["first"], d["last"], d["label"], d["format"], d["blocksize"])
            for d in cms["cms_minidisks"]] == list(CMS_DISKS)
    assert all(d["unit"] == "cylinders" for d in cms["cms_minidisks"])
    assert cms["volser"] == "CMSVOL" and cms["datasets"] == [] and cms["vtoc"] is False
    sp = rows[m["split"]]
    assert sp["path"] == str(src / m["split"]) and not (src / m["split"]).exists()
    assert sp["size"] == sum((src / f).stat().st_size for f in split_files)
    assert sp["facts"]["split_files"] == split_files
    assert sp["facts"]["cylinders"] == SPLIT_CYLS and sp["facts"]["volser"] == "SPLIT1"
    assert sp["facts"]["cms_minidisks"] == []
    r = _cli("report", str(to))
    assert r.returncode == 0, r.stderr
    line = next(ln for ln in r.stdout.splitlines() if ln.split()[1] == m["cms"])
    assert "CMS CMS191 1-4 (vm370 800), EDF192 5-9 (edf 1024)" in line
    line = next(ln for ln in r.stdout.splitlines() if ln.split()[1] == m["split"])
    assert "split set of 3 files" in line
    db = sqlite3.connect(to / JOURNAL)      # one fact row a key, the value as JSON
    try:
        (value,) = db.execute("SELECT f.value FROM facts f JOIN images i ON i.id = f.image_id"
                              " WHERE i.name = ? AND f.key = 'cms_minidisks'",
                              (m["cms"],)).fetchone()
    finally:
        db.close()
    assert json.loads(value) == cms["cms_minidisks"]


@pytest.mark.hercules
def test_inventory_os_volume_data_sets_as_dasdls_lists_them(fact_images, tmp_path, herc):
    src, m = fact_images
    if "os" not in m:
        pytest.skip("Hercules dasdload is not installed")
    to = tmp_path / "out"
    batch.run("inventory", [src / str(m["os"])], to=to)
    (row,) = batch.report(str(to))
    facts = row["facts"]
    assert facts["vtoc"] is True and facts["volser"] == "OSVOL2"
    # dasdls -info: name, CREDT, ORG, RECFM, LRECL, BLKSZ, Key, Trks, %Use, #Ext, 2ndry
    peer = [ln.split() for ln in herc("dasdls", "-info", src / str(m["os"])).stdout
            .splitlines()[1:]]
    assert [(d["dsname"], d["dsorg"], d["recfm"], d["blksize"], d["tracks"], d["extents"])
            for d in facts["datasets"]] == [
        (p[0], p[2], p[3], int(p[-7]), int(p[-5]), int(p[-3])) for p in peer]
    assert [d["dsname"] for d in facts["datasets"]] == ["SYS1.TEXT.DATA", "MY.SEQ.FILE",
                                                        "SYS1.EMPTYPDS"]
    r = _cli("report", str(to))
    assert "3 data sets: SYS1.TEXT.DATA, MY.SEQ.FILE, SYS1.EMPTYPDS" in r.stdout


def test_split_set_converted_and_checked_as_one_volume(fact_images, tmp_path):
    src, m = fact_images
    to = tmp_path / "out"
    pieces = [src / f for f in m["split_files"]]
    # the set named by its files (any of them) or by the directory: one source
    for sources in ([pieces[1]], pieces, [src]):
        assert [s.path for s in batch.discover(sources) if s.parts] == [str(src / m["split"])]
    s = batch.run("convert", pieces, to=to, options=JobOptions(compress="zlib"))
    assert (s.images, s.failed) == (1, 0)
    assert sorted(p.name for p in to.iterdir() if p.name != JOURNAL) == [m["split"]]
    with spoolkit.open_dasd(to / m["split"]) as out:
        assert (out.devtype, out.cylinders, out.volser) == ("3350", SPLIT_CYLS, "SPLIT1")
        assert [bytes(out.read_track(c, 1).records[0].data) for c in range(SPLIT_CYLS)] == [
            split_track(c) for c in range(SPLIT_CYLS)]
    s = batch.run("check", [src], to=tmp_path / "chk")
    assert s.failed == 0 and [x.name for x, _ in s.results if x.parts] == [m["split"]]
    assert batch.run("convert", pieces, to=to).skipped == 1   # rerun: the set is done
