"""``spoolkit tape …``: map, init, get and copy tape images (AWS, HET, FakeTape)."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from typing import Any, Optional, TextIO

from .. import ebcdic
from ..errors import NotFoundError
from ..jsonvalue import JSONValue
from ..tape import TapeImage, datasets, deblock, open_tape
from ..tape import labels as sl
from ..tape.copy import copy_tape
from ..tape.image import refuse_non_tape
from ..tape.views import file_labels
from .common import (
    Progress,
    add_force,
    add_json,
    add_progress,
    check_output,
    emit,
    input_path,
    open_output,
    output_path,
    positive_int,
    shown,
)
from .maptext import SEP, file_lines, new_total, summary_lines


def register(sub: Any) -> None:
    p = sub.add_parser("tape", help="tape images (AWS, HET, FakeTape)")
    s = p.add_subparsers(dest="verb", metavar="VERB")
    s.required = True

    q = s.add_parser("map", help="files, blocks, sizes and labels (like hetmap -a)")
    q.add_argument("image", metavar="IMG")
    g = q.add_mutually_exclusive_group()
    g.add_argument("-a", "--all", dest="view", action="store_const", const="all",
                   help="labels and file information (the default)")
    g.add_argument("-d", "--datasets", dest="view", action="store_const", const="datasets",
                   help="data sets as the trailer labels name them (hetmap -d)")
    g.add_argument("-f", "--files", dest="view", action="store_const", const="files",
                   help="file information only (hetmap -f)")
    g.add_argument("-l", "--labels", dest="view", action="store_const", const="labels",
                   help="label information only (hetmap -l)")
    g.add_argument("-t", "--tapemap", dest="view", action="store_const", const="tapemap",
                   help="TAPEMAP-style: label records and per-file block counts (hetmap -t)")
    q.set_defaults(view="all")
    add_json(q)
    q.set_defaults(func=cmd_map)

    q = s.add_parser("init", help="create an empty tape (like hetinit)")
    q.add_argument("image", metavar="IMG")
    q.add_argument("--volser", help="volume serial (standard label: VOL1 + IEHINITT HDR1)")
    q.add_argument("--owner", default="")
    q.add_argument("--nl", action="store_true", help="unlabelled: two tapemarks")
    _format_options(q)
    add_force(q, "an existing tape")
    q.set_defaults(func=cmd_init)

    q = s.add_parser("get", help="extract one data set (like hetget)")
    q.add_argument("image", metavar="IMG")
    q.add_argument("file", type=int, metavar="FILE#", help="data set number (NL: file number)")
    q.add_argument("output", metavar="OUT", nargs="?", help="output file ('-': stdout)")
    q.add_argument("-o", "--output", dest="output_opt", metavar="OUT",
                   help="output file (instead of the OUT argument)")
    q.add_argument("--raw", action="store_true", help="blocks as they are, not records")
    q.add_argument("--nl", action="store_true", help="unlabelled tape: FILE# is a file")
    q.add_argument("--recfm", help="record format when the tape has no labels (F, FB, V, VB, "
                   "VBS, U)")
    q.add_argument("--lrecl", type=int, default=0)
    q.add_argument("--ascii", action="store_true", help="EBCDIC records to ASCII text lines")
    q.add_argument("--codepage", metavar="CP",
                   help="EBCDIC code page of the text (%s; default 037); implies --ascii"
                   % ", ".join(ebcdic.CODEPAGES))
    add_force(q, "an existing output file")
    q.set_defaults(func=cmd_get)

    q = s.add_parser("copy", help="copy or convert a tape (like hetupd / tapecopy)")
    q.add_argument("source", metavar="SRC")
    q.add_argument("dest", metavar="DST")
    _format_options(q)
    q.add_argument("--chunk", type=int, default=65535, help="chunk size (4096: strict AWS)")
    q.add_argument("-j", "--workers", type=positive_int, metavar="N",
                   help="compression threads (default: cores)")
    add_force(q, "an existing destination")
    add_progress(q)
    q.set_defaults(func=cmd_copy)


def _format_options(q: Any) -> None:
    g = q.add_mutually_exclusive_group()
    g.add_argument("--aws", dest="format", action="store_const", const="aws")
    g.add_argument("--het", dest="format", action="store_const", const="het")
    g.add_argument("--fkt", dest="format", action="store_const", const="fkt")
    c = q.add_mutually_exclusive_group()
    c.add_argument("-z", "--zlib", dest="compress", action="store_const", const="zlib")
    c.add_argument("--bzip2", dest="compress", action="store_const", const="bzip2")
    q.add_argument("--level", type=int, default=-1,
                   help="compression level (default: zlib 5, bzip2 1)")


def map_files(t: TapeImage) -> Iterator[dict[str, Any]]:
    """Per file of the tape: its counts and its standard labels, as found."""
    for st in t.iter_map():
        entry: dict[str, Any] = {**st.to_dict(),
                                 "labels": [lab.to_dict() for lab in file_labels(t, st)]}
        ddr = _ddr_file(t, st.offset) if st.blocks and st.min_block <= 80 else None
        if ddr is not None:
            entry["ddr"] = ddr
        yield entry


def _ddr_file(t: TapeImage, offset: int) -> Optional[dict[str, JSONValue]]:
    """What a tape file holds when it is a VM DDR dump (its first block a VHR)."""
    from ..ddr import describe_file
    from ..ddr.records import is_header

    if not is_header(t.block_at(offset)[0].data):
        return None
    return describe_file(t.path, offset)


def _count(total: dict[str, int], f: dict[str, Any]) -> None:
    total["files"] += 1
    for k in ("blocks", "bytes", "stored"):
        total[k] += f[k]


def tape_map(path: str) -> dict[str, Any]:
    """What ``hetmap -a`` reports: per file the labels, blocks, sizes; totals."""
    total = new_total()
    with open_tape(path) as t:
        files = []
        for f in map_files(t):
            _count(total, f)
            files.append(f)
    return {"path": path, "files": files, "total": total}


def _map_text(m: dict[str, Any]) -> str:
    out = [SEP, f"{'Filename':<20}: {m['path']}"]
    for f in m["files"]:
        out += file_lines(f)
    return "\n".join(out + summary_lines(m["total"]))


def stream_map(path: str, as_json: bool, out: TextIO, name: Optional[str] = None) -> None:
    """Print the map of the tape file by file (text as hetmap, or the JSON
    of :func:`tape_map`), holding one file's entry at a time; ``name``: how
    the map names the tape (default ``path``)."""
    total = new_total()
    refuse_non_tape(path)
    name = path if name is None else name
    with open_tape(path) as t:
        if as_json:
            out.write('{\n  "path": %s,\n  "files": [' % json.dumps(name))
            sep = "\n"
            for f in map_files(t):
                _count(total, f)
                out.write(sep + _json_file(f))
                sep = ",\n"
            out.write("\n  ],\n  \"total\": %s\n}\n"
                      % json.dumps(total, indent=2).replace("\n", "\n  "))
            return
        out.write(f"{SEP}\n{'Filename':<20}: {name}\n")
        for f in map_files(t):
            _count(total, f)
            out.write("\n".join(file_lines(f)) + "\n")
    out.write("\n".join(summary_lines(total)) + "\n")


def _json_file(f: dict[str, Any]) -> str:
    """One file's entry as ``json.dump(..., indent=2)`` lays it out in the map."""
    if f["labels"]:
        return "    " + json.dumps(f, indent=2).replace("\n", "\n    ")
    body = ",\n".join(f"      {json.dumps(k)}: {json.dumps(v)}" for k, v in f.items()
                       if k != "labels")
    return "    {\n" + body + ',\n      "labels": []\n    }'


