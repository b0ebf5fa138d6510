"""``spoolkit spool dump|load|scan|verify|watch``: SPXTAPE-like spool backup.

:func:`register_backup` adds the verbs to the ``spool`` group's subparsers.
Listed in ``GROUPS`` after ``spool``, :func:`register` finds that group and
adds them there (or creates the group when the spool CLI is absent).
"""

from __future__ import annotations

import argparse
import contextlib
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, Optional

from .common import (
    Progress,
    add_force,
    add_json,
    add_progress,
    check_output,
    emit,
    input_path,
    is_stdio,
    note,
    output_path,
    refuse_stdio,
    shown,
    table,
)

if TYPE_CHECKING:
    from ..backup.source import VolumeSource
    from ..spool.select import Selection


def register(sub: Any) -> None:
    group = sub.choices.get("spool") if hasattr(sub, "choices") else None
    if group is None:
        group = sub.add_parser("spool", help="z/VM-style spool files and archives")
        verbs = group.add_subparsers(dest="verb", metavar="VERB")
        verbs.required = True
    else:
        verbs = next(a for a in group._actions if isinstance(a, argparse._SubParsersAction))
    register_backup(verbs)


def _selection(p: Any) -> None:
    g = p.add_argument_group("selection (all given criteria must match)")
    g.add_argument("--owner", "--userid", metavar="PATTERN",
                   help="owner userid, * and %% wildcards")
    g.add_argument("--spoolid", "--spid", metavar="N|A-B", action="append",
                   help="spool ID or range (repeatable)")
    g.add_argument("--type", dest="kind", metavar="TYPE", action="append",
                   help="RDR, PRT, PUN, CON or an SDF kind (NSS, DCSS, IMG, UCR, NLS, TRF)")
    g.add_argument("--class", dest="klass", metavar="C", help="spool class")
    g.add_argument("--form", metavar="PATTERN")
    g.add_argument("--dest", metavar="PATTERN")
    g.add_argument("--date", metavar="YYYY-MM-DD[:YYYY-MM-DD]", help="creation date or range")
    g.add_argument("--hold", choices=("hold", "nohold"), help="only held / only not held")


def register_backup(s: Any) -> None:
    """Add the backup verbs to a subparsers object (the ``spool`` group's)."""
    q = s.add_parser("dump", help="DUMP spool files to a tape image, minidisk or volume")
    q.add_argument("sources", nargs="+", metavar="SRC", help="spool volume image(s)")
    q.add_argument("--to", required=True, metavar="TARGET",
                   help="tape image (.aws/.het/.fkt), VOL@A-B minidisk, or a SPOL volume")
    q.add_argument("--incremental", nargs="+", metavar="PREV",
                   help="earlier archive(s): dump only new or changed files")
    q.add_argument("--new", action="store_true", help="replace TARGET instead of appending")
    q.add_argument("--format", choices=("aws", "het", "faketape"))
    q.add_argument("--compress", choices=("zlib", "bzip2", "none"), help="HET compression")
    add_force(q, "an existing archive (with --new)")
    _logs(q)
    _selection(q)
    add_progress(q)
    add_json(q)
    q.set_defaults(func=cmd_dump)

    q = s.add_parser("load", help="LOAD spool files from archive(s) into a volume")
    q.add_argument("archives", nargs="+", metavar="ARCHIVE", help="an archive or a chain")
    q.add_argument("--to", required=True, metavar="VOL")
    q.add_argument("--new-spoolids", action="store_true", help="give the files new spool IDs")
    q.add_argument("--all-versions", action="store_true",
                   help="every file of every run, not only the latest state")
    q.add_argument("--stop-on-error", action="store_true")
    _logs(q)
    _selection(q)
    add_progress(q)
    add_json(q)
    q.set_defaults(func=cmd_load)

    q = s.add_parser("scan", help="SCAN: list the files of archive(s) from their catalogs")
    q.add_argument("archives", nargs="+", metavar="ARCHIVE")
    q.add_argument("--latest", action="store_true", help="only the latest state of a chain")
    _logs(q)
    _selection(q)
    add_json(q)
    q.set_defaults(func=cmd_scan)

    q = s.add_parser("verify", help="check every block CRC and catalog entry of an archive")
    q.add_argument("archive", metavar="ARCHIVE")
    _logs(q)
    add_json(q)
    q.set_defaults(func=cmd_verify)

    q = s.add_parser("watch", help="append new or changed spool files to an archive")
    q.add_argument("volume", metavar="VOL")
    q.add_argument("--to", required=True, metavar="ARCHIVE")
    q.add_argument("--interval", type=float, default=0.2, help="poll interval in seconds")
    _logs(q)
    _selection(q)
    q.set_defaults(func=cmd_watch)


