"""The command's fast path for the simplest verbs: the arguments it parses
without argparse are argparse's (and where argparse would refuse, print
help or read the line otherwise, the fast path leaves it to argparse); the
JSON written without the json module is the json module's, byte for byte;
the deferred contextmanager and the typing names served on first use are
the ones they stand for."""

from __future__ import annotations

import contextlib
import io
import json
import os
import subprocess
import sys
import typing

import pytest
from conftest import ROOT
from hypothesis import given, settings
from hypothesis import strategies as st

from spoolkit import cli, create_dasd
from spoolkit.cli import common, fastargs

#: words a command line of a fast verb may hold, plain and unusual
WORDS = ["a.3390", "b.3390", "-", "", "x y", "--json", "-q", "--quiet", "--wait", "5", "2.5",
         "--wait=1", "--wait=", "--wait=-1", "-1", "nan", "inf", "--", "-h", "--help", "--js",
         "--qu", "-qq", "-j", "--json=1", "--bogus", "info", "dasd", "-x y", "--wait=1e3"]


def _argparse(words: list[str]) -> dict[str, object] | None:
    """What argparse makes of the command line (vars of its Namespace, the
    function by name), or None where it exits (an error, help)."""
    try:
        with contextlib.redirect_stderr(io.StringIO()), contextlib.redirect_stdout(io.StringIO()):
            ns = cli._parse(words, words)  # as the command parses what the fast path leaves
    except SystemExit:
        return None
    out = dict(vars(ns))
    out["func"] = out["func"].__qualname__
    return out


def _fast(words: list[str]) -> dict[str, object] | None:
    args = fastargs.parse(words)
    if args is None:
        return None
    out = dict(vars(args))
    out["func"] = out["func"].__qualname__
    return out


@pytest.mark.parametrize("verb", sorted(fastargs.VERBS))
@settings(max_examples=400, deadline=None)
@given(rest=st.lists(st.sampled_from(WORDS), max_size=6))
def test_the_fast_parse_is_argparses(verb, rest):
    words = [*verb, *rest]
    fast = _fast(words)
    if fast is not None:
        assert fast == _argparse(words), words


@pytest.mark.parametrize("words", [
    ["dasd", "info", "a"],
    ["dasd", "info", "a", "b", "-"],
    ["dasd", "info", "--json", "a", "b"],
    ["dasd", "info", "a", "b", "--json", "-q"],
    ["dasd", "info", "-q", "a", "--quiet", "--json"],
    ["dasd", "info", "--wait", "2.5", "a"],
    ["dasd", "info", "a", "--wait=7"],
    ["dasd", "info", "", "x y"],
])
def test_plain_lines_take_the_fast_path(words):
    fast = _fast(words)
    assert fast is not None
    assert fast == _argparse(words)


@pytest.mark.parametrize("words", [
    ["dasd", "info"],                      # argparse: IMG is required
    ["dasd", "info", "-h"],
    ["dasd", "info", "--help", "a"],
    ["dasd", "info", "--js", "a"],         # an abbreviation argparse expands
    ["dasd", "info", "a", "--json", "b"],  # names on both sides: argparse refuses b
    ["dasd", "info", "--", "-a"],
    ["dasd", "info", "--wait", "x", "a"],
    ["dasd", "info", "--wait", "-1", "a"],
    ["dasd", "info", "--wait"],
    ["dasd", "info", "--bogus", "a"],
    ["dasd", "info", "-qq", "a"],
    ["dasd", "ls", "a"],
    ["tape", "info", "a"],
    ["--json", "dasd", "info", "a"],
])
def test_unusual_lines_go_to_argparse(words):
    assert fastargs.parse(words) is None


@pytest.fixture
def images(tmp_path):
    create_dasd(tmp_path / "a.3390", "3390-1", "FAST1", cylinders=2).close()
    create_dasd(tmp_path / "b.3390", "3380", "FAST2", cylinders=3).close()
    (tmp_path / "junk.3390").write_bytes(b"not a disk at all" * 40)
    return tmp_path


