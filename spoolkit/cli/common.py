"""Shared CLI plumbing: output (text or --json), messages (-q), progress
bars (--progress), ranges, and ``-`` for stdin/stdout (from :mod:`.stdio`)."""

from __future__ import annotations

import sys
import time

from ..lazy import attributes
from .stdio import (
    STDIN_NAME,
    STDIO,
    STDOUT_NAME,
    check_output,
    input_path,
    is_stdio,
    message_stream,
    open_output,
    output_path,
    read_input,
    refuse_stdio,
    shown,
    stdout_is_data,
    text_source,
)

# argparse and typing cost every command's start: neither is loaded here
# (the verbs' parsers have loaded argparse before they call these)
TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse
    from collections.abc import Sequence
    from typing import Callable, Optional, TextIO, TypeVar, Union

    from .fastargs import Args

    _T = TypeVar("_T")
    #: a command line's arguments: argparse's, or the fast path's (:mod:`.fastargs`)
    CommandArgs = Union[argparse.Namespace, Args]

    from .sink import Sink as Sink
else:
    def _sink_names() -> dict[str, object]:
        from .sink import Sink

        return {"Sink": Sink}

    __getattr__ = attributes(__name__, ("Sink",), _sink_names, globals())


def add_json(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print JSON instead of text")


def add_force(parser: argparse.ArgumentParser, what: str = "the output") -> None:
    """``-f/--force``: replace an existing destination (refused by default)."""
    parser.add_argument("-f", "--force", action="store_true",
                        help=f"replace {what} if it exists (refused by default)")


def quiet(args: CommandArgs) -> bool:
    """``-q/--quiet``: no messages but errors."""
    return bool(getattr(args, "quiet", False))


def emit(args: CommandArgs, data: _T, text: Callable[[_T], str],
         out: Optional[TextIO] = None, *, message: bool = False) -> None:
    """Print ``data`` as JSON when ``--json`` was given, else ``text(data)``,
    to stdout (stderr while stdout carries data).  ``message``: the text is
    a confirmation of what was done, left out with ``-q``."""
    out = out or message_stream()
    if getattr(args, "json", False):
        plain = plain_json(data)
        if plain is not None:
            out.write(plain + "\n")
            return
        import json  # here: only --json of other data needs it

        json.dump(data, out, indent=2, default=_json_default)
        out.write("\n")
    elif not (message and quiet(args)):
        s = text(data)
        if s:
            out.write(s if s.endswith("\n") else s + "\n")


def note(args: CommandArgs, text: str) -> None:
    """A message on stderr (what was written, a watch's runs), left out with ``-q``."""
    if not quiet(args):
        print(text, file=sys.stderr)


#: the escapes of json's ASCII encoder that are not \\uXXXX
_JSON_ESCAPES = {"\\": "\\\\", '"': '\\"', "\b": "\\b", "\f": "\\f", "\n": "\\n",
                 "\r": "\\r", "\t": "\\t"}


def _json_str(s: str) -> str:
    if s.isascii() and s.isprintable() and '"' not in s and "\\" not in s:
        return f'"{s}"'
    parts = ['"']
    for c in s:
        n = ord(c)
        if c in _JSON_ESCAPES:
            parts.append(_JSON_ESCAPES[c])
        elif 0x20 <= n <= 0x7E:
            parts.append(c)
        elif n < 0x10000:
            parts.append(f"\\u{n:04x}")
        else:  # a surrogate pair, as json writes it
            n -= 0x10000
            parts.append(f"\\u{0xD800 | (n >> 10) & 0x3FF:04x}\\u{0xDC00 | n & 0x3FF:04x}")
    parts.append('"')
    return "".join(parts)


def _json_lines(o: object, level: int, out: list[str], stack: set[int]) -> bool:
    """Append the text of ``o`` as ``json.dump(indent=2)`` writes it; False
    for anything but dicts with str keys, lists, tuples, str, int, float,
    bool and None, of these very types (and for a container inside itself)."""
    kind = type(o)
    if isinstance(o, str) and kind is str:
        out.append(_json_str(o))
    elif o is None:
        out.append("null")
    elif o is True:
        out.append("true")
    elif o is False:
        out.append("false")
    elif isinstance(o, int) and kind is int:
        out.append(int.__repr__(o))
    elif isinstance(o, float) and kind is float:
        out.append("NaN" if o != o else "Infinity" if o == float("inf")
                   else "-Infinity" if o == -float("inf") else float.__repr__(o))
    elif isinstance(o, (list, tuple, dict)) and kind in (list, tuple, dict):
        if not o:
            out.append("{}" if isinstance(o, dict) else "[]")
            return True
        if id(o) in stack:
            return False
        stack.add(id(o))
        inner = "\n" + "  " * (level + 1)
        if isinstance(o, dict):
            out.append("{")
            for i, (key, value) in enumerate(o.items()):
                if type(key) is not str:
                    return False
                out.append((inner if not i else "," + inner) + _json_str(key) + ": ")
                if not _json_lines(value, level + 1, out, stack):
                    return False
            out.append("\n" + "  " * level + "}")
        else:
            out.append("[")
            for i, value in enumerate(o):
                out.append(inner if not i else "," + inner)
                if not _json_lines(value, level + 1, out, stack):
                    return False
            out.append("\n" + "  " * level + "]")
        stack.discard(id(o))
    else:
        return False
    return True


def plain_json(data: object) -> Optional[str]:
    """``json.dumps(data, indent=2)`` for plain data (dicts with str keys,
    lists, tuples, str, int, float, bool, None: of these types, not of
    subclasses), without the json module
    (which imports re and enum: a --json command's start); None for any
    other data, which the json module writes."""
    out: list[str] = []
    try:
        return "".join(out) if _json_lines(data, 0, out, set()) else None
    except RecursionError:
        return None


def _json_default(o: object) -> object:
    to_dict = getattr(o, "to_dict", None)
    if callable(to_dict):
        return to_dict()
    if isinstance(o, (bytes, bytearray, memoryview)):
        return bytes(o).hex()
    isoformat = getattr(o, "isoformat", None)
    if callable(isoformat):
        return isoformat()
    raise TypeError(f"cannot serialise {type(o).__name__}")


def table(rows: Sequence[Sequence[object]], headers: Sequence[str]) -> str:
    """A plain left-aligned text table (numbers right-aligned)."""
    cells = [[str(h) for h in headers]] + [["" if v is None else str(v) for v in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    numeric = [all(isinstance(r[i], int) for r in rows) and rows for i in range(len(headers))]
    lines = []
    for r in cells:
        parts = [c.rjust(w) if numeric[i] else c.ljust(w)
                 for i, (c, w) in enumerate(zip(r, widths))]
        lines.append("  ".join(parts).rstrip())
    return "\n".join(lines)


def positive_int(text: str) -> int:
    """An argparse ``type`` for counts such as ``-j N``: 1 or more."""
    import argparse

    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if n < 1:
        raise argparse.ArgumentTypeError(f"{n}: must be at least 1")
    return n


def parse_range(text: str, what: str = "range") -> tuple[int, int]:
    """``"5"`` -> (5, 5); ``"5-9"`` -> (5, 9)."""
    a, sep, b = text.partition("-")
    try:
        lo = int(a)
        hi = int(b) if sep else lo
    except ValueError:
        raise ValueError(f"bad {what} {text!r}: use N or A-B") from None
    if lo < 0 or hi < lo:
        raise ValueError(f"bad {what} {text!r}")
    return lo, hi


PROGRESS_MODES = ("auto", "always", "never")


def add_progress(parser: argparse.ArgumentParser) -> None:
    """``--progress auto|always|never`` for a long verb."""
    parser.add_argument("--progress", choices=PROGRESS_MODES, default=None,
                        help="a progress bar on stderr: auto (the default) only when stderr "
                        "is a terminal, always (line by line when it is not), never; "
                        "-q makes the default never")


def progress_mode(args: argparse.Namespace) -> str:
    mode: Optional[str] = getattr(args, "progress", None)
    return mode or ("never" if quiet(args) else "auto")


class Progress:
    """Progress on stderr: a one-line bar redrawn in place on a terminal, or
    (``mode="always"`` when stderr is not one) a line at most every
    ``interval`` seconds and at the end.  ``mode="auto"`` shows the bar only
    on a terminal; ``"never"`` nothing."""

    def __init__(self, total: int, label: str = "", stream: Optional[TextIO] = None,
                 unit: str = "", mode: str = "auto", interval: float = 1.0) -> None:
        if mode not in PROGRESS_MODES:
            raise ValueError(f"progress mode must be one of {', '.join(PROGRESS_MODES)}")
        self.total = max(1, total)
        self.label = label
        self.unit = unit
        self.stream = stream or sys.stderr
        tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.enabled = mode == "always" or (mode == "auto" and tty)
        self.lines = not tty              # line by line: no carriage returns in a log
        self.interval = interval if self.lines else 0.1
        self.done = 0
        self._shown = -1                  # self.done when last shown
        self._start = time.monotonic()
        # a terminal shows the bar at once; a log's first line waits an interval
        self._last = self._start if self.lines else 0.0

    @classmethod
    def for_args(cls, args: argparse.Namespace, total: int, label: str = "",
                 unit: str = "") -> Progress:
        """The bar a verb shows, as its ``--progress`` and ``-q`` say."""
        return cls(total, label, unit=unit, mode=progress_mode(args))

    def _status(self) -> str:
        frac = min(1.0, self.done / self.total)
        return f"{frac * 100:5.1f}% {self.done}/{self.total}{self.unit}"

    def update(self, n: int = 1) -> None:
        self.done += n
        if not self.enabled:
            return
        now = time.monotonic()
        if now - self._last < self.interval and self.done < self.total:
            return
        if self.lines and self.done >= self.total and self._shown >= self.total:
            return
        self._last = now
        self._shown = self.done
        if self.lines:
            self.stream.write(f"{self.label}: {self._status()}\n")
        else:
            bar = "#" * int(min(1.0, self.done / self.total) * 30)
            self.stream.write(f"\r{self.label} [{bar:<30}] {self._status()}")
        self.stream.flush()

    def close(self) -> None:
        if not self.enabled:
            return
        if self.lines:
            if self.done and self._shown != self.done:
                self.stream.write(f"{self.label}: {self._status()}\n")
        elif self._shown >= 0:
            self.stream.write("\n")
        self.stream.flush()

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


__all__ = ["add_json", "add_force", "add_progress", "quiet", "emit", "note", "table",
           "parse_range", "positive_int", "Progress", "PROGRESS_MODES", "progress_mode",
           "STDIO", "STDIN_NAME", "STDOUT_NAME", "Sink", "check_output", "input_path",
           "is_stdio", "message_stream", "open_output", "output_path", "read_input",
           "refuse_stdio", "shown", "stdout_is_data", "text_source"]
