"""SYSTEM CONFIG: which volumes are CP-owned and which are user volumes."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import Any, Optional

from .directory import Finding, PathOrText, _read_text, text_lines

_COMMENT = re.compile(r"/\*.*?\*/", re.S)
_QUALIFIER = re.compile(r"^\s*[A-Za-z0-9@#$]{1,8}\s*:\s*")


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

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "cp_owned": self.cp_owned,
                "user_volumes": self.user_volumes, "user_patterns": self.user_patterns,
                "findings": [f.to_dict() for f in self.findings]}


def _statements(text: str) -> list[tuple[int, str]]:
    """Logical statements with their first line: comments removed (keeping line
    numbers), lines ending in a comma joined to the next."""
    text = _COMMENT.sub(lambda m: "\n" * m.group().count("\n"), text)
    out: list[tuple[int, str]] = []
    pending: Optional[tuple[int, str]] = None
    for n, raw in enumerate(text_lines(text), 1):
        line = raw.strip()
        if pending is not None:
            first, acc = pending
            line = acc + " " + line
            n = first
            pending = None
        if not line:
            continue
        if line.endswith(","):
            pending = (n, line[:-1])
            continue
        out.append((n, line))
    if pending is not None:
        out.append(pending)
    return out


def parse_system_config(text_or_path: PathOrText) -> SystemConfig:
    """Parse the volume statements of a SYSTEM CONFIG (path or text)."""
    text, path = _read_text(text_or_path)
    cfg = SystemConfig(path=path)

    def bad(n: int, msg: str) -> None:
        cfg.findings.append(Finding(n, "syntax", msg, "system config"))

    for n, stmt in _statements(text):
        stmt = _QUALIFIER.sub("", stmt)
        toks = stmt.split()
        if not toks:
            continue
        verb = toks[0].upper()
        ops = [t.upper() for t in toks[1:]]
        if verb == "CP_OWNED":
            if len(ops) >= 3 and ops[0] == "SLOT":
                if not ops[1].isdigit() or not 1 <= int(ops[1]) <= 255:
                    bad(n, f"CP_Owned slot {toks[2][:10]!r} is not 1-255")
                    continue
                if ops[2] == "RESERVED":
                    continue
                cfg.cp_owned[ops[2]] = int(ops[1])
            elif len(ops) >= 1 and ops[0] != "SLOT":
                cfg.cp_owned[ops[0]] = None
            else:
                bad(n, "CP_Owned needs 'Slot n volser' or a volser")
        elif verb == "USER_VOLUME_LIST":
            if not ops:
                bad(n, "User_Volume_List without volumes")
            cfg.user_volumes.extend(ops)
        elif verb == "USER_VOLUME_INCLUDE":
            if not ops:
                bad(n, "User_Volume_Include without patterns")
            # z/VM's '%' matches one character, '*' any string
            cfg.user_patterns.extend(o.replace("%", "?") for o in ops)
    return cfg
