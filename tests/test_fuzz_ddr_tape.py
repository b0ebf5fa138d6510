"""Fuzzing the DDR reader (csrc/ddr.c through spoolkit.ddr): damaged and
hostile DDR tapes give SpoolkitErrors, never a crash, a hang or another
exception; a restore that fails leaves no volume behind."""

from __future__ import annotations

import os
import struct

import pytest
from ddr_layout import Rec, cut_blocks, header_bytes, thr_buffer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from spoolkit.ddr import Dump, describe_file, restore
from spoolkit.errors import SpoolkitError
from spoolkit.tape import open_tape

CLOCK = 0xB5E3_0000_0000_0000
pytestmark = pytest.mark.fuzz
SETTINGS = settings(max_examples=200, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])


def crafted_tape(path, fmt="aws"):
    """One 3330 cylinder: small, multi-block and SPECIAL tracks, then EOJ."""
    with open_tape(path, "w", format=fmt) as t:
        t.write_block(header_bytes("VHR", 0, 0, CLOCK, 100, 410, 18, "FUZZ01"))
        for head in range(19):
            recs = [Rec(0, head, r, b"K" * (r % 3), bytes([head, r]) * (300 * r))
                    for r in range(1, 1 + head % 5)]
            for b in cut_blocks(thr_buffer(0, head, recs, special=head % 4 == 3 and bool(recs))):
                t.write_block(b)
        t.write_block(header_bytes("EOJ", 0, 18, CLOCK, 100, 410, 18, "FUZZ01"))
        t.tapemark()
    return path.read_bytes()


@pytest.fixture(scope="module", params=["aws", "het"])
def good(request, tmp_path_factory):
    d = tmp_path_factory.mktemp("ddrfuzz")
    return crafted_tape(d / f"good.{request.param}", request.param), request.param


def exercise(path, out):
    """Read the tape every way spoolkit does; SpoolkitError is the only failure."""
    try:
        Dump([str(path)]).summary()
    except SpoolkitError:
        pass
    try:
        describe_file(path, 0)
    except SpoolkitError:
        pass
    try:
        # a one-cylinder volume (the crafted dump's size): each example writes
        # 250 KB instead of the 32 MB of the whole 3330 the VHR names
        restore(path, out, cylinders=1)
    except SpoolkitError:
        assert not os.path.exists(out)
    else:
        os.unlink(out)


@SETTINGS
@given(data=st.data())
def test_mutated_ddr_tapes(good, tmp_path, data):
    raw, fmt = good
    buf = bytearray(raw)
    for _ in range(data.draw(st.integers(1, 6))):
        pos = data.draw(st.integers(0, len(buf) - 1))
        buf[pos] = data.draw(st.integers(0, 255))
    if data.draw(st.booleans()):
        buf = buf[:data.draw(st.integers(0, len(buf)))]
    path = tmp_path / f"m.{fmt}"
    path.write_bytes(bytes(buf))
    exercise(path, tmp_path / "out.3330")


@SETTINGS
@given(ndrd=st.integers(0, 0xFFFF), ndrt=st.integers(0, 0xFFFF), drl=st.integers(0, 0xFFFF),
       flag=st.integers(0, 255), head=st.integers(0, 0xFFFF), extra=st.integers(0, 5),
       counts=st.lists(st.tuples(st.integers(0, 255), st.integers(0, 0xFFFF)), max_size=8),
       first=st.sampled_from([80, 100, 4096, 5000]))
def test_hostile_thr_fields(tmp_path, ndrd, ndrt, drl, flag, head, extra, counts, first):
    thr = bytearray(first)
    thr[0:4] = "THR ".encode("cp037")
    struct.pack_into(">HHHBBHH", thr, 4, ndrd, ndrt, drl, flag, 0, 0, head)
    struct.pack_into(">HHBBH", thr, 16, 0, head, 0, 0, 8)
    for i, (kl, dl) in enumerate(counts):
        if 32 + 8 * i + 8 <= len(thr):
            struct.pack_into(">HHBBH", thr, 32 + 8 * i, 0, head, i + 1, kl, dl)
    path = tmp_path / "h.aws"
    with open_tape(path, "w", overwrite=True) as t:
        t.write_block(header_bytes("VHR", 0, 0, CLOCK, 100, 410, 18, "FUZZ02"))
        t.write_block(bytes(thr))
        for i in range(extra):
            t.write_block(bytes([i]) * (4096 if i % 2 == 0 else 80 + i))
        t.write_block(header_bytes("EOJ", 0, 0, CLOCK, 100, 410, 18, "FUZZ02"))
        t.tapemark()
    exercise(path, tmp_path / "out.3330")
