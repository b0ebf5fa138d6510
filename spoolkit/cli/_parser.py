"""The ``spoolkit`` parser: argparse with verbs' parsers built only for the
verb a command line names (:func:`build_parser`).  Kept apart from
:mod:`spoolkit.cli` so that ``spoolkit --help`` needs no argparse."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from typing import Any, NoReturn, Optional, Union, cast

from .._version import __version__
from .commands import ADDS_TO, COMMANDS, DESCRIPTION, GROUPS, terminal_columns


class _Formatter(argparse.HelpFormatter):
    """argparse's formatter, told the width that it would find itself: its
    own look-up imports shutil (and with it bz2, lzma, zlib, fnmatch) on
    every command line, help or not."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        if len(args) < 4 and kwargs.get("width") is None:
            kwargs["width"] = terminal_columns() - 2
        super().__init__(*args, **kwargs)


class _Parser(argparse.ArgumentParser):
    """Usage errors as JSON on stdout when the command line asks for --json
    (argparse makes the verbs' parsers of this class too)."""

    json_errors = False

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", _Formatter)
        super().__init__(*args, **kwargs)
        self.register("action", "parsers", _Verbs)

    def error(self, message: str) -> NoReturn:
        if _Parser.json_errors:
            import json
            self.print_usage(sys.stderr)
            sys.stdout.write(json.dumps({"error": "UsageError",
                                         "message": f"{self.prog}: {message}"}) + "\n")
            sys.stdout.flush()
            sys.exit(2)
        super().error(message)


class _Rebuild(Exception):
    """A bare verb parser was asked to parse: the parser is built whole."""


class _Bare(_Parser):
    """A verb's parser with its name and help only: building its arguments
    costs start-up time, and a command line names one verb.  It never parses
    (it asks for the whole parser instead)."""

    _nothing = argparse.Action(option_strings=[], dest=argparse.SUPPRESS)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **{**kwargs, "add_help": False})

    def add_argument(self, *args: Any, **kwargs: Any) -> argparse.Action:
        return self._nothing


class _Verbs(argparse._SubParsersAction):  # type: ignore[type-arg]
    """The subparsers of a command: with ``only`` set (to the verb the
    command line names, "" for none) the other verbs' parsers are bare."""

    #: taken by the next command's subparsers (not by a verb's own subverbs)
    wanted: Optional[str] = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.only, _Verbs.wanted = _Verbs.wanted, None
        self.bare: set[str] = set()

    def add_parser(self, name: str, **kwargs: Any) -> argparse.ArgumentParser:
        if self.only is None or self.only == name or self.only in kwargs.get("aliases", ()):
            return cast(argparse.ArgumentParser, super().add_parser(name, **kwargs))
        self.bare.update((name, *kwargs.get("aliases", ())))
        cls = self._parser_class
        self._parser_class = _Bare
        try:
            return cast(argparse.ArgumentParser, super().add_parser(name, **kwargs))
        finally:
            self._parser_class = cls

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace,
                 values: Union[str, Sequence[Any], None],
                 option_string: Optional[str] = None) -> None:
        if values and values[0] in self.bare:
            raise _Rebuild
        super().__call__(parser, namespace, values, option_string)


def _named_command(argv: Optional[list[str]]) -> Optional[str]:
    """The command a command line names: its first word that is no option
    (the top level has only options without values), if that is a command."""
    word = next((a for a in argv or () if not a.startswith("-")), None)
    return word if word in COMMANDS else None


def build_parser(argv: Optional[list[str]] = None, *,
                 full: bool = True) -> argparse.ArgumentParser:
    """The ``spoolkit`` parser.  With ``full=False`` only the command that
    ``argv`` names gets its verbs (importing only its modules); the others
    are bare entries with their help, enough for the top-level usage."""
    parser = _Parser(
        prog="spoolkit",
        description=DESCRIPTION)
    parser.add_argument("--version", action="version", version=f"spoolkit {__version__}")
    parser.register("action", "parsers", argparse._SubParsersAction)
    sub = parser.add_subparsers(dest="group", metavar="COMMAND")
    sub.required = True
    wanted = None if full else _named_command(argv)
    for name in GROUPS:
        command = ADDS_TO.get(name, name)
        if full or command == wanted:
            if not full:  # the verb is the next word that is no option
                words = list(argv or ())
                rest = words[words.index(command) + 1:]
                _Verbs.wanted = next((a for a in rest if not a.startswith("-")), "")
            try:
                importlib.import_module(f"{__package__}.{name}").register(sub)
            finally:
                _Verbs.wanted = None
        elif command == name:
            sub.add_parser(name, help=COMMANDS[name])
    return parser


def _add_common(parser: argparse.ArgumentParser) -> None:
    """Options every verb takes: --wait for locks held by another process,
    -q/--quiet, --json (errors as JSON, and the result where the verb has one)."""
    actions = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if not actions:
        have = {o for a in parser._actions for o in a.option_strings}
        if "--wait" not in have:
            parser.add_argument("--wait", type=float, metavar="SECONDS", default=None,
                                help="wait this long for an image, volume or archive that "
                                     "another process holds (default: fail at once)")
        if "--quiet" not in have:
            parser.add_argument("-q", "--quiet", action="store_true",
                                help="no messages but errors")
        if "--json" not in have:
            parser.add_argument("--json", action="store_true",
                                help="errors (and the result) as JSON on stdout")
        return
    for action in actions:
        for child in set(action.choices.values()):
            _add_common(child)
