"""Sources of a batch: files, directories (recursive) and manifests, each
identified by its path, size and mtime (and a SHA-256 on request).  The
files of a split CKD volume (``vol_1.3390``, ``vol_2.3390``, ...) are one
source, named by the set's base name."""

from __future__ import annotations

import hashlib
import json
import os
import stat
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Optional, Union

from ..dasd.split import split_set_of
from ..errors import InvalidArgumentError, NotFoundError

PathLike = Union[str, "os.PathLike[str]"]

#: manifest files: a JSON list of paths (or ``{"sources": [...]}``), or one path a line
MANIFEST_SUFFIXES = (".json", ".lst", ".list", ".manifest")
JOURNAL_NAME = "spoolkit-batch.sqlite"
_HASH_CHUNK = 1 << 20


@dataclass(frozen=True)
class Source:
    """One image of a batch.  ``name``: its output name relative to the
    batch's directory (a directory source keeps its tree)."""

    path: str
    name: str
    size: int
    mtime_ns: int
    sha256: Optional[str] = None
    #: a split CKD set: its files in order (``path`` is the set's base name,
    #: ``size`` their sum, ``mtime_ns`` the latest); () for a single file
    parts: tuple[str, ...] = ()

    @property
    def files(self) -> tuple[str, ...]:
        """The files the source is made of."""
        return self.parts or (self.path,)

    def with_hash(self) -> Source:
        """This source with its SHA-256 computed (of its files in order)."""
        return Source(self.path, self.name, self.size, self.mtime_ns,
                      file_sha256(*self.files), self.parts)

    def current_size(self) -> int:
        """The size of its files now."""
        return sum(os.stat(f).st_size for f in self.files)


def file_sha256(*paths: str) -> str:
    """The SHA-256 of the files' bytes one after the other, as hex."""
    h = hashlib.sha256()
    for path in paths:
        with open(path, "rb") as f:
            for chunk in iter(lambda: f.read(_HASH_CHUNK), b""):
                h.update(chunk)
    return h.hexdigest()


def _as_split_set(src: Source) -> Optional[Source]:
    """The split set ``src`` is a file of, as one source named by the set's
    base name (``vol.3390`` for ``vol_1.3390``, ``vol_2.3390``, ...)."""
    found = split_set_of(src.path)
    if found is None:
        return None
    base, files = found
    sts = [os.stat(f) for f in files]
    name = os.path.join(os.path.dirname(src.name), os.path.basename(base))
    return Source(base, name, sum(st.st_size for st in sts), max(st.st_mtime_ns for st in sts),
                  None, tuple(files))


def _identity(path: str, name: str) -> Source:
    st = os.stat(path)
    return Source(path, name, st.st_size, st.st_mtime_ns)


def _skipped(name: str) -> bool:
    # temporaries of atomic writes (finished or killed) and the journal itself
    return (name.startswith(".") and name.endswith(".tmp")) or name.startswith(JOURNAL_NAME)


def _walk(root: str, exclude: Optional[str]) -> Iterator[Source]:
    for dirpath, dirnames, filenames in os.walk(root):
        # never descend into the batch's own output directory
        dirnames[:] = sorted(d for d in dirnames
                             if exclude is None or os.path.realpath(os.path.join(dirpath, d))
                             != exclude)
        for fn in sorted(filenames):
            full = os.path.join(dirpath, fn)
            if _skipped(fn) or not stat.S_ISREG(os.stat(full).st_mode):
                continue
            yield _identity(os.path.abspath(full), os.path.relpath(full, root))


def read_manifest(path: str) -> list[str]:
    """The paths a manifest lists (relative ones are relative to the manifest)."""
    with open(path, encoding="utf-8") as f:
        text = f.read()
    base = os.path.dirname(os.path.abspath(path))
    if path.lower().endswith(".json"):
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise InvalidArgumentError(f"manifest is not valid JSON: {exc}", path=path) from None
        if isinstance(data, dict):
            data = data.get("sources")
        if not isinstance(data, list) or not all(isinstance(p, str) for p in data):
            raise InvalidArgumentError("a JSON manifest is a list of paths "
                                       "(or an object whose \"sources\" is one)", path=path)
        items: list[str] = data
    else:
        items = [ln.strip() for ln in text.splitlines()]
        items = [ln for ln in items if ln and not ln.startswith("#")]
    return [os.path.join(base, p) for p in items]


def is_manifest(path: str) -> bool:
    return path.lower().endswith(MANIFEST_SUFFIXES)


def discover(sources: Iterable[PathLike], exclude: Optional[PathLike] = None,
             *, manifests: bool = True) -> list[Source]:
    """Every image that ``sources`` name, in order, each once: files as
    given, directories walked (recursively, sorted), manifests expanded.
    ``exclude``: a directory never walked (the batch's output)."""
    ex = os.path.realpath(os.fspath(exclude)) if exclude is not None else None
    seen: set[str] = set()
    names: set[str] = set()
    out: list[Source] = []

    def add(src: Source) -> None:
        key = os.path.realpath(src.path)
        if key in seen:
            return
        grouped = _as_split_set(src)
        if grouped is not None:      # the files of a split set are one volume
            seen.update(os.path.realpath(f) for f in grouped.files)
            src = grouped
            key = os.path.realpath(src.path)
        seen.add(key)
        name = src.name
        n = 1
        while name in names:   # two roots with the same relative name: keep both
            n += 1
            name = f"{src.name}.{n}"
        names.add(name)
        out.append(Source(src.path, name, src.size, src.mtime_ns, src.sha256, src.parts))

    for given in sources:
        p = os.fspath(given)
        if not os.path.exists(p):
            raise NotFoundError("no such file or directory", path=p)
        if os.path.isdir(p):
            for s in _walk(p, ex):
                add(s)
        elif manifests and is_manifest(p):
            for item in read_manifest(p):
                if os.path.isdir(item):
                    for s in _walk(item, ex):
                        add(s)
                elif os.path.exists(item):
                    add(_identity(os.path.abspath(item), os.path.basename(item)))
                else:
                    raise NotFoundError(f"{item}: listed in the manifest, no such file",
                                        path=p)
        else:
            add(_identity(os.path.abspath(p), os.path.basename(p)))
    return out


__all__ = ["Source", "discover", "read_manifest", "file_sha256", "JOURNAL_NAME"]
