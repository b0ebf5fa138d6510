"""``tape map`` views -a/-d/-f/-l/-t against Hercules' hetmap, text and JSON."""

from __future__ import annotations

import datetime as dt
import json
import re

import pytest

from spoolkit.cli import main
from spoolkit.tape import LabelledWriter, open_tape
from spoolkit.tape.views import iter_files, julian, label_number, trailer_datasets

FIXTURE_TAPES = ["j90009.het", "hercules-tests/tape.aws", "hercules-tests/awsbsf.aws",
                 "hercules-tests/hetbsf.het", "hercules-tests/hetbsf-bzip2.het"]
VIEWS = ["-a", "-d", "-f", "-l", "-t"]


def ours(capsys, *argv):
    rc = main(["tape", "map", *map(str, argv)])
    out, err = capsys.readouterr()
    assert rc == 0, err
    return out


def hetmap(herc, opt, path):
    return herc("hetmap", opt, path).stdout


@pytest.fixture
def labelled(tmp_path):
    """A three-data-set labelled tape with fixed dates (hetmap's century is
    right for them) and blocks of several sizes."""
    path = tmp_path / "lab.het"
    with open_tape(path, "w", compress="zlib") as t:
        w = LabelledWriter(t, "VIEW01", "OWNER")
        w.begin("FIRST.DATA", "FB", 80, 800, created=dt.date(2001, 11, 17), job="JOB1",
                step="STEP1")
        for n in (800, 800, 160):
            w.write(bytes(n))
        w.begin("SECOND.VB", "VB", 255, 6233, created=dt.date(1999, 2, 3), job="JOB2")
        w.write(b"\x00\x10\x00\x00" + bytes(12))
        w.begin("THIRD", "U", 0, 32760, created=dt.date(2024, 3, 1))
        for n in (1, 32760, 5000, 7):
            w.write(bytes([n % 256]) * n)
        w.close()
    return path


@pytest.mark.hercules
@pytest.mark.parametrize("opt", VIEWS)
@pytest.mark.parametrize("name", FIXTURE_TAPES)
def test_fixture_views_equal_hetmap(fixtures, herc, capsys, name, opt):
    path = fixtures / name
    assert ours(capsys, opt, path) == hetmap(herc, opt, path)


@pytest.mark.hercules
@pytest.mark.parametrize("opt", VIEWS)
def test_written_tape_views_equal_hetmap(labelled, herc, capsys, opt):
    assert ours(capsys, opt, labelled) == hetmap(herc, opt, labelled)


@pytest.mark.hercules
@pytest.mark.parametrize("name", ["j90009.het", "hercules-tests/tape.aws",
                                  "hercules-tests/awsbsf.aws"])
def test_json_views_carry_hetmap_counts(fixtures, herc, capsys, name):
    path = fixtures / name
    files = json.loads(ours(capsys, "-f", "--json", path))
    text = hetmap(herc, "-f", path)
    blocks = [int(b) for b in re.findall(r"^Blocks +: (\d+)", text, re.M)]
    assert [f["blocks"] for f in files["files"]] + [files["total"]["blocks"]] == blocks
    assert files["total"]["files"] == int(re.search(r"^Files +: (\d+)", text, re.M)[1])
    sizes = re.findall(r"^(Min|Max) Blocksize +: (\d+)", text, re.M)
    assert [int(v) for _, v in sizes] == [n for f in files["files"]
                                          for n in (f["min_block"], f["max_block"])]

    labels = json.loads(ours(capsys, "-l", "--json", path))["labels"]
    assert [lab["label"] for lab in labels] == \
        re.findall(r"^Label +: '(\w+)'", hetmap(herc, "-l", path), re.M)

    tmap = json.loads(ours(capsys, "-t", "--json", path))["files"]
    lines = re.findall(r"^File (\d+): Blocks=(\d+), block size min=(\d+), max=(\d+)$",
                       hetmap(herc, "-t", path), re.M)
    assert [(f["file"], f["blocks"], f["min_block"], f["max_block"]) for f in tmap] == \
        [tuple(map(int, m)) for m in lines]
    assert [t for f in tmap for t in f["labels"]] == \
        [ln for ln in hetmap(herc, "-t", path).splitlines() if re.match(r"(VOL|HDR|EOF)\d", ln)]


