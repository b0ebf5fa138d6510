"""Unix habits of the ``spoolkit`` command: ``-`` for stdin and stdout on
every file argument, -q/--quiet, --progress auto|always|never, --json errors
on every verb, and CLI spellings (options, not keyword arguments) in messages."""

from __future__ import annotations

import ast
import io
import json
import os
import pty
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import ROOT, mount_tmpfs

import spoolkit
from spoolkit.cli import _add_common, build_parser, main
from spoolkit.dasd.sample import fill_volume
from spoolkit.errors import InUseError, ProtectedExtentError, SpoolkitError
from spoolkit.spool import create_volume, open_volume
from spoolkit.tape import open_tape

ENV = {**os.environ, "PYTHONPATH": str(ROOT)}
CLI = [sys.executable, "-m", "spoolkit"]


def run(*args: object, cwd: Path, input: bytes | None = None, stdin=None,
        env: dict[str, str] | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    """The CLI in a subprocess; stdin a pipe carrying ``input``, or ``stdin``."""
    kw = {"input": input} if stdin is None else {"stdin": stdin}
    return subprocess.run([*CLI, *map(str, args)], cwd=cwd, env=env or ENV,
                          capture_output=True, timeout=timeout, **kw)


def ok(proc: subprocess.CompletedProcess) -> subprocess.CompletedProcess:
    assert proc.returncode == 0, proc.stderr.decode(errors="replace")
    return proc


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    """A filled 5-cylinder 3390, its CCKD copy, a two-file NL tape, a spool
    volume with two files, and the tracks of the 3390."""
    d = tmp_path_factory.mktemp("unix")
    vol = d / "v.3390"
    with spoolkit.create_dasd(vol, "3390", "V00001", cylinders=5) as v:
        fill_volume(v, fraction=0.6, seed=7)
    spoolkit.convert(vol, d / "v.cckd", compress="zlib")
    with open_tape(d / "t.aws", "w") as t:
        t.write_block(b"A" * 100)
        t.write_block(b"B" * 50)
        t.tapemark()
        t.write_block(b"C" * 10)
        t.tapemark()
    with create_volume(d / "sp.3390", "3390", volser="SPL001", cylinders=6,
                       extents=[("SPOL", 1, 4), ("DRCT", 5, 5)]) as sv:
        sv.add(spoolkit.SpoolFile.from_text("HELLO\nWORLD\n", owner="MAINT", fname="GREET",
                                            ftype="TEXT"))
        sv.add(spoolkit.SpoolFile.from_text("SECOND\n", owner="MAINT", fname="TWO",
                                            ftype="TEXT"))
    with spoolkit.open_dasd(vol) as v:
        tracks = {(c, h): v.read_track(c, h).image for c in range(v.cylinders)
                  for h in range(v.heads)}
    return {"dir": d, "vol": vol, "cckd": d / "v.cckd", "tape": d / "t.aws",
            "spool": d / "sp.3390", "tracks": tracks}


@pytest.fixture
def cwd(tmp_path):
    """A working directory that must end without a file called '-'."""
    yield tmp_path
    assert not (tmp_path / "-").exists(), "a file literally named '-' was written"


def _tracks_of(path: Path) -> dict[tuple[int, int], bytes]:
    with spoolkit.open_dasd(path) as v:
        return {(c, h): v.read_track(c, h).image for c in range(v.cylinders)
                for h in range(v.heads)}


# -- stdout -----------------------------------------------------------------

def test_dasd_read_to_stdout(data, cwd):
    want = data["tracks"][(1, 2)]
    assert ok(run("dasd", "read", data["vol"], 1, 2, "-o", "-", cwd=cwd)).stdout == want
    assert ok(run("dasd", "read", data["vol"], 1, 2, cwd=cwd)).stdout == want
    # a file really called '-' is ./-
    ok(run("dasd", "read", data["vol"], 1, 2, "-o", "./-", cwd=cwd))
    assert (cwd / "-").read_bytes() == want
    (cwd / "-").unlink()


def test_dasd_copy_through_stdout_and_stdin(data, cwd):
    proc = ok(run("dasd", "copy", data["vol"], "-", "-z", cwd=cwd))
    (cwd / "c.cckd").write_bytes(proc.stdout)
    assert _tracks_of(cwd / "c.cckd") == data["tracks"]
    # the verb's message goes to stderr: stdout holds only the image
    assert b"<stdout>: CCKD" in proc.stderr
    # back from a pipe (stdin copied to a temporary file) and from a redirected file
    ok(run("dasd", "copy", "-", "back.3390", cwd=cwd, input=proc.stdout))
    assert (cwd / "back.3390").read_bytes() == data["vol"].read_bytes()
    with open(cwd / "c.cckd", "rb") as f:
        ok(run("dasd", "copy", "-", "back2.3390", cwd=cwd, stdin=f))
    assert (cwd / "back2.3390").read_bytes() == data["vol"].read_bytes()


def test_json_result_goes_to_stderr_when_stdout_is_data(data, cwd):
    proc = ok(run("dasd", "copy", data["vol"], "-", "--json", cwd=cwd))
    assert proc.stdout == data["vol"].read_bytes()
    res = json.loads(proc.stderr)
    assert res["destination"] == "<stdout>" and res["format"] == "CKD"
    # and so do errors: nothing but data may reach stdout
    proc = run("dasd", "copy", cwd / "missing.3390", "-", "--json", cwd=cwd)
    assert proc.returncode == 2 and proc.stdout == b""
    assert "missing.3390" in json.loads(proc.stderr)["message"]


def test_reading_verbs_take_stdin(data, cwd):
    with open(data["cckd"], "rb") as f:
        info = json.loads(ok(run("dasd", "info", "-", "--json", cwd=cwd, stdin=f)).stdout)
    assert info["path"] == "<stdin>" and info["format"] == "CCKD" and info["cylinders"] == 5
    piped = json.loads(ok(run("dasd", "tracks", "-", "--json", cwd=cwd,
                              input=data["vol"].read_bytes())).stdout)
    direct = json.loads(ok(run("dasd", "tracks", data["vol"], "--json", cwd=cwd)).stdout)
    assert piped == direct and len(direct) == 75
    proc = run("dasd", "info", "-", "-", cwd=cwd, input=data["vol"].read_bytes())
    assert proc.returncode == 2 and b"only one IMG can be '-' (stdin)" in proc.stderr
    rep = json.loads(ok(run("dasd", "check", "-", "--level", "3", "--json", cwd=cwd,
                            input=data["cckd"].read_bytes())).stdout)
    assert rep["ok"] and rep["path"] == "<stdin>"
    assert ok(run("dasd", "read", "-", 2, 3, cwd=cwd,
                  input=data["vol"].read_bytes())).stdout == data["tracks"][(2, 3)]


def test_dasd_write_track_and_directory_from_stdin(data, cwd):
    vol = cwd / "w.3390"
    vol.write_bytes(data["vol"].read_bytes())
    new = spoolkit.Track.from_records(3, 0, [(1, b"", b"\xc1" * 80)]).image
    (cwd / "trk.bin").write_bytes(new)
    directory = "USER $ALLOC$ NOLOG\n MDISK A01 3390 003 001 V00001 R\n"
    (cwd / "USER.DIRECT").write_text(directory)
    for d in ("USER.DIRECT", "-"):
        proc = run("dasd", "write", vol, 3, 0, "trk.bin", "--directory", d, cwd=cwd,
                   input=directory.encode())
        assert proc.returncode == 2 and b"protected" in proc.stderr, proc.stderr
    assert _tracks_of(vol)[(3, 0)] == data["tracks"][(3, 0)]
    ok(run("dasd", "write", vol, 3, 0, "-", cwd=cwd, input=new))
    assert _tracks_of(vol)[(3, 0)] == new
    proc = run("dasd", "write", vol, 3, 0, "-", "--directory", "-", cwd=cwd, input=new)
    assert proc.returncode == 2 and b"cannot both be '-'" in proc.stderr


def _map(proc: subprocess.CompletedProcess) -> list[tuple[int, int, int]]:
    """(file, blocks, bytes) of a tape map (stored sizes differ between formats)."""
    m = json.loads(ok(proc).stdout)
    return [(f["file"], f["blocks"], f["bytes"]) for f in m["files"]]


def test_tape_verbs_and_stdio(data, cwd):
    tape = data["tape"]
    assert ok(run("tape", "get", tape, 2, "-", "--nl", "--raw", cwd=cwd)).stdout == b"C" * 10
    assert ok(run("tape", "get", tape, 1, "-o", "-", "--nl", "--raw",
                  cwd=cwd)).stdout == b"A" * 100 + b"B" * 50
    het = ok(run("tape", "copy", tape, "-", "--het", cwd=cwd)).stdout
    (cwd / "t.het").write_bytes(het)
    assert _map(run("tape", "map", "t.het", "--json", cwd=cwd)) == \
        _map(run("tape", "map", tape, "--json", cwd=cwd))
    ok(run("tape", "copy", "-", "back.aws", cwd=cwd, input=het))
    assert (cwd / "back.aws").read_bytes() == tape.read_bytes()
    m = json.loads(ok(run("tape", "map", "-", "--json", cwd=cwd, input=het)).stdout)
    assert m["path"] == "<stdin>" and m["total"]["blocks"] == 3
    # stdin and stdout in one copy
    assert ok(run("tape", "copy", "-", "-", cwd=cwd, input=tape.read_bytes())).stdout == \
        tape.read_bytes()
    assert ok(run("tape", "get", "-", 2, "-", "--nl", "--raw", cwd=cwd,
                  input=het)).stdout == b"C" * 10


def test_creating_verbs_write_stdout(data, cwd):
    img = ok(run("dasd", "init", "-", "3390", "--cylinders", "2", "--volser", "NEW001",
                 cwd=cwd)).stdout
    (cwd / "n.3390").write_bytes(img)
    with spoolkit.open_dasd(cwd / "n.3390") as v:
        assert (v.cylinders, v.volser) == (2, "NEW001")
    tape = ok(run("tape", "init", "-", "--volser", "ABC123", cwd=cwd)).stdout
    m = json.loads(ok(run("tape", "map", "-", "--json", cwd=cwd, input=tape)).stdout)
    assert m["files"][0]["labels"][0]["Volume Serial"] == "ABC123"
    vol = ok(run("spool", "format", "-", "3390", "--volser", "SPL009", "--cylinders", "6",
                 "--spol", "1-4", "--drct", "5-5", cwd=cwd)).stdout
    (cwd / "s.3390").write_bytes(vol)
    with open_volume(cwd / "s.3390") as sv:
        assert sv.cp.volser == "SPL009" and list(sv.files()) == []


def test_ddr_dump_and_restore_through_a_pipe(data, cwd):
    dump = ok(run("dasd", "dump", data["vol"], "-", cwd=cwd)).stdout
    ok(run("dasd", "restore", "-", "r.3390", cwd=cwd, input=dump))
    assert _tracks_of(cwd / "r.3390") == data["tracks"]
    new = ok(run("dasd", "restore", "-", "-", cwd=cwd, input=dump)).stdout
    (cwd / "r2.3390").write_bytes(new)
    assert _tracks_of(cwd / "r2.3390") == data["tracks"]


def test_spool_verbs_and_stdio(data, cwd):
    vol = cwd / "sp.3390"
    vol.write_bytes(data["spool"].read_bytes())
    sid = json.loads(ok(run("spool", "add", vol, "-", "--json", cwd=cwd,
                            input=b"FROM STDIN\n")).stdout)["spoolid"]
    assert ok(run("spool", "get", vol, sid, "-o", "-", cwd=cwd)).stdout == b"FROM STDIN\n"
    listed = json.loads(ok(run("spool", "list", "-", "--json", cwd=cwd,
                               input=vol.read_bytes())).stdout)
    assert sorted(r["spoolid"] for r in listed) == [1, 2, sid]
    assert ok(run("spool", "get", "-", 1, cwd=cwd, input=vol.read_bytes())).stdout == \
        b"HELLO\nWORLD\n"
    proc = ok(run("spool", "dump", vol, "--to", "-", cwd=cwd))
    archive = proc.stdout
    assert b"<stdout>" in proc.stderr and b"DUMPED" in proc.stderr
    scan = json.loads(ok(run("spool", "scan", "-", "--json", cwd=cwd, input=archive)).stdout)
    assert sorted(f["spoolid"] for f in scan["files"]) == [1, 2, sid]
    verify = json.loads(ok(run("spool", "verify", "-", "--json", cwd=cwd,
                               input=archive)).stdout)
    assert verify["errors"] == 0 and verify["source"] == "<stdin>" and verify["files"] == 3
    # --json-log - prints the JSON summary instead of the text log
    log = json.loads(ok(run("spool", "verify", "-", "--json-log", "-", cwd=cwd,
                            input=archive)).stdout)
    assert log["errors"] == 0 and log["files"] == 3
    target = cwd / "t.3390"
    with create_volume(target, "3390", volser="SPL002", cylinders=6,
                       extents=[("SPOL", 1, 4), ("DRCT", 5, 5)]):
        pass
    ok(run("spool", "load", "-", "--to", target, cwd=cwd, input=archive))
    with open_volume(target) as tv:
        assert sorted(sf.spoolid for sf in tv.files()) == [1, 2, sid]
        assert tv.get(sid).render_text() == "FROM STDIN\n"
    proc = run("spool", "dump", vol, "--to", "-", "--log", "-", cwd=cwd)
    assert proc.returncode == 2 and proc.stdout == b""


def test_overlay_inputs_from_stdin(data, cwd):
    directory = "USER MAINT PW 64M 128M G\n MDISK 191 3390 001 002 V00001 MR\n" \
                "USER OTHER PW 64M 128M G\n MDISK 191 3390 002 001 V00001 MR\n"
    (cwd / "USER.DIRECT").write_text(directory)
    by_file = run("overlay", "map", "--directory", "USER.DIRECT", "--volume", data["vol"],
                  "--json", cwd=cwd)
    by_stdin = run("overlay", "map", "--directory", "-", "--volume", data["vol"], "--json",
                   cwd=cwd, input=directory.encode())
    assert by_file.returncode == by_stdin.returncode == 1      # the two minidisks overlap
    a, b = json.loads(by_file.stdout), json.loads(by_stdin.stdout)
    assert a["volumes"] == b["volumes"] and a["volumes"]
    # a volume image from stdin
    c = run("overlay", "map", "--directory", "USER.DIRECT", "--volume", "-", "--json",
            cwd=cwd, input=data["vol"].read_bytes())
    assert c.returncode == 1 and json.loads(c.stdout)["volumes"] == a["volumes"]
    proc = run("overlay", "map", "--directory", "-", "--system-config", "-", cwd=cwd,
               input=directory.encode())
    assert proc.returncode == 2 and b"cannot both be '-'" in proc.stderr


@pytest.mark.parametrize("argv", [
    ["dasd", "write", "-", "0", "0", "trk.bin"],
    ["dasd", "check", "-", "--repair"],
    ["spool", "add", "-", "text.txt"],
    ["spool", "remove", "-", "1"],
    ["spool", "recover", "-"],
    ["spool", "load", "a.aws", "--to", "-"],
    ["spool", "watch", "-", "--to", "a.aws"],
    ["spool", "watch", "sp.3390", "--to", "-"],
    ["overlay", "map", "--directory", "USER.DIRECT", "--svg", "-"],
    ["demo", "--keep", "-"],
])
def test_files_updated_in_place_refuse_dash(cwd, argv):
    (cwd / "trk.bin").write_bytes(b"x")
    (cwd / "text.txt").write_text("x\n")
    (cwd / "USER.DIRECT").write_text("USER A PW 1M 1M G\n")
    proc = run(*argv, cwd=cwd, input=b"")
    assert proc.returncode == 2, proc.stderr
    err = proc.stderr.decode()
    assert err.startswith("spoolkit: error: ") and "cannot be '-'" in err, err


def _pty_run(argv: list[str], cwd: Path, *, stdout_tty: bool = False, stdin_tty: bool = False,
             stderr_tty: bool = False, input: bytes = b"") -> tuple[int, bytes, bytes]:
    """Run with some of the standard streams on a pseudo-terminal; returns
    (status, stdout, stderr) where a terminal stream's text is what it showed."""
    master, slave = pty.openpty()
    out_r, out_w = os.pipe()
    err_r, err_w = os.pipe()
    try:
        proc = subprocess.Popen([*CLI, *argv], cwd=cwd, env=ENV,
                                stdin=slave if stdin_tty else subprocess.PIPE,
                                stdout=slave if stdout_tty else out_w,
                                stderr=slave if stderr_tty else err_w)
        os.close(slave)
        os.close(out_w)
        os.close(err_w)
        if not stdin_tty:
            proc.stdin.write(input)
            proc.stdin.close()
        shown = bytearray()
        while True:
            try:
                chunk = os.read(master, 65536)
            except OSError:          # EIO: the child closed the terminal
                break
            if not chunk:
                break
            shown += chunk
        rc = proc.wait(timeout=120)
        with os.fdopen(out_r, "rb") as f:
            out = f.read()
        with os.fdopen(err_r, "rb") as f:
            err = f.read()
    finally:
        os.close(master)
    return rc, (bytes(shown) if stdout_tty else out), (bytes(shown) if stderr_tty else err)


def test_no_binary_data_to_or_from_a_terminal(data, cwd):
    for argv in (["dasd", "read", str(data["vol"]), "0", "1"],
                 ["tape", "copy", str(data["tape"]), "-"]):
        rc, shown, err = _pty_run(argv, cwd, stdout_tty=True)
        assert rc == 2 and b"refusing to write binary data" in err and shown == b"", argv
    rc, _, err = _pty_run(["dasd", "info", "-"], cwd, stdin_tty=True)
    assert rc == 2 and b"refusing to read binary data" in err
    # text is for terminals
    rc, shown, _ = _pty_run(["spool", "get", str(data["spool"]), "1"], cwd, stdout_tty=True)
    assert rc == 0 and b"HELLO" in shown


def test_stdin_spooled_in_tmpdir_and_removed(data, cwd, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("tmpdir")
    env = {**ENV, "TMPDIR": str(tmp)}
    ok(run("dasd", "info", "-", cwd=cwd, env=env, input=data["cckd"].read_bytes()))
    ok(run("dasd", "copy", data["vol"], "-", "-z", cwd=cwd, env=env))
    assert list(tmp.iterdir()) == []


def test_full_tmpdir_is_a_clear_error(data, cwd):
    with mount_tmpfs(cwd / "small", "64k") as tmp:
        env = {**ENV, "TMPDIR": str(tmp)}
        proc = run("dasd", "info", "-", cwd=cwd, env=env, input=data["vol"].read_bytes())
        err = proc.stderr.decode()
        assert proc.returncode == 2 and "TMPDIR" in err and "<stdin>" in err, err
        assert "full" in err and "Traceback" not in err
        proc = run("dasd", "copy", data["vol"], "-", cwd=cwd, env=env)
        err = proc.stderr.decode()
        assert proc.returncode == 2 and "TMPDIR" in err and proc.stdout == b"", err
        assert list(tmp.iterdir()) == []


def test_broken_pipe_on_binary_stdout_is_quiet(data, cwd):
    big = cwd / "big.3390"
    with spoolkit.create_dasd(big, "3390", "BIG001", cylinders=40) as v:
        fill_volume(v, fraction=0.5, seed=1)
    cmd = " ".join(CLI) + f" dasd copy {big} - | head -c 100 >/dev/null; " \
        "echo ${PIPESTATUS[0]}"
    proc = subprocess.run(cmd, shell=True, executable="/bin/bash", env=ENV, cwd=cwd,
                          capture_output=True, text=True, timeout=120)
    assert proc.stderr == ""
    assert int(proc.stdout) == 128 + signal.SIGPIPE


# -- progress and -q ----------------------------------------------------------

def _long_verbs(data: dict, d: Path) -> list[tuple[str, int, str, list[str]]]:
    """(label, total, unit, argv) of every verb with --progress."""
    dump = d / "v.aws"
    if not dump.exists():
        ok(run("dasd", "dump", data["vol"], dump, cwd=d))
        ok(run("spool", "dump", data["spool"], "--to", d / "a.aws", cwd=d))
    target = d / "load.3390"
    if not target.exists():
        with create_volume(target, "3390", volser="SPL003", cylinders=6,
                           extents=[("SPOL", 1, 4), ("DRCT", 5, 5)]):
            pass
    return [
        ("copy", 75, " tracks", ["dasd", "copy", str(data["vol"]), "-", "-z"]),
        ("check", 75, " tracks", ["dasd", "check", str(data["cckd"]), "--level", "3"]),
        ("dump", 5, " cyl", ["dasd", "dump", str(data["vol"]), "-"]),
        ("restore", 5, " cyl", ["dasd", "restore", str(dump), "-"]),
        ("copy", data["tape"].stat().st_size, " bytes",
         ["tape", "copy", str(data["tape"]), "-"]),
        ("dump", 2, " pages", ["spool", "dump", str(data["spool"]), "--to", "-"]),
        ("load", 2, " pages", ["spool", "load", str(d / "a.aws"), "--to", str(target),
                               "--new-spoolids"]),
    ]


def test_progress_modes_off_a_terminal(data, tmp_path):
    for label, total, unit, argv in _long_verbs(data, data["dir"]):
        done = f"{label}: 100.0% {total}/{total}{unit}"
        err = ok(run(*argv, "--progress", "always", cwd=tmp_path)).stderr.decode()
        lines = [ln for ln in err.splitlines() if ln.startswith(f"{label}: ")]
        assert lines and lines[-1] == done and lines.count(done) == 1, (argv, err)
        assert "\r" not in err
        for extra in (["--progress", "never"], [], ["--progress", "auto"]):
            err = ok(run(*argv, *extra, cwd=tmp_path)).stderr.decode()
            assert "%" not in err, (argv, extra, err)
        proc = ok(run(*argv, "-q", cwd=tmp_path))
        assert proc.stderr == b"", (argv, proc.stderr)


def test_progress_on_a_terminal(data, tmp_path):
    argv = ["dasd", "check", str(data["cckd"]), "--level", "3"]
    _, _, shown = _pty_run(argv, tmp_path, stderr_tty=True)
    assert b"\rcheck [" in shown and b"100.0% 75/75 tracks" in shown
    for extra in (["--progress", "never"], ["-q"]):
        rc, _, shown = _pty_run(argv + extra, tmp_path, stderr_tty=True)
        assert rc == 0 and b"check [" not in shown and b"%" not in shown


def test_progress_lines_are_rate_limited():
    from spoolkit.cli.common import Progress

    out = io.StringIO()
    with Progress(1000, "x", stream=out, unit=" u", mode="always", interval=3600) as bar:
        for _ in range(1000):
            bar.update()
    assert out.getvalue() == "x: 100.0% 1000/1000 u\n"
    out = io.StringIO()
    with Progress(4, "x", stream=out, mode="always", interval=0) as bar:
        for _ in range(3):
            bar.update()
    # ended short of the total: the last count is still shown, once
    assert out.getvalue().splitlines() == ["x:  25.0% 1/4", "x:  50.0% 2/4", "x:  75.0% 3/4"]
    out = io.StringIO()
    with Progress(4, "x", stream=out, mode="never") as bar:
        bar.update(4)
    assert out.getvalue() == ""


def test_quiet_leaves_only_results_and_errors(data, cwd):
    proc = ok(run("dasd", "init", "q.3390", "3390", "--cylinders", "2", "-q", cwd=cwd))
    assert proc.stdout == proc.stderr == b""
    assert b"created" in ok(run("dasd", "init", "q2.3390", "3390", "--cylinders", "2",
                                cwd=cwd)).stdout
    proc = ok(run("dasd", "copy", "q.3390", "q.cckd", "-z", "-q", cwd=cwd))
    assert proc.stdout == proc.stderr == b""
    vol = cwd / "sp.3390"
    vol.write_bytes(data["spool"].read_bytes())
    assert ok(run("spool", "add", vol, "-", "-q", cwd=cwd, input=b"X\n")).stdout == b""
    # a protected write with --override logs the reason, unless -q
    trk = spoolkit.Track.from_records(1, 0, []).image
    proc = ok(run("dasd", "write", vol, 1, 0, "-", "--override", "testing", cwd=cwd,
                  input=trk))
    assert b"override" in proc.stderr and b"testing" in proc.stderr
    proc = ok(run("dasd", "write", vol, 1, 0, "-", "--override", "testing", "-q", cwd=cwd,
                  input=trk))
    assert proc.stderr == b""
    # what a query verb prints is its result, not a message
    assert b"q.3390" in ok(run("dasd", "info", "q.3390", "-q", cwd=cwd)).stdout
    # errors still show
    proc = run("dasd", "info", "missing", "-q", cwd=cwd)
    assert proc.returncode == 2 and proc.stderr.startswith(b"spoolkit: error: missing")


# -- --json errors on every verb ------------------------------------------------

def _leaves() -> list[tuple[list[str], object]]:
    import argparse

    parser = build_parser()
    _add_common(parser)
    out = []

    def walk(p: argparse.ArgumentParser, path: list[str]) -> None:
        subs = [a for a in p._actions if isinstance(a, argparse._SubParsersAction)]
        if not subs:
            out.append((path, p))
        for a in subs:
            for name, child in a.choices.items():
                walk(child, path + [name])

    walk(parser, [])
    return out


LONG = {("dasd", "copy"), ("dasd", "check"), ("dasd", "dump"), ("dasd", "restore"),
        ("tape", "copy"), ("spool", "dump"), ("spool", "load"),
        *(("batch", job) for job in ("convert", "check", "inventory", "verify"))}


def test_every_verb_has_the_common_options():
    seen = set()
    for path, p in _leaves():
        opts = {o for a in p._actions for o in a.option_strings}
        assert {"--json", "-q", "--quiet", "--wait"} <= opts, path
        assert ("--progress" in opts) == (tuple(path) in LONG), path
        seen.add(tuple(path))
    assert LONG <= seen


def _failing_argv(path: list[str], p, bad: str) -> list[str]:
    """Arguments for the verb that name a file that cannot exist."""
    argv = list(path)
    for a in p._actions:
        if a.option_strings and not a.required:
            continue
        if a.dest == "help" or a.nargs == 0:
            continue
        value = "1" if a.type is int else (str(a.choices[0]) if a.choices else bad)
        argv += ([a.option_strings[0]] if a.option_strings else []) + [value]
    if path == ["demo"]:
        argv += ["--keep", bad]
    return argv


KEYWORD_SPELLING = re.compile(r"\b[a-z_]+=(True|False|None|'|\"|\w)")


#: verbs whose stdout is the data they write (unless -o FILE): their errors
#: go to stderr, so that nothing but that data reaches a pipe
STDOUT_DATA = {("dasd", "read"), ("spool", "get"), ("cms", "get")}


def test_every_verb_reports_errors_as_json(tmp_path, capsys):
    (tmp_path / "file").write_text("not a directory\n")
    bad = str(tmp_path / "file" / "x")
    for path, p in _leaves():
        argv = _failing_argv(path, p, bad) + ["--json"]
        rc = main(argv)
        cap = capsys.readouterr()
        assert rc == 2, (argv, cap)
        out, err_text = cap.out, cap.err
        if tuple(path) in STDOUT_DATA:
            assert out == "", argv
            out, err_text = err_text, ""
        lines = out.splitlines()
        assert len(lines) == 1, (argv, cap.out)
        err = json.loads(lines[0])
        assert err["error"] and err["message"], argv
        assert not KEYWORD_SPELLING.search(err["message"] + err.get("hint", "")), err
        assert "spoolkit: error" not in err_text and "Traceback" not in err_text, err_text


@pytest.mark.parametrize("argv", [["dasd", "copy", "a.3390", "b.cckd", "-z"],
                                  ["dasd", "check", "a.cckd"], ["tape", "copy", "a.aws", "b.aws"]])
def test_job_counts_are_checked_by_the_cli(argv, capsys):
    """-j 0 or -1 is refused as the option, not as a Python parameter."""
    with pytest.raises(SystemExit) as ei:
        main([*argv, "-j", "-1"])
    err = capsys.readouterr().err
    assert ei.value.code == 2 and "argument -j/" in err and "at least 1" in err
    assert "max_workers" not in err and "workers must" not in err, err


def test_usage_errors_are_json_with_json(capsys):
    with pytest.raises(SystemExit) as ei:
        main(["dasd", "info", "x.3390", "--json", "--no-such-option"])
    assert ei.value.code == 2
    err = json.loads(capsys.readouterr().out)
    assert err["error"] == "UsageError" and "--no-such-option" in err["message"]


def test_termination_is_json_with_json(tmp_path):
    """A verb waiting for stdin is terminated: a JSON error, 128 + 15, and the
    copy of stdin it was making is removed."""
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    proc = subprocess.Popen([*CLI, "dasd", "info", "-", "--json"], env={**ENV, "TMPDIR": str(tmp)},
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    proc.stdin.write(b"x" * 1000)
    proc.stdin.flush()
    deadline = time.monotonic() + 60
    while not list(tmp.glob("spoolkit-*/stdin")) and time.monotonic() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 128 + signal.SIGTERM, err
    assert json.loads(out) == {"error": "Terminated", "message": "terminated by SIGTERM"}
    assert list(tmp.iterdir()) == []


# -- CLI spellings ----------------------------------------------------------------

def test_protected_write_names_the_cli_option(data, cwd):
    vol = cwd / "sp.3390"
    vol.write_bytes(data["spool"].read_bytes())
    trk = spoolkit.Track.from_records(2, 0, []).image
    proc = run("dasd", "write", vol, 2, 0, "-", cwd=cwd, input=trk)
    err = proc.stderr.decode()
    assert proc.returncode == 2 and "pass --override REASON to write anyway" in err, err
    assert "override=" not in err
    proc = run("dasd", "write", vol, 2, 0, "-", "--json", cwd=cwd, input=trk)
    assert json.loads(proc.stdout)["hint"] == "pass --override REASON to write anyway"
    # the API keeps its own spelling
    from spoolkit.overlay import guard, protected_extents

    with spoolkit.open_dasd(vol, "r+") as dev, pytest.raises(ProtectedExtentError) as ei:
        guard(dev, protected_extents(dev)).write_track(2, 0, trk)
    assert "override='reason'" in str(ei.value) and "--override" not in str(ei.value)


def test_existing_output_names_force(data, cwd):
    (cwd / "out.aws").write_bytes(b"old")
    err = run("tape", "copy", data["tape"], "out.aws", cwd=cwd).stderr.decode()
    assert "already exists (--force replaces it)" in err and "overwrite" not in err
    from spoolkit.errors import ExistsError
    from spoolkit.output import check_destination

    with pytest.raises(ExistsError) as ei:
        check_destination(cwd / "out.aws")
    assert "overwrite=True replaces it" in str(ei.value) and "--force" not in str(ei.value)
    # an archive that --new would replace
    ok(run("spool", "dump", data["spool"], "--to", "a.aws", cwd=cwd))
    err = run("spool", "dump", data["spool"], "--to", "a.aws", "--new", cwd=cwd).stderr
    assert b"--force" in err and b"overwrite" not in err


def test_busy_image_names_wait(data, cwd):
    from spoolkit.lock import lock_fd

    vol = cwd / "v.3390"
    vol.write_bytes(data["vol"].read_bytes())
    fd = os.open(vol, os.O_RDWR)
    try:
        lock_fd(fd, str(vol), exclusive=True)
        err = run("dasd", "write", vol, 0, 1, "-", cwd=cwd,
                  input=data["tracks"][(0, 1)]).stderr.decode()
        assert "in use by process" in err and "--wait SECONDS" in err, err
        fd2 = os.open(vol, os.O_RDWR)
        try:
            with pytest.raises(InUseError) as ei:
                lock_fd(fd2, str(vol), exclusive=True, wait=0)
        finally:
            os.close(fd2)
        assert "wait=SECONDS" in str(ei.value) and "--wait" not in str(ei.value)
    finally:
        os.close(fd)


def test_hint_spellings():
    e = SpoolkitError("cannot", path="f.img", hint="pass a=1", cli_hint="use --a 1")
    assert str(e) == "f.img: cannot (pass a=1)"
    assert e.cli_str() == "f.img: cannot (use --a 1)"
    assert e.to_dict()["hint"] == "pass a=1" and e.to_dict(cli=True)["hint"] == "use --a 1"
    plain = SpoolkitError("cannot", path="f.img")
    assert plain.cli_str() == str(plain) == "f.img: cannot" and "hint" not in plain.to_dict()


def test_no_keyword_spellings_in_error_messages():
    """A message reaching users names no keyword argument (``overwrite=True``):
    how to get past an error goes in ``hint=`` with a ``cli_hint=``."""
    found = []
    for py in (ROOT / "spoolkit").rglob("*.py"):
        for node in ast.walk(ast.parse(py.read_text())):
            if not (isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call)):
                continue
            for arg in node.exc.args:
                for c in ast.walk(arg):
                    if isinstance(c, ast.Constant) and isinstance(c.value, str) and \
                            KEYWORD_SPELLING.search(c.value):
                        found.append(f"{py.relative_to(ROOT)}:{c.lineno}: {c.value!r}")
            kws = {k.arg for k in node.exc.keywords}
            if "hint" in kws:
                assert "cli_hint" in kws, f"{py}:{node.lineno}: a hint without cli_hint"
    assert found == []