def _logs(q: Any) -> None:
    q.add_argument("--log", metavar="FILE", help="append the run log (text) to FILE "
                   "('-': print it, as without --json)")
    q.add_argument("--json-log", metavar="FILE", help="write the JSON summary to FILE "
                   "('-': print it, as with --json)")


_SELECTION = ("owner", "spoolid", "kind", "klass", "form", "dest", "date", "hold")


def selector(args: argparse.Namespace) -> Optional[Selection]:
    """The selection predicate from the CLI options (``spool/select.py``'s
    logic, shared with the other spool verbs); None when nothing is selected."""
    if not any(getattr(args, name, None) for name in _SELECTION):
        return None
    from ..spool.select import selector_from_args

    return selector_from_args(args)


def _source(paths: list[str]) -> VolumeSource:
    from ..backup import open_source

    return open_source(paths[0] if len(paths) == 1 else paths)


@contextlib.contextmanager
def _inputs(paths: Optional[list[str]], what: str) -> Iterator[Optional[list[str]]]:
    """Names the library opens for input arguments (``-``: stdin, see
    :func:`~spoolkit.cli.stdio.input_path`)."""
    if paths is None:
        yield None
        return
    with _input_list(paths, what) as names:
        yield names


@contextlib.contextmanager
def _input_list(paths: list[str], what: str) -> Iterator[list[str]]:
    """:func:`_inputs` of an argument that is always given (``nargs="+"``)."""
    with contextlib.ExitStack() as stack:
        yield [stack.enter_context(input_path(p, what)) for p in paths]


def _pages(vol: Any, sel: Any) -> int:
    """The data pages of the selected files, from their header pages (no
    data read): the dump's progress total."""
    total = 0
    for sf in vol.files():
        if sel is None or sel(sf):
            owner = vol.volume_of(sf.spoolid) if hasattr(vol, "volume_of") else vol
            total += owner.header(sf.spoolid).npages
    return total


def _log_files(args: Any, target: Optional[str] = None) -> tuple[Optional[str], Optional[str]]:
    """The library's ``log``/``json_log``: a file, or None for ``-`` (the
    verb prints that log itself, see :func:`_print_log`)."""
    log, json_log = getattr(args, "log", None), getattr(args, "json_log", None)
    if is_stdio(log) and (is_stdio(json_log) or getattr(args, "json", False)):
        raise ValueError("--log - prints the text log, --json and --json-log - the JSON "
                         "summary: choose one")
    if is_stdio(target) and (is_stdio(log) or is_stdio(json_log)):
        raise ValueError("stdout carries the archive (--to -): name a file for the log")
    return (None if is_stdio(log) else log), (None if is_stdio(json_log) else json_log)


def _print_log(args: Any, runlog: Any, message: bool = False) -> None:
    """The run log, as text or JSON (``message``: the log of what a DUMP or
    LOAD did, left out with -q unless asked for with --json or --json-log -)."""
    if is_stdio(getattr(args, "json_log", None)):
        args.json = True
    emit(args, runlog.to_dict(), lambda d: runlog.text(), message=message)


