"""``spoolkit demo``: the main job on built-in sample data, end to end."""

from __future__ import annotations

import argparse
import datetime as _dt
import os
import tempfile
from typing import TextIO

from . import Track, create_dasd, open_dasd
from .cli.common import table
from .dasd import require_ckd
from .spool import SpoolFile, create_volume, open_volume


def run(out: TextIO, workdir: str) -> None:
    path = os.path.join(workdir, "demo.3390")
    out.write("== disk: create a 3390-1 volume, TRACKWRITE and TRACKREAD ==\n")
    with create_dasd(path, "3390-1", volser="DEMO01", lfs=True) as dev:
        cards = [(r, b"", ("CARD %05d" % r).ljust(80).encode("cp037")) for r in range(1, 79)]
        blocks = [(r, b"", bytes([r]) * 4096) for r in range(1, 13)]
        dev.write_track(1, 0, Track.from_records(1, 0, cards))
        dev.write_track(1, 1, Track.from_records(1, 1, blocks))
    rows = []
    with open_dasd(path) as opened:
        dev = require_ckd(opened, "the demo")
        for cyl, head in ((0, 0), (1, 0), (1, 1), (1, 2)):
            t = dev.read_track(cyl, head)
            rows.append((cyl, head, t.nrecs, len(t), t.data_bytes))
        stats = dev.scan()
        out.write(f"{dev.model} volser {dev.volser}: {dev.cylinders} cylinders x "
                  f"{dev.heads} heads\n")
    out.write(table(rows, ["CYL", "HEAD", "RECORDS", "BYTES", "DATA"]) + "\n")
    out.write(f"scan: {stats.tracks} tracks, {stats.records} records, "
              f"{stats.data_bytes} data bytes\n")
    run_spool(out, workdir)


def demo_spool_files() -> list[SpoolFile]:
    """A realistic mix: print files with carriage control, punch decks, a
    NETDATA file, an NSS and a DCSS image and a trace file."""
    e = "cp037"
    t0 = _dt.datetime(2024, 3, 1, 8, 30, tzinfo=_dt.timezone.utc)
    listing = [(0x89, "1 HASM LISTING  PAGE 1".encode(e))]
    for n in range(1, 400):
        op = 0x89 if n % 60 == 0 else (0x11 if n % 10 == 0 else 0x09)
        listing.append((op, f"{n:6d}  L     R{n % 16},=F'{n}'          LOAD CONSTANT".encode(e)))
    deck = [(0x41, f"//STEP{n:02d}  EXEC PGM=IEFBR14".ljust(72).encode(e) +
             f"{n:08d}".encode(e)) for n in range(1, 81)]
    inmr01 = b"\x00\x20" + "INMR01".encode(e) + b"\x00\x01\x00\x01\x00\x04" + \
        "NODE1".encode(e)
    netdata = [(0x41, bytes([len(inmr01) - 1, 0xE0]) + inmr01[2:].ljust(78, b"\x00"))]
    netdata += [(0x41, bytes([79, 0xC0]) + f"DATA RECORD {n}".ljust(78).encode(e))
                for n in range(20)]
    image = [(0x01, bytes([(n * 7 + i) & 0xFF for i in range(256)]) * 15) for n in range(64)]
    trace = [(0x01, f"TRACE {n:08X} CPU 00 SVC 0C".encode(e) + bytes(40)) for n in range(500)]
    return [
        SpoolFile(type="PRT", owner="MAINT", spoolid=1, fname="HASM", ftype="LISTING",
                  records=listing, created=t0, form="STANDARD", tag="RSCS NODE1 PRT01"),
        SpoolFile(type="PRT", owner="OPERATOR", spoolid=2, fname="CONSOLE", ftype="LOG",
                  class_="T", records=listing[:120], created=t0, hold="user"),
        SpoolFile(type="PUN", owner="MAINT", spoolid=3, fname="JOB", ftype="JCL",
                  records=deck, created=t0, class_="B"),
        SpoolFile(type="RDR", owner="USER1", spoolid=4, fname="PROFILE", ftype="NETDATA",
                  records=netdata, created=t0, origin=("MAINT", "NODE1")),
        SpoolFile(type="NSS", owner="SYSTEM", spoolid=5, fname="CMS", ftype="NSS",
                  records=image, created=t0, class_="R"),
        SpoolFile(type="DCSS", owner="SYSTEM", spoolid=6, fname="CMSPIPES", ftype="DCSS",
                  records=image[:32], created=t0, class_="R"),
        SpoolFile(type="TRF", owner="OPERATOR", spoolid=7, fname="TRACE", ftype="TRF",
                  records=trace, created=t0, class_="T"),
    ]


def run_spool(out: TextIO, workdir: str) -> None:
    path = os.path.join(workdir, "spool.3390")
    out.write("\n== spool: a CP-formatted spool volume (SPOL 1-40, DRCT 41) ==\n")
    files = demo_spool_files()
    with create_volume(path, "3390", volser="SPOOL1", cylinders=50,
                       extents=[("SPOL", 1, 40), ("DRCT", 41, 41)]) as vol:
        for sf in files:
            vol.add(sf)
    rows = []
    with open_volume(path) as vol:
        for sf, orig in zip(vol.files(), files):
            same = sf == orig
            rows.append((sf.owner, sf.spoolid, f"{sf.type} {sf.class_}", sf.record_count,
                         sf.fname, sf.ftype, "ok" if same else "DIFFERS"))
        free = vol.cp.slot_ranges(["SPOL"])
    out.write(table(rows, ["OWNER", "FILE", "CLASS", "RECORDS", "NAME", "TYPE", "READBACK"])
              + "\n")
    out.write(f"{len(rows)} files read back, {sum(len(r) for r in free)} SPOL slots\n")
    run_backup(out, workdir, path)


def run_backup(out: TextIO, workdir: str, volume: str) -> None:
    from .backup import dump, load, scan

    tape = os.path.join(workdir, "spool.het")
    out.write("\n== backup: SPXTAPE-like DUMP to a HET tape, LOAD into a fresh volume ==\n")
    log = dump(volume, tape, compress="zlib")
    entries = scan(tape).entries
    out.write(f"DUMP: {log.files} files, {log.pages} pages to {os.path.basename(tape)} "
              f"({os.path.getsize(tape)} bytes); SCAN lists {len(entries)} files\n")
    restored = os.path.join(workdir, "restored.3390")
    create_volume(restored, "3390", volser="SPOOL2", cylinders=50,
                  extents=[("SPOL", 1, 40), ("DRCT", 41, 41)]).close()
    load(tape, restored)
    with open_volume(volume) as a, open_volume(restored) as b:
        before = sorted(((f.spoolid, f.owner), f) for f in a.files())
        after = sorted(((f.spoolid, f.owner), f) for f in b.files())
        same = [x == y for x, y in zip(before, after)]
    ok = len(before) == len(after) and all(same)
    out.write(f"LOAD: {len(after)} files restored; volumes equal: {'yes' if ok else 'NO'}\n")
    if not ok:
        raise RuntimeError("demo: the restored volume differs from the original")


def cmd_demo(args: argparse.Namespace) -> int:
    import sys

    if args.keep:
        os.makedirs(args.keep, exist_ok=True)
        run(sys.stdout, args.keep)
    else:
        with tempfile.TemporaryDirectory(prefix="spoolkit-demo-") as d:
            run(sys.stdout, d)
    return 0
