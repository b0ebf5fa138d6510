"""Fuzzing the VMFPLC2 and TAPE DUMP readers (csrc/cmstape.c, csrc/cms.c
through spoolkit.cms.tapes): damaged and hostile tapes give SpoolkitErrors,
never a crash, a hang or another exception."""

from __future__ import annotations

import random

import cmstape_layout as L
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from spoolkit._native import ffi, lib, new_err
from spoolkit.cms import (
    CMSFile,
    CMSRecords,
    read_tapedump,
    read_vmfplc2,
    write_tapedump,
    write_vmfplc2,
)
from spoolkit.cms.sources import _v_records
from spoolkit.errors import SpoolkitError
from spoolkit.tape import open_tape

pytestmark = pytest.mark.fuzz
SETTINGS = settings(max_examples=150, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])


def sample_files():
    r = random.Random(5)
    v = CMSRecords.from_iter(r.randbytes(r.randrange(1, 900)) for _ in range(60))
    f = CMSRecords.from_iter(r.randbytes(80) for _ in range(70))
    return [CMSFile("VAR", "DATA", "A1", "V", v.longest, None, v),
            CMSFile("FIX", "DATA", "B1", "F", 80, None, f)]


@pytest.fixture(scope="module")
def good(tmp_path_factory):
    d = tmp_path_factory.mktemp("good")
    out = {}
    for name, write in (("vmfplc2", write_vmfplc2), ("tapedump", write_tapedump)):
        write(d / f"{name}.aws", sample_files())
        out[name] = L.aws_blocks(d / f"{name}.aws")
    return out


READERS = {"vmfplc2": read_vmfplc2, "tapedump": read_tapedump}

edits = st.lists(st.tuples(st.sampled_from(["flip", "cut", "drop", "dup", "junk", "mark"]),
                           st.integers(0, 10_000), st.integers(0, 255)),
                 min_size=1, max_size=6)


def apply(blocks, ops):
    b = list(blocks)
    for op, where, val in ops:
        if not b:
            break
        i = where % len(b)
        if op == "flip" and b[i]:
            k = (where * 31 + val) % len(b[i])
            b[i] = b[i][:k] + bytes([b[i][k] ^ (val or 1)]) + b[i][k + 1:]
        elif op == "cut" and b[i]:
            b[i] = b[i][:max(1, val * len(b[i]) // 256)]
        elif op == "drop":
            del b[i]
        elif op == "dup":
            b.insert(i, b[i])
        elif op == "junk":
            b.insert(i, bytes([val]) * (1 + where % 5000))
        elif op == "mark":
            b.insert(i, None)
    return b


@pytest.mark.parametrize("kind", list(READERS))
@SETTINGS
@given(ops=edits)
def test_damaged_tapes(tmp_path, good, kind, ops):
    blocks = apply(good[kind], ops)
    path = tmp_path / "f.aws"
    with open_tape(path, "w", overwrite=True) as t:
        for b in blocks:
            if b is None:
                t.tapemark()
            else:
                t.write_block(b)
    try:
        for f in READERS[kind](path):
            assert f.recfm in ("F", "V")
            if f.recfm == "F":
                assert all(len(r) == f.lrecl for r in f.records)
            else:
                assert all(1 <= len(r) <= f.lrecl for r in f.records)
    except SpoolkitError:
        pass


@SETTINGS
@given(data=st.binary(max_size=6000), kind=st.sampled_from([0, 1]),
       maxn=st.integers(0, 8), start=st.integers(0, 100))
def test_run_reader_on_hostile_bytes(data, kind, maxn, start):
    """spk_cmstape_read over raw bytes as a whole tape: stops or errors, never
    writes outside out, never loops."""
    src = ffi.new("spk_tape_src *")
    keep = ffi.from_buffer(data)
    src.buf, src.base, src.len, src.size, src.format = keep, 0, len(data), len(data), 0
    out = bytearray(lib.SPK_TAPE_MAXBLOCK + 4096 + 5)
    ends = ffi.new("uint32_t[]", 9)
    offs = ffi.new("uint64_t[]", 9)
    r = ffi.new("spk_cmstape_run *")
    r.off = min(start, len(data))
    for _ in range(len(data) + 2):
        r.n = r.pos = 0
        err = new_err()
        rc = lib.spk_cmstape_read(src, r, kind, ffi.from_buffer(out), len(out), ends, offs,
                                  maxn, err)
        if rc < 0 or r.stop == lib.SPK_CMSTAPE_STOP_END:
            return
        assert r.pos + 5 + r.other_len <= len(out)
        if r.stop == lib.SPK_CMSTAPE_STOP_FULL and maxn == 0:
            return
    raise AssertionError("the reader does not get to the end")


@SETTINGS
@given(data=st.binary(max_size=3000), lrecl=st.integers(0, 70000))
def test_vcount_hostile(tmp_path, data, lrecl):
    try:
        recs = _v_records(data, lrecl, "fuzz")
    except SpoolkitError:
        return
    assert sum(len(r) + 2 for r in recs) <= len(data)
