"""Sources and targets of CMS files, named by URIs, and the copy between them.

=====================  ==========================================================
``disk:IMAGE[@A-B]``   a CMS minidisk (cylinders A-B; blocks on FBA); a name
                       with no scheme is a disk too
``vmfplc2:TAPE``       a VMFPLC2 tape (AWS/HET)
``tapedump:TAPE``      a CMS TAPE DUMP tape
``vmarc:FILE``         a VMARC archive (spoolkit.cms.vmarc)
``dir:PATH``           host files ``FN.FT[.FM]``: text through a code page, or
                       raw (F records back to back; V records each after its
                       2-byte length); the attributes in ``PATH/.spoolkit-cms.json``
=====================  ==========================================================

    copy("vmfplc2:maint.aws", "disk:vm.3350@1-10", FilePattern("*", "EXEC"))

A scheme is added with :func:`register` (a source opener, a target opener).
"""

from __future__ import annotations

import datetime as _dt
import importlib
import json
import os
from array import array
from collections.abc import Iterator
from types import ModuleType
from typing import Callable, Optional, Union

from .._native import check, ffi, lib, new_err
from ..errors import ExistsError, FormatError, InvalidArgumentError, NotFoundError
from ..lock import lock_fd
from ..output import write_file
from .fileset import CMSFile, FilePattern, FileSource, FileTarget
from .fst import NAME_CHARS, FileStatus
from .records import CMSRecords, unpack

#: the default code page of host text (as ``spoolkit cms get/put``)
CODEPAGE = "037"
MANIFEST = ".spoolkit-cms.json"


