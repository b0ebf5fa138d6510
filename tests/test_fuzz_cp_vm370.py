"""Fuzz family: VM/370 allocation records and page-format tracks.

Random allocation records (any length, any codes, with and without the X'FF'
end) parsed alone and read from a volume image by every reader (volume_info,
the guard, the overlay map, ``cp info``); random and mutated page tracks and
random layouts through the C builder and checker.  Every run ends in
findings or a typed SpoolkitError.
"""

from __future__ import annotations

import contextlib
import io

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_cp_vm370 import with_r4

from spoolkit._native import ffi, lib, new_err
from spoolkit.cli import main
from spoolkit.cp import format_vm370, layout_for, parse_vm370_allocation, volume_info
from spoolkit.cp.pagelayout import is_page_track, page_track
from spoolkit.dasd import open_dasd
from spoolkit.dasd.track import Track
from spoolkit.errors import FormatError, SpoolkitError
from spoolkit.overlay import build_map, parse_directory, protected_extents
from spoolkit.overlay import volume_info as overlay_volume_info

pytestmark = pytest.mark.fuzz

FUZZ = settings(max_examples=200, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                       HealthCheck.function_scoped_fixture])

CODES = st.sampled_from([0x00, 0x01, 0x02, 0x04, 0x08, 0x0C, 0xFF, 0x03, 0x10, 0x80])
RECORDS = st.one_of(
    st.binary(max_size=1100),
    st.lists(CODES, max_size=1100).map(bytes),
    st.tuples(st.lists(CODES.filter(lambda c: c != 0xFF), max_size=1023),
              st.integers(0, 60)).map(lambda t: bytes(t[0]) + b"\xff" + bytes(t[1])),
)


@FUZZ
@given(data=RECORDS, cylinders=st.one_of(st.none(), st.integers(0, 1200)))
def test_parse_any_record(data, cylinders):
    a = parse_vm370_allocation(data, cylinders)
    covered = [c for r in a.runs for c in range(r.first, r.last + 1)]
    assert covered == list(range(len(covered)))
    limit = len(data) if a.mapped is None else a.mapped
    assert len(covered) == (limit if cylinders is None else min(limit, cylinders))
    assert all(r.code != 0xFF for r in a.runs)
    try:
        strict = parse_vm370_allocation(data, cylinders, strict=True)
    except FormatError as exc:
        assert a.findings and str(exc)
    else:
        assert a.findings == () and strict == a


@pytest.fixture(scope="module")
def volume(tmp_path_factory):
    p = tmp_path_factory.mktemp("fuzzcp") / "v.3305"
    format_vm370(p, "2305-1", volser="FUZZ01", extents=[("PERM", 1, 47)])
    return p


DIRECTORY = parse_directory("USER U PASSWORD 1M 1M G\n MDISK 191 2305 001 010 FUZZ01 MR\n"
                            " MDISK 192 2305 000 048 FUZZ01 MR\n")


@FUZZ
@given(data=RECORDS)
def test_every_reader_of_a_random_record(volume, data):
    with_r4(volume, data)
    info = volume_info(volume, scan=len(data) % 7 == 0)
    assert info.layout == "vm370"
    with open_dasd(volume) as dev:
        prot = protected_extents(dev)
    assert (0, 0, "CYL0") in [(p.first, p.last, p.kind) for p in prot]
    assert all(p.kind != "PERM" and 0 <= p.first <= p.last < 48 for p in prot)
    m = build_map(DIRECTORY, None, [overlay_volume_info(volume)])
    found = info.allocation.findings
    assert len([f for f in m.findings if f.code == "allocation"]) == len(found)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        rc = main(["cp", "info", str(volume), "--json"])
    assert rc == (1 if found else 0) and out.getvalue().startswith("{")


LAYOUTS = st.sampled_from(["2314", "3330", "3340-35", "3350", "2305-1"])


@FUZZ
@given(device=LAYOUTS, cyl=st.integers(0, 900), head=st.integers(0, 31),
       edits=st.lists(st.tuples(st.integers(0, 20000), st.integers(0, 255)), max_size=6),
       cut=st.one_of(st.none(), st.integers(0, 20000)))
def test_mutated_page_tracks(device, cyl, head, edits, cut):
    layout = layout_for(device)
    head %= layout.heads
    image = bytearray(page_track(layout, cyl, head, 20000))
    assert is_page_track(layout, bytes(image), cyl, head)
    for off, val in edits:
        if off < len(image):
            image[off] = val
    if cut is not None:
        del image[cut:]
    try:
        ok = is_page_track(layout, bytes(image), cyl, head)
    except SpoolkitError:
        return
    if ok:       # still a page track: only data bytes (or nothing) changed
        t = Track(bytes(image), cyl, head)
        assert [(r.r, r.dl, r.overflow) for r in t.records] == layout.records(head)


@FUZZ
@given(slots=st.lists(st.tuples(st.integers(0, 255), st.integers(0, 255),
                                st.integers(0, 65535), st.integers(0, 1)), max_size=70),
       group_heads=st.integers(0, 300), step=st.integers(0, 300), nslots=st.integers(0, 80),
       cyl=st.integers(0, 0x9000), head=st.integers(0, 70000), outlen=st.integers(0, 70000))
def test_random_layouts_in_c(slots, group_heads, step, nslots, cyl, head, outlen):
    arr = ffi.new("spk_cp_slot[]", max(1, len(slots)))
    for i, (h, r, dl, ovf) in enumerate(slots):
        arr[i].head, arr[i].rec, arr[i].dl, arr[i].overflow = h, r, dl, ovf
    lay = ffi.new("spk_cp_layout *")
    lay.group_heads, lay.group_step, lay.slots = group_heads, step, arr
    lay.nslots = min(nslots, len(slots))
    out = bytearray(outlen)
    err = new_err()
    n = lib.spk_cp_page_track(ffi.from_buffer(out), len(out), cyl, head, lay, ffi.NULL, err)
    if n < 0:
        assert ffi.string(err.msg)
        return
    t = Track(bytes(out[:n]), cyl, head)
    assert lib.spk_cp_page_check(t.image, len(t.image), cyl, head, lay, err) == 1
