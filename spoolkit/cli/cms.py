"""``spoolkit cms find|list|get|put|erase|rename|format|check|copy``: the
files of CMS minidisks inside disk images, and of tapes, archives and host
directories.

A minidisk is ``IMAGE@FIRST-LAST`` (cylinders, or blocks on FBA; the whole
image without ``@``), the form the spool backup verbs take, or the owner's
``MDISK`` in a directory: ``--directory USER.DIRECT --user MAINT --vaddr 191
--volume VOLSER=IMAGE``.  ``list`` and ``copy`` also take ``disk:IMAGE@A-B``,
``vmfplc2:TAPE``, ``tapedump:TAPE``, ``vmarc:FILE`` and ``dir:PATH``.
"""

from __future__ import annotations

import contextlib
from typing import Any, Iterator, Optional

from .common import add_force, add_json, emit, table
from .stdio import check_output, input_path, open_output, read_input, refuse_stdio


def register(sub: Any) -> None:
    p = sub.add_parser("cms", help="CMS minidisks (VM/370 and EDF) inside disk images")
    s = p.add_subparsers(dest="verb", metavar="VERB")
    s.required = True

    q = s.add_parser("find", help="list the CMS minidisks on a volume by their labels")
    q.add_argument("image", metavar="IMAGE")
    add_json(q)
    q.set_defaults(func=cmd_find)

    q = s.add_parser("list", help="the files of a minidisk, tape, archive or directory "
                     "(like LISTFILE)")
    _mdisk(q)
    q.add_argument("--raw", action="store_true", help="dir: files are raw records")
    q.add_argument("--codepage", default="037", help="dir: EBCDIC code page of the text")
    add_json(q)
    q.set_defaults(func=cmd_list)

    q = s.add_parser("copy", help="copy CMS files between minidisks, VMFPLC2 and TAPE DUMP "
                     "tapes, VMARC archives and host directories")
    q.add_argument("src", metavar="SRC", help="disk:IMAGE[@A-B], vmfplc2:TAPE, tapedump:TAPE, "
                   "vmarc:FILE or dir:PATH")
    q.add_argument("dst", metavar="DST", help="the same forms")
    q.add_argument("fname", metavar="FN", nargs="?", default="*",
                   help="file name pattern (* any run, %% one character; default *)")
    q.add_argument("ftype", metavar="FT", nargs="?", default="*", help="file type pattern")
    q.add_argument("fmode", metavar="FM", nargs="?", default="*", help="file mode (letter "
                   "or letter and number)")
    q.add_argument("--raw", action="store_true", help="dir: F records back to back, V "
                   "records each after its 2-byte length (no code page)")
    q.add_argument("--codepage", default="037", help="dir: EBCDIC code page of the text "
                   "(037, 1047)")
    add_force(q, "DST (a whole tape or archive; on a disk or in a directory, the files of "
              "the same names)")
    add_json(q)
    q.set_defaults(func=cmd_copy)

    q = s.add_parser("get", help="a file's records as text (or --raw bytes)")
    _mdisk(q)
    _fileid(q)
    q.add_argument("-o", "--output", metavar="FILE", help="file to write ('-' or none: stdout)")
    q.add_argument("--raw", action="store_true", help="the records' exact bytes, back to back")
    q.add_argument("--codepage", default="037", help="EBCDIC code page of the text (037, 1047)")
    add_force(q, "FILE")
    q.set_defaults(func=cmd_get)

    q = s.add_parser("put", help="write a file from text (or --raw bytes)")
    _mdisk(q)
    q.add_argument("input", metavar="INPUT", help="file to read ('-' for stdin)")
    _fileid(q, default_mode=True)
    q.add_argument("--recfm", choices=("F", "V"), help="record format (default V; F with "
                   "--raw)")
    q.add_argument("--lrecl", type=int, help="record length (F: needed with --raw, default 80)")
    q.add_argument("--raw", action="store_true",
                   help="INPUT is F records back to back (no line ends, no code page)")
    q.add_argument("--codepage", default="037", help="EBCDIC code page of the text (037, 1047)")
    q.add_argument("--date", metavar="YYYY-MM-DDTHH:MM[:SS]",
                   help="date written into the FST (default: now)")
    add_force(q, "an existing CMS file of that name")
    add_json(q)
    q.set_defaults(func=cmd_put)

    q = s.add_parser("erase", help="erase a file")
    _mdisk(q)
    _fileid(q)
    add_json(q)
    q.set_defaults(func=cmd_erase)

    q = s.add_parser("rename", help="rename a file")
    _mdisk(q)
    q.add_argument("fname", metavar="FN")
    q.add_argument("ftype", metavar="FT")
    q.add_argument("new_fname", metavar="NEWFN")
    q.add_argument("new_ftype", metavar="NEWFT")
    q.add_argument("--fmode", metavar="FM", help="the file's mode (to pick one)")
    q.add_argument("--new-fmode", metavar="FM", help="a new file mode")
    add_json(q)
    q.set_defaults(func=cmd_rename)

    q = s.add_parser("format", help="make an empty CMS minidisk (FORMAT)")
    _mdisk(q)
    q.add_argument("label", metavar="LABEL", help="1-6 characters")
    g = q.add_mutually_exclusive_group()
    g.add_argument("--edf", action="store_true", help="EDF (the default on FBA and on "
                   "devices VM/370 does not know)")
    g.add_argument("--vm370", action="store_true", help="VM/370 800-byte blocks")
    q.add_argument("--blocksize", type=int, choices=(512, 1024, 2048, 4096),
                   help="EDF block size (default 4096; FBA 512 too)")
    add_force(q, "an extent that already holds a CMS minidisk")
    add_json(q)
    q.set_defaults(func=cmd_format)

    q = s.add_parser("check", help="check every chain, the bitmap and the counters")
    _mdisk(q)
    add_json(q)
    q.set_defaults(func=cmd_check)


