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

import os
import sys

from .commands import ADDS_TO as ADDS_TO
from .commands import COMMANDS as COMMANDS
from .commands import GROUPS as GROUPS
from .commands import top_help

TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse
    from typing import Optional, Union

    from . import fastargs
    from ._parser import _add_common as _add_common
    from ._parser import _Bare as _Bare
    from ._parser import _named_command as _named_command
    from ._parser import _Parser as _Parser
    from ._parser import _Rebuild as _Rebuild
    from ._parser import _Verbs as _Verbs
    from ._parser import build_parser as build_parser

    #: a command line's arguments, from argparse or from the fast path
    _Args = Union[argparse.Namespace, fastargs.Args]

#: the parser's names, loaded on first use (PEP 562): ``spoolkit --help``
#: and ``--version`` print their text without argparse
_PARSER_NAMES = {"build_parser", "_add_common", "_Parser", "_Rebuild", "_Bare", "_Verbs",
                 "_named_command"}


def __getattr__(name: str) -> object:
    if name not in _PARSER_NAMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from . import _parser

    value = getattr(_parser, name)
    globals()[name] = value
    return value


def _fast_text(words: list[str]) -> Optional[str]:
    """The text of ``spoolkit --help`` or ``--version`` alone, where it can be
    had without argparse (:func:`spoolkit.cli.commands.top_help`)."""
    if words in (["--help"], ["-h"]):
        return top_help()
    if words == ["--version"]:
        from .._version import __version__

        return top_help(__version__)
    return None


class SignalExit(BaseException):
    """Raised in the main thread by SIGTERM or SIGHUP so that the same
    clean-up as for Ctrl-C runs (temporary files removed, outputs untouched)."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def _raise_signal(signum: int, frame: object) -> None:
    raise SignalExit(signum)


def _install_signal_handlers() -> None:
    # the signal module's wrappers make enums (enum, functools, collections:
    # a few milliseconds of every start); the built-in module under them
    # has the same calls with plain numbers
    if TYPE_CHECKING:
        import signal
    else:
        try:
            import _signal as signal
        except ImportError:  # pragma: no cover - a Python without it
            import signal

    for name in ("SIGTERM", "SIGHUP"):
        signum = getattr(signal, name, None)
        if signum is not None and signal.getsignal(signum) in (signal.SIG_DFL, None):
            signal.signal(signum, _raise_signal)


def _error(args: Optional[_Args], exc: BaseException, message: str,
           kind: Optional[str] = None) -> None:
    from ..errors import SpoolkitError

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
    import contextlib
    import signal

    with contextlib.suppress(OSError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    return 128 + getattr(signal, "SIGPIPE", 13)


def _log_setup(quiet: bool) -> None:
    """Warnings such as logged overrides of protected extents go to stderr;
    where nothing has imported logging yet (the verbs that log nothing), the
    first :func:`spoolkit.util.logger` configures it."""
    def setup() -> None:
        import logging

        logging.basicConfig(format="spoolkit: %(message)s", level=logging.WARNING)
        logging.getLogger("spoolkit").setLevel(logging.ERROR if quiet else logging.NOTSET)

    from .. import util

    if "logging" in sys.modules:
        setup()
        util.log_setup = None
    else:
        util.log_setup = setup


def _parse(words: list[str], argv: Optional[list[str]]) -> argparse.Namespace:
    """The arguments as argparse parses them (usage errors exit there)."""
    from . import _parser

    # through this module's names: a test replaces build_parser here
    build = globals().get("build_parser", _parser.build_parser)
    parser = build(words, full=False)
    _parser._add_common(parser)
    _parser._Parser.json_errors = "--json" in words
    try:
        args: argparse.Namespace = parser.parse_args(argv)
    except _parser._Rebuild:  # the verb was not the word taken for it
        parser = build(words)
        _parser._add_common(parser)
        args = parser.parse_args(argv)
    return args


def main(argv: Optional[list[str]] = None) -> int:
    """Run the ``spoolkit`` command; returns the exit status."""
    words = sys.argv[1:] if argv is None else argv
    text = _fast_text(list(words))
    if text is not None:  # as argparse's print_help() and exit()
        try:
            sys.stdout.write(text)
        except (AttributeError, OSError):
            pass
        sys.exit(0)
    from ..errors import SpoolkitError
    from . import fastargs

    _install_signal_handlers()
    stdio = sys.modules.get(f"{__name__}.stdio")
    if stdio is not None:  # loaded by a verb: forget an earlier run's claims on stdin/stdout
        stdio.reset()
    args: Optional[_Args] = None
    try:
        # a plain command line of a simple verb needs no argparse
        args = fastargs.parse(list(words))
        if args is None:
            args = _parse(words, argv)
        _log_setup(args.quiet)
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
        import signal

        text = f"terminated by {signal.Signals(exc.signum).name}"
        if getattr(args, "json", False):
            _error(args, exc, text, "Terminated")
        else:
            print(f"spoolkit: {text}", file=sys.stderr)
        return 128 + exc.signum
    return int(rc or 0)