def cmd_map(args: Any) -> int:
    with input_path(args.image) as image:
        if args.view != "all":
            from .tapemap import print_view
            print_view(image, args.view, bool(getattr(args, "json", False)), sys.stdout,
                       shown(args.image))
            return 0
        stream_map(image, bool(getattr(args, "json", False)), sys.stdout, shown(args.image))
    return 0


IEHINITT_HDR1 = "HDR1".encode("cp037") + "0".encode("cp037") * 76


def cmd_init(args: Any) -> int:
    if not args.nl and not args.volser:
        raise ValueError("--volser is required for a labelled tape (or use --nl)")
    check_output(args.image, overwrite=args.force, what="IMG")
    with output_path(args.image, "IMG") as image, \
            open_tape(image, "w", format=args.format, compress=args.compress,
                      level=args.level, overwrite=args.force) as t:
        if not args.nl:
            t.write_block(sl.vol1(args.volser, args.owner))
            t.write_block(IEHINITT_HDR1)
            t.tapemark()
        else:
            t.tapemark()
            t.tapemark()
        t.close(finish=False)
        fmt = t.format
    emit(args, {"path": shown(args.image, output=True), "format": fmt,
                "volser": None if args.nl else args.volser}, lambda d: "", message=True)
    return 0


def cmd_get(args: Any) -> int:
    output = args.output_opt or args.output
    if output is None or (args.output_opt and args.output):
        raise ValueError("give the output file once: OUT or -o OUT")
    codepage = args.codepage or ("037" if args.ascii else None)
    if codepage is not None:
        ebcdic.codec_name(codepage)  # an unknown code page fails before any work
    binary = codepage is None
    check_output(output, overwrite=args.force, what="OUT", binary=binary)
    with input_path(args.image) as image:
        n, size = _get(args, image, output, codepage)
    emit(args, {"image": shown(args.image), "file": args.file, "output": shown(output, output=True),
                "records" if not args.raw else "blocks": n, "bytes": size},
         lambda d: "", message=True)
    return 0


