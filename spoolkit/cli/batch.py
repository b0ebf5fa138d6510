"""``spoolkit batch JOB SOURCES... --to DIR`` and ``spoolkit batch report
DIR``: resumable work over many images (:mod:`spoolkit.batch`)."""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from typing import Any, Optional

from ..batch import JOBS, JobOptions
from ..batch.journal import Outcome
from ..batch.scheduler import LARGE, Plan, Summary, run
from ..batch.sources import Source
from ..jsonvalue import JSONValue
from .common import (
    Progress,
    add_force,
    add_json,
    add_progress,
    emit,
    positive_int,
    progress_mode,
    table,
)

_HELP = {"convert": "convert disks (like dasd copy) and tapes (like tape copy) into DIR",
         "check": "check disks (like dasd check) and tapes (every block read)",
         "inventory": "record kind, device type, volser, size, compression, labels, "
                      "tape files and data sets of each image",
         "verify": "verify spool archives (like backup verify)"}


def _size(text: str) -> int:
    units = {"k": 1 << 10, "m": 1 << 20, "g": 1 << 30}
    mult = units.get(text[-1:].lower(), 1)
    try:
        n = int(text[:-1] if mult > 1 else text) * mult
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a size (N, Nk, Nm, Ng)") from None
    if n < 0:
        raise argparse.ArgumentTypeError(f"{text}: must not be negative")
    return n


def register(sub: Any) -> None:
    p = sub.add_parser("batch", help="run a job over many images, resumably")
    s = p.add_subparsers(dest="verb", metavar="JOB")
    s.required = True
    for job in JOBS:
        q = s.add_parser(job, help=_HELP[job])
        q.add_argument("sources", nargs="+", metavar="SOURCE",
                       help="image files, directories (recursive) or manifests "
                       "(.json; .lst, .list, .manifest: one path a line)")
        q.add_argument("--to", required=True, metavar="DIR",
                       help="outputs and the journal (DIR/spoolkit-batch.sqlite)")
        if job == "convert":
            g = q.add_mutually_exclusive_group()
            g.add_argument("-z", "--zlib", dest="compress", action="store_const",
                           const="zlib", help="disks: compress with zlib")
            g.add_argument("--bzip2", dest="compress", action="store_const", const="bzip2",
                           help="disks: compress with bzip2")
            g.add_argument("--uncompressed", dest="compress", action="store_const",
                           const="none", help="disks: plain images (the default)")
            q.add_argument("--cckd64", action="store_true", help="disks: CCKD64 output")
            q.add_argument("--level", type=int, default=-1, help="disks' compression level")
            t = q.add_mutually_exclusive_group()
            for fmt in ("aws", "het", "fkt"):
                t.add_argument(f"--{fmt}", dest="tape_format", action="store_const",
                               const=fmt, help=f"tapes: {fmt.upper()} output")
            c = q.add_mutually_exclusive_group()
            c.add_argument("--tape-zlib", dest="tape_compress", action="store_const",
                           const="zlib", help="tapes: compress blocks with zlib")
            c.add_argument("--tape-bzip2", dest="tape_compress", action="store_const",
                           const="bzip2", help="tapes: compress blocks with bzip2")
            q.add_argument("--tape-level", type=int, default=-1,
                           help="tapes' level (default: zlib 5, bzip2 1)")
            add_force(q, "outputs that exist in DIR")
        if job == "check":
            q.add_argument("--level", type=int, choices=(0, 1, 2, 3), default=1,
                           help="disks' check level, as dasd check")
        q.add_argument("-j", "--jobs", type=positive_int, default=None, metavar="N",
                       help="processes for small images, threads for large ones "
                       "(default: all cores)")
        q.add_argument("--large", type=_size, default=LARGE, metavar="SIZE",
                       help="images this big (default 256m) run one at a time on all cores")
        q.add_argument("--verify-sources", action="store_true",
                       help="identify sources by their SHA-256 too, not only size and mtime")
        q.add_argument("--retry-failed", action="store_true",
                       help="redo the images that failed before (default: skip them)")
        q.add_argument("--dask", metavar="ADDRESS",
                       help="run on the Dask scheduler at ADDRESS (tcp://HOST:8786)")
        q.add_argument("--dask-timeout", type=float, default=30.0, metavar="SECONDS",
                       help="how long to wait for the Dask scheduler (default 30)")
        add_progress(q)
        add_json(q)
        q.set_defaults(func=cmd_run, job=job)

    q = s.add_parser("report", help="print the journal of DIR")
    q.add_argument("dir", metavar="DIR")
    f = q.add_mutually_exclusive_group()
    f.add_argument("--json", action="store_true", help="the entries as JSON")
    f.add_argument("--csv", action="store_true", help="the entries as CSV")
    q.set_defaults(func=cmd_report)


def _options(args: argparse.Namespace) -> JobOptions:
    if args.job == "convert":
        compress = None if args.compress in (None, "none") else args.compress
        if args.cckd64 and args.compress == "none":
            raise ValueError("--cckd64 is a compressed format; drop --uncompressed")
        return JobOptions(compress=compress, cckd64=args.cckd64, level=args.level,
                          tape_format=args.tape_format, tape_compress=args.tape_compress,
                          tape_level=args.tape_level)
    if args.job == "check":
        return JobOptions(check_level=args.level)
    return JobOptions()


