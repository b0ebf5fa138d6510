"""``spoolkit dasd …``: disk image verbs (info, init, tracks, read, write)."""

from __future__ import annotations

import sys
from typing import Any

from ..dasd import create_dasd, open_dasd
from .common import add_json, emit, parse_range, table
from .ddr import register_ddr


def register(sub: Any) -> None:
    p = sub.add_parser("dasd", help="disk images (CKD, CCKD, FBA)")
    s = p.add_subparsers(dest="verb", metavar="VERB")
    s.required = True

    q = s.add_parser("info", help="device type, geometry and volser of images")
    q.add_argument("images", nargs="+", metavar="IMG")
    add_json(q)
    q.set_defaults(func=cmd_info)

    q = s.add_parser("init", help="create an empty volume like dasdinit")
    q.add_argument("image", metavar="IMG")
    q.add_argument("device", metavar="DEVTYPE", help="e.g. 3390-3, 3380-K, 3350")
    q.add_argument("--volser", default="111111")
    q.add_argument("--cylinders", type=int, help="size in cylinders (default: the model's)")
    q.add_argument("--lfs", action="store_true", help="one large file, never split at 2 GB")
    q.add_argument("--raw", action="store_true", help="no IPL/VOL1 records on track 0")
    q.add_argument("--nullfmt", type=int, choices=(0, 1, 2), default=1)
    add_json(q)
    q.set_defaults(func=cmd_init)

    q = s.add_parser("tracks", help="list records per track (TRACKREAD listing)")
    q.add_argument("image", metavar="IMG")
    q.add_argument("--cyl", metavar="A-B", help="cylinder or cylinder range")
    q.add_argument("--nonempty", action="store_true", help="skip tracks holding only R0")
    add_json(q)
    q.set_defaults(func=cmd_tracks)

    q = s.add_parser("read", help="TRACKREAD: write one raw track image")
    q.add_argument("image", metavar="IMG")
    q.add_argument("cyl", type=int, metavar="CYL")
    q.add_argument("head", type=int, metavar="HEAD")
    q.add_argument("-o", "--output", metavar="FILE", help="file to write (default stdout)")
    q.set_defaults(func=cmd_read)

    q = s.add_parser("write", help="TRACKWRITE: replace one track with a raw image")
    q.add_argument("image", metavar="IMG")
    q.add_argument("cyl", type=int, metavar="CYL")
    q.add_argument("head", type=int, metavar="HEAD")
    q.add_argument("file", metavar="FILE", help="raw track image ('-' for stdin)")
    q.set_defaults(func=cmd_write)

    register_ddr(s)


def _info_text(rows: list[dict[str, Any]]) -> str:
    return table([(r["path"], r["format"], r["model"], r["cylinders"], r["heads"],
                   r["track_size"], r["volser"] or "") for r in rows],
                 ["IMAGE", "FORMAT", "MODEL", "CYLS", "HEADS", "TRKSIZE", "VOLSER"])


def cmd_info(args: Any) -> int:
    rows = []
    for path in args.images:
        with open_dasd(path) as dev:
            rows.append(dev.info())
    emit(args, rows if len(rows) > 1 else rows[0], lambda d: _info_text(rows))
    return 0


def cmd_init(args: Any) -> int:
    dev = create_dasd(args.image, args.device, None if args.raw else args.volser,
                      cylinders=args.cylinders, lfs=args.lfs, nullfmt=args.nullfmt,
                      raw=args.raw)
    with dev:
        info = dev.info()
        info["files"] = list(getattr(dev, "files", [dev.path]))
    emit(args, info, lambda d: "created %s: %s, %d cylinders, volser %s" % (
        ", ".join(d["files"]), d["model"], d["cylinders"], d["volser"] or "(raw)"))
    return 0


def cmd_tracks(args: Any) -> int:
    out = []
    with open_dasd(args.image) as dev:
        lo, hi = parse_range(args.cyl, "cylinder range") if args.cyl else (0, dev.cylinders - 1)
        for trk in dev.tracks(lo, hi):
            if args.nonempty and trk.nrecs == 0:
                continue
            out.append({
                "cyl": trk.cyl, "head": trk.head, "length": len(trk),
                "records": [{"cyl": r.cyl, "head": r.head, "r": r.r, "kl": r.kl, "dl": r.dl}
                            for r in trk.records],
            })

    def text(rows: list[dict[str, Any]]) -> str:
        lines = []
        for t in rows:
            recs = " ".join("R%d:%d/%d" % (r["r"], r["kl"], r["dl"]) for r in t["records"])
            lines.append("%5d %2d  %3d rec %6d bytes  %s" % (
                t["cyl"], t["head"], len(t["records"]), t["length"], recs))
        return "\n".join(lines)

    emit(args, out, text)
    return 0


def cmd_read(args: Any) -> int:
    with open_dasd(args.image) as dev:
        image = dev.read_track(args.cyl, args.head).image
    if args.output:
        with open(args.output, "wb") as f:
            f.write(image)
    else:
        sys.stdout.buffer.write(image)
        sys.stdout.buffer.flush()
    return 0


def cmd_write(args: Any) -> int:
    if args.file == "-":
        data = sys.stdin.buffer.read()
    else:
        with open(args.file, "rb") as f:
            data = f.read()
    with open_dasd(args.image, "r+") as dev:
        dev.write_track(args.cyl, args.head, data)
    return 0
