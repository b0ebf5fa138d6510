"""``spoolkit spool …``: spool volumes (format, list, add, get, remove, change, recover)."""

from __future__ import annotations

from typing import Any

from ..cp import format_volume
from ..errors import InvalidArgumentError
from ..spool import SpoolFile, open_volume
from ..spool.pages import PAGE_SIZE
from ..spool.vmur import import_raw
from .common import (
    add_force,
    add_json,
    check_output,
    emit,
    input_path,
    open_output,
    output_path,
    parse_range,
    read_input,
    refuse_stdio,
    shown,
    table,
)


def _span(text: str) -> tuple[int, int]:
    return parse_range(text, "cylinder range")


def register(sub: Any) -> None:
    p = sub.add_parser("spool", help="spool volumes (CP-formatted SPOL/DRCT extents)")
    s = p.add_subparsers(dest="verb", metavar="VERB")
    s.required = True

    q = s.add_parser("format", help="create a CP-formatted spool volume")
    q.add_argument("image", metavar="IMG")
    q.add_argument("device", metavar="DEVTYPE", help="e.g. 3390-3, 3380, 3350")
    q.add_argument("--volser", required=True)
    q.add_argument("--cylinders", type=int, help="size in cylinders (default: the model's)")
    for kind in ("spol", "drct", "page", "tdsk", "perm"):
        q.add_argument(f"--{kind}", metavar="A-B", action="append", default=[],
                       help=f"{kind.upper()} extent (cylinders, repeatable)")
    q.add_argument("--compress", choices=("zlib", "bzip2"),
                   help="compressed CCKD (default: plain unless IMG ends .cckd)")
    add_force(q, "IMG")
    add_json(q)
    q.set_defaults(func=cmd_format)

    q = s.add_parser("list", help="list spool files like QUERY RDR ALL")
    q.add_argument("images", nargs="+", metavar="IMG")
    add_json(q)
    q.set_defaults(func=cmd_list)

    q = s.add_parser("add", help="store a text, card or vmur raw file as a spool file")
    q.add_argument("image", metavar="IMG")
    q.add_argument("file", metavar="FILE", help="input ('-' for stdin)")
    q.add_argument("--type", default="PRT", help="PRT, PUN, RDR, CON (or an SDF type)")
    q.add_argument("--class", dest="class_", default="A")
    q.add_argument("--owner", default="MAINT")
    q.add_argument("--spoolid", type=int)
    q.add_argument("--name", default="", help="file name")
    q.add_argument("--ftype", default="", help="file type")
    q.add_argument("--form", default="STANDARD")
    q.add_argument("--dist")
    q.add_argument("--tag", default="")
    q.add_argument("--hold", choices=("none", "user", "system", "both"), default="none")
    q.add_argument("--format", dest="input", choices=("auto", "text", "asa", "cards", "raw"),
                   default="auto", help="input form (auto: raw if whole reader pages, "
                   "cards for PUN/RDR, else text)")
    add_json(q)
    q.set_defaults(func=cmd_add)

    q = s.add_parser("get", help="write one spool file")
    q.add_argument("image", metavar="IMG")
    q.add_argument("spoolid", type=int, metavar="ID")
    g = q.add_mutually_exclusive_group()
    g.add_argument("--text", dest="form", action="store_const", const="text",
                   help="text (default)")
    g.add_argument("--raw", dest="form", action="store_const", const="raw",
                   help="reader pages as a Linux guest reads them (vmur receive's input)")
    g.add_argument("--pipes", dest="form", action="store_const", const="pipes",
                   help="CMS Pipelines READER records, each with a 2-byte length prefix")
    q.add_argument("--asa", action="store_true", help="ASA carriage control in text")
    q.add_argument("-o", "--output", metavar="FILE",
                   help="file to write (default, or '-': stdout)")
    add_force(q, "the -o file")
    q.set_defaults(func=cmd_get, form="text")

    q = s.add_parser("remove", help="purge spool files")
    q.add_argument("image", metavar="IMG")
    q.add_argument("spoolids", type=int, nargs="+", metavar="ID")
    q.set_defaults(func=cmd_remove)

    q = s.add_parser("recover", help="rebuild the spool index from the header pages")
    q.add_argument("image", metavar="IMG")
    add_json(q)
    q.set_defaults(func=cmd_recover)


def cmd_format(args: Any) -> int:
    extents = [(kind.upper(), *_span(r)) for kind in ("spol", "drct", "page", "tdsk", "perm")
               for r in getattr(args, kind)]
    if args.cylinders is not None and args.cylinders < 1:
        raise InvalidArgumentError(f"--cylinders {args.cylinders}: a volume has at least one "
                                   "cylinder", path=args.image)
    check_output(args.image, overwrite=args.force, what="IMG")
    with output_path(args.image, "IMG") as image:
        path = format_volume(image, args.device, volser=args.volser, extents=extents,
                             compress=args.compress, cylinders=args.cylinders,
                             overwrite=args.force)
        with open_volume(path) as vol:
            shown_as = path if path != image else shown(args.image, output=True)
            info: dict[str, Any] = {"path": shown_as,
                                    "volser": vol.cp.volser, "device": vol.cp.dev.model,
                                    "cylinders": vol.cp.dev.cylinders,
                                    "slots_per_track": vol.cp.slots_per_track,
                                    "extents": [{"type": e.kind, "first": e.first_cyl,
                                                 "last": e.last_cyl}
                                                for e in vol.cp.extents]}
    emit(args, info, lambda d: f"{d['path']}: {d['volser']} {d['device']} "
         f"{d['cylinders']} cylinders, " + ", ".join(
             f"{e['type']} {e['first']}-{e['last']}" for e in d["extents"]), message=True)
    return 0


