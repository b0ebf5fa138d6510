"""USER DIRECT parser: the minidisk definitions of a VM/370 or z/VM directory.

Only what overlay protection needs is interpreted (users, profiles, INCLUDE,
MDISK and DIRECTORY statements); every other statement is accepted and
skipped.  Bad lines never stop the parse: they become :class:`Finding` s
naming the line.

z/VM allows MDISK only in user, identity and subconfiguration entries (CP
Planning and Administration, "MDISK Directory Statement"), so an MDISK in a
PROFILE entry defines nothing: DIRECTXA rejects it.  It is reported as a
``mdisk-in-profile`` finding and never mapped, neither to the profile (which
is not a user) nor to the users that INCLUDE it.
"""

from __future__ import annotations

import errno
import os
import re
from dataclasses import asdict, dataclass, field
from typing import Callable, Optional, Union

from ..errors import InvalidArgumentError, NotFoundError
from ..jsonvalue import JSONDict

#: device types whose MDISK start/size are 512-byte blocks, not cylinders
FBA_TYPES = frozenset({"FB-512", "9336", "3370", "0671", "671", "9332", "3310", "9313",
                       "9335"})

#: CKD cylinder numbers have 28 bits even on an extended address volume (CCCCcccH)
MAX_CYLINDERS = 1 << 28
#: DIRECTXA's limit on FBA minidisks (z/VM APAR VM65491: 2,147,483,640 blocks)
MAX_BLOCKS = 2_147_483_640
#: DIRECTXA's limit on an FB-512 V-DISK (VM65491: 4,194,296 blocks)
MAX_VDISK_BLOCKS = 4_194_296
#: a volume label holds six characters
MAX_VOLSER = 6
_DIGITS = re.compile(r"[0-9]+")
#: what a count of more than 12 digits stands for: more than every limit
_HUGE = 10 ** 12
_DEVNUM = re.compile(r"[0-9A-F]{1,4}")

#: directory statements that carry nothing for the map but are valid
KNOWN_STATEMENTS = frozenset("""
ACCOUNT ACIGROUP APPCPASS AUTOLOG BUILD CLASS CMS COMMAND CONCOPY CONSOLE CPU CRYPTO
D8ONECMD DASDOPT DATEFORMAT DEDICATE GLOBALDEFS GLOBALOPTS IOPRIORITY IPL IUCV LINK
LOAD LOADDEV LOGONBY MACHINE MAXSTORAGE MINIOPT NAMESAVE NICDEF NOPDATA OPTION
POSIXGLIST POSIXGROUP POSIXINFO POSIXOPT SCREEN SHARE SPECIAL SPOOL SPOOLFILE
STDEVOPT STORAGE SYSAFFIN VMRELOCATE XAUTOLOG XCONFIG ESM_PASSWORD COMMIT ZVMSHIP
""".split())

PathOrText = Union[str, os.PathLike[str]]


@dataclass
class Finding:
    """A problem or note found while reading an input, with its line."""

    line: Optional[int]
    code: str          # "unknown", "syntax", "range", "past-end", "unknown-volser", ...
    message: str
    source: str = "directory"
    path: Optional[str] = None

    def __str__(self) -> str:
        where = f"{self.source} {self.path}" if self.path else self.source
        where = f"{where} line {self.line}" if self.line else where
        return f"{where}: {self.message}"

    def to_dict(self) -> JSONDict:
        return asdict(self)


@dataclass
class Minidisk:
    """One MDISK statement.

    ``start``/``size`` are cylinders (CKD) or blocks (FBA, ``unit="block"``);
    ``size`` is ``None`` for ``END`` (to the end of the volume).  ``kind`` is
    ``"extent"``, ``"devno"`` (full pack by real device, ``volser`` is then
    ``"DEVNO:rdev"``), ``"v-disk"`` or ``"t-disk"`` (no real extent).
    """

    owner: str
    vaddr: str
    devtype: str
    start: Optional[int]
    size: Optional[int]
    volser: Optional[str]
    mode: Optional[str]
    kind: str = "extent"
    unit: str = "cyl"
    line: Optional[int] = None

    @property
    def end(self) -> Optional[int]:
        """Last cylinder/block, or None for END/DEVNO (known only per volume)."""
        if self.start is None or self.size is None:
            return None
        return self.start + self.size - 1

    def to_dict(self) -> JSONDict:
        d = asdict(self)
        d["end"] = self.end
        return d


