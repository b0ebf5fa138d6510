"""SYSTEM CONFIG: which volumes are CP-owned and which are user volumes."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import Callable, Optional

from ..jsonvalue import JSONDict
from .directory import MAX_VOLSER, Finding, PathOrText, _read_text, _shown, text_lines

_QUALIFIER = re.compile(r"^\s*[A-Za-z0-9@#$]{1,8}\s*:\s*")
_SLOT = re.compile(r"[0-9]{1,3}")


@dataclass
class SystemConfig:
    """CP_Owned slots and user volumes from a SYSTEM CONFIG file."""

    cp_owned: dict[str, Optional[int]] = field(default_factory=dict)   # volser -> slot
    user_volumes: list[str] = field(default_factory=list)
    user_patterns: list[str] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    path: Optional[str] = None

    def is_cp_owned(self, volser: str) -> bool:
        return volser.upper() in self.cp_owned

    def knows(self, volser: str) -> bool:
        """True when CP would attach ``volser`` (CP-owned or a user volume)."""
        v = volser.upper()
        return (v in self.cp_owned or v in self.user_volumes
                or any(fnmatchcase(v, p) for p in self.user_patterns))

    def to_dict(self) -> JSONDict:
        return {"path": self.path, "cp_owned": self.cp_owned,
                "user_volumes": self.user_volumes, "user_patterns": self.user_patterns,
                "findings": [f.to_dict() for f in self.findings]}


def _strip_comments(text: str) -> tuple[str, Optional[int]]:
    """The text with every ``/* ... */`` comment blanked (its newlines kept, so
    line numbers stay), and the line of an unclosed comment (None if none).
    One pass: each comment is found with ``str.find`` from where the last ended."""
    parts: list[str] = []
    pos = 0
    while True:
        start = text.find("/*", pos)
        if start < 0:
            parts.append(text[pos:])
            return "".join(parts), None
        parts.append(text[pos:start])
        end = text.find("*/", start + 2)
        if end < 0:
            parts.append("\n" * text.count("\n", start))
            return "".join(parts), text.count("\n", 0, start) + 1
        parts.append("\n" * text.count("\n", start, end))
        pos = end + 2


def _statements(lines: list[str]) -> list[tuple[int, str]]:
    """Logical statements with their first line: lines ending in a comma
    joined to the next (in time linear in the input)."""
    out: list[tuple[int, str]] = []
    pending: list[str] = []
    first = 0
    for n, raw in enumerate(lines, 1):
        line = raw.strip()
        if not pending:
            if not line:
                continue
            first = n
        if line.endswith(","):
            pending.append(line[:-1])
            continue
        pending.append(line)
        out.append((first, " ".join(pending)))
        pending = []
    if pending:
        out.append((first, " ".join(pending)))
    return out


def _volsers(ops: list[str], toks: list[str], what: str,
             bad: Callable[[str], None]) -> list[str]:
    """``ops`` without the operands too long for a volume label (each a finding)."""
    keep = []
    for op, tok in zip(ops, toks):
        if len(op) > MAX_VOLSER:
            bad(f"{what}: volser {_shown(tok)} is longer than {MAX_VOLSER} characters; "
                "ignored")
        else:
            keep.append(op)
    return keep


def parse_system_config(text_or_path: PathOrText) -> SystemConfig:
    """Parse the volume statements of a SYSTEM CONFIG (path or text)."""
    text, path = _read_text(text_or_path)
    cfg = SystemConfig(path=path)

    def bad(n: int, msg: str) -> None:
        cfg.findings.append(Finding(n, "syntax", msg, "system config", path))

    text, unclosed = _strip_comments(text)
    if unclosed is not None:
        bad(unclosed, "comment '/*' is never closed: the rest of the file is ignored")
    for n, stmt in _statements(text_lines(text)):
        stmt = _QUALIFIER.sub("", stmt)
        toks = stmt.split()
        if not toks:
            continue
        verb = toks[0].upper()
        ops = [t.upper() for t in toks[1:]]

        def bad_here(msg: str, n: int = n) -> None:
            bad(n, msg)

        if verb == "CP_OWNED":
            if len(ops) >= 3 and ops[0] == "SLOT":
                slot = int(ops[1]) if _SLOT.fullmatch(ops[1]) else 0
                if not 1 <= slot <= 255:
                    bad(n, f"CP_Owned slot {_shown(toks[2])} is not 1-255")
                    continue
                if ops[2] == "RESERVED":
                    continue
                for v in _volsers(ops[2:3], toks[3:4], "CP_Owned", bad_here):
                    cfg.cp_owned[v] = slot
            elif len(ops) >= 1 and ops[0] != "SLOT":
                for v in _volsers(ops[:1], toks[1:2], "CP_Owned", bad_here):
                    cfg.cp_owned[v] = None
            else:
                bad(n, "CP_Owned needs 'Slot n volser' or a volser")
        elif verb == "USER_VOLUME_LIST":
            if not ops:
                bad(n, "User_Volume_List without volumes")
            cfg.user_volumes.extend(_volsers(ops, toks[1:], "User_Volume_List", bad_here))
        elif verb == "USER_VOLUME_INCLUDE":
            if not ops:
                bad(n, "User_Volume_Include without patterns")
            # z/VM's '%' matches one character, '*' any string
            cfg.user_patterns.extend(
                o.replace("%", "?")
                for o in _volsers(ops, toks[1:], "User_Volume_Include", bad_here))
    return cfg
