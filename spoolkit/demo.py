"""``spoolkit demo``: the main job on built-in sample data, end to end."""

from __future__ import annotations

import os
import tempfile
from typing import Any, TextIO

from . import Track, create_dasd, open_dasd
from .cli.common import table


def run(out: TextIO, workdir: str) -> None:
    path = os.path.join(workdir, "demo.3390")
    out.write("== disk: create a 3390-1 volume, TRACKWRITE and TRACKREAD ==\n")
    with create_dasd(path, "3390-1", volser="DEMO01", lfs=True) as dev:
        cards = [(r, b"", ("CARD %05d" % r).ljust(80).encode("cp037")) for r in range(1, 79)]
        blocks = [(r, b"", bytes([r]) * 4096) for r in range(1, 13)]
        dev.write_track(1, 0, Track.from_records(1, 0, cards))
        dev.write_track(1, 1, Track.from_records(1, 1, blocks))
    rows = []
    with open_dasd(path) as dev:
        for cyl, head in ((0, 0), (1, 0), (1, 1), (1, 2)):
            t = dev.read_track(cyl, head)
            rows.append((cyl, head, t.nrecs, len(t), t.data_bytes))
        stats = dev.scan()
        out.write(f"{dev.model} volser {dev.volser}: {dev.cylinders} cylinders x "
                  f"{dev.heads} heads\n")
    out.write(table(rows, ["CYL", "HEAD", "RECORDS", "BYTES", "DATA"]) + "\n")
    out.write(f"scan: {stats.tracks} tracks, {stats.records} records, "
              f"{stats.data_bytes} data bytes\n")


def cmd_demo(args: Any) -> int:
    import sys

    if args.keep:
        os.makedirs(args.keep, exist_ok=True)
        run(sys.stdout, args.keep)
    else:
        with tempfile.TemporaryDirectory(prefix="spoolkit-demo-") as d:
            run(sys.stdout, d)
    return 0
