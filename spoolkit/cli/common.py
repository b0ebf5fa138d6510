"""Shared CLI plumbing: output (text or --json), progress bars, ranges."""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from typing import Callable, Optional, TextIO, TypeVar

_T = TypeVar("_T")


def add_json(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print JSON instead of text")


def add_force(parser: argparse.ArgumentParser, what: str = "the output") -> None:
    """``-f/--force``: replace an existing destination (refused by default)."""
    parser.add_argument("-f", "--force", action="store_true",
                        help=f"replace {what} if it exists (refused by default)")


def emit(args: argparse.Namespace, data: _T, text: Callable[[_T], str],
         out: Optional[TextIO] = None) -> None:
    """Print ``data`` as JSON when ``--json`` was given, else ``text(data)``."""
    out = out or sys.stdout
    if getattr(args, "json", False):
        json.dump(data, out, indent=2, default=_json_default)
        out.write("\n")
    else:
        s = text(data)
        if s:
            out.write(s if s.endswith("\n") else s + "\n")


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


class Progress:
    """A one-line progress bar on stderr, shown only when stderr is a terminal."""

    def __init__(self, total: int, label: str = "", stream: Optional[TextIO] = None,
                 unit: str = "") -> None:
        self.total = max(1, total)
        self.label = label
        self.unit = unit
        self.stream = stream or sys.stderr
        self.enabled = bool(getattr(self.stream, "isatty", lambda: False)())
        self.done = 0
        self._last = 0.0
        self._start = time.monotonic()

    def update(self, n: int = 1) -> None:
        self.done += n
        if not self.enabled:
            return
        now = time.monotonic()
        if now - self._last < 0.1 and self.done < self.total:
            return
        self._last = now
        frac = min(1.0, self.done / self.total)
        bar = "#" * int(frac * 30)
        self.stream.write(f"\r{self.label} [{bar:<30}] {frac * 100:5.1f}% "
                          f"{self.done}/{self.total}{self.unit}")
        self.stream.flush()

    def close(self) -> None:
        if self.enabled:
            self.stream.write("\n")
            self.stream.flush()

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