@dataclass
class DirUser:
    """A USER, IDENTITY, PROFILE or SUBCONFIG entry.

    ``includes`` is the profile named by the entry's INCLUDE statement (line
    ``include_line``); for a SUBCONFIG it is the enclosing IDENTITY.
    """

    name: str
    kind: str          # "USER", "IDENTITY", "PROFILE", "SUBCONFIG"
    line: int
    includes: Optional[str] = None
    include_line: Optional[int] = None


@dataclass
class Directory:
    """Everything :func:`parse_directory` found."""

    users: list[DirUser] = field(default_factory=list)
    minidisks: list[Minidisk] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    #: VM/370 ``DIRECTORY vaddr devtype volser`` (where the directory lives)
    directory_volumes: list[dict[str, Union[str, int]]] = field(default_factory=list)
    path: Optional[str] = None

    def to_dict(self) -> JSONDict:
        return {"path": self.path,
                "users": [asdict(u) for u in self.users],
                "minidisks": [m.to_dict() for m in self.minidisks],
                "directory_volumes": self.directory_volumes,
                "findings": [f.to_dict() for f in self.findings]}


class InputFileNotFoundError(NotFoundError, FileNotFoundError):
    """A directory or SYSTEM CONFIG path that names no file (a
    :class:`~spoolkit.errors.NotFoundError` and a ``FileNotFoundError``)."""

    def __init__(self, path: str) -> None:
        super().__init__("no such file", path=path)
        self.errno, self.strerror, self.filename = errno.ENOENT, "no such file", path


def _read_text(text_or_path: PathOrText) -> tuple[str, Optional[str]]:
    """Text and path.  A str is a path when it is one line that names an
    existing file or holds no blank (a statement always has one); otherwise
    it is the text itself.  Bytes are read as Latin-1: decoding never fails."""
    if isinstance(text_or_path, os.PathLike) or (
            isinstance(text_or_path, str) and text_or_path and "\n" not in text_or_path
            and (os.path.exists(text_or_path) or not re.search(r"\s", text_or_path))):
        path = os.fspath(text_or_path)
        try:
            with open(path, "rb") as f:
                raw = f.read()
        except FileNotFoundError:
            raise InputFileNotFoundError(str(path)) from None
        except (OSError, ValueError) as exc:     # a directory, no permission, a NUL in it
            raise InvalidArgumentError(f"cannot read: {getattr(exc, 'strerror', None) or exc}",
                                       path=str(path)) from None
        return raw.decode("latin-1"), str(path)
    return str(text_or_path), None


def text_lines(text: str) -> list[str]:
    """Lines as an editor numbers them: split at newlines only (str.splitlines
    would also split at form feeds and other controls, shifting line numbers)."""
    return [ln[:-1] if ln.endswith("\r") else ln for ln in text.split("\n")]


_SEQ = re.compile(r"^[ 0-9A-Za-z]*$")


def card_columns(lines: list[str]) -> bool:
    """True when the file looks like 80-column card images, whose columns
    73-80 hold sequence numbers and must be ignored."""
    body = [ln for ln in lines if ln.strip()]
    if not body:
        return False
    full = sum(1 for ln in body if len(ln) == 80 and _SEQ.match(ln[72:]))
    return full * 10 >= len(body) * 9


def _number(tok: str) -> Optional[int]:
    """A decimal count of ASCII digits (``str.isdigit`` also accepts ``'²'``),
    None for anything else; one of more than 12 digits is only known to be
    larger than every limit (and not converted: no digit-limit ValueError)."""
    if not _DIGITS.fullmatch(tok):
        return None
    digits = tok.lstrip("0") or "0"
    return int(digits) if len(digits) <= 12 else _HUGE


def _shown(tok: str) -> str:
    """A token as a message quotes it: at most 20 characters."""
    return repr(tok[:20] + "..." if len(tok) > 20 else tok)


def device_number(tok: str) -> bool:
    """True for a device number: one to four hexadecimal digits."""
    return _DEVNUM.fullmatch(tok.upper()) is not None


