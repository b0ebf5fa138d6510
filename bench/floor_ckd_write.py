"""The disk's floor under CCKD -> CKD: what writing the output's bytes alone
costs, next to ``spoolkit dasd copy`` and ``dasdcopy`` (alternating triples).

A plain output is written as spoolkit writes it: the file allocated, each
track's image (up to its EOT) pwritten into its slot, one fsync.  This script
replays exactly those writes (the lengths read from a converted volume) with
no reading or inflating at all, so ``peer / floor`` is the largest ratio any
converter that syncs its output can reach on this disk; ``dasdcopy`` does not
sync and writes whole slots into the page cache.

Run:  python bench/floor_ckd_write.py CCKD [PAIRS]   (outputs in the current
directory, deleted after each run; needs dasdcopy and ~3x the volume free)
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
ENV["PYTHONPATH"] = str(ROOT)
DEVHDR = 512


def slot_lengths(volume: str, trksize: int) -> list[int]:
    """Bytes of each slot up to its last nonzero byte (the end of its EOT)."""
    out = []
    with open(volume, "rb") as f:
        f.seek(DEVHDR)
        while len(slot := f.read(trksize)) == trksize:
            out.append(len(slot.rstrip(b"\0")))
    return out


def floor(path: str, lengths: list[int], trksize: int) -> float:
    """Seconds to allocate, write the images' bytes into their slots and fsync."""
    data = b"\x5a" * trksize
    t0 = time.perf_counter()
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o644)
    try:
        os.posix_fallocate(fd, 0, DEVHDR + len(lengths) * trksize)
        os.pwrite(fd, data[:DEVHDR], 0)
        mv = memoryview(data)
        for i, n in enumerate(lengths):
            os.pwrite(fd, mv[:n], DEVHDR + i * trksize)
        os.fsync(fd)
    finally:
        os.close(fd)
    return time.perf_counter() - t0


def timed(argv: list[str]) -> float:
    t0 = time.perf_counter()
    subprocess.run(argv, check=True, env=ENV, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    return time.perf_counter() - t0


def remove(*names: str) -> None:
    for n in names:
        if os.path.exists(n):
            os.unlink(n)
    os.sync()


def main() -> None:
    src = os.path.abspath(sys.argv[1])
    pairs = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(ROOT / "spoolkit")],
                   check=True, env=ENV, stdout=subprocess.DEVNULL)
    ours = [sys.executable, "-m", "spoolkit", "dasd", "copy", src, "s.3390", "--lfs", "-f"]
    peer = ["dasdcopy", "-q", "-lfs", "-o", "CKD", src, "p.3390"]
    remove("s.3390", "p.3390", "w.bin")
    timed(ours)
    with open("s.3390", "rb") as f:
        hdr = f.read(DEVHDR)
    trksize = int.from_bytes(hdr[12:16], "little")
    lengths = slot_lengths("s.3390", trksize)
    remove("s.3390")
    print(f"{len(lengths)} tracks, {sum(lengths) / 1e6:.0f} MB of images")
    rows = []
    for _ in range(pairs):
        a = timed(ours)
        remove("s.3390")
        b = timed(peer)
        remove("p.3390")
        c = floor("w.bin", lengths, trksize)
        remove("w.bin")
        rows.append((a, b, c))
        print(f"spoolkit {a:.2f} s  dasdcopy {b:.2f} s  floor {c:.2f} s  "
              f"peer/spoolkit {b / a:.2f}  peer/floor {b / c:.2f}  "
              f"load {os.getloadavg()[0]:.2f}")
    print(f"median peer/spoolkit {statistics.median(b / a for a, b, _ in rows):.2f}  "
          f"peer/floor {statistics.median(b / c for _, b, c in rows):.2f}")


if __name__ == "__main__":
    main()
