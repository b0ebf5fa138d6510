"""CMS file archives: VMARC LZW pack and unpack, beside the pure-Python
implementation of the same layout in tests/vmarc_layout.py (VMARC's own
table rules, byte for byte the same stream).

Run:  python -m pytest bench/bench_cms_archives.py --benchmark-enable
 or:  python bench/bench_cms_archives.py          (prints the ratios)

Target (issue 18): spoolkit at least 10x the pure-Python implementation for
both directions.  The data is about 400 KB of F 80 assembler-like source and
V text, enough to fill and recycle the 4096-entry string table many times.
The VMFPLC2 dump and load half of the issue's bench is bench/bench_cms_tapes.py;
running this file prints both.
"""

from __future__ import annotations

import datetime as dt
import random
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

import vmarc_layout  # noqa: E402
from timing import best_of  # noqa: E402

from spoolkit.cms.fileset import CMSFile  # noqa: E402
from spoolkit.cms.records import CMSRecords  # noqa: E402
from spoolkit.cms.vmarc import pack_vmarc, read_vmarc_bytes  # noqa: E402

WHEN = dt.datetime(2025, 1, 1)
OPS = ["LA", "L", "ST", "BALR", "BR", "LTR", "BZ", "BNZ", "MVC", "CLI", "TM", "DC", "DS"]
ARGS = ["R1,0(R2)", "R14,R15", "WRKAREA,=CL8' '", "X'FF'", "0(8,R3),FIELD", "F'0'"]


def _files() -> list[CMSFile]:
    r = random.Random(18)
    vocab = ["".join(r.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ") for _ in range(r.randrange(2, 9)))
             for _ in range(3000)]
    src = []
    for i in range(4000):
        label = r.choice(vocab) if r.random() < 0.2 else ""
        arg = r.choice(ARGS).replace("R1", f"R{r.randrange(16)}") + "," + r.choice(vocab)
        words = " ".join(r.choice(vocab).lower() for _ in range(r.randrange(0, 6)))
        line = f"{label:<8} {r.choice(OPS):<5} {arg:<20} {words}"
        src.append(line[:72].ljust(72).encode("cp037") + f"{i * 10:08d}".encode("cp037"))
    memo = [" ".join(r.choice(vocab) for _ in range(r.randrange(1, 12))).encode("cp037")
            for _ in range(2000)]
    return [CMSFile("SRC", "ASSEMBLE", "A1", "F", 80, WHEN, CMSRecords.from_iter(src)),
            CMSFile("TEXT", "MEMO", "A1", "V", max(map(len, memo)), WHEN,
                    CMSRecords.from_iter(memo))]


FILES = _files()
NBYTES = sum(len(f.records.data) for f in FILES)
ARCHIVE = pack_vmarc(FILES, method="lzw")


def pack_c() -> int:
    return len(pack_vmarc(FILES, method="lzw"))


def unpack_c() -> int:
    return sum(len(f.records) for f in read_vmarc_bytes(ARCHIVE))


def pack_py() -> int:
    return sum(len(vmarc_layout.lzw_encode(list(f.records), f.recfm == "F")) for f in FILES)


def unpack_py() -> int:
    return sum(len(recs) for _, recs, _ in vmarc_layout.read_archive(ARCHIVE))


def test_vmarc_lzw_pack(benchmark):
    assert benchmark(pack_c) == len(ARCHIVE)


def test_vmarc_lzw_unpack(benchmark):
    assert benchmark(unpack_c) == sum(len(f.records) for f in FILES)


@pytest.mark.parametrize("fn", [pack_py, unpack_py], ids=["pack", "unpack"])
def test_vmarc_lzw_pure_python(benchmark, fn):
    benchmark.pedantic(fn, rounds=1, iterations=1)


def main() -> None:
    assert unpack_c() == unpack_py()
    py_stream = b"".join(vmarc_layout.lzw_encode(list(f.records), f.recfm == "F") for f in FILES)
    assert len(py_stream) > 0
    mb = NBYTES / 1e6
    for what, c, py in (("pack", pack_c, pack_py), ("unpack", unpack_c, unpack_py)):
        tc, tp = best_of(c, rounds=5), best_of(py, rounds=2)
        print(f"| VMARC LZW {what} ({NBYTES} bytes, {len(ARCHIVE)} packed) | {tc * 1e3:.1f} ms "
              f"({mb / tc:.1f} MB/s) | pure Python {tp:.2f} s | {tp / tc:.0f}x (target >= 10x) |")
    import bench_cms_tapes
    bench_cms_tapes.main()


if __name__ == "__main__":
    main()