def parse_directory(text_or_path: PathOrText) -> Directory:
    """Parse a USER DIRECT source (a path or the text itself).

    INCLUDEs are resolved after the whole file is read (a PROFILE may follow
    the users that include it): naming an undefined profile is an
    ``undefined-profile`` finding.
    """
    text, path = _read_text(text_or_path)
    lines = text_lines(text)
    cards = card_columns(lines)
    out = Directory(path=path)
    entry: Optional[DirUser] = None      # the entry statements now belong to
    owner: Optional[str] = None          # who owns its minidisks (None in a PROFILE)
    identity: Optional[str] = None
    profile_mdisks: list[tuple[str, int, str]] = []   # (profile, line, vaddr)

    def bad(n: int, code: str, msg: str) -> None:
        out.findings.append(Finding(n, code, msg, path=path))

    for n, raw in enumerate(lines, 1):
        line = raw[:72] if cards else raw
        stripped = line.strip()
        if not stripped or stripped.startswith("*"):
            continue
        toks = stripped.split()
        verb = toks[0].upper()
        ops = toks[1:]
        if verb in ("USER", "IDENTITY", "PROFILE"):
            if not ops:
                bad(n, "syntax", f"{verb} without a name")
                entry = owner = None
                continue
            entry = DirUser(ops[0].upper(), verb, n)
            out.users.append(entry)
            owner = None if verb == "PROFILE" else entry.name
            identity = owner if verb == "IDENTITY" else None
        elif verb == "SUBCONFIG":
            if not ops:
                bad(n, "syntax", "SUBCONFIG without a name")
                continue
            if identity is None:
                bad(n, "syntax", "SUBCONFIG outside an IDENTITY")
            # minidisks of a subconfiguration belong to its identity
            owner = identity or ops[0].upper()
            entry = DirUser(ops[0].upper(), verb, n, includes=identity)
            out.users.append(entry)
        elif verb == "INCLUDE":
            if not ops:
                bad(n, "syntax", "INCLUDE without a profile name")
            elif entry is None:
                bad(n, "syntax", "INCLUDE outside a USER/IDENTITY entry")
            elif entry.kind not in ("USER", "IDENTITY"):
                # a profile cannot include another profile: no chain to follow
                bad(n, "syntax", f"INCLUDE in {entry.kind} {entry.name} ignored: only a USER "
                    "or IDENTITY entry includes a profile")
            elif entry.include_line is not None:
                bad(n, "syntax", f"second INCLUDE in {entry.kind} {entry.name} ignored (line "
                    f"{entry.include_line} includes {entry.includes})")
            else:
                entry.includes, entry.include_line = ops[0].upper(), n
        elif verb == "DIRECTORY":
            if len(ops) < 3:
                bad(n, "syntax", "DIRECTORY needs vaddr devtype volser")
                continue
            if not device_number(ops[0]):
                bad(n, "range", f"DIRECTORY: address {_shown(ops[0])} is not 1-4 hex digits")
                continue
            if len(ops[2]) > MAX_VOLSER:
                bad(n, "range", f"DIRECTORY: volser {_shown(ops[2])} is longer than "
                    f"{MAX_VOLSER} characters")
                continue
            out.directory_volumes.append({"vaddr": ops[0].upper(), "devtype": ops[1].upper(),
                                          "volser": ops[2].upper(), "line": n})
        elif verb == "MDISK":
            if entry is not None and entry.kind == "PROFILE":
                # not a minidisk of anyone: DIRECTXA rejects it (reported below)
                profile_mdisks.append((entry.name, n, ops[0].upper()[:8] if ops else "?"))
                continue
            md = _parse_mdisk(ops, owner, n, bad)
            if md is not None:
                out.minidisks.append(md)
        elif verb in KNOWN_STATEMENTS:
            continue
        else:
            bad(n, "unknown", f"unknown statement {toks[0][:20]!r} ignored")
    _resolve_includes(out, profile_mdisks, path)
    return out


