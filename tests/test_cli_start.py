"""The command starts on what it uses: ``spoolkit --help`` and ``spoolkit dasd
info`` import only the spoolkit modules of fixed budgets (modules, not
milliseconds: the time is measured in bench/bench_cli_start.py), the
top-level help lists every command from its table, and each command's
``--help`` lists the same verbs whether the parser is built whole or for
that command alone."""

from __future__ import annotations

import argparse
import contextlib
import importlib
import io
import os
import subprocess
import sys

import pytest
from conftest import ROOT

from spoolkit import cli

#: what ``spoolkit --help`` may import: no verb module, no library module
HELP_BUDGET = {"spoolkit", "spoolkit._version", "spoolkit.cli", "spoolkit.errors"}

#: what ``spoolkit dasd info IMG`` may import: the disk image classes and the
#: CLI plumbing, nothing of tapes, spool, CP, CMS, backup, batch or DDR
#: (of a plain CKD volume: no compressed or FBA image classes either)
INFO_BUDGET = HELP_BUDGET | {
    "spoolkit._native", "spoolkit._spoolkit", "spoolkit.geometry", "spoolkit.lifetime",
    "spoolkit.lock", "spoolkit.output", "spoolkit.util", "spoolkit.ebcdic",
    "spoolkit.cli.common", "spoolkit.cli.stdio", "spoolkit.cli.dasd", "spoolkit.cli.ddr",
    "spoolkit.dasd", "spoolkit.dasd.base", "spoolkit.dasd.ckd", "spoolkit.dasd.image",
    "spoolkit.dasd.sniff", "spoolkit.dasd.split", "spoolkit.dasd.track", "spoolkit.jsonvalue",
}


def imported(*argv: str, cwd: os.PathLike[str] | str = ROOT) -> tuple[set[str], str]:
    """The spoolkit modules ``python -X importtime -m spoolkit ARGV`` imports,
    and its stdout."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, "-X", "importtime", "-m", "spoolkit", *argv],
                          cwd=cwd, env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr[-2000:]
    names = set()
    for line in proc.stderr.splitlines():
        if line.startswith("import time:"):
            name = line.rsplit("|", 1)[1].strip()
            if name == "spoolkit" or name.startswith("spoolkit."):
                names.add(name)
    assert "spoolkit.cli" in names, proc.stderr[-2000:]  # the parse found the lines
    return names, proc.stdout


def test_help_imports_no_verb_module():
    names, out = imported("--help")
    assert names <= HELP_BUDGET, sorted(names - HELP_BUDGET)
    for command, text in cli.COMMANDS.items():
        assert command in out and text in out


def test_dasd_info_imports_only_the_disk_layer(tmp_path):
    from spoolkit import create_dasd

    create_dasd(tmp_path / "s.3390", "3390-1", "START1", cylinders=2).close()
    names, out = imported("dasd", "info", "s.3390", cwd=tmp_path)
    assert names <= INFO_BUDGET, sorted(names - INFO_BUDGET)
    assert "spoolkit.dasd.ckd" in names  # it did open the image
    assert "START1" in out and "3390-1" in out


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
    assert cli.main(["dasd", "info", "--json", str(image)]) == 0
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
