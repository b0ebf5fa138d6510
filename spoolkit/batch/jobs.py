"""The jobs a batch runs on each image: ``convert``, ``check``,
``inventory`` and ``verify``.  Each is a plain function of one source
(picklable, so that a process pool or a Dask worker can run it) that never
raises for a bad image: the error is its :class:`~.journal.Outcome`."""

from __future__ import annotations

import os
import time
from dataclasses import asdict, dataclass
from typing import Callable, Optional

from ..errors import InvalidArgumentError, SpoolkitError
from ..jsonvalue import JSONValue
from ..kinds import FileKind, file_kind
from .journal import Outcome
from .sources import Source


@dataclass(frozen=True)
class JobOptions:
    """Options of a batch's job (the ``dasd copy``, ``tape copy`` and
    ``dasd check`` options of the same names)."""

    compress: Optional[str] = None     # disks: "zlib", "bzip2" or None (plain)
    cckd64: bool = False
    level: int = -1                    # disks' compression level (-1: the method's default)
    tape_format: Optional[str] = None  # tapes: "aws", "het", "fkt" (None: as the source)
    tape_compress: Optional[str] = None
    tape_level: int = -1               # tapes' level (-1: the method's default)
    check_level: int = 1               # dasd check level 0..3

    def to_dict(self) -> dict[str, JSONValue]:
        return dict(asdict(self))


def _fail(kind: str, exc: BaseException, t0: float, size: int) -> Outcome:
    text = exc.cli_str() if isinstance(exc, SpoolkitError) else (
        f"{exc.strerror}" if isinstance(exc, OSError) and exc.strerror else str(exc))
    return Outcome("failed", kind=kind, bytes_in=size, seconds=time.monotonic() - t0,
                   error_type=type(exc).__name__, error=text or type(exc).__name__)


TAPE_SUFFIXES = (".aws", ".het", ".fkt", ".tap", ".tape")


def _tape_like(k: FileKind, path: str) -> bool:
    """A tape, or unrecognised data named as one: the tape parser says what is wrong."""
    return k.is_tape or (k.kind == "unknown" and path.lower().endswith(TAPE_SUFFIXES))


def _not_an_image(k: FileKind, path: str) -> SpoolkitError:
    return InvalidArgumentError(f"not a disk or tape image ({k.text})", path=path)


def _convert(src: Source, to: str, opts: JobOptions, threads: Optional[int],
             overwrite: bool, k: FileKind) -> Outcome:
    dst = os.path.join(to, src.name)
    os.makedirs(os.path.dirname(dst) or ".", exist_ok=True)
    if k.is_disk:
        from ..dasd.convert import convert
        r = convert(src.path, dst, compress=opts.compress, level=opts.level,
                    cckd64=opts.cckd64, workers=threads, overwrite=overwrite)
        fmt = str(r["format"])
        files = [os.path.relpath(str(f), to) for f in r["files"]]
        bytes_out = int(r["bytes_out"])
        result: dict[str, JSONValue] = {"format": fmt, "files": files,
                                        "flagged_tracks": int(r.get("flagged_tracks", 0))}
        return Outcome("ok", k.kind, src.name, src.size, bytes_out, result=result)
    if _tape_like(k, src.path):
        from ..tape.copy import copy_tape
        blocks, marks = copy_tape(src.path, dst, format=opts.tape_format,
                                  compress=opts.tape_compress, level=opts.tape_level,
                                  workers=threads, overwrite=overwrite)
        return Outcome("ok", k.kind, src.name, src.size, os.path.getsize(dst),
                       result={"blocks": blocks, "tapemarks": marks})
    raise _not_an_image(k, src.path)


def _tape_map(path: str) -> tuple[str, list[dict[str, int]]]:
    from ..tape import open_tape
    with open_tape(path) as t:
        return str(t.format), [st.to_dict() for st in t.map(decompress=True)]


def _check(src: Source, to: str, opts: JobOptions, threads: Optional[int],
           overwrite: bool, k: FileKind) -> Outcome:
    if k.is_disk:
        from ..dasd.check import check_dasd
        from ..dasd.reports import problem_json
        report = check_dasd(src.path, opts.check_level, workers=threads)
        errors = report["errors"]
        warnings = report["warnings"]
        result: dict[str, JSONValue] = {"format": report.get("format"),
                                        "errors": [problem_json(e) for e in errors],
                                        "warnings": [problem_json(w) for w in warnings]}
        if errors:
            first = errors[0]
            where = f" (track {first['track']})" if "track" in first else ""
            return Outcome("failed", k.kind, bytes_in=src.size, error_type="CheckError",
                           error=f"{len(errors)} error(s); first{where}: {first['message']}",
                           result=result)
        return Outcome("ok", k.kind, bytes_in=src.size, result=result)
    if _tape_like(k, src.path):
        fmt, files = _tape_map(src.path)
        return Outcome("ok", k.kind, bytes_in=src.size,
                       result={"format": fmt, "files": len(files),
                               "blocks": sum(f["blocks"] for f in files),
                               "bytes": sum(f["bytes"] for f in files)})
    raise _not_an_image(k, src.path)


