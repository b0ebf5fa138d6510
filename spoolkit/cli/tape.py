"""``spoolkit tape …``: map, init, get and copy tape images (AWS, HET, FakeTape)."""

from __future__ import annotations

import os
from typing import Any

from ..errors import NotFoundError
from ..tape import datasets, deblock, open_tape
from ..tape import labels as sl
from ..tape.copy import copy_tape
from ..util import atomic_output
from .common import Progress, add_json, emit


def register(sub: Any) -> None:
    p = sub.add_parser("tape", help="tape images (AWS, HET, FakeTape)")
    s = p.add_subparsers(dest="verb", metavar="VERB")
    s.required = True

    q = s.add_parser("map", help="files, blocks, sizes and labels (like hetmap -a)")
    q.add_argument("image", metavar="IMG")
    add_json(q)
    q.set_defaults(func=cmd_map)

    q = s.add_parser("init", help="create an empty tape (like hetinit)")
    q.add_argument("image", metavar="IMG")
    q.add_argument("--volser", help="volume serial (standard label: VOL1 + IEHINITT HDR1)")
    q.add_argument("--owner", default="")
    q.add_argument("--nl", action="store_true", help="unlabelled: two tapemarks")
    _format_options(q)
    q.set_defaults(func=cmd_init)

    q = s.add_parser("get", help="extract one data set (like hetget)")
    q.add_argument("image", metavar="IMG")
    q.add_argument("file", type=int, metavar="FILE#", help="data set number (NL: file number)")
    q.add_argument("output", metavar="OUT")
    q.add_argument("--raw", action="store_true", help="blocks as they are, not records")
    q.add_argument("--nl", action="store_true", help="unlabelled tape: FILE# is a file")
    q.add_argument("--recfm", help="record format when the tape has no labels (F, FB, V, VB, "
                   "VBS, U)")
    q.add_argument("--lrecl", type=int, default=0)
    q.add_argument("--ascii", action="store_true", help="EBCDIC records to ASCII text lines")
    q.set_defaults(func=cmd_get)

    q = s.add_parser("copy", help="copy or convert a tape (like hetupd / tapecopy)")
    q.add_argument("source", metavar="SRC")
    q.add_argument("dest", metavar="DST")
    _format_options(q)
    q.add_argument("--chunk", type=int, default=65535, help="chunk size (4096: strict AWS)")
    q.add_argument("-j", "--workers", type=int, help="compression threads (default: cores)")
    q.set_defaults(func=cmd_copy)


def _format_options(q: Any) -> None:
    g = q.add_mutually_exclusive_group()
    g.add_argument("--aws", dest="format", action="store_const", const="aws")
    g.add_argument("--het", dest="format", action="store_const", const="het")
    g.add_argument("--fkt", dest="format", action="store_const", const="fkt")
    c = q.add_mutually_exclusive_group()
    c.add_argument("-z", "--zlib", dest="compress", action="store_const", const="zlib")
    c.add_argument("--bzip2", dest="compress", action="store_const", const="bzip2")
    q.add_argument("--level", type=int, default=4, help="compression level (default 4)")


def tape_map(path: str) -> dict[str, Any]:
    """What ``hetmap -a`` reports: per file the labels, blocks, sizes; totals."""
    with open_tape(path) as t:
        stats = t.map()
        files = []
        for st in stats:
            labels = []
            if st.blocks:
                t.seek(st.offset)
                for blk in t.blocks():
                    if not sl.is_label(blk.data):
                        break
                    labels.append(sl.parse(blk.data).to_dict())
            files.append({**st.to_dict(), "labels": labels})
    total = {"files": len(stats), "blocks": sum(s.blocks for s in stats),
             "bytes": sum(s.bytes for s in stats), "stored": sum(s.stored for s in stats)}
    return {"path": path, "files": files, "total": total}


def _map_text(m: dict[str, Any]) -> str:
    sep = "-" * 21
    out = [sep, f"{'Filename':<20}: {m['path']}"]
    for f in m["files"]:
        for lab in f["labels"]:
            out.append(sep)
            for k, v in lab.items():
                out.append(f"{k[:20] if k != 'label' else 'Label':<20}: '{v}'")
        out += [sep, f"{'File #':<20}: {f['file']}", f"{'Blocks':<20}: {f['blocks']}",
                f"{'Min Blocksize':<20}: {f['min_block']}",
                f"{'Max Blocksize':<20}: {f['max_block']}",
                f"{'Uncompressed bytes':<20}: {f['bytes']}",
                f"{'Min Blocksize-Comp':<20}: {f['min_stored']}",
                f"{'Max Blocksize-Comp':<20}: {f['max_stored']}",
                f"{'Compressed bytes':<20}: {f['stored']}"]
    t = m["total"]
    out += [sep, f"{'Summary':<20}:", f"{'Files':<20}: {t['files']}",
            f"{'Blocks':<20}: {t['blocks']}", f"{'Uncompressed bytes':<20}: {t['bytes']}",
            f"{'Compressed bytes':<20}: {t['stored']}",
            f"{'Reduction':<20}: {t['bytes'] - t['stored']}"]
    return "\n".join(out)


def cmd_map(args: Any) -> int:
    emit(args, tape_map(args.image), _map_text)
    return 0


IEHINITT_HDR1 = "HDR1".encode("cp037") + "0".encode("cp037") * 76


def cmd_init(args: Any) -> int:
    with open_tape(args.image, "w", format=args.format, compress=args.compress,
                   level=args.level) as t:
        if not args.nl:
            if not args.volser:
                raise ValueError("--volser is required for a labelled tape (or use --nl)")
            t.write_block(sl.vol1(args.volser, args.owner))
            t.write_block(IEHINITT_HDR1)
            t.tapemark()
        else:
            t.tapemark()
            t.tapemark()
        t.close(finish=False)
    return 0


def cmd_get(args: Any) -> int:
    with open_tape(args.image) as t:
        if args.nl:
            if t.skip_files(args.file - 1) != args.file - 1:
                raise NotFoundError(f"tape has fewer than {args.file} files", path=args.image)
            recfm, lrecl = args.recfm or "U", args.lrecl
        else:
            ds = next((d for d in datasets(t) if d.seq == args.file), None)
            if ds is None:
                raise NotFoundError(f"no data set {args.file} on the tape", path=args.image)
            recfm, lrecl = args.recfm or ds.recfm or "U", args.lrecl or ds.lrecl
            t.rewind()
            t.skip_files(ds.file - 1)
        blocks = (b.data for b in t.blocks())
        items = blocks if args.raw else deblock(blocks, recfm, lrecl)
        with atomic_output(os.fspath(args.output)) as tmp, open(tmp, "wb") as f:
            for item in items:
                if args.ascii:
                    f.write(item.decode("cp037").rstrip().encode() + b"\n")
                else:
                    f.write(item)
    return 0


def cmd_copy(args: Any) -> int:
    total = os.path.getsize(args.source)
    with Progress(total, "copy", unit=" bytes") as bar:
        blocks, marks = copy_tape(args.source, args.dest, format=args.format,
                                  compress=args.compress, level=args.level,
                                  chunk_size=args.chunk, workers=args.workers,
                                  progress=bar.update)
    return 0 if blocks + marks >= 0 else 1