def _run(argv: list[str], monkeypatch, capsys, *, fast: bool) -> tuple[int, str, str]:
    with monkeypatch.context() as mp:
        if not fast:
            mp.setattr(fastargs, "parse", lambda words: None)
        try:
            rc = cli.main(argv)
        except SystemExit as exc:
            rc = exc.code
    out = capsys.readouterr()
    return rc, out.out, out.err


@pytest.mark.parametrize("rest", [
    ["a.3390"], ["a.3390", "b.3390"], ["--json", "a.3390"], ["a.3390", "b.3390", "--json"],
    ["-q", "a.3390"], ["missing.3390"], ["--json", "missing.3390"], ["a.3390", "junk.3390"],
    ["--json", "junk.3390"], ["--wait", "0", "a.3390"],
])
def test_the_fast_path_runs_as_argparses(rest, images, monkeypatch, capsys):
    """Output, messages and exit status are those of the argparse path."""
    monkeypatch.chdir(images)
    argv = ["dasd", "info", *rest]
    assert fastargs.parse(argv) is not None
    fast = _run(argv, monkeypatch, capsys, fast=True)
    assert fast == _run(argv, monkeypatch, capsys, fast=False)
    if "missing.3390" not in rest and "junk.3390" not in rest:
        assert fast[0] == 0 and "FAST1" in fast[1]
        if "--json" in rest:
            assert "FAST1" in json.dumps(json.loads(fast[1]))
    else:
        assert fast[0] == 2 and ".3390" in (fast[2] or fast[1])  # the error names the file


def _command(args: list[str], cwd: os.PathLike[str], stdin_file: os.PathLike[str]
             ) -> tuple[int, str, str]:
    with open(stdin_file, "rb") as stdin:
        proc = subprocess.run([sys.executable, "-m", "spoolkit", *args], stdin=stdin,
                              capture_output=True, text=True, cwd=cwd, timeout=60,
                              env={**os.environ, "PYTHONPATH": str(ROOT)})
    return proc.returncode, proc.stdout, proc.stderr


@pytest.mark.parametrize("rest", [["-", "b.3390"], ["--json", "b.3390", "-"]])
def test_stdin_through_the_fast_path(rest, images):
    """``-`` (stdin) as a command runs it; ``--`` sends the same names through
    argparse."""
    names = [w for w in rest if not w.startswith("--")]
    options = [w for w in rest if w.startswith("--")]
    fast = _command(["dasd", "info", *rest], images, images / "a.3390")
    slow = _command(["dasd", "info", *options, "--", *names], images, images / "a.3390")
    assert fast == slow
    assert fast[0] == 0 and "FAST1" in fast[1] and "FAST2" in fast[1] and "<stdin>" in fast[1]


@pytest.mark.parametrize("rest", [["--bogus", "x"], [], ["x", "--json", "y"], ["-h"],
                                  ["--json", "--wait", "soon", "x"]])
def test_usage_errors_are_argparses(rest, tmp_path, capsys):
    """A command line the fast path leaves alone gets argparse's message and
    status (the command as a user runs it, against argparse in this process)."""
    words = ["dasd", "info", *rest]
    assert fastargs.parse(words) is None
    with pytest.raises(SystemExit) as exc:
        cli._parse(words, words)
    want = capsys.readouterr()
    tmp_path.joinpath("empty").write_bytes(b"")
    got = _command(words, tmp_path, tmp_path / "empty")
    assert got == (exc.value.code, want.out, want.err)
    assert got[0] == (0 if "-h" in rest else 2)


# -- JSON without the json module ------------------------------------------------

_scalars = (st.none() | st.booleans() | st.integers() | st.floats() | st.text()
            | st.sampled_from([float("nan"), float("inf"), -float("inf"), -0.0, 2**70]))
_json_data = st.recursive(_scalars, lambda inner: st.lists(inner, max_size=4)
                          | st.tuples(inner, inner)
                          | st.dictionaries(st.text(max_size=6), inner, max_size=4),
                          max_leaves=30)