def _mdisk(q: Any) -> None:
    q.add_argument("mdisk", metavar="IMAGE[@A-B]",
                   help="image and extent (cylinders; blocks on FBA), or a VOLSER with "
                        "--directory")
    g = q.add_argument_group("minidisk by directory")
    g.add_argument("--directory", metavar="USER.DIRECT", help="the directory to look in")
    g.add_argument("--user", metavar="USERID", help="the minidisk's owner")
    g.add_argument("--vaddr", metavar="VADDR", help="its virtual address, e.g. 191")
    g.add_argument("--volume", metavar="VOLSER=IMAGE", action="append", default=[],
                   help="where a volume's image is (repeatable)")


def _fileid(q: Any, default_mode: bool = False) -> None:
    q.add_argument("fname", metavar="FN")
    q.add_argument("ftype", metavar="FT")
    q.add_argument("fmode", metavar="FM", nargs="?",
                   default="A1" if default_mode else None,
                   help="file mode" + (" (default A1)" if default_mode else ""))


def _extent(args: Any) -> tuple[str, Optional[int], Optional[int]]:
    """(image, first, last) from IMAGE[@A-B] or the directory options."""
    if args.directory or args.user or args.vaddr:
        from ..cms.directory import resolve

        return resolve(args.directory, args.user, args.vaddr, args.volume, args.mdisk)
    from ..backup.media import as_ref

    ref = as_ref(args.mdisk)
    if ref.extent is None:
        return ref.path, None, None
    return ref.path, ref.extent[0], ref.extent[1]


@contextlib.contextmanager
def _open(args: Any, mode: str = "r") -> Iterator[Any]:
    """The minidisk the arguments name; ``-`` is an image on stdin (read only)."""
    from ..cms import open_minidisk

    image, first, last = _extent(args)
    if mode != "r":
        refuse_stdio(image, "IMAGE")
    with input_path(image, "IMAGE") as path, open_minidisk(path, first, last, mode) as md:
        yield md


# -- verbs -----------------------------------------------------------------------

def cmd_find(args: Any) -> int:
    from ..cms.find import find_minidisks
    from ..dasd import open_dasd

    with input_path(args.image, "IMAGE") as path, open_dasd(path) as dev:
        found = find_minidisks(dev)
    rows = [f.to_dict() for f in found]
    emit(args, rows, lambda d: table([(r["first"], r["last"], r["label"], r["format"],
                                       r["blocksize"]) for r in d],
                                     ["FIRST", "LAST", "LABEL", "FORMAT", "BLKSIZE"])
         if d else "no CMS minidisks found")
    return 0


def _listing(md: Any) -> dict[str, Any]:
    return {"label": md.label, "format": md.format, "blocksize": md.blocksize,
            "files": [f.to_dict() for f in md.files()]}


def _other_source(args: Any) -> Optional[str]:
    """The URI of a source that is no minidisk (None: a minidisk)."""
    from ..cms.sources import split_uri

    if args.directory or args.user or args.vaddr:
        return None
    scheme, rest = split_uri(args.mdisk)
    if scheme == "disk":
        args.mdisk = rest
        return None
    return str(args.mdisk)


def cmd_list(args: Any) -> int:
    data: dict[str, Any]
    uri = _other_source(args)
    if uri is not None:
        from ..cms.sources import open_source, split_uri

        src = open_source(uri, raw=args.raw, codepage=args.codepage)
        try:
            data = {"format": split_uri(uri)[0], "files": [f.to_dict() for f in src.entries()]}
        finally:
            src.close()
    else:
        with _open(args) as md:
            data = _listing(md)
    emit(args, data, lambda d: table(
        [(f["fname"], f["ftype"], f["fmode"], f["recfm"], f["lrecl"], f["records"],
          f["blocks"], f["date"]) for f in d["files"]],
        ["FILENAME", "FILETYPE", "FM", "FORMAT", "LRECL", "RECS", "BLOCKS", "DATE"]))
    return 0