def _disk_facts(path: str) -> dict[str, JSONValue]:
    from ..cms.find import find_minidisks
    from ..dasd import open_dasd
    from ..dasd.fba import FBAImage
    from ..dasd.vtoc import list_volume

    notes: list[JSONValue] = []
    minidisks: list[JSONValue] = []
    datasets: list[JSONValue] = []
    vtoc: Optional[bool] = None
    with open_dasd(path) as dev:
        info = dev.info()
        try:
            minidisks = [{"first": m.first, "last": m.last, "unit": m.unit,
                          "label": m.label, "format": m.format, "blocksize": m.blocksize}
                         for m in find_minidisks(dev)]
        except SpoolkitError as exc:
            notes.append(f"CMS minidisk scan: {exc.cli_str()}")
        if not isinstance(dev, FBAImage):
            try:
                listing = list_volume(dev)
                vtoc = listing.vtoc is not None
                datasets = [{"dsname": d.dsname, "dsorg": d.dsorg, "recfm": d.recfm,
                             "lrecl": d.lrecl, "blksize": d.blksize, "tracks": d.tracks,
                             "extents": len(d.extents)} for d in listing.datasets]
            except SpoolkitError as exc:
                notes.append(f"VTOC: {exc.cli_str()}")
    keep = ("format", "devtype", "model", "cylinders", "heads", "tracks", "blocks",
            "volser", "compression", "nullfmt", "files")
    facts: dict[str, JSONValue] = {k: info[k] for k in keep if k in info}
    facts["device_type"] = info.get("model") or info.get("devtype") or info.get("format")
    facts.setdefault("compression", None)
    facts["cms_minidisks"] = minidisks
    facts["vtoc"] = vtoc
    facts["datasets"] = datasets
    if notes:
        facts["notes"] = notes
    return facts


def _tape_facts(path: str) -> dict[str, JSONValue]:
    from ..tape import datasets, open_tape
    fmt, files = _tape_map(path)
    stored = sum(f["stored"] for f in files)
    data = sum(f["bytes"] for f in files)
    facts: dict[str, JSONValue] = {
        "format": fmt, "device_type": "tape", "tape_files": len(files),
        "blocks": sum(f["blocks"] for f in files), "data_bytes": data,
        "compression": "compressed" if stored < data else None, "volser": None,
        "labels": "NL", "datasets": []}
    with open_tape(path) as t:
        try:
            sets = list(datasets(t))
        except SpoolkitError:
            return facts     # unlabelled (or labels it cannot read): NL
        t.rewind()
        first = t.read_block()
    facts["labels"] = "SL"
    if sets:
        facts["volser"] = sets[0].volser
    elif first is not None:
        from ..tape import labels
        facts["volser"] = labels.parse(first.data)["Volume Serial"].strip()
    facts["datasets"] = [{"seq": d.seq, "dsn": d.dsn, "recfm": d.recfm, "lrecl": d.lrecl,
                          "blksize": d.blksize, "blocks": d.blocks} for d in sets]
    return facts


def _inventory(src: Source, to: str, opts: JobOptions, threads: Optional[int],
               overwrite: bool, k: FileKind) -> Outcome:
    facts: dict[str, JSONValue] = {"kind": k.kind, "size": src.size}
    if src.parts:
        facts["split_files"] = [os.path.basename(f) for f in src.parts]
    if k.is_disk:
        facts.update(_disk_facts(src.path))
    elif k.is_tape:
        facts.update(_tape_facts(src.path))
    else:
        facts["description"] = k.text
    return Outcome("ok", k.kind, bytes_in=src.size, facts=facts,
                   result={"format": facts.get("format")})


def _verify(src: Source, to: str, opts: JobOptions, threads: Optional[int],
            overwrite: bool, k: FileKind) -> Outcome:
    from ..backup.verifier import verify
    log = verify(src.path)
    errors = [f"{e.owner} {e.spoolid}: {e.message}" for e in log.errors]
    result: dict[str, JSONValue] = {"files": log.files, "errors": errors[:20]}
    if errors:
        return Outcome("failed", k.kind, bytes_in=src.size, error_type="VerifyError",
                       error=f"{len(errors)} error(s); first: {errors[0]}", result=result)
    return Outcome("ok", k.kind, bytes_in=src.size, result=result)


JobFn = Callable[[Source, str, JobOptions, Optional[int], bool, FileKind], Outcome]

#: job name -> what it does to one image; "writes": the job makes an output in DIR
JOBS: dict[str, JobFn] = {"convert": _convert, "check": _check, "inventory": _inventory,
                          "verify": _verify}
WRITES = {"convert"}


def run_one(job: str, src: Source, to: str, opts: JobOptions, threads: Optional[int],
            overwrite: bool) -> Outcome:
    """Run ``job`` on one source; every error becomes a failed outcome."""
    t0 = time.monotonic()
    k = file_kind(src.files[0])
    try:
        if src.current_size() != src.size:
            raise InvalidArgumentError("the file changed while the batch ran", path=src.path)
        out = JOBS[job](src, to, opts, threads, overwrite, k)
    except Exception as exc:  # noqa: BLE001 - a failed image never stops the batch
        return _fail(k.kind, exc, t0, src.size)
    out.seconds = time.monotonic() - t0
    return out


__all__ = ["JOBS", "JobOptions", "run_one", "WRITES"]