def _mb(n: float) -> str:
    return f"{n / (1 << 20):.1f} MB"


class BatchProgress(Progress):
    """The batch's bar: images done, bytes, rate and ETA (``total``: bytes)."""

    images = 0
    image_total = 0

    def _status(self) -> str:
        elapsed = max(1e-6, time.monotonic() - self._start)
        rate = self.done / elapsed
        left = max(0, self.total - self.done)
        eta = f"{left / rate:.0f}s" if rate > 0 else "?"
        return (f"{self.images}/{self.image_total} images, {_mb(self.done)}/{_mb(self.total)}"
                f", {_mb(rate)}/s, ETA {eta}")


def _summary_text(s: Summary) -> str:
    failures = sorted(s.failures, key=lambda r: r[0].name)
    rows = [[src.name, out.kind, out.error_type, out.error] for src, out in failures]
    before = f", {s.skipped_failed} of them failed" if s.skipped_failed else ""
    head = (f"{s.job}: {s.images} images, {s.ok} ok, {s.failed} failed, {s.skipped} "
            f"skipped (done before{before}); {s.bytes_in} bytes in, {s.bytes_out} bytes out, "
            f"{s.seconds:.1f}s")
    if not rows:
        return head
    return head + "\n" + table(rows, ["FAILED", "KIND", "ERROR", "MESSAGE"])


def cmd_run(args: argparse.Namespace) -> int:
    client: Optional[object] = None
    if args.dask:
        from ..batch.cluster import connect
        client = connect(args.dask, args.dask_timeout)
    bar: Optional[BatchProgress] = None

    def on_plan(p: Plan) -> None:
        nonlocal bar
        made = BatchProgress(p.total_bytes, f"batch {args.job}", mode=progress_mode(args))
        made.image_total = len(p.tasks)
        bar = made

    def progress(src: Source, out: Outcome) -> None:
        if bar is not None:
            bar.images += 1
            bar.update(src.size)

    try:
        summary = run(args.job, args.sources, to=args.to, workers=args.jobs, client=client,
                      options=_options(args), hash_sources=args.verify_sources,
                      retry_failed=args.retry_failed, overwrite=getattr(args, "force", False),
                      large=args.large, progress=progress, on_plan=on_plan)
    finally:
        if bar is not None:
            bar.close()
        close = getattr(client, "close", None)
        if callable(close):
            close()
    emit(args, summary.to_dict(), lambda d: _summary_text(summary))
    return 1 if summary.failed or summary.skipped_failed else 0


REPORT_COLUMNS = ["job", "path", "name", "status", "kind", "output", "size", "bytes_in",
                  "bytes_out", "seconds", "error_type", "error"]


def cmd_report(args: argparse.Namespace) -> int:
    from ..batch import report

    rows = report(args.dir)
    if args.json:
        json.dump(rows, sys.stdout, indent=2)
        sys.stdout.write("\n")
    elif args.csv:
        w = csv.writer(sys.stdout, lineterminator="\n")
        w.writerow(REPORT_COLUMNS + ["facts"])
        for r in rows:
            w.writerow([r[c] for c in REPORT_COLUMNS] + [json.dumps(r["facts"], sort_keys=True)])
    else:
        body = [[r["job"], r["name"], r["status"], r["kind"], r["size"], r["bytes_out"],
                 r["error"] or ""] for r in rows]
        headers = ["JOB", "NAME", "STATUS", "KIND", "SIZE", "OUT", "ERROR"]
        if any(r["facts"] for r in rows):
            for line, r in zip(body, rows):
                facts = r["facts"]
                line.insert(6, facts_text(facts) if isinstance(facts, dict) else "")
            headers.insert(6, "FACTS")
        print(table(body, headers))
    return 1 if any(r["status"] == "failed" for r in rows) else 0


def _plural(n: int, what: str) -> str:
    return f"{n} {what}{'s' * (n != 1)}"


def facts_text(f: dict[str, JSONValue]) -> str:
    """An inventory entry's facts in one cell: device, volser, compression,
    split files, CMS minidisks (label and extent), data sets, tape files."""
    parts = [str(f[k]) for k in ("device_type", "volser") if f.get(k)]
    if f.get("compression"):
        parts.append(str(f["compression"]))
    split = f.get("split_files")
    if isinstance(split, list):
        parts.append(f"split set of {len(split)} files")
    mds = f.get("cms_minidisks")
    if isinstance(mds, list) and mds:
        parts.append("CMS " + ", ".join(
            f"{m['label']} {m['first']}-{m['last']} ({m['format']} {m['blocksize']})"
            for m in mds if isinstance(m, dict)))
    sets = f.get("datasets")
    if isinstance(sets, list) and sets:
        names = [str(d.get("dsname") or d.get("dsn")) for d in sets if isinstance(d, dict)]
        parts.append(_plural(len(sets), "data set") + ": " + ", ".join(names[:3])
                     + (", ..." if len(names) > 3 else ""))
    files = f.get("tape_files")
    if isinstance(files, int):
        parts.append(f"{_plural(files, 'tape file')}, {f.get('labels')}")
    return "; ".join(parts)