@pytest.mark.hercules
def test_json_datasets_as_hetmap_d(labelled, herc, capsys):
    d = json.loads(ours(capsys, "-d", "--json", labelled))
    assert d["volumes"] == [{"volser": "VIEW01", "owner": "OWNER"}]
    text = hetmap(herc, "-d", labelled)
    assert [(x["seq"], x["file"]) for x in d["datasets"]] == \
        [tuple(map(int, m)) for m in re.findall(r"^seq=(\d+) +file#=(\d+)", text, re.M)]
    assert [(x["dsn"], x["blocks"]) for x in d["datasets"]] == \
        [(n, int(b)) for n, b in re.findall(r"^dsn=(\S+) .*blocks=(\d+)", text, re.M)]
    assert [(x["recfm"], x["lrecl"], x["blksize"]) for x in d["datasets"]] == \
        [(r, int(lr), int(b)) for r, lr, b in
         re.findall(r"recfm=(\S+) +lrecl=(\d+) +blksize=(\d+)", text)]
    assert [(x["created"], x["job"], x["step"]) for x in d["datasets"]] == [
        ("2001-11-17", "JOB1", "STEP1"), ("1999-02-03", "JOB2", ""), ("2024-03-01", "", "")]


def test_datasets_from_trailers(labelled):
    with open_tape(labelled) as t:
        items = list(trailer_datasets(iter_files(t)))
    vol, *ds = items
    assert vol.volser == "VIEW01"
    assert [(x.seq, x.file, x.dsn.strip(), x.blocks, x.recfm.strip(), x.lrecl, x.blksize)
            for x in ds] == [(1, 2, "FIRST.DATA", 3, "FB", 80, 800),
                             (2, 5, "SECOND.VB", 1, "VB", 255, 6233),
                             (3, 8, "THIRD", 4, "U", 0, 32760)]


@pytest.mark.hercules
def test_julian_dates_keep_their_century(tmp_path, herc, capsys):
    """A day ending in 0: hetmap 3.13 prints the year digits as the century;
    the -d view keeps the label's century."""
    path = tmp_path / "d.aws"
    with open_tape(path, "w") as t:
        w = LabelledWriter(t, "DATE01")
        w.begin("D", "U", 0, 100, created=dt.date(1974, 4, 20))   # day 110
        w.write(b"x")
        w.close()
    assert "crtdt=7474.110" in hetmap(herc, "-d", path)
    assert "crtdt=1974.110" in ours(capsys, "-d", path)
    assert julian(" 74110") == "1974.110" and julian("024001") == "2024.001"
    assert julian(" 00000") == julian("000000") == "0000.000"
    assert julian("ABCDEF") == "ABCDEF"


def test_label_number_reads_like_atoi():
    assert [label_number(t) for t in ("0001", "  12", "    ", "12AB", "")] == [1, 12, 0, 12, 0]


def test_views_of_unlabelled_and_empty(tmp_path, capsys):
    path = tmp_path / "nl.aws"
    with open_tape(path, "w") as t:
        t.write_block(b"abc")
        t.tapemark()
        t.tapemark()
    assert ours(capsys, "-d", path) == ""
    assert json.loads(ours(capsys, "-d", "--json", path)) == \
        {"path": str(path), "volumes": [], "datasets": []}
    assert ours(capsys, "-t", path).splitlines() == [
        "File 1: Blocks=1, block size min=3, max=3",
        "File 2: Blocks=0, block size min=0, max=0", "End of tape."]
    rc = main(["tape", "map", "-d", str(tmp_path / "missing.aws")])
    assert rc == 2 and capsys.readouterr().err.count("\n") == 1


def test_views_read_stdin(labelled, capsys):
    import os
    import subprocess
    import sys

    from conftest import ROOT

    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-m", "spoolkit", "tape", "map", "-f", "-"],
                         env=env, input=labelled.read_bytes(), capture_output=True,
                         check=True).stdout.decode()
    assert out == ours(capsys, "-f", labelled).replace(str(labelled), "<stdin>")
