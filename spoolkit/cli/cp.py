"""``spoolkit cp …``: CP-owned volumes as VM/370 formats them (format, info)."""

from __future__ import annotations

from typing import Any

from .common import add_force, add_json, emit, parse_range, table
from .stdio import check_output, input_path, output_path, shown

KINDS = ("temp", "perm", "tdsk", "drct")


def register(sub: Any) -> None:
    p = sub.add_parser("cp", help="CP-owned volumes: VM/370 FORMAT/ALLOCATE, allocation")
    s = p.add_subparsers(dest="verb", metavar="VERB")
    s.required = True

    q = s.add_parser("format", help="create a volume as VM/370's FORMAT and ALLOCATE "
                     "leave it")
    q.add_argument("image", metavar="IMG")
    q.add_argument("device", metavar="DEVTYPE",
                   help="2314, 2319, 3330, 3330-11, 3340-35, 3340-70, 3350, 2305-1, 2305-2")
    q.add_argument("--volser", required=True)
    q.add_argument("--layout", choices=("vm370",), default="vm370",
                   help="vm370: VM/370's own (spoolkit's SPKALLOC spool volumes are made "
                        "by 'spoolkit spool format')")
    for kind in KINDS:
        q.add_argument(f"--{kind}", metavar="A-B", action="append", default=[],
                       help=f"{kind.upper()} cylinders (repeatable; cylinders no option "
                            "names are TEMP, as FORMAT leaves them)")
    q.add_argument("--pages", default="cp", metavar="WHICH",
                   help="cylinders to page-format: cp (cylinder 0 and every TEMP, TDSK and "
                        "DRCT cylinder; default), all (as FORMAT does by default), or "
                        "A-B[,C-D...] (cylinder 0 always)")
    q.add_argument("--compress", choices=("zlib", "bzip2"),
                   help="compressed CCKD (default: plain unless IMG ends .cckd)")
    add_force(q, "IMG")
    add_json(q)
    q.set_defaults(func=cmd_format)

    q = s.add_parser("info", help="show a CP volume's allocation; exit 1 when it has "
                     "findings or is no CP volume")
    q.add_argument("image", metavar="IMG")
    q.add_argument("--scan", action="store_true",
                   help="read every track: which cylinders are page-formatted")
    add_json(q)
    q.set_defaults(func=cmd_info)


def _pages(text: str) -> Any:
    from ..errors import InvalidArgumentError
    if text in ("cp", "all"):
        return text
    try:
        return [parse_range(part, "cylinder range") for part in text.split(",")]
    except ValueError:
        raise InvalidArgumentError(f"--pages {text!r}: give cp, all or cylinder ranges "
                                   "A-B[,C-D...]") from None


def cmd_format(args: Any) -> int:
    from ..cp import format_vm370, volume_info
    extents = [(kind.upper(), *parse_range(r, "cylinder range"))
               for kind in KINDS for r in getattr(args, kind)]
    pages = _pages(args.pages)
    check_output(args.image, overwrite=args.force, what="IMG")
    with output_path(args.image, "IMG") as image:
        path = format_vm370(image, args.device, volser=args.volser, extents=extents,
                            pages=pages, compress=args.compress, overwrite=args.force)
        info = volume_info(path).to_dict()
    info["path"] = path if path != image else shown(args.image, output=True)
    emit(args, info, lambda d: f"{d['path']}: {d['volser']} {d['device']} "
         f"{d['cylinders']} cylinders, " + ", ".join(
             f"{e['type']} {e['first']}-{e['last']}" for e in d["extents"]), message=True)
    return 0


def allocation_lines(d: dict[str, Any]) -> list[str]:
    """The allocation of a volume as text lines (``d``: CPAllocation.to_dict(),
    or a dict holding its keys)."""
    lines = []
    if d["layout"] == "vm370":
        mapped = d["mapped_cylinders"]
        lines.append("allocation record maps " + (f"{mapped} cylinders" if mapped is not None
                                                  else "no end (no X'FF')"))
    if d["extents"]:
        codes = d["layout"] == "vm370"
        rows = [[e["type"], e["first"], e["last"], e["last"] - e["first"] + 1]
                + ([e["code"]] if codes else []) for e in d["extents"]]
        headers = ["TYPE", "FIRST", "LAST", "CYLS"] + (["CODE"] if codes else [])
        lines += table(rows, headers).splitlines()
    return lines + [f"finding: {f['message']}" for f in d["findings"]]


def _text(d: dict[str, Any]) -> str:
    what = {"vm370": "VM/370 CP volume (VOL1 owner CP370)",
            "spoolkit": "spoolkit CP volume (SPKALLOC map)"}.get(
        d["layout"] or "", "not a CP volume (no VM/370 allocation record, no SPKALLOC map)")
    lines = [f"{d['path']}: {d['volser'] or '-'} {d['device']}, {d['cylinders']} cylinders "
             f"x {d['heads']} heads: {what}"]
    body = allocation_lines(d)
    findings = [x for x in body if x.startswith("finding: ")]
    lines += ["  " + x for x in body if not x.startswith("finding: ")]
    if d.get("page_layout"):
        lines.append(f"  page format: {d['page_layout']['description']}")
    if "page_formatted" in d:
        spans = ", ".join(f"{a}-{b}" if b > a else str(a) for a, b in d["page_formatted"])
        lines.append(f"  page-formatted cylinders: {spans or 'none'}")
    return "\n".join(lines + ["  " + x for x in findings])


def cmd_info(args: Any) -> int:
    from ..cp import volume_info
    with input_path(args.image) as name:
        info = volume_info(name, scan=args.scan).to_dict()
    info["path"] = shown(args.image)
    emit(args, info, _text)
    return 0 if info["layout"] and not info["findings"] else 1