def _get(args: Any, image: str, output: str, codepage: Optional[str]) -> tuple[int, int]:
    """Write the data set (or file) to ``output``, as text lines in ``codepage``
    when one is given; returns (items, bytes written)."""
    n = size = 0
    refuse_non_tape(image)
    with open_tape(image) as t:
        if args.nl:
            if t.skip_files(args.file - 1) != args.file - 1:
                raise NotFoundError(f"tape has fewer than {args.file} files", path=image)
            recfm, lrecl = args.recfm or "U", args.lrecl
        else:
            ds = next((d for d in datasets(t) if d.seq == args.file), None)
            if ds is None:
                raise NotFoundError(f"no data set {args.file} on the tape", path=image)
            recfm, lrecl = args.recfm or ds.recfm or "U", args.lrecl or ds.lrecl
            t.rewind()
            t.skip_files(ds.file - 1)
        blocks = (b.data for b in t.blocks())
        items = blocks if args.raw else deblock(blocks, recfm, lrecl)
        with open_output(output, overwrite=args.force, what="OUT",
                         binary=codepage is None) as f:
            for item in items:
                if codepage is not None:
                    item = ebcdic.decode(item, codepage).rstrip().encode() + b"\n"
                f.write(item)
                n += 1
                size += len(item)
    return n, size


def cmd_copy(args: Any) -> int:
    check_output(args.dest, overwrite=args.force, what="DST")
    with input_path(args.source, "SRC") as src, output_path(args.dest, "DST") as dst:
        refuse_non_tape(src)
        total = os.path.getsize(src)
        with Progress.for_args(args, total, "copy", unit=" bytes") as bar:
            blocks, marks = copy_tape(src, dst, format=args.format,
                                      compress=args.compress, level=args.level,
                                      chunk_size=args.chunk, workers=args.workers,
                                      progress=bar.update, overwrite=args.force)
    emit(args, {"source": shown(args.source), "destination": shown(args.dest, output=True),
                "blocks": blocks, "tapemarks": marks}, lambda d: "", message=True)
    return 0
