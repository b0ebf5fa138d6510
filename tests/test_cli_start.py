"""The command starts on what it uses: ``spoolkit --help`` and ``spoolkit dasd
info`` import only the spoolkit modules of fixed budgets and none of a list
of costly standard modules (``dasd info``: no standard module beyond a fixed
few; modules, not milliseconds: the time is measured
in bench/bench_cli_start.py), ``--help`` prints argparse's text without
argparse, the
top-level help lists every command from its table, and each command's
``--help`` lists the same verbs whether the parser is built whole or for
that command alone."""

from __future__ import annotations

import argparse
import contextlib
import importlib
import io
import json
import os
import subprocess
import sys

import pytest
from conftest import ROOT

import spoolkit
from spoolkit import cli

#: what ``spoolkit --help`` may import: no verb module, no library module
HELP_BUDGET = {"spoolkit", "spoolkit._version", "spoolkit.cli", "spoolkit.cli.commands"}

#: what ``spoolkit --help`` must not import: its text is written without
#: argparse (and so without re, enum, gettext, locale, shutil, textwrap),
#: typing, signal handlers or logging
HELP_FORBIDDEN = {"argparse", "re", "enum", "gettext", "locale", "shutil", "textwrap",
                  "typing", "dataclasses", "inspect", "logging", "signal", "contextlib",
                  "importlib", "_cffi_backend", "spoolkit.errors"}

#: what ``spoolkit dasd info IMG`` may import: the disk image classes and the
#: CLI plumbing, nothing of tapes, spool, CP, CMS, backup, batch or DDR
#: (of a plain CKD volume: no compressed or FBA image classes either)
INFO_BUDGET = HELP_BUDGET | {
    "spoolkit.errors", "spoolkit.cli.fastargs", "spoolkit.cli.dasdinfo",
    "spoolkit._native", "spoolkit._spoolkit", "spoolkit.geometry", "spoolkit.lifetime",
    "spoolkit.lock", "spoolkit.output", "spoolkit.util", "spoolkit.lazy",
    "spoolkit.cli.common", "spoolkit.cli.stdio",
    "spoolkit.dasd", "spoolkit.dasd.base", "spoolkit.dasd.ckd", "spoolkit.dasd.image",
    "spoolkit.dasd.sniff", "spoolkit.dasd.split", "spoolkit.dasd.track",
}

#: what ``spoolkit dasd info IMG`` (with or without --json) must not import:
#: argparse (the verb's command line is parsed without it, spoolkit.cli.fastargs)
#: with re, enum, gettext and locale; typing (the typing names are served on
#: first use); the signal module (its enums), contextlib, functools,
#: collections, threading, weakref, warnings (the built-ins under them do);
#: dataclasses (with inspect: its records are plain classes), logging (no
#: verb of it logs; the first logger configures it), shutil, thread pools,
#: JSON (plain data is written without it), the compressed image classes,
#: the code pages and the other disk verbs
INFO_FORBIDDEN = {"argparse", "re", "enum", "gettext", "locale", "typing", "signal",
                  "contextlib", "functools", "collections", "threading", "weakref", "warnings",
                  "importlib", "glob", "fnmatch", "types",
                  "logging", "dataclasses", "inspect", "concurrent.futures", "json", "tempfile",
                  "random", "shutil",
                  "spoolkit.compress", "spoolkit.dasd.cckd", "spoolkit.dasd.fba",
                  "spoolkit.ebcdic", "spoolkit.jsonvalue", "spoolkit.cli._parser",
                  "spoolkit.cli.dasd"}

#: the standard modules ``spoolkit dasd info IMG`` may import beyond those of
#: the interpreter's own start: os (which site imports in a start without
#: -S), the C core's loader and what opening, locking and reading the header
#: of an image needs
INFO_STDLIB_BUDGET = {"os", "stat", "_stat", "posixpath", "genericpath", "_collections_abc",
                      "_cffi_backend", "__future__", "atexit", "encodings.cp037", "errno",
                      "fcntl", "_signal"}

#: the console script's code (what pip writes into bin/spoolkit)
ENTRY = "import sys; from spoolkit.cli import main; sys.exit(main())"


