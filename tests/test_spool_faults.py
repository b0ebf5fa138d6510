"""Real processes against one spool volume: two writers at once, and writers
killed with SIGKILL at random moments of ``spool add``."""

from __future__ import annotations

import os
import random
import subprocess
import sys

import pytest
from conftest import IMPORT_ALL, ROOT, run_killed

from spoolkit.cp import format_volume
from spoolkit.spool import open_volume

ENV = {**os.environ, "PYTHONPATH": str(ROOT)}
EXTENTS = [("SPOL", 1, 17), ("DRCT", 18, 18)]

# adds the files named on stdin one at a time through the CLI, each its own
# open/lock/close, and reports each spool ID once the add has returned
_WRITER = IMPORT_ALL + r"""
import sys
from spoolkit.cli import main
print("ready", flush=True)
for name in open(sys.argv[2]).read().split():
    rc = main(["spool", "add", sys.argv[1], name, "--wait", "60", "--name",
               name.split("/")[-1].split(".")[0]])
    if rc:
        sys.exit(rc)
    print("done", name, flush=True)
"""


def _text(i: int, lines: int) -> str:
    return "".join(f"FILE {i:04d} LINE {j:05d} {'*' * (j % 40 + 1)}\n" for j in range(lines))


def _inputs(tmp_path, n: int, lines: int, tag: str = "f"):
    names = []
    for i in range(n):
        p = tmp_path / f"{tag}{i:03d}.txt"
        p.write_text(_text(i, lines))
        names.append(p)
    return names


def _list(names) -> str:
    path = str(names[0]) + ".list"
    with open(path, "w") as f:
        f.write(" ".join(map(str, names)))
    return path


def _check(img, expect: dict[str, str]) -> None:
    """Every file named in ``expect`` (name -> text) is on the volume, whole."""
    with open_volume(img) as vol:
        got = {sf.fname.lower(): sf for sf in vol.files()}
        assert len(got) == len(vol.spoolids())
        for name, text in expect.items():
            assert name in got, name
            lines = [d.decode("cp037") for _, d in got[name].records()]
            assert lines == text.splitlines(), name


@pytest.mark.parametrize("suffix", [".ckd", ".cckd"])
def test_two_writers_lose_nothing(tmp_path, suffix):
    img = tmp_path / ("v" + suffix)
    format_volume(img, "3390", volser="TWO001", extents=EXTENTS, cylinders=20)
    files = [_inputs(tmp_path, 50, 40, tag) for tag in ("a", "b")]
    procs = [subprocess.Popen([sys.executable, "-c", _WRITER, str(img), _list(names)],
                              env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True) for names in files]
    outs = [p.communicate(timeout=240) for p in procs]
    for p, (out, err) in zip(procs, outs):
        assert p.returncode == 0, err
        assert out.count("done ") == 50
    with open_volume(img) as vol:
        assert len(vol) == 100
        assert len(set(vol.spoolids())) == 100
    _check(img, {n.stem: n.read_text() for names in files for n in names})


def test_second_writer_fails_at_once_without_wait(tmp_path):
    img = tmp_path / "v.ckd"
    format_volume(img, "3390", volser="TWO001", extents=EXTENTS, cylinders=20)
    hold = subprocess.Popen([sys.executable, "-c",
                             "import sys, time\nfrom spoolkit.spool import open_volume\n"
                             "v = open_volume(sys.argv[1], 'r+')\nprint('held', flush=True)\n"
                             "time.sleep(30)", str(img)], env=ENV, stdout=subprocess.PIPE,
                            text=True)
    try:
        assert hold.stdout.readline().strip() == "held"
        (tmp_path / "t.txt").write_text("X\n")
        r = subprocess.run([sys.executable, "-m", "spoolkit", "spool", "add", str(img),
                            str(tmp_path / "t.txt")], env=ENV, capture_output=True, text=True,
                           timeout=60)
        assert r.returncode == 2, r.stderr
        assert f"in use by process {hold.pid}" in r.stderr and "--wait" in r.stderr
    finally:
        hold.kill()
        hold.wait()
    with open_volume(img) as vol:
        assert len(vol) == 0


def _kill_run(img, names, delay):
    """Start a writer, let it work for ``delay`` seconds (None: to the end),
    SIGKILL it; returns the names whose add had returned and the time used."""
    out, used, _, _ = run_killed([sys.executable, "-c", _WRITER, str(img), _list(names)],
                                 delay, ENV)
    return [os.path.basename(line.split()[1]).split(".")[0] for line in out.splitlines()
            if line.startswith("done ")], used


def _opened(img) -> bool:
    from spoolkit.dasd.cckd import OPENED
    with open(img, "rb") as f:
        f.seek(512 + 3)
        return bool(f.read(1)[0] & OPENED)


def _run(*args):
    return subprocess.run([sys.executable, "-m", "spoolkit", *map(str, args)], env=ENV,
                          capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("suffix,seed", [(".ckd", 20261203), (".cckd", 31)])
def test_kill_during_add(tmp_path, suffix, seed):
    """SIGKILL at 20 random points of spool add: the volume opens with every
    file whose add returned (and at most the one that was being added, whole);
    after the documented repair of a CCKD left OPENED, the next add works."""
    rnd = random.Random(seed)
    img = tmp_path / ("v" + suffix)
    format_volume(img, "3390", volser="KILL01", extents=EXTENTS, cylinders=20)
    pool = _inputs(tmp_path, 3 + 40 * 3 + 1, 2000)
    texts = {p.stem: p.read_text() for p in pool}
    done, span = _kill_run(img, pool[:3], None)      # how long three adds take here
    assert len(done) == 3
    kept: set[str] = set(done)
    nxt = 3
    interrupted = 0
    for point in range(40):
        if point >= 20 and interrupted >= 5 and len(kept) >= 10:
            break
        batch = pool[nxt:nxt + 3]
        nxt += 3
        done, _ = _kill_run(img, batch, rnd.uniform(0.0, 0.8 * span))
        interrupted += len(done) < len(batch)
        if suffix == ".cckd" and _opened(img):
            # OPENED left by the killed writer: no update until the documented
            # repair (cckdcdsk's rule); the refusal is one line, no traceback
            r = _run("spool", "add", img, batch[0])
            assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr
            assert len(r.stderr.strip().splitlines()) == 1, r.stderr
            r = _run("dasd", "check", "--repair", img)
            assert r.returncode == 0, r.stdout + r.stderr
            assert not _opened(img)
        with open_volume(img) as vol:
            names = {sf.fname for sf in vol.files()}
        names = {n.lower() for n in names}
        assert kept | set(done) <= names, point
        extra = names - kept - set(done)
        assert extra <= {b.stem for b in batch}, extra       # only the add being killed
        kept = names
        _check(img, {n: texts[n] for n in kept})
        assert not [f for f in os.listdir(tmp_path) if f.startswith(".v")], point
    # the next run proceeds and everything is still there
    r = _run("spool", "add", img, pool[-1], "--name", pool[-1].stem)
    assert r.returncode == 0, r.stderr
    kept.add(pool[-1].stem)
    _check(img, {n: texts[n] for n in kept})
    assert len(kept) >= 10 and interrupted >= 5   # kills landed inside the adds