def cmd_dump(args: Any) -> int:
    from ..backup import dump

    logs = _log_files(args, args.to)
    if is_stdio(args.to):
        check_output(args.to, what="--to")
    with _inputs(args.sources, "SRC") as sources, \
            _inputs(args.incremental, "--incremental") as incremental, \
            output_path(args.to, "--to") as target:
        src = _source(sources or [])
        sel = selector(args)
        try:
            total = _pages(src.vol, sel)
            with Progress.for_args(args, total, "dump", unit=" pages") as bar:
                log = dump(src, target, select=sel, incremental=incremental,
                           append=not args.new, format=args.format, compress=args.compress,
                           progress=bar.update, overwrite=args.force, log=logs[0],
                           json_log=logs[1])
        finally:
            src.close()
    _name_stdio(log, args.sources, args.to)
    _print_log(args, log, message=True)
    return 1 if log.errors else 0


def cmd_load(args: Any) -> int:
    from ..backup import load, scan

    refuse_stdio(args.to, "--to VOL")
    logs = _log_files(args)
    sel = selector(args)
    with _input_list(args.archives, "ARCHIVE") as archives:
        res = scan(archives)
        entries = res.entries if args.all_versions else res.latest()
        total = sum(e.pages for e in entries if not e.is_ref)
        with Progress.for_args(args, total, "load", unit=" pages") as bar:
            log = load(archives, args.to, select=sel,
                       spoolid="new" if args.new_spoolids else "keep",
                       state="all" if args.all_versions else "latest",
                       on_error="raise" if args.stop_on_error else "continue",
                       progress=bar.update, log=logs[0], json_log=logs[1])
    _name_stdio(log, args.archives)
    _print_log(args, log, message=True)
    return 1 if log.errors else 0


def cmd_scan(args: Any) -> int:
    from ..backup import scan

    sel = selector(args)
    with _input_list(args.archives, "ARCHIVE") as archives:
        res = scan(archives, select=sel, log=_log_files(args)[0])
    entries = res.latest() if args.latest else res.entries
    if sel is not None:
        from ..backup import EntryView
        entries = [e for e in entries if sel(EntryView(e))]
    data = {"runs": [r.to_dict() for r in res.runs], "files": [e.to_dict() for e in entries]}

    def text(_: Any) -> str:
        rows = [(e.owner, e.spoolid, e.kind, e.klass, e.records, e.pages, e.fname, e.ftype,
                 "ref" if e.is_ref else "data", "%x" % e.run_id) for e in entries]
        head = "\n".join("run %x from %s: %d files%s" % (
            r.header.run_id, r.header.source or "?", len(r.entries),
            "" if r.whole else " (%s: %s)" % ("SEALED" if r.complete else "INCOMPLETE",
                                             r.problem)) for r in res.runs)
        return head + "\n" + table(rows, ["OWNER", "SPOOLID", "TYPE", "CL", "RECORDS",
                                          "PAGES", "FILENAME", "FILETYPE", "HOLDS", "RUN"])

    emit(args, data, text)
    return 0 if all(r.complete for r in res.runs) else 1


def cmd_verify(args: Any) -> int:
    from ..backup import verify

    with input_path(args.archive, "ARCHIVE") as archive:
        log = verify(archive, log=_log_files(args)[0])
    _name_stdio(log, [args.archive])
    _print_log(args, log)
    return 1 if log.errors else 0


def cmd_watch(args: Any) -> int:
    from ..backup import watch

    refuse_stdio(args.volume, "VOL (watched)")
    refuse_stdio(args.to, "--to ARCHIVE (appended to)")

    def report(runlog: Any) -> None:
        note(args, runlog.totals())

    n = watch(args.volume, args.to, select=selector(args), interval=args.interval,
              log=_log_files(args)[0], on_run=report)
    emit(args, {"runs": n, "archive": args.to},
         lambda d: f"watch ended: {d['runs']} runs appended to {d['archive']}", message=True)
    return 0


def _name_stdio(runlog: Any, sources: list[str], target: Optional[str] = None) -> None:
    """The run log names stdin and stdout, not their temporary stand-ins."""
    if len(sources) == 1 and is_stdio(sources[0]):
        runlog.source = shown(sources[0])
    if is_stdio(target):
        runlog.target = shown("-", output=True)