def cmd_get(args: Any) -> int:
    from .. import ebcdic

    ebcdic.codec_name(args.codepage)          # a bad code page before any work
    check_output(args.output, overwrite=args.force, what="-o FILE", binary=args.raw)
    with _open(args) as md:
        f = md.find(args.fname, args.ftype, args.fmode)
        records = md.read(f)
    if args.raw:
        data = records.data
    else:
        data = records.to_text(args.codepage, strip=f.recfm == "F").encode("utf-8")
    with open_output(args.output, overwrite=args.force, what="-o FILE",
                     binary=args.raw) as out:
        out.write(data)
    return 0


def _parse_date(text: Optional[str]) -> Any:
    import datetime

    if not text:
        return None
    try:
        return datetime.datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"bad --date {text!r}: use YYYY-MM-DDTHH:MM[:SS]") from None


def cmd_put(args: Any) -> int:
    from ..cms.records import CMSRecords
    from ..errors import InvalidArgumentError

    refuse_stdio(args.mdisk, "IMAGE")              # before the input is read
    when = _parse_date(args.date)
    data = read_input(args.input, "INPUT")
    if args.raw:
        recfm = args.recfm or "F"
        if recfm != "F" or not args.lrecl:
            raise InvalidArgumentError("--raw input is F records: give --recfm F --lrecl N")
        if len(data) % args.lrecl or not data:
            raise InvalidArgumentError(f"--raw input of {len(data)} bytes is not whole "
                                       f"records of {args.lrecl}")
        from array import array
        ends = array("I", range(args.lrecl, len(data) + 1, args.lrecl))
        records = CMSRecords(data, ends)
        lrecl = args.lrecl
    else:
        recfm = args.recfm or "V"
        lrecl = args.lrecl or 80 if recfm == "F" else args.lrecl
        text = data.decode("utf-8")
        records = CMSRecords.from_text(text, recfm=recfm, lrecl=lrecl or 80,
                                       codepage=args.codepage)
    with _open(args, "r+") as md:
        f = md.write(args.fname, args.ftype, args.fmode or "A1", records, recfm=recfm,
                     lrecl=lrecl, date=when, replace=args.force)
    emit(args, f.to_dict(), lambda d: f"{d['fname']} {d['ftype']} {d['fmode']}: "
         f"{d['records']} records, {d['blocks']} blocks", message=True)
    return 0


def cmd_erase(args: Any) -> int:
    with _open(args, "r+") as md:
        f = md.find(args.fname, args.ftype, args.fmode)
        md.erase(f.fname, f.ftype, f.fmode)
    emit(args, {"erased": f.to_dict()}, lambda d: f"erased {f.name}", message=True)
    return 0


def cmd_rename(args: Any) -> int:
    with _open(args, "r+") as md:
        f = md.rename(args.fname, args.ftype, args.new_fname, args.new_ftype, args.fmode,
                      args.new_fmode)
    emit(args, f.to_dict(), lambda d: f"renamed to {f.name}", message=True)
    return 0


def cmd_format(args: Any) -> int:
    from ..cms.format import format_minidisk
    from ..dasd import open_dasd

    image, first, last = _extent(args)
    refuse_stdio(image, "IMAGE")
    edf = True if args.edf else (False if args.vm370 else None)
    with open_dasd(image, "r+") as dev:
        info = format_minidisk(dev, first, last, args.label, blocksize=args.blocksize, edf=edf,
                               force=args.force)
    emit(args, info, lambda d: f"formatted {d['format']} minidisk {d['label']}: "
         f"{d['blocks']} blocks of {d['blocksize']}", message=True)
    return 0


def cmd_copy(args: Any) -> int:
    from .. import ebcdic
    from ..cms.fileset import FilePattern
    from ..cms.sources import copy

    ebcdic.codec_name(args.codepage)          # a bad code page before any work
    done = copy(args.src, args.dst, FilePattern(args.fname, args.ftype, args.fmode),
                force=args.force, raw=args.raw, codepage=args.codepage)
    emit(args, {"copied": [f.to_dict() for f in done]},
         lambda d: f"copied {len(d['copied'])} files", message=True)
    return 0


def cmd_check(args: Any) -> int:
    with _open(args) as md:
        report = md.check()
    emit(args, report.to_dict(), lambda d: report.text())
    return 0 if report.ok else 1


__all__ = ["register"]