def _row(sf: SpoolFile) -> dict[str, Any]:
    return {"owner": sf.owner, "spoolid": sf.spoolid, "type": sf.type, "class": sf.class_,
            "records": sf.record_count, "copies": sf.copies,
            "hold": {"none": "NONE", "user": "USER", "system": "SYS", "both": "USYS"}[sf.hold],
            "date": sf.created.strftime("%m/%d"), "time": sf.created.strftime("%H:%M:%S"),
            "name": sf.fname, "ftype": sf.ftype, "dist": sf.dist, "form": sf.form,
            "created": sf.created.isoformat()}


def cmd_list(args: Any) -> int:
    """Files of every volume in spool ID order; volumes need not form one system."""
    rows = []
    for path in args.images:
        with input_path(path) as image, open_volume(image) as vol:
            volser = vol.cp.volser
            rows += [dict(_row(sf), volser=volser) for sf in vol.files()]
    rows.sort(key=lambda r: r["spoolid"])
    headers = ["ORIGINID", "FILE", "CLASS", "RECORDS", "CPY", "HOLD", "DATE", "TIME", "NAME",
               "TYPE", "DIST"] + (["VOLSER"] if len(args.images) > 1 else [])
    emit(args, rows, lambda rs: table(
        [[r["owner"], r["spoolid"], f"{r['type']} {r['class']}", r["records"], r["copies"],
          r["hold"], r["date"], r["time"], r["name"], r["ftype"], r["dist"]]
         + ([r["volser"]] if len(args.images) > 1 else []) for r in rs],
        headers))
    return 0


def cmd_add(args: Any) -> int:
    refuse_stdio(args.image, "IMG")
    data = read_input(args.file, "FILE")
    attrs = {"type": args.type, "class_": args.class_, "owner": args.owner,
             "spoolid": args.spoolid, "fname": args.name, "ftype": args.ftype,
             "form": args.form, "tag": args.tag, "hold": args.hold}
    if args.dist is not None:
        attrs["dist"] = args.dist
    form = args.input
    if form == "auto":
        if data and len(data) % PAGE_SIZE == 0 and data[:4] == bytes(4):
            form = "raw"
        elif args.type.upper() in ("PUN", "RDR"):
            form = "cards"
        else:
            form = "text"
    if form == "raw":
        sf = import_raw(data, path=shown(args.file), **{k: v for k, v in attrs.items()
                                                 if v is not None and v != ""})
        if args.spoolid is None:
            sf = sf.with_attrs(spoolid=sf.spoolid)
    elif form == "cards":
        # text lines unless the input is whole 80-byte EBCDIC cards without newlines
        cards: bytes | str = data
        if len(data) % 80 or b"\n" in data:
            cards = data.decode("utf-8", "replace")
        sf = SpoolFile.from_cards(cards, **attrs)
    else:
        sf = SpoolFile.from_text(data.decode("utf-8", "replace"), asa=form == "asa", **attrs)
    with open_volume(args.image, "r+") as vol:
        sid = vol.add(sf)
    emit(args, {"spoolid": sid, "records": sf.record_count},
         lambda d: f"spool file {d['spoolid']}: {d['records']} records", message=True)
    return 0


def cmd_get(args: Any) -> int:
    from ..pipes import reader_records
    from ..spool.vmur import export_raw

    binary = args.form != "text"
    check_output(args.output, overwrite=args.force, what="-o FILE", binary=binary)  # before work
    with input_path(args.image) as image, open_volume(image) as vol:
        sf = vol.get(args.spoolid)
        if args.form == "raw":
            out = export_raw(sf)
        elif args.form == "pipes":
            out = b"".join(len(r).to_bytes(2, "big") + r for r in reader_records(sf))
        else:
            out = sf.render_text(asa=args.asa).encode()
    with open_output(args.output, overwrite=args.force, what="-o FILE", binary=binary) as f:
        f.write(out)
    emit(args, {"image": shown(args.image), "spoolid": args.spoolid, "form": args.form,
                "bytes": len(out), "output": shown(args.output or "-", output=True)},
         lambda d: "", message=True)
    return 0


def cmd_remove(args: Any) -> int:
    refuse_stdio(args.image, "IMG")
    with open_volume(args.image, "r+") as vol:
        for sid in args.spoolids:
            vol.remove(sid)
    emit(args, {"image": args.image, "removed": args.spoolids}, lambda d: "", message=True)
    return 0


def cmd_recover(args: Any) -> int:
    refuse_stdio(args.image, "IMG")
    with open_volume(args.image, "r+") as vol:
        report = vol.recover()
    emit(args, report, lambda r: "\n".join(
        [f"kept {len(r.kept)} files: {' '.join(map(str, r.kept))}".rstrip()]
        + [f"broken header page at slot {slot} (spool ID {sid}): {why}"
           for slot, sid, why in r.broken]
        + [f"duplicate spool ID {sid} at slot {slot} dropped" for slot, sid in r.duplicates]
        + [f"{r.orphan_pages} orphan pages"]))
    return 0