@settings(max_examples=500, deadline=None)
@given(data=_json_data)
def test_plain_json_is_the_json_modules(data):
    assert common.plain_json(data) == json.dumps(data, indent=2)


def test_other_data_is_left_to_the_json_module():
    class Str(str):
        pass

    loop: list[object] = []
    loop.append(loop)
    for data in ({1: "a"}, [b"x"], {"a": Str("b")}, [loop], {"a": {"b": object()}}):
        assert common.plain_json(data) is None
    assert common.plain_json([[]] * 3) == json.dumps([[]] * 3, indent=2)  # shared, no loop
    shared = {"x": 1}
    assert common.plain_json([shared, shared]) == json.dumps([shared, shared], indent=2)


def test_emit_writes_other_data_with_the_json_module():
    class Dated:
        def isoformat(self) -> str:
            return "2026-12-07"

    out = io.StringIO()
    common.emit(fastargs.Args(json=True), {"when": Dated(), "raw": b"\x01"}, str, out)
    assert out.getvalue() == '{\n  "when": "2026-12-07",\n  "raw": "01"\n}\n'


# -- contextlib's decorator, applied on first use --------------------------------

def test_the_deferred_contextmanager_is_contextlibs():
    from spoolkit.lazy import contextmanager

    log: list[str] = []

    def gen(tag: str):
        """a doc"""
        log.append(f"enter {tag}")
        try:
            yield tag.upper()
        except KeyError:
            log.append("swallowed")
        finally:
            log.append("exit")

    lazy, eager = contextmanager(gen), contextlib.contextmanager(gen)
    assert (lazy.__name__, lazy.__doc__, lazy.__wrapped__) == ("gen", "a doc", gen)
    for cm in (lazy, eager):
        with cm("a") as value:
            assert value == "A"
        with cm("b"):
            raise KeyError("x")  # the generator swallows it
        with pytest.raises(ValueError, match="out"), cm("c"):
            raise ValueError("out")
    assert log[:len(log) // 2] == log[len(log) // 2:]
    assert log[:3] == ["enter a", "exit", "enter b"]


# -- typing names served on first use --------------------------------------------

def test_the_typing_names_are_served_on_use():
    code = ("import sys\n"
            "from spoolkit import errors, output\n"
            "from spoolkit.dasd import base, image, split, track\n"
            "from spoolkit.cli import stdio, common\n"
            "assert 'typing' not in sys.modules\n"
            "import typing\n"
            "assert typing.is_typeddict(errors.Where), errors.Where\n"
            "assert errors.Where.__optional_keys__ >= {'path', 'offset', 'track'}\n"
            "assert errors.JSONField == typing.Union[str, int, list[int]]\n"
            "assert base.TrackLike == typing.Union[track.Track, bytes, bytearray, memoryview]\n"
            "assert track.BytesLike == typing.Union[bytes, bytearray, memoryview]\n"
            "assert track.Record in typing.get_args(track.RecordSpec)\n"
            "assert output.PathLike == split.PathLike == typing.Union[str, 'os.PathLike[str]']\n"
            "from spoolkit.dasd import protocols\n"
            "assert image.DiskImage is protocols.DiskImage\n"
            "assert image.TrackSource is protocols.TrackSource\n"
            "assert image.AnyImage is protocols.AnyImage\n"
            "import spoolkit.dasd as dasd\n"
            "assert dasd.DiskImage is protocols.DiskImage\n"
            "assert dasd.CompressOptions is protocols.CompressOptions\n"
            "assert typing.is_typeddict(dasd.CompressOptions)\n"
            "assert stdio.Sink is common.Sink\n"
            "assert typing.Protocol in stdio.Sink.__mro__\n"
            "for mod in (errors, output, base, image, split, track, stdio, common):\n"
            "    try:\n"
            "        mod.no_such_name\n"
            "    except AttributeError:\n"
            "        pass\n"
            "    else:\n"
            "        raise AssertionError(mod)\n"
            "print('ok')\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "ok\n"


def test_protocols_still_check_the_image_kinds():
    from spoolkit.dasd import protocols

    assert typing.get_origin(protocols.AnyImage) is typing.Union
