"""The ``spoolkit`` command: Hercules-like verbs grouped by device kind.

Each group lives in its own module with a ``register(subparsers)`` function.
User errors print one line naming the file and place and exit with status 2
(with ``--json``, a JSON object on stdout, or on stderr while stdout carries a
verb's data; usage errors too); no tracebacks.  Every verb takes ``--json``,
``-q/--quiet`` (no messages but errors) and ``--wait``; ``-`` names stdin or
stdout (:mod:`spoolkit.cli.stdio`).  SIGINT, SIGTERM and
SIGHUP unwind like an exception: temporary outputs are removed, destinations
stay as they were, and the exit status is 128 + the signal number.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import os
import signal
import sys
from collections.abc import Sequence
from typing import Any, NoReturn, Optional, Union, cast

from .._version import __version__
from ..errors import SpoolkitError

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


class _Parser(argparse.ArgumentParser):
    """Usage errors as JSON on stdout when the command line asks for --json
    (argparse makes the verbs' parsers of this class too)."""

    json_errors = False

    def __init__(self, *args: Any, **kwargs: Any) -> None:
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
        description="Mainframe device images: CKD/CCKD/FBA disks, AWS/HET tapes, z/VM spool.")
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
                importlib.import_module(f"{__name__}.{name}").register(sub)
            finally:
                _Verbs.wanted = None
        elif command == name:
            sub.add_parser(name, help=COMMANDS[name])
    return parser


class SignalExit(BaseException):
    """Raised in the main thread by SIGTERM or SIGHUP so that the same
    clean-up as for Ctrl-C runs (temporary files removed, outputs untouched)."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def _raise_signal(signum: int, frame: object) -> None:
    raise SignalExit(signum)


def _install_signal_handlers() -> None:
    for name in ("SIGTERM", "SIGHUP"):
        signum = getattr(signal, name, None)
        if signum is not None and signal.getsignal(signum) in (signal.SIG_DFL, None):
            signal.signal(signum, _raise_signal)


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


def _error(args: Optional[argparse.Namespace], exc: BaseException, message: str,
           kind: Optional[str] = None) -> None:
    if args is not None and getattr(args, "json", False):
        import json
        data = exc.to_dict(cli=True) if isinstance(exc, SpoolkitError) else {
            "error": kind or type(exc).__name__, "message": message}
        from .stdio import message_stream
        out = message_stream()
        try:
            out.write(json.dumps(data) + "\n")
            out.flush()
            return
        except OSError:
            pass
    print(f"spoolkit: error: {message}", file=sys.stderr)


def _os_message(exc: OSError) -> str:
    name = getattr(exc, "filename", None)
    text = exc.strerror or str(exc)
    return f"{name}: {text}" if name else text


def _quiet_broken_pipe() -> int:
    # stdout's reader went away: flush nothing more at exit, end as if killed by SIGPIPE
    with contextlib.suppress(OSError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    return 128 + getattr(signal, "SIGPIPE", 13)


def main(argv: Optional[list[str]] = None) -> int:
    """Run the ``spoolkit`` command; returns the exit status."""
    _install_signal_handlers()
    stdio = sys.modules.get(f"{__name__}.stdio")
    if stdio is not None:  # loaded by a verb: forget an earlier run's claims on stdin/stdout
        stdio.reset()
    words = sys.argv[1:] if argv is None else argv
    parser = build_parser(words, full=False)
    _add_common(parser)
    args = None
    _Parser.json_errors = "--json" in words
    try:
        try:
            args = parser.parse_args(argv)
        except _Rebuild:  # the verb was not the word taken for it
            parser = build_parser(words)
            _add_common(parser)
            args = parser.parse_args(argv)
        import logging  # not before: --help and usage errors need none
        # warnings such as logged overrides of protected extents go to stderr
        logging.basicConfig(format="spoolkit: %(message)s", level=logging.WARNING)
        logging.getLogger("spoolkit").setLevel(logging.ERROR if args.quiet else logging.NOTSET)
        if getattr(args, "wait", None) is not None:
            from .. import lock
            lock.set_default_wait(args.wait)
        rc = args.func(args)
        sys.stdout.flush()
    except BrokenPipeError:
        return _quiet_broken_pipe()
    except SpoolkitError as exc:
        _error(args, exc, exc.cli_str())
        return 2
    except (OSError, ValueError) as exc:
        _error(args, exc, _os_message(exc) if isinstance(exc, OSError) else str(exc))
        return 2
    except KeyboardInterrupt as exc:
        if getattr(args, "json", False):
            _error(args, exc, "interrupted", "Interrupted")
        else:
            print("spoolkit: interrupted", file=sys.stderr)
        return 130
    except SignalExit as exc:
        text = f"terminated by {signal.Signals(exc.signum).name}"
        if getattr(args, "json", False):
            _error(args, exc, text, "Terminated")
        else:
            print(f"spoolkit: {text}", file=sys.stderr)
        return 128 + exc.signum
    return int(rc or 0)
