"""VMFPLC2 DUMP and LOAD throughput: spoolkit (framing and record packing in
C) beside a pure-Python implementation of the same layout (bench/pyplc2.py),
on plain AWS.  Both write byte-identical tapes.

Run:  python -m pytest bench/bench_cms_tapes.py --benchmark-enable
 or:  python bench/bench_cms_tapes.py          (prints the rows)

Target (issue 18): at least 10x the pure-Python throughput both ways.  The
file set: 300 CMS files, a third F 80, the rest V 1..80 bytes (source
lines), about 27 MB of records.  Three measures: the codec (files to framed
tape bytes in memory; a tape image in the page cache to files), and the
whole dump to a file (synced, renamed into place; the pure-Python dump
writes once and does not sync), where writing the 28 MB bounds both.
"""

from __future__ import annotations

import datetime as dt
import os
import random
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import pyplc2  # noqa: E402
from timing import best_of  # noqa: E402

from spoolkit.cms import CMSFile, CMSRecords, read_vmfplc2, write_vmfplc2  # noqa: E402
from spoolkit.cms.tapes import encode_file  # noqa: E402

WHEN = dt.datetime(2024, 1, 1, 12, 30, 15)


def file_set(nfiles: int = 300, seed: int = 18) -> list[CMSFile]:
    r = random.Random(seed)
    out = []
    for i in range(nfiles):
        if i % 3 == 0:
            recs = CMSRecords.from_iter(r.randbytes(80) for _ in range(r.randrange(100, 3000)))
            out.append(CMSFile(f"F{i}", "BENCH", "A1", "F", 80, WHEN, recs))
        else:
            recs = CMSRecords.from_iter(r.randbytes(r.randrange(1, 81))
                                        for _ in range(r.randrange(100, 4000)))
            out.append(CMSFile(f"V{i}", "BENCH", "A1", "V", recs.longest, WHEN, recs))
    return out


def as_tuples(files: list[CMSFile]) -> list[tuple]:
    return [(f.fname, f.ftype, f.fmode, f.recfm, f.lrecl, list(f.records), f.date)
            for f in files]


def dump(path: Path, files: list[CMSFile]) -> None:
    write_vmfplc2(path, files, force=True, compress=None)


def encode(files: list[CMSFile]) -> int:
    return sum(len(encode_file(f)[0]) for f in files)


def py_encode(tuples: list[tuple]) -> int:
    return len(pyplc2.encode(tuples))


def load(path: Path) -> int:
    return sum(len(f.records) for f in read_vmfplc2(path))


def py_dump(path: Path, tuples: list[tuple]) -> None:
    pyplc2.dump(path, tuples)


def py_load(path: Path) -> int:
    return sum(len(f[5]) for f in pyplc2.load(path))


@pytest.fixture(scope="module")
def files():
    return file_set()


def test_dump(benchmark, files, tmp_path):
    benchmark(dump, tmp_path / "t.aws", files)
    pyplc2.dump(tmp_path / "p.aws", as_tuples(files))
    assert (tmp_path / "t.aws").read_bytes() == (tmp_path / "p.aws").read_bytes()


def test_encode(benchmark, files):
    n = benchmark(encode, files)
    assert n + 12 == py_encode(as_tuples(files))         # + the two tapemarks


def test_py_encode(benchmark, files):
    tuples = as_tuples(files)
    benchmark.pedantic(py_encode, (tuples,), rounds=3, iterations=1)


def test_load(benchmark, files, tmp_path):
    dump(tmp_path / "t.aws", files)
    n = benchmark(load, tmp_path / "t.aws")
    assert n == sum(len(f.records) for f in files) == py_load(tmp_path / "t.aws")


def test_py_dump(benchmark, files, tmp_path):
    tuples = as_tuples(files)
    benchmark.pedantic(py_dump, (tmp_path / "p.aws", tuples), rounds=3, iterations=1)


def test_py_load(benchmark, files, tmp_path):
    dump(tmp_path / "t.aws", files)
    benchmark.pedantic(py_load, (tmp_path / "t.aws",), rounds=3, iterations=1)


def main() -> None:
    d = Path(os.environ.get("SPOOLKIT_BENCH_DIR", "/tmp/spoolkit-bench"))
    d.mkdir(parents=True, exist_ok=True)
    shm = Path("/dev/shm") if Path("/dev/shm").is_dir() else d
    files = file_set()
    tuples = as_tuples(files)
    mb = sum(len(f.records.data) for f in files) / 1e6
    nrec = sum(len(f.records) for f in files)
    t_enc = best_of(encode, files, rounds=5)
    t_pye = best_of(py_encode, tuples, rounds=5)
    t_dump = best_of(dump, d / "plc2.aws", files, rounds=5)
    t_pyd = best_of(py_dump, d / "plc2-py.aws", tuples, rounds=5)
    assert (d / "plc2.aws").read_bytes() == (d / "plc2-py.aws").read_bytes()
    tape = shm / "spoolkit-bench-plc2.aws"
    dump(tape, files)
    t_load = best_of(load, tape, rounds=5)
    t_pyl = best_of(py_load, tape, rounds=5)
    print(f"{len(files)} files, {nrec} records, {mb:.1f} MB")
    print(f"| VMFPLC2 dump, in memory | {t_enc:.3f} s ({mb / t_enc:.0f} MB/s) | pure Python "
          f"{t_pye:.2f} s ({t_pye / t_enc:.1f}x faster, target >= 10x) |")
    print(f"| VMFPLC2 load (page cache) | {t_load:.3f} s ({mb / t_load:.0f} MB/s) | pure "
          f"Python {t_pyl:.2f} s ({t_pyl / t_load:.1f}x faster, target >= 10x) |")
    print(f"| VMFPLC2 dump to {d} | {t_dump:.3f} s ({mb / t_dump:.0f} MB/s) | pure Python "
          f"{t_pyd:.2f} s ({t_pyd / t_dump:.1f}x faster) |")
    for p in (d / "plc2.aws", d / "plc2-py.aws", tape):
        p.unlink()


if __name__ == "__main__":
    main()