def imported(*argv: str, cwd: os.PathLike[str] | str = ROOT,
             env: dict[str, str] | None = None) -> tuple[set[str], str]:
    """Every module that the ``spoolkit`` entry point with ARGV imports (by
    ``python -X importtime``), and its stdout.  ``-S``: no site, so that
    what site imports (an editable install's finder imports re, enum,
    pathlib...) is not taken for spoolkit's; the checkout and cffi's
    directory come by PYTHONPATH."""
    import _cffi_backend

    path = os.pathsep.join([str(ROOT), os.path.dirname(_cffi_backend.__file__)])
    env = {**os.environ, **(env or {}), "PYTHONPATH": path}
    proc = subprocess.run([sys.executable, "-S", "-X", "importtime", "-c", ENTRY, *argv],
                          cwd=cwd, env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr[-2000:]
    names = set()
    for line in proc.stderr.splitlines():
        if line.startswith("import time:") and "|" in line:
            names.add(line.rsplit("|", 1)[1].strip())
    assert "spoolkit.cli" in names, proc.stderr[-2000:]  # the parse found the lines
    return names, proc.stdout


def spoolkit_modules(names: set[str]) -> set[str]:
    return {n for n in names if n == "spoolkit" or n.startswith("spoolkit.")}


def interpreter_modules() -> set[str]:
    """What the interpreter imports to run nothing (as :func:`imported` runs it)."""
    proc = subprocess.run([sys.executable, "-S", "-X", "importtime", "-c", "pass"],
                          capture_output=True, text=True, timeout=60)
    return {line.rsplit("|", 1)[1].strip() for line in proc.stderr.splitlines()
            if line.startswith("import time:") and "|" in line}


def test_help_imports_no_verb_module():
    names, out = imported("--help")
    assert spoolkit_modules(names) <= HELP_BUDGET, sorted(spoolkit_modules(names) - HELP_BUDGET)
    assert not names & HELP_FORBIDDEN, sorted(names & HELP_FORBIDDEN)
    for command, text in cli.COMMANDS.items():
        assert command in out and text in out


def test_version_imports_no_argparse():
    names, out = imported("--version")
    assert out == f"spoolkit {spoolkit.__version__}\n"
    assert not names & HELP_FORBIDDEN, sorted(names & HELP_FORBIDDEN)


@pytest.mark.parametrize("options", [[], ["--json"], ["-q", "--json", "--wait", "1"]])
def test_dasd_info_imports_only_the_disk_layer(tmp_path, options):
    from spoolkit import create_dasd

    create_dasd(tmp_path / "s.3390", "3390-1", "START1", cylinders=2).close()
    names, out = imported("dasd", "info", *options, "s.3390", cwd=tmp_path)
    mine = spoolkit_modules(names)
    assert mine <= INFO_BUDGET, sorted(mine - INFO_BUDGET)
    assert not names & INFO_FORBIDDEN, sorted(names & INFO_FORBIDDEN)
    stdlib = names - mine - interpreter_modules()
    assert stdlib <= INFO_STDLIB_BUDGET, sorted(stdlib - INFO_STDLIB_BUDGET)
    assert "spoolkit.dasd.ckd" in names  # it did open the image
    assert "START1" in out and "3390-1" in out
    if "--json" in options:
        assert json.loads(out)["volser"] == "START1"


#: what a compressed image (CCKD, CFBA) adds to INFO_BUDGET
COMPRESSED = {"spoolkit.compress", "spoolkit.dasd.cckd", "spoolkit.dasd.cckdfile",
              "spoolkit.dasd.shadow", "spoolkit.dasd.fba"}


@pytest.mark.parametrize("kind", ["cckd", "cckd64", "cfba"])
def test_dasd_info_of_a_compressed_image_loads_no_more_standard_modules(tmp_path, kind):
    from spoolkit import create_dasd, create_fba

    name = f"c.{kind}"
    if kind == "cfba":
        create_fba(tmp_path / name, "3370", blocks=2000, volser="CMP1", compress="zlib").close()
    else:
        create_dasd(tmp_path / name, "3390-1", "CMP1", cylinders=2,
                    cckd64=kind == "cckd64").close()
    names, out = imported("dasd", "info", "--json", name, cwd=tmp_path)
    mine = spoolkit_modules(names)
    assert mine <= INFO_BUDGET | COMPRESSED, sorted(mine - INFO_BUDGET - COMPRESSED)
    assert not names & (INFO_FORBIDDEN - COMPRESSED), sorted(names & INFO_FORBIDDEN)
    stdlib = names - mine - interpreter_modules()
    assert stdlib <= INFO_STDLIB_BUDGET, sorted(stdlib - INFO_STDLIB_BUDGET)
    assert json.loads(out)["volser"] == "CMP1"


def test_an_unusual_dasd_info_line_goes_to_argparse(tmp_path):
    """What the fast path does not parse, argparse does, with its messages."""
    from spoolkit import create_dasd

    create_dasd(tmp_path / "s.3390", "3390-1", "START1", cylinders=2).close()
    names, out = imported("dasd", "info", "--js", "s.3390", cwd=tmp_path)
    assert "argparse" in names and json.loads(out)["volser"] == "START1"


def _argparse_help(*argv: str) -> str:
    """The help as argparse makes it, at the width argparse finds itself."""
    import shutil

    from spoolkit.cli import _parser

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(_parser, "terminal_columns", lambda: shutil.get_terminal_size().columns)
        return _argparse_help_now(*argv)


def _argparse_help_now(*argv: str) -> str:
    parser = cli.build_parser(list(argv), full=False)
    cli._add_common(parser)
    out = io.StringIO()
    with pytest.raises(SystemExit) as exc, contextlib.redirect_stdout(out):
        parser.parse_args(list(argv))
    assert exc.value.code == 0
    return out.getvalue()


@pytest.mark.parametrize("columns", ["", "0", "x", "20", "40", "60", "73", "74", "75",
                                     "80", "100", "300"])
@pytest.mark.parametrize("argv", [["--help"], ["-h"], ["--version"]])
def test_fast_help_is_argparses_text(argv, columns, monkeypatch, capsys):
    """The text printed without argparse is argparse's, at every width (where
    argparse would wrap, argparse prints it)."""
    if columns:
        monkeypatch.setenv("COLUMNS", columns)
    else:
        monkeypatch.delenv("COLUMNS", raising=False)
    want = _argparse_help(*argv)
    with pytest.raises(SystemExit) as exc:
        cli.main(argv)
    assert exc.value.code == 0
    assert capsys.readouterr().out == want
    fast = cli._fast_text(argv)
    if fast is not None:
        assert fast == want
    if columns in ("80", "100", "300") and (3, 10) <= sys.version_info[:2] <= (3, 13):
        assert fast is not None  # a usual terminal takes the fast path
    if columns in ("20", "40", "60") and argv != ["--version"]:
        assert fast is None  # argparse wraps there: it prints the help itself


@pytest.mark.parametrize("columns", [None, "", "0", "-5", "x", "1", "50", "132"])
@pytest.mark.parametrize("stdout", ["pipe", "closed", "none"])
def test_terminal_width_is_shutils(columns, stdout, monkeypatch):
    """The width given to argparse's formatter (and used by the fast help) is
    the one argparse would find through shutil."""
    import shutil

    from spoolkit.cli import _parser, commands

    if columns is None:
        monkeypatch.delenv("COLUMNS", raising=False)
    else:
        monkeypatch.setenv("COLUMNS", columns)
    if stdout == "none":
        monkeypatch.setattr(sys, "__stdout__", None)
    elif stdout == "closed":
        monkeypatch.setattr(sys, "__stdout__", io.StringIO())  # no fileno()
    want = shutil.get_terminal_size().columns
    assert commands.terminal_columns() == want
    assert _parser._Formatter("spoolkit")._width == want - 2
    assert _parser._Formatter("spoolkit", width=33)._width == 33


def test_fast_help_follows_the_command_table(monkeypatch):
    if not (3, 10) <= sys.version_info[:2] <= (3, 13):
        pytest.skip("no fast help on this Python")
    monkeypatch.setenv("COLUMNS", "120")
    monkeypatch.setitem(cli.COMMANDS, "dasd", "disks, of every kind  (CKD)")
    assert cli._fast_text(["--help"]) is None  # white space argparse would collapse
    monkeypatch.setitem(cli.COMMANDS, "dasd", "disks, 100%")
    assert cli._fast_text(["--help"]) is None  # argparse would expand %
    monkeypatch.setitem(cli.COMMANDS, "dasd", "a much longer line of help for the disks")
    assert cli._fast_text(["--help"]) == _argparse_help("--help")
    assert "    dasd      a much longer line" in _argparse_help("--help")


def test_fast_help_survives_a_closed_stdout(monkeypatch):
    monkeypatch.setattr(sys, "stdout", None)
    with pytest.raises(SystemExit) as exc:
        cli.main(["--help"])
    assert exc.value.code == 0


def test_logging_is_configured_by_the_first_logger(tmp_path):
    """A verb that imports no logging leaves it unloaded; a module that logs
    later in the same command still logs as the command configures it."""
    code = ("import sys; from spoolkit.cli import main; from spoolkit import util\n"
            "main(['dasd', 'info', sys.argv[1]])\n"
            "print('logging' in sys.modules, util.log_setup is not None)\n"
            "util.logger('spoolkit.dasd').warning('hello %s', 'there')\n"
            "print('logging' in sys.modules, util.log_setup is None)\n"
            "main(['dasd', 'info', '-q', sys.argv[1]])\n"
            "util.logger('spoolkit.dasd').warning('not shown')\n")
    from spoolkit import create_dasd

    create_dasd(tmp_path / "l.3390", "3390-1", "LOG1", cylinders=2).close()
    proc = subprocess.run([sys.executable, "-c", code, str(tmp_path / "l.3390")], cwd=ROOT,
                          capture_output=True, text=True, timeout=60,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert proc.returncode == 0, proc.stderr
    flags = [line for line in proc.stdout.splitlines() if line.startswith(("True", "False"))]
    assert flags == ["False True", "True True"]
    assert proc.stderr == "spoolkit: hello there\n"


def test_only_the_named_verb_gets_its_arguments():
    parser = cli.build_parser(["dasd", "info", "x"], full=False)
    verbs = _verbs(parser)["dasd"]
    top = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    dasd = next(a for a in top.choices["dasd"]._actions
                if isinstance(a, argparse._SubParsersAction))
    assert set(dasd.bare) == set(verbs) - {"info"}
    assert any("images" == a.dest for a in dasd.choices["info"]._actions)
    assert not any(a.dest == "image" for a in dasd.choices["tracks"]._actions)
    with pytest.raises(cli._Rebuild):  # a bare verb never parses
        parser.parse_args(["dasd", "tracks", "x"])


def test_a_verb_taken_wrongly_still_runs(tmp_path, monkeypatch, capsys):
    from spoolkit import create_dasd

    image = tmp_path / "w.3390"
    create_dasd(image, "3390-1", "WRONG1", cylinders=2).close()
    real = cli.build_parser

    def guess_ls(argv=None, *, full=True):  # as if another word had been taken for the verb
        return real(["dasd", "ls"] if not full else argv, full=full)

    monkeypatch.setattr(cli, "build_parser", guess_ls)
    # "--": argparse parses it (the fast path would not build a parser)
    assert cli.main(["dasd", "info", "--json", "--", str(image)]) == 0
    assert '"WRONG1"' in capsys.readouterr().out


def test_import_spoolkit_loads_names_on_use():
    code = ("import sys, spoolkit; before = sorted(m for m in sys.modules "
            "if m.startswith('spoolkit')); from spoolkit import open_dasd, open_tape; "
            "print(before, 'spoolkit.tape' in sys.modules)")
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                          text=True, timeout=60, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["['spoolkit',", "'spoolkit._version']", "True"]


def test_lazy_exports_are_the_defining_modules_objects():
    import spoolkit

    for name in spoolkit.__all__:
        if name == "__version__":
            continue
        where = spoolkit._EXPORTS[name]
        assert getattr(spoolkit, name) is getattr(importlib.import_module(where, "spoolkit"),
                                                  name)
    assert set(spoolkit._EXPORTS) == set(spoolkit.__all__) - {"__version__"}
    assert spoolkit.tape.open_tape is spoolkit.open_tape  # subpackages as attributes
    with pytest.raises(AttributeError, match="no_such_name"):
        spoolkit.no_such_name  # noqa: B018


def _verbs(parser: argparse.ArgumentParser) -> dict[str, list[str]]:
    top = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    out = {}
    for name, group in top.choices.items():
        subs = [a for a in group._actions if isinstance(a, argparse._SubParsersAction)]
        out[name] = sorted(subs[0].choices) if subs else []
    return out


def _top_help(parser: argparse.ArgumentParser) -> dict[str, str]:
    top = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return {a.dest: a.help or "" for a in top._choices_actions}


def test_command_table_matches_the_modules():
    full = cli.build_parser()
    assert _top_help(full) == cli.COMMANDS
    assert _top_help(cli.build_parser(["--help"], full=False)) == cli.COMMANDS


@pytest.mark.parametrize("command", sorted(cli.COMMANDS))
def test_each_command_lists_the_same_verbs(command, capsys):
    want = _verbs(cli.build_parser())[command]
    alone = _verbs(cli.build_parser([command, "--help"], full=False))
    assert alone[command] == want
    assert all(not verbs for name, verbs in alone.items() if name != command)
    with pytest.raises(SystemExit) as exc, contextlib.redirect_stderr(io.StringIO()):
        cli.main([command, "--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    for verb in want:
        assert f"    {verb}" in out, (verb, out)
