"""Command lines of the simplest verbs parsed without argparse.

argparse, with the re, gettext and locale modules it loads and the parsers
it builds, is most of a short command's start.  A verb listed in
:data:`VERBS` takes one or more positional names and only the options every
verb has (``--json``, ``-q/--quiet``, ``--wait SECONDS``); a command line of
such a verb that argparse parses plainly (the names in one run, options
spelled out) gets the same arguments from :func:`parse` without it.
Anything else -- help, an unknown or abbreviated option, ``--``, a value
argparse would refuse, names on both sides of an option -- is left to
argparse (``parse`` returns None), which prints its own messages and exit
statuses.  A test checks the two parses against each other.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Callable, Optional

#: (command, verb) -> (positional's dest, module of this package, function)
VERBS = {
    ("dasd", "info"): ("images", "dasdinfo", "cmd_info"),
}

#: the flags every verb has, as dest
_FLAGS = {"--json": "json", "-q": "quiet", "--quiet": "quiet"}


class Args:
    """What argparse's Namespace would hold for the command line."""

    def __init__(self, **values: object) -> None:
        self.__dict__.update(values)

    def __repr__(self) -> str:
        inner = ", ".join(f"{k}={v!r}" for k, v in sorted(vars(self).items()))
        return f"Args({inner})"

    if TYPE_CHECKING:
        def __getattr__(self, name: str) -> Any: ...


def _wait(text: str) -> Optional[float]:
    # a value argparse's type=float takes; one that starts with "-" is left to it
    if text.startswith("-"):
        return None
    try:
        return float(text)
    except ValueError:
        return None


def parse(words: list[str]) -> Optional[Args]:
    """The arguments of ``words`` (the command line after ``spoolkit``) where
    they are a plain command line of a verb of :data:`VERBS`, else None."""
    if len(words) < 3:
        return None
    spec = VERBS.get((words[0], words[1]))
    if spec is None:
        return None
    dest, module, name = spec
    values: dict[str, object] = {"json": False, "quiet": False, "wait": None}
    names: list[str] = []
    ended = False                       # an option came after the names
    rest = words[2:]
    i = 0
    while i < len(rest):
        word = rest[i]
        i += 1
        if word in _FLAGS:
            values[_FLAGS[word]] = True
            ended = bool(names)
        elif word == "--wait" or word.startswith("--wait="):
            if word == "--wait":
                if i == len(rest):
                    return None
                text, i = rest[i], i + 1
            else:
                text = word[len("--wait="):]
            wait = _wait(text)
            if wait is None:
                return None
            values["wait"] = wait
            ended = bool(names)
        elif word.startswith("-") and word != "-":
            return None
        elif ended:
            return None                 # argparse takes one run of names
        else:
            names.append(word)
    if not names:
        return None
    func: Callable[[Args], int] = getattr(
        __import__(f"{__package__}.{module}", fromlist=[name]), name)
    return Args(group=words[0], verb=words[1], func=func, **{dest: names}, **values)
