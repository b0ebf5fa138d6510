"""``spoolkit dasd …``: disk image verbs (info, init, tracks, read, write,
copy, check)."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any, Optional

from ..dasd import open_dasd, require_ckd
from ..errors import InvalidArgumentError
from .common import (
    Progress,
    add_force,
    add_json,
    add_progress,
    check_output,
    emit,
    input_path,
    is_stdio,
    open_output,
    output_path,
    parse_range,
    positive_int,
    read_input,
    refuse_stdio,
    shown,
    table,
    text_source,
)
from .dasdinfo import _image_name, cmd_info
from .ddr import register_ddr

if TYPE_CHECKING:
    from ..dasd.reports import CheckReport


def register(sub: Any) -> None:
    p = sub.add_parser("dasd", help="disk images (CKD, CCKD, FBA)")
    s = p.add_subparsers(dest="verb", metavar="VERB")
    s.required = True

    q = s.add_parser("info", help="device type, geometry and volser of images")
    q.add_argument("images", nargs="+", metavar="IMG")
    add_json(q)
    q.set_defaults(func=cmd_info)

    q = s.add_parser("init", help="create an empty volume like dasdinit",
                     usage="%(prog)s [options] FILE TYPE [VOLSER [SIZE]]",
                     description="Create an empty CKD or FBA volume as Hercules' dasdinit "
                     "does: dasdinit's positional VOLSER and SIZE (cylinders for CKD, "
                     "512-byte blocks for FBA; with -r only SIZE) and its options are "
                     "accepted.  A FILE ending .cckd/.cfba (.cckd64/.cfba64) is compressed "
                     "(zlib unless -bz2 or -0).")
    q.add_argument("image", metavar="FILE")
    q.add_argument("device", metavar="TYPE", help="e.g. 3390-3, 3380-K, 3350, 3370, 9336-20")
    q.add_argument("positional", nargs="*", metavar="VOLSER [SIZE]", help=argparse.SUPPRESS)
    q.add_argument("--volser", help="volume serial (default 111111)")
    q.add_argument("--cylinders", type=int, help="CKD size in cylinders (default: the model's)")
    q.add_argument("--blocks", type=int, help="FBA size in 512-byte blocks (default: the "
                   "model's)")
    g = q.add_mutually_exclusive_group()
    g.add_argument("-z", "--zlib", dest="compress", action="store_const", const="zlib",
                   help="compressed image (CCKD/CFBA), zlib")
    g.add_argument("-bz2", "--bzip2", dest="compress", action="store_const", const="bzip2",
                   help="compressed image, bzip2")
    g.add_argument("-0", "--no-compression", dest="compress", action="store_const",
                   const="none", help="compressed-format image with uncompressed tracks")
    q.add_argument("--cckd64", action="store_true", default=None,
                   help="64-bit compressed image (CCKD64/CFBA64)")
    q.add_argument("--level", type=int, default=-1, help="compression level")
    q.add_argument("-a", "--alt-cylinders", action="store_true",
                   help="add the model's alternate cylinders (ignored when SIZE is given)")
    q.add_argument("-lfs", "--lfs", action="store_true",
                   help="one large file, never split at 2 GB")
    q.add_argument("-r", "--raw", action="store_true",
                   help="no IPL/VOL1 records on track 0 (then no VOLSER)")
    q.add_argument("-linux", dest="linux", action="store_true",
                   help="null tracks as Linux dasdfmt writes them (3390 only; --nullfmt 2)")
    q.add_argument("--nullfmt", type=int, choices=(0, 1, 2), default=None)
    add_force(q, "an existing image")
    add_json(q)
    q.set_defaults(func=cmd_init)
    q.__class__ = _IntermixedParser  # dasdinit's VOLSER/SIZE may follow options
    # "-0" is an option, yet "--cylinders -1" must reach the size check as a number:
    # argparse takes -N for an option only while such an option is registered
    q._has_negative_number_optionals.clear()

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
    q.add_argument("-o", "--output", metavar="FILE",
                   help="file to write (default, or '-': stdout)")
    add_force(q, "FILE")
    q.set_defaults(func=cmd_read)

    q = s.add_parser("write", help="TRACKWRITE: replace one track with a raw image")
    q.add_argument("image", metavar="IMG")
    q.add_argument("cyl", type=int, metavar="CYL")
    q.add_argument("head", type=int, metavar="HEAD")
    q.add_argument("file", metavar="FILE", help="raw track image ('-' for stdin)")
    q.add_argument("--directory", metavar="FILE",
                   help="USER DIRECT: its $-user locks on this volume are protected too")
    q.add_argument("--system-config", metavar="FILE",
                   help="SYSTEM CONFIG: a CP_Owned volume keeps cylinder 0 protected")
    q.add_argument("--override", metavar="REASON",
                   help="write even into a protected (CP-owned) extent; the reason is logged")
    q.set_defaults(func=cmd_write)

    q = s.add_parser("copy", help="convert a volume: plain <-> compressed <-> 64-bit, "
                     "shadow merge (like dasdcopy, on all cores)")
    q.add_argument("src", metavar="SRC")
    q.add_argument("dst", metavar="DST")
    g = q.add_mutually_exclusive_group()
    g.add_argument("-z", "--zlib", dest="compress", action="store_const", const="zlib",
                   help="compress with zlib")
    g.add_argument("--bzip2", dest="compress", action="store_const", const="bzip2",
                   help="compress with bzip2")
    g.add_argument("--uncompressed", dest="compress", action="store_const", const="none",
                   help="write a plain image (the default unless --cckd64)")
    q.add_argument("--cckd64", action="store_true", help="64-bit compressed output (CCKD64)")
    q.add_argument("--level", type=int, default=-1, help="compression level (default: 7 "
                   "for zlib, 1 for bzip2)")
    q.add_argument("-j", "--jobs", type=positive_int, default=None, metavar="N",
                   help="worker threads (default: all cores)")
    q.add_argument("--sf", metavar="TEMPLATE", help="shadow files of SRC to merge")
    q.add_argument("--lfs", action="store_true", help="plain output as one large file")
    add_force(q, "DST")
    add_progress(q)
    add_json(q)
    q.set_defaults(func=cmd_copy)

    q = s.add_parser("check", help="check an image like cckdcdsk (JSON report with --json)")
    q.add_argument("image", metavar="IMG")
    q.add_argument("--level", type=int, choices=(0, 1, 2, 3), default=1,
                   help="0 headers, 1 + tables and spaces, 2 + image headers, "
                   "3 + decompress and validate every track")
    q.add_argument("--repair", action="store_true",
                   help="fix what loses no data (header totals, free chain, OPENED bit)")
    q.add_argument("-j", "--jobs", type=positive_int, default=None, metavar="N")
    add_progress(q)
    add_json(q)
    q.set_defaults(func=cmd_check)

    q = s.add_parser("ls", help="list the VTOC: data sets of OS volumes (like dasdls "
                     "-info), and the allocation of CP-formatted volumes")
    q.add_argument("images", nargs="+", metavar="IMG")
    add_json(q)
    q.set_defaults(func=cmd_ls)

    q = s.add_parser("dump-track", help="hex + EBCDIC dump of a track's records "
                     "(count, key, data)")
    q.add_argument("image", metavar="IMG")
    q.add_argument("cyl", type=int, nargs="?", metavar="CC")
    q.add_argument("head", type=int, nargs="?", metavar="HH")
    q.add_argument("--track", type=int, metavar="N", help="relative track N instead of CC HH")
    q.add_argument("--codepage", default="037", metavar="CP",
                   help="EBCDIC code page of the text column (default 037)")
    q.add_argument("--width", type=int, default=16, choices=(8, 16, 32),
                   help="bytes per line (default 16)")
    add_json(q)
    q.set_defaults(func=cmd_dump_track)

    register_ddr(s)


class _IntermixedParser(argparse.ArgumentParser):
    """A subparser whose positionals may come after options (``FILE TYPE -a
    VOLSER``), as argparse's intermixed parsing allows."""

    _inside = False

    def parse_known_args(self, args: Any = None, namespace: Any = None) -> Any:
        if self._inside:  # the intermixed parse calls back in
            return super().parse_known_args(args, namespace)
        self._inside = True
        try:
            return self.parse_known_intermixed_args(args, namespace)
        finally:
            self._inside = False


