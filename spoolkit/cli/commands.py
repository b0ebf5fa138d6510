"""The ``spoolkit`` command's table of commands, and its top-level help
written without argparse: ``spoolkit --help`` then costs no more than the
interpreter's start (argparse with re, gettext, shutil and textwrap is most
of a start's time).  The text is argparse's, byte for byte (a test compares
them); where argparse would wrap a line, or on a Python whose argparse has
not been compared, there is no fast text and argparse prints the help."""

from __future__ import annotations

import os
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Optional

#: command groups, each a module of this package with register(subparsers)
GROUPS = ["dasd", "tape", "spool", "backup", "overlay", "cp", "cms", "demo", "batch"]

#: the commands with their one-line help: a command line imports only the
#: modules of the command it names; the others appear in the top-level help
#: from this table (tests check it against the modules' own parsers)
COMMANDS = {
    "dasd": "disk images (CKD, CCKD, FBA)",
    "tape": "tape images (AWS, HET, FakeTape)",
    "spool": "spool volumes (CP-formatted SPOL/DRCT extents)",
    "overlay": "minidisk overlay maps and protection",
    "cp": "CP-owned volumes: VM/370 FORMAT/ALLOCATE, allocation",
    "cms": "CMS minidisks (VM/370 and EDF) inside disk images",
    "demo": "run the built-in demonstration on sample data",
    "batch": "run a job over many images, resumably",
}

#: modules of GROUPS that add verbs to a command named otherwise
ADDS_TO = {"backup": "spool"}

DESCRIPTION = "Mainframe device images: CKD/CCKD/FBA disks, AWS/HET tapes, z/VM spool."

#: the top level's own options with their help, as argparse words them
_OPTIONS = [("-h, --help", "show this help message and exit"),
            ("--version", "show program's version number and exit")]

#: the Pythons whose argparse lays the top-level help out as below
#: ("options:" since 3.10; colours from 3.14)
_CHECKED = ((3, 10), (3, 13))


def terminal_columns() -> int:
    """The terminal width as shutil.get_terminal_size() finds it (argparse's
    formatter asks it; shutil itself costs a few milliseconds to import)."""
    try:
        columns = int(os.environ["COLUMNS"])
    except (KeyError, ValueError):
        columns = 0
    if columns <= 0:
        stdout = sys.__stdout__
        try:
            columns = os.get_terminal_size(stdout.fileno()).columns if stdout else 0
        except (ValueError, OSError):
            columns = 0
    return columns if columns > 0 else 80


def _plain(text: str) -> bool:
    # argparse collapses white space and expands %(...)s: such text is left to it
    return "%" not in text and " ".join(text.split()) == text


def top_help(version: str = "") -> Optional[str]:
    """What ``spoolkit --help`` prints (``--version`` with ``version``), or
    None where argparse must make the text."""
    if not _CHECKED[0] <= sys.version_info[:2] <= _CHECKED[1]:
        return None
    width = terminal_columns() - 2
    if version:
        text = f"spoolkit {version}"
        return text + "\n" if _plain(text) and len(text) <= width else None
    commands = [(name, COMMANDS[name]) for name in GROUPS if name not in ADDS_TO]
    # the help column: after the longest invocation and two spaces, at most
    # argparse's max_help_position
    column = max(2 + len("COMMAND"), *(4 + len(name) for name, _ in commands),
                 *(2 + len(option) for option, _ in _OPTIONS)) + 2
    if column > min(24, max(width - 20, 4)):
        return None
    lines = ["usage: spoolkit [-h] [--version] COMMAND ...", "", DESCRIPTION, "",
             "positional arguments:", "  COMMAND"]
    lines += [f"    {name:<{column - 6}}  {text}" for name, text in commands]
    lines += ["", "options:"]
    lines += [f"  {option:<{column - 4}}  {text}" for option, text in _OPTIONS]
    texts = [DESCRIPTION, *(text for _, text in commands), *(text for _, text in _OPTIONS)]
    if not all(map(_plain, texts)) or max(map(len, lines)) > width:
        return None
    return "\n".join(lines) + "\n"