def _resolve_includes(out: Directory, profile_mdisks: list[tuple[str, int, str]],
                      path: Optional[str]) -> None:
    """Check every INCLUDE against the profiles of the whole file and report
    the MDISKs of profiles, naming the users that include them."""
    profiles = {u.name for u in out.users if u.kind == "PROFILE"}
    includers: dict[str, list[str]] = {}
    for u in out.users:
        if u.kind in ("USER", "IDENTITY") and u.includes is not None:
            includers.setdefault(u.includes, []).append(u.name)
            if u.includes not in profiles:
                out.findings.append(Finding(
                    u.include_line or u.line, "undefined-profile",
                    f"{u.kind} {u.name} includes PROFILE {u.includes}, which this "
                    "directory does not define", path=path))
    for name, n, vaddr in profile_mdisks:
        users = includers.get(name, [])
        shown = ", ".join(users[:5]) + (", ..." if len(users) > 5 else "")
        who = (f"not given to the {len(users)} user{'s' * (len(users) != 1)} including it "
               f"({shown})" if users else "and no user includes the profile")
        out.findings.append(Finding(
            n, "mdisk-in-profile",
            f"MDISK {vaddr} in PROFILE {name}: z/VM allows MDISK only in USER, IDENTITY and "
            f"SUBCONFIG entries (DIRECTXA rejects it); not mapped, {who}", path=path))
    out.findings.sort(key=lambda f: f.line or 0)


def _parse_mdisk(ops: list[str], owner: Optional[str], n: int,
                 bad: Callable[[int, str, str], None]) -> Optional[Minidisk]:
    """One MDISK statement, every number checked against what the statement
    allows (a finding and None otherwise)."""
    if owner is None:
        bad(n, "syntax", "MDISK outside a USER/IDENTITY/SUBCONFIG entry")
        owner = "?"
    if len(ops) < 3:
        bad(n, "syntax", "MDISK needs at least vaddr devtype start")
        return None
    vaddr, devtype, start_tok = ops[0].upper(), ops[1].upper(), ops[2].upper()
    if not device_number(vaddr):
        bad(n, "range", f"MDISK {_shown(ops[0])}: the virtual address is not 1-4 hex digits")
        return None
    unit = "block" if devtype in FBA_TYPES else "cyl"
    limit = MAX_BLOCKS if unit == "block" else MAX_CYLINDERS
    what = f"MDISK {vaddr}"
    mode = ops[4].upper() if len(ops) > 4 else None
    if start_tok == "DEVNO":
        if len(ops) < 4:
            bad(n, "syntax", f"{what}: DEVNO needs a real device number")
            return None
        if not device_number(ops[3]):
            bad(n, "range", f"{what}: DEVNO {_shown(ops[3])} is not 1-4 hex digits")
            return None
        return Minidisk(owner, vaddr, devtype, 0, None, "DEVNO:" + ops[3].upper(),
                        mode, "devno", unit, n)
    if start_tok in ("V-DISK", "T-DISK"):
        if len(ops) < 4:
            bad(n, "syntax", f"{what}: {start_tok} needs a size")
            return None
        size = _number(ops[3])
        if size is None or size <= 0:
            bad(n, "syntax", f"{what}: {start_tok} size {_shown(ops[3])} is not a positive "
                "number")
            return None
        most = MAX_VDISK_BLOCKS if start_tok == "V-DISK" else limit
        if size > most:
            bad(n, "range", f"{what}: {start_tok} size {_shown(ops[3])} is more than the "
                f"{most} {unit}s the directory allows")
            return None
        return Minidisk(owner, vaddr, devtype, None, size, None, mode, start_tok.lower(),
                        unit, n)
    if len(ops) < 5:
        bad(n, "syntax", f"{what}: needs vaddr devtype start size volser")
        return None
    start = _number(start_tok)
    if start is None:
        bad(n, "syntax", f"{what}: start {_shown(ops[2])} is not a non-negative number")
        return None
    size_tok = ops[3].upper()
    if size_tok == "END":
        size = None
    else:
        size = _number(size_tok)
        if size is None or size == 0:
            bad(n, "syntax", f"{what}: size {_shown(ops[3])} is not a positive number or END")
            return None
    if start + (size or 1) > limit:
        bad(n, "range", f"{what}: start {_shown(ops[2])} size {_shown(ops[3])} ends beyond "
            f"the last {unit} a {'FBA' if unit == 'block' else 'CKD'} minidisk can have "
            f"({limit - 1})")
        return None
    volser = ops[4].upper()
    if len(volser) > MAX_VOLSER:
        bad(n, "range", f"{what}: volser {_shown(ops[4])} is longer than {MAX_VOLSER} "
            "characters")
        return None
    return Minidisk(owner, vaddr, devtype, start, size, volser,
                    ops[5].upper() if len(ops) > 5 else None, "extent", unit, n)