def _blocks(f: CMSFile) -> int:
    """800-byte blocks the file's records take (VM/370 CMS counts)."""
    size = len(f.records.data) + (2 * len(f.records) if f.recfm == "V" else 0)
    return -(-size // 800)


def status_of(f: CMSFile) -> FileStatus:
    """The listing entry of a file that carries no FST of its own."""
    date = f.date.strftime("%Y-%m-%d %H:%M:%S") if f.date else ""
    return FileStatus(f.fname, f.ftype, f.fmode, f.recfm, f.lrecl, len(f.records), _blocks(f),
                      date)


def _cmsfile(st: FileStatus, recs: CMSRecords) -> CMSFile:
    return CMSFile(st.fname, st.ftype, st.fmode, st.recfm, st.lrecl, st.datetime(), recs)


def _match(pattern: Optional[FilePattern], fname: str, ftype: str, fmode: str) -> bool:
    return pattern is None or pattern.matches(fname, ftype, fmode)


# -- minidisks ----------------------------------------------------------------------

def _extent(spec: str) -> tuple[str, Optional[int], Optional[int]]:
    image, sep, rng = spec.rpartition("@")
    if not sep or not rng.replace("-", "").isdigit() or rng.count("-") != 1:
        return spec, None, None
    a, b = rng.split("-")
    return image, int(a), int(b)


class DiskSource:
    """The files of a CMS minidisk."""

    def __init__(self, spec: str) -> None:
        from .minidisk import open_minidisk

        image, first, last = _extent(spec)
        self.md = open_minidisk(image, first, last)

    def entries(self) -> list[FileStatus]:
        return self.md.files()

    def files(self, pattern: Optional[FilePattern] = None) -> Iterator[CMSFile]:
        todo = [f for f in self.md.files() if _match(pattern, f.fname, f.ftype, f.fmode)]
        for st, recs in self.md.read_all(todo):
            yield _cmsfile(st, recs)

    def close(self) -> None:
        self.md.close()


class DiskTarget:
    """Files written onto a CMS minidisk, each as CMS writes it (crash safe);
    an existing file of the same name and type is replaced only with force."""

    def __init__(self, spec: str, force: bool = False) -> None:
        from .minidisk import open_minidisk

        image, first, last = _extent(spec)
        self.md = open_minidisk(image, first, last, "r+")
        self.force = force

    def add(self, f: CMSFile) -> None:
        self.md.write(f.fname, f.ftype, f.fmode, f.records, recfm=f.recfm, lrecl=f.lrecl,
                      date=f.date, replace=self.force)

    def commit(self) -> None:
        self.md.close()

    def abort(self) -> None:
        self.md.close()


# -- tapes --------------------------------------------------------------------------

class TapeSource:
    """The files of a VMFPLC2 or TAPE DUMP tape."""

    def __init__(self, path: str, kind: str) -> None:
        from ..tape.image import refuse_non_tape

        refuse_non_tape(path)
        self.path, self.kind = path, kind

    def entries(self) -> list[FileStatus]:
        from .tapes import scan_tapedump, scan_vmfplc2

        scan = scan_vmfplc2 if self.kind == "vmfplc2" else scan_tapedump
        return [e.status for e in scan(self.path)]

    def files(self, pattern: Optional[FilePattern] = None) -> Iterator[CMSFile]:
        from .tapes import read_tapedump, read_vmfplc2

        read = read_vmfplc2 if self.kind == "vmfplc2" else read_tapedump
        for f in read(self.path):
            if _match(pattern, f.fname, f.ftype, f.fmode):
                yield f

    def close(self) -> None:
        pass


class TapeTarget:
    """A new VMFPLC2 or TAPE DUMP tape (in place once committed)."""

    def __init__(self, path: str, kind: str, force: bool = False) -> None:
        from .tapes import DUMP, PLC, TapeWriter

        self.w = TapeWriter(path, PLC if kind == "vmfplc2" else DUMP, force=force)

    def add(self, f: CMSFile) -> None:
        self.w.add(f)

    def commit(self) -> None:
        self.w.close()

    def abort(self) -> None:
        self.w.abort()


# -- VMARC (spoolkit.cms.vmarc) -----------------------------------------------------

def _vmarc() -> ModuleType:
    """spoolkit.cms.vmarc, imported when a VMARC archive is first used."""
    return importlib.import_module("spoolkit.cms.vmarc")


class VmarcSource:
    """The members of a VMARC archive."""

    def __init__(self, path: str) -> None:
        if not os.path.exists(path):
            raise NotFoundError(f"no such VMARC archive: {path}", path=path)
        self.path = path

    def entries(self) -> list[FileStatus]:
        return [status_of(f) for f in self.files()]

    def files(self, pattern: Optional[FilePattern] = None) -> Iterator[CMSFile]:
        for f in _vmarc().read_vmarc(self.path):
            if _match(pattern, f.fname, f.ftype, f.fmode):
                yield f

    def close(self) -> None:
        pass


class VmarcTarget:
    """A new VMARC archive (LZW members), written whole at commit."""

    def __init__(self, path: str, force: bool = False, method: str = "lzw") -> None:
        if not force and os.path.lexists(path):
            raise ExistsError("already exists", hint="force=True replaces it",
                              cli_hint="--force replaces it", path=path)
        self.path, self.force, self.method = path, force, method
        self.pending: list[CMSFile] = []

    def add(self, f: CMSFile) -> None:
        self.pending.append(f)

    def commit(self) -> None:
        _vmarc().write_vmarc(self.path, self.pending, method=self.method, force=self.force)

    def abort(self) -> None:
        self.pending = []


# -- host directories ---------------------------------------------------------------

def _host_name(name: str) -> Optional[tuple[str, str, str]]:
    """(fn, ft, fm) of a host file name ``FN.FT[.FM]``, or None."""
    parts = name.split(".")
    if len(parts) not in (2, 3):
        return None
    fn, ft = parts[0].upper(), parts[1].upper()
    fm = parts[2].upper() if len(parts) == 3 else "A1"
    if len(fm) == 1:
        fm += "1"
    for p in (fn, ft):
        if not 1 <= len(p) <= 8 or not set(p) <= NAME_CHARS:
            return None
    if len(fm) != 2 or not fm[0].isalpha() or fm[1] not in "0123456":
        return None
    return fn, ft, fm


def _read_manifest(path: str) -> dict[str, dict[str, Union[str, int, bool]]]:
    p = os.path.join(path, MANIFEST)
    try:
        with open(p, encoding="utf-8") as fh:
            data = json.load(fh)
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise FormatError(f"unreadable attribute file: {exc}", path=p) from None
    files = data.get("files") if isinstance(data, dict) else None
    if not isinstance(files, dict):
        raise FormatError("attribute file holds no \"files\" object", path=p)
    return files


def _v_records(data: bytes, lrecl: int, path: str) -> CMSRecords:
    """V records from their raw form (each after a 2-byte length), checked in C."""
    lim = lrecl if lrecl else 0xFFFF
    err = new_err()
    n = check(lib.spk_cmstape_vcount(data, len(data), lim, err), err, path=path)
    return unpack(data, "V", lim, n, path=path)


def _v_raw(recs: CMSRecords) -> bytes:
    """V records each after its 2-byte length (the CMS data-block layout)."""
    from .records import u32

    size = len(recs.data) + 2 * len(recs)
    out = bytearray(max(size + 800, 800))
    err = new_err()
    n = check(lib.spk_cms_pack(recs.data, len(recs.data), u32(recs.ends), len(recs), 1,
                               max(recs.longest, 1), 800, ffi.from_buffer(out), len(out),
                               ffi.NULL, ffi.NULL, len(out) // 800, err), err)
    return bytes(out[:min(n, size)])


class DirSource:
    """Host files ``FN.FT[.FM]`` of a directory (dot files skipped)."""

    def __init__(self, path: str, raw: bool = False, codepage: str = CODEPAGE) -> None:
        if not os.path.isdir(path):
            raise NotFoundError(f"no such directory: {path}", path=path)
        self.path, self.raw, self.codepage = path, raw, codepage
        self.manifest = _read_manifest(path)

    def _names(self) -> list[tuple[str, str, str, str]]:
        out = []
        for name in sorted(os.listdir(self.path)):
            if name.startswith("."):
                continue
            fid = _host_name(name)
            if fid and os.path.isfile(os.path.join(self.path, name)):
                out.append((name, *fid))
        return out

    def _load(self, name: str, fn: str, ft: str, fm: str) -> CMSFile:
        p = os.path.join(self.path, name)
        meta = self.manifest.get(name, {})
        with open(p, "rb") as fh:
            data = fh.read()
        raw = bool(meta.get("raw", self.raw))
        recfm = str(meta.get("recfm", "F" if raw else "V")).upper()
        lrecl = int(meta.get("lrecl", 80 if recfm == "F" else 0))
        date_s = meta.get("date")
        if isinstance(date_s, str) and date_s:
            when: Optional[_dt.datetime] = _dt.datetime.fromisoformat(date_s)
        else:
            when = _dt.datetime.fromtimestamp(int(os.stat(p).st_mtime))
        if raw and recfm == "F":
            if lrecl < 1 or len(data) % lrecl:
                raise FormatError(f"{len(data)} bytes are not whole F {lrecl} records",
                                  path=p)
            recs = CMSRecords(data, array("I", range(lrecl, len(data) + 1, lrecl)))
        elif raw:
            recs = _v_records(data, lrecl, p)
            lrecl = max(lrecl, recs.longest)
        else:
            text = data.decode("utf-8")
            recs = CMSRecords.from_text(text, recfm=recfm, lrecl=lrecl or 80,
                                        codepage=str(meta.get("codepage", self.codepage)))
            if recfm == "V":
                lrecl = max(lrecl, recs.longest)
        return CMSFile(fn, ft, fm, recfm, lrecl, when, recs)

    def entries(self) -> list[FileStatus]:
        return [status_of(f) for f in self.files()]

    def files(self, pattern: Optional[FilePattern] = None) -> Iterator[CMSFile]:
        for name, fn, ft, fm in self._names():
            if _match(pattern, fn, ft, fm):
                yield self._load(name, fn, ft, fm)

    def close(self) -> None:
        pass


class DirTarget:
    """Host files ``FN.FT.FM`` written into a directory, each renamed into
    place once complete; its attributes (RECFM, LRECL, date) go to the
    directory's attribute file at commit.  The directory is locked."""

    def __init__(self, path: str, force: bool = False, raw: bool = False,
                 codepage: str = CODEPAGE) -> None:
        if not os.path.isdir(path):
            raise NotFoundError(f"no such directory: {path}", path=path)
        self.path, self.force, self.raw, self.codepage = path, force, raw, codepage
        self.fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            lock_fd(self.fd, path, what="directory")
            self.manifest = _read_manifest(path)
        except BaseException:
            os.close(self.fd)
            raise
        self.added: dict[str, dict[str, Union[str, int, bool]]] = {}

    def add(self, f: CMSFile) -> None:
        name = f"{f.fname}.{f.ftype}.{f.fmode}".upper()
        if name in self.added:
            raise ExistsError(f"file {f.name} is copied twice", path=self.path)
        p = os.path.join(self.path, name)
        if self.raw:
            data = f.records.data if f.recfm == "F" else _v_raw(f.records)
        else:
            data = f.records.to_text(self.codepage, strip=f.recfm == "F").encode("utf-8")
        write_file(p, data, overwrite=self.force,
                   mtime=f.date.timestamp() if f.date else None)
        meta: dict[str, Union[str, int, bool]] = {"recfm": f.recfm, "lrecl": f.lrecl,
                                                  "raw": self.raw}
        if f.date:
            meta["date"] = f.date.isoformat()
        if not self.raw:
            meta["codepage"] = self.codepage
        self.added[name] = meta

    def commit(self) -> None:
        try:
            if self.added:
                files = {**self.manifest, **self.added}
                data = json.dumps({"version": 1, "files": files}, indent=1,
                                  sort_keys=True).encode() + b"\n"
                p = os.path.join(self.path, MANIFEST)
                write_file(p, data, overwrite=True)
        finally:
            os.close(self.fd)

    def abort(self) -> None:
        # the files already in place are complete; record them
        self.commit()


# -- the registry -------------------------------------------------------------------

SourceOpener = Callable[[str], FileSource]
TargetOpener = Callable[[str, bool], FileTarget]
_SOURCES: dict[str, SourceOpener] = {}
_TARGETS: dict[str, TargetOpener] = {}


def register(scheme: str, source: Optional[SourceOpener] = None,
             target: Optional[TargetOpener] = None) -> None:
    """Make ``scheme:REST`` a source (``source(REST)``) and/or a target
    (``target(REST, force)``)."""
    if source is not None:
        _SOURCES[scheme] = source
    if target is not None:
        _TARGETS[scheme] = target


def schemes() -> list[str]:
    """The URI schemes known as a source or a target."""
    return sorted(set(_SOURCES) | set(_TARGETS))


def split_uri(uri: str) -> tuple[str, str]:
    """(scheme, rest); a name with no known scheme is a disk."""
    scheme, sep, rest = uri.partition(":")
    if sep and scheme in set(_SOURCES) | set(_TARGETS):
        if not rest:
            raise InvalidArgumentError(f"{uri!r}: nothing after {scheme}:")
        return scheme, rest
    return "disk", uri


def open_source(uri: str, *, raw: bool = False, codepage: str = CODEPAGE) -> FileSource:
    """The source a URI names (see the module docstring); ``raw`` and
    ``codepage`` are for ``dir:``."""
    scheme, rest = split_uri(uri)
    if scheme == "dir":
        return DirSource(rest, raw, codepage)
    if scheme not in _SOURCES:
        raise InvalidArgumentError(f"{scheme}: is no source (known: {', '.join(schemes())})")
    return _SOURCES[scheme](rest)


def open_target(uri: str, *, force: bool = False, raw: bool = False,
                codepage: str = CODEPAGE) -> FileTarget:
    """The target a URI names; ``force`` replaces an existing destination
    (a whole tape or archive; files of the same name on a disk or in a
    directory)."""
    scheme, rest = split_uri(uri)
    if scheme == "dir":
        return DirTarget(rest, force, raw, codepage)
    if scheme not in _TARGETS:
        raise InvalidArgumentError(f"{scheme}: is no target (known: {', '.join(schemes())})")
    return _TARGETS[scheme](rest, force)


def copy(src: Union[str, FileSource], dst: Union[str, FileTarget],
         pattern: Optional[FilePattern] = None, *, force: bool = False, raw: bool = False,
         codepage: str = CODEPAGE) -> list[FileStatus]:
    """Copy the files ``pattern`` names (all by default) from a source to a
    target (URIs or open objects), records and attributes exact.  A target
    given by URI is committed here (aborted on an error: a new tape or
    archive then leaves nothing).  Returns the entries of the files copied."""
    source = open_source(src, raw=raw, codepage=codepage) if isinstance(src, str) else src
    try:
        target = (open_target(dst, force=force, raw=raw, codepage=codepage)
                  if isinstance(dst, str) else dst)
        done: list[FileStatus] = []
        try:
            for f in source.files(pattern):
                target.add(f)
                done.append(status_of(f))
        except BaseException:
            if isinstance(dst, str):
                target.abort()
            raise
        if isinstance(dst, str):
            target.commit()
        return done
    finally:
        if isinstance(src, str):
            source.close()


register("disk", DiskSource, DiskTarget)
register("vmfplc2", lambda p: TapeSource(p, "vmfplc2"),
         lambda p, force: TapeTarget(p, "vmfplc2", force))
register("tapedump", lambda p: TapeSource(p, "tapedump"),
         lambda p, force: TapeTarget(p, "tapedump", force))
register("vmarc", VmarcSource, VmarcTarget)
register("dir", lambda p: DirSource(p), lambda p, force: DirTarget(p, force))

__all__ = ["CODEPAGE", "DirSource", "DirTarget", "DiskSource", "DiskTarget", "MANIFEST",
           "TapeSource", "TapeTarget", "VmarcSource", "VmarcTarget", "copy", "open_source",
           "open_target", "register", "schemes", "split_uri", "status_of"]