def _one(what: str, positional: Optional[str], option: Optional[str]) -> Optional[str]:
    """A value given as an argument and/or an option: both must agree."""
    if positional is not None and option is not None and positional.upper() != option.upper():
        raise InvalidArgumentError(f"{what} given twice: {positional!r} and --{what} {option!r}")
    return positional if positional is not None else option


def _size_arg(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise InvalidArgumentError(f"size {text!r} is not a number (cylinders for CKD, "
                                   "512-byte blocks for FBA)") from None


def cmd_init(args: Any) -> int:
    from ..dasd import CKDImage
    from ..dasd.init import init_volume, lookup_device
    from ..geometry import FBADevice

    pos = list(args.positional)
    if len(pos) > (1 if args.raw else 2):
        raise InvalidArgumentError("too many arguments: FILE TYPE [VOLSER [SIZE]] "
                                   "(with -r: FILE TYPE [SIZE])")
    volser = None if args.raw else _one("volser", pos.pop(0) if pos else None, args.volser)
    if args.raw and args.volser is not None:
        raise InvalidArgumentError("-r/--raw writes no VOL1: drop --volser")
    fba = isinstance(lookup_device(args.device), FBADevice)
    unit, other = ("blocks", "cylinders") if fba else ("cylinders", "blocks")
    if getattr(args, other) is not None:
        raise InvalidArgumentError(f"--{other} does not size a {'FBA' if fba else 'CKD'} "
                                   f"volume: use --{unit} or SIZE")
    opt = getattr(args, unit)
    size_text = _one(unit, pos.pop(0) if pos else None, None if opt is None else str(opt))
    nullfmt = args.nullfmt
    if args.linux:
        if nullfmt not in (None, 2):
            raise InvalidArgumentError("-linux is --nullfmt 2: drop one")
        nullfmt = 2
    size = None if size_text is None else _size_arg(size_text)
    check_output(args.image, overwrite=args.force, what="IMG")
    with output_path(args.image, "IMG") as image:
        # a volume on stdout is one stream: one large file, never split
        dev = init_volume(image, args.device, volser or "111111", size,
                          compress=args.compress, level=args.level, cckd64=args.cckd64,
                          alt_cylinders=args.alt_cylinders, raw=args.raw,
                          lfs=args.lfs or is_stdio(args.image),
                          nullfmt=1 if nullfmt is None else nullfmt, overwrite=args.force)
        with dev:
            info = dev.info()
            # a plain CKD volume may be a split set; the other kinds are one file
            info["files"] = list(dev.files) if isinstance(dev, CKDImage) else [dev.path]
    if is_stdio(args.image):
        info["path"], info["files"] = shown(args.image, output=True), [shown("-", output=True)]

    def text(d: dict[str, Any]) -> str:
        size = (f"{d['blocks']} blocks" if d.get("blocks") is not None
                else f"{d['cylinders']} cylinders")
        return "created %s: %s %s, %s, volser %s" % (
            ", ".join(d["files"]), d["format"], d["model"] or lookup_device(args.device).name,
            size, d["volser"] or "(raw)")

    emit(args, info, text, message=True)
    return 0


def cmd_tracks(args: Any) -> int:
    out = []
    with input_path(args.image) as image, open_dasd(image) as opened:
        dev = require_ckd(opened, "listing tracks")
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
    check_output(args.output, overwrite=args.force, what="-o FILE")  # before any work
    with input_path(args.image) as name, open_dasd(name) as dev:
        image = require_ckd(dev, "reading a track").read_track(args.cyl, args.head).image
    with open_output(args.output, overwrite=args.force, what="-o FILE") as out:
        out.write(image)
    emit(args, {"image": shown(args.image), "cyl": args.cyl, "head": args.head,
                "bytes": len(image), "output": shown(args.output or "-", output=True)},
         lambda d: "", message=True)
    return 0


def cmd_write(args: Any) -> int:
    refuse_stdio(args.image, "IMG")
    data = read_input(args.file, "FILE")
    from ..overlay import guard, parse_directory, parse_system_config, protected_extents

    directory = parse_directory(text_source(args.directory, "--directory")) \
        if args.directory else None
    config = parse_system_config(text_source(args.system_config, "--system-config")) \
        if args.system_config else None
    with open_dasd(args.image, "r+") as dev:
        # TRACKWRITE is guarded by default: CP-owned extents need --override
        guarded = guard(dev, protected_extents(dev, directory, config))
        guarded.write_track(args.cyl, args.head, data, override=args.override)
        overrides = guarded.overrides
    emit(args, {"image": args.image, "cyl": args.cyl, "head": args.head, "bytes": len(data),
                "overrides": overrides}, lambda d: "", message=True)
    return 0


def cmd_copy(args: Any) -> int:
    from ..dasd.convert import convert
    from ..dasd.fba import FBAImage

    compress = None if args.compress in (None, "none") else args.compress
    if args.cckd64 and args.compress == "none":
        raise ValueError("--cckd64 is a compressed format; drop --uncompressed")
    opts = {"sf": args.sf} if args.sf else {}
    check_output(args.dst, overwrite=args.force, what="DST")
    with input_path(args.src, "SRC") as src, output_path(args.dst, "DST") as dst:
        with open_dasd(src, **opts) as dev:
            total = dev.blocks if isinstance(dev, FBAImage) else dev.total_tracks
            unit = " blocks" if isinstance(dev, FBAImage) else " tracks"
        with Progress.for_args(args, total, "copy", unit=unit) as bar:
            # a volume on stdout is one stream: one large file, never split
            result = convert(src, dst, compress=compress, level=args.level,
                             cckd64=args.cckd64, workers=args.jobs, sf=args.sf,
                             lfs=args.lfs or is_stdio(args.dst), overwrite=args.force,
                             progress=bar.update)
    result["source"], result["destination"] = shown(args.src), shown(args.dst, output=True)
    if is_stdio(args.src):
        result["source_files"] = [result["source"]]
    if is_stdio(args.dst):
        result["files"] = [result["destination"]]
    emit(args, result, lambda d: "%s -> %s: %s, %d bytes%s" % (
        _image_name(d["source"], d["source_files"]), d["destination"], d["format"],
        d["bytes_out"],
        " in %d files (%s)" % (len(d["files"]), ", ".join(d["files"]))
        if len(d["files"]) > 1 else ""), message=True)
    return 0


def _check_text(r: CheckReport) -> str:
    lines = ["%s: %s (level %d, %s)" % (_image_name(r["path"], r.get("files", [])),
                                        "OK" if r["ok"] else "ERRORS",
                                        r["level"], r.get("format", "?"))]
    for e in r["errors"]:
        where = (" track %s" % e["track"]) if "track" in e else ""
        where += (" offset %s" % e["offset"]) if e.get("offset") is not None else ""
        lines.append("  error (%s)%s: %s" % (e["kind"], where, e["message"]))
    for w in r["warnings"]:
        lines.append("  warning (%s): %s" % (w["kind"], w["message"]))
    for f in r["repaired"]:
        lines.append("  repaired: %s" % f["message"])
    return "\n".join(lines)


def _tracks(image: str) -> int:
    """The tracks (FBA: block groups) a check goes through; 0 when the image
    does not open (the check reports why)."""
    from ..dasd.fba import FBAImage
    from ..errors import SpoolkitError

    try:
        with open_dasd(image) as dev:
            return -(-dev.blocks // 120) if isinstance(dev, FBAImage) else dev.total_tracks
    except (SpoolkitError, OSError):
        return 0


def cmd_check(args: Any) -> int:
    from ..dasd.check import check_dasd

    if args.repair:
        refuse_stdio(args.image, "IMG (with --repair)")
    with input_path(args.image) as image:
        with Progress.for_args(args, 0, "check", unit=" tracks") as bar:
            if bar.enabled:   # the total opens the image: only for a bar that is shown
                bar.total = max(1, _tracks(image))
            report = check_dasd(image, args.level, repair=args.repair, workers=args.jobs,
                                progress=bar.update)
    report["path"] = shown(args.image)
    emit(args, report, _check_text)
    return 0 if report["ok"] else 1


def _ls_text(listing: Any) -> str:
    """A VTOC listing as text: the volume line, VOL1, the data sets, notes."""
    from ..dasd.vtoc import VolumeListing

    assert isinstance(listing, VolumeListing)
    lab, vtoc = listing.label, listing.vtoc
    head = f"{listing.path}: " + (f"VOLSER={lab.volser}  " if lab else "") + listing.model
    if listing.cylinders:
        head += f", {listing.cylinders} cylinders"
    if vtoc:
        head += (f", VTOC {vtoc.extent} ({vtoc.tracks} track{'s' * (vtoc.tracks != 1)}, "
                 f"{vtoc.free_dscbs} of {vtoc.dscbs} DSCBs free)")
    lines = [head]
    if lab:
        lines.append(f"VOL1: owner {lab.owner!r}" + (f" ({lab.cp_marker})" if lab.cp_marker
                                                     else "")
                     + f", security X'{lab.security:02X}', VTOC pointer {lab.vtoc}")
    if listing.datasets:
        rows = [(d.dsname, d.created.isoformat() if d.created else "-", d.dsorg, d.recfm,
                 d.lrecl, d.blksize, d.keylen, d.tracks,
                 "" if d.used_percent is None else round(d.used_percent),
                 len(d.extents), f"{d.secondary_unit} {d.secondary}"
                 if d.secondary_unit != "ABSTR" else "ABSTR")
                for d in listing.datasets]
        lines.append(table(rows, ["DSNAME", "CREATED", "DSORG", "RECFM", "LRECL", "BLKSIZE",
                                  "KEYLEN", "TRACKS", "%USED", "EXT", "SECONDARY"]))
    elif vtoc:
        lines.append("no data sets")
    lines += [f"note: {n}" for n in listing.notes]
    lines += [f"note: {d.dsname}: {n}" for d in listing.datasets for n in d.notes]
    return "\n".join(lines)


def _cp_allocation(dev: Any) -> dict[str, Any]:
    """The CP allocation of an open volume as ``cp info --json`` shows it
    (layout, extents, findings, mapped_cylinders); a volume that is not
    CP-formatted has layout None and no extents.  The VTOC reader (dasd) does
    not know CP's records, so the two listings are joined here."""
    from ..cp import read_cp_allocation
    from ..errors import FormatError

    try:
        return read_cp_allocation(dev).to_dict()
    except FormatError as exc:          # a damaged SPKALLOC map: shown, not fatal to ls
        return {"layout": "spoolkit", "extents": [],
                "findings": [{"code": "bad-map", "message": exc.message, "offset": None}]}


def _ls_with_cp(listing: Any, alloc: dict[str, Any]) -> str:
    from .cp import allocation_lines

    text = _ls_text(listing)
    if not alloc["layout"]:
        return text
    what = {"vm370": "VM/370 allocation (VOL1 owner CP370)",
            "spoolkit": "spoolkit allocation (SPKALLOC map)"}[alloc["layout"]]
    return "\n".join([text, f"CP {what}:"] + ["  " + x for x in allocation_lines(alloc)])


def cmd_ls(args: Any) -> int:
    from ..dasd.vtoc import list_volume

    listings = []
    allocs = []
    for path in args.images:
        with input_path(path) as name, open_dasd(name) as dev:
            listing = list_volume(dev)
            allocs.append(_cp_allocation(dev))
        listing.path = shown(path)
        listings.append(listing)
    data = []
    for listing, alloc in zip(listings, allocs):
        d = listing.to_dict()
        d["cp_layout"] = alloc["layout"]
        d["cp_allocation"] = alloc["extents"]
        d["cp_findings"] = alloc["findings"]
        data.append(d)
    emit(args, data if len(data) > 1 else data[0],
         lambda _: "\n\n".join(_ls_with_cp(x, a) for x, a in zip(listings, allocs)))
    return 0


def cmd_dump_track(args: Any) -> int:
    from .. import ebcdic
    from ..dasd.dump import track_dump, track_dump_dict
    from ..dasd.fba import FBAImage

    ebcdic.codec_name(args.codepage)  # an unknown code page fails before any work
    if args.track is not None and (args.cyl is not None or args.head is not None):
        raise InvalidArgumentError("give the track once: CC HH or --track N")
    if args.track is None and (args.cyl is None or args.head is None):
        raise InvalidArgumentError("which track? give CC HH or --track N")
    with input_path(args.image) as image, open_dasd(image) as dev:
        if isinstance(dev, FBAImage):
            raise InvalidArgumentError("dump-track reads CKD tracks; this is an FBA volume",
                                       path=shown(args.image))
        if args.track is not None:
            if not 0 <= args.track < dev.total_tracks:
                raise InvalidArgumentError(f"track {args.track} is outside the volume "
                                           f"(tracks 0..{dev.total_tracks - 1})",
                                           path=shown(args.image))
            cyl, head = divmod(args.track, dev.heads)
        else:
            cyl, head = args.cyl, args.head
        track = dev.read_track(cyl, head)
    emit(args, track_dump_dict(track, args.codepage),
         lambda d: track_dump(track, codepage=args.codepage, width=args.width))
    return 0
