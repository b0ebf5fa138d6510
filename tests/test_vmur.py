"""spoolkit.spool.vmur against s390-tools vmur as restated in vmur_model (from
vmur.c / vmur.h and the Linux driver, without spoolkit): reader pages built
field by field, what vmur receive writes, what vmur punch / print submit."""

from __future__ import annotations

import datetime as dt
import shutil
import struct
import subprocess
import sys
from pathlib import Path

import pytest
import vmur_model as vm
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from spool_strategies import spoolfiles
from vmur_model import e, entry, immediate, page, tag_entry

from spoolkit.errors import (
    FormatError,
    InvalidArgumentError,
    SpoolkitError,
    TruncatedError,
    UnsupportedError,
)
from spoolkit.spool import SpoolFile, vmur

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
import pyspool  # noqa: E402

FIXTURES = Path(__file__).resolve().parents[2] / "shared" / "fixtures"
if not FIXTURES.is_dir():
    FIXTURES = Path("/work/shared/fixtures")
MODES = ["binary", "text", (0x25, 0x40), (0x0A, 0x00)]


def _receive(raw: bytes, mode: str | tuple[int, int], **kw: int) -> bytes:
    if mode == "binary":
        return vmur.receive(raw, **kw)
    if mode == "text":
        return vmur.receive(raw, text=True, **kw)
    assert isinstance(mode, tuple)
    return vmur.receive(raw, blocked=mode, **kw)


def _vmur_view(sf: SpoolFile, mode: str | tuple[int, int]) -> bytes:
    """What vmur receive writes for the file, from the records and the rules
    (a data record is neither a NOP nor an immediate control CCW)."""
    out = b""
    for op, data in sf.records():
        if op == 0x03 or (not data and op & 3 == 3):
            continue
        if mode == "text":
            out += b"\n" if data == b"\x40" else data.decode("cp037").encode("latin-1") + b"\n"
            continue
        rec = data.ljust(sf.lrecl, b"\x40")
        if mode != "binary":
            rec = rec.rstrip(bytes([mode[1]])) + bytes([mode[0]])
        out += rec
    return out


# -- export: the page layout, field by field ------------------------------------

def _expected_pages(sf: SpoolFile) -> bytes:
    """The reader pages of sf built from the layout (zvm-spool.md 2.1, 2.3;
    docs/formats.md): a tag entry, then each record as an immediate (control
    command without data) or a data entry of round_up(12 + count, 8) bytes,
    a page ending where the next entry would pass X'FC0'; NOPs without data
    are left out."""
    assert sf.spoolid is not None
    entries = [tag_entry(sf.tag)]
    pages_entries = [entries]
    pos = 0x10 + len(entries[0])
    for op, data in sf.records():
        if op == 0x03 and not data:
            continue
        ent = immediate(op) if not data and op & 3 == 3 else entry(op, data)
        if pos + len(ent) > 0xFC0:
            entries = []
            pages_entries.append(entries)
            pos = 0x10
        entries.append(ent)
        pos += len(ent)
    sptime = e(sf.created.strftime("%H%M%S"))
    origin = (e(sf.origin[1]).ljust(8, b"\x40"), e(sf.origin[0]).ljust(8, b"\x40"))
    out = []
    for i, ents in enumerate(pages_entries):
        p = bytearray(page(ents, spoolid=sf.spoolid, origin=origin, sptime=sptime,
                           limit=0xFC0))
        if i == 0:
            p[0xFD0:0xFD4] = e(sf.chars[0] if sf.chars else "").ljust(4, b"\x40")
            p[0xFE0:0xFE4] = e(sf.fcb).ljust(4, b"\x40")
            p[0xFE4:0xFE8] = e(sf.modify).ljust(4, b"\x40")
            p[0xFF4] = sf.flash_count
            struct.pack_into(">H", p, 0xFE0, sf.lrecl)     # the driver's halfword over SPFCB
        out.append(bytes(p))
    return b"".join(out)


def test_export_layout_field_by_field():
    recs = ([(0x41, e(f"CARD {i}")) for i in range(300)] + [(0x0B, b""), (0x03, b""),
                                                            (0x41, b""), (0x03, e("NOTE"))]
            + [(0x09, e("X" * 131))] * 40)
    sf = SpoolFile(type="PUN", owner="MAINT", spoolid=4321, records=recs, tag="HELLO",
                   origin=("RSCS", "NODEA"), chars=["GT12"], fcb="STD1", modify="M1",
                   flash_count=3, created=dt.datetime(2024, 5, 6, 7, 8, 9,
                                                      tzinfo=dt.timezone.utc))
    raw = vmur.export_raw(sf)
    assert raw == _expected_pages(sf)
    assert len(raw) // 4096 > 2
    assert vm.get_spoolfile_fmt(raw) is None and vmur.detect_raw(raw) is None


@given(spoolfiles(max_records=40))
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_export_is_what_vmur_receives(sf):
    """The reverse direction: what spoolkit writes, vmur reads as spoolkit does."""
    if sf.dump:
        with pytest.raises(UnsupportedError):
            vmur.export_raw(sf)
        return
    raw = vmur.export_raw(sf)
    assert raw == _expected_pages(sf)
    for mode in MODES:
        assert vm.vmur_receive(raw, mode, spoolid=sf.spoolid) == _vmur_view(sf, mode)
        assert _receive(raw, mode, spoolid=sf.spoolid) == _vmur_view(sf, mode)
    # and back: the file less what vmur skips (NOP records)
    keep = {k: v for k, v in sf.attrs().items()
            if k not in ("spoolid", "origin", "lrecl", "tag", "record_count")}
    back = vmur.import_raw(raw, **keep)
    assert back.spoolid == sf.spoolid and back.origin == sf.origin
    assert back.lrecl == sf.lrecl and back.tag == sf.tag
    assert back == sf.with_attrs(records=[r for r in sf.records() if r[0] != 0x03],
                                 lrecl=sf.lrecl)
    assert pyspool.py_unpack(raw, check_crc=False)[1] == [
        r for r in sf.records() if r != (0x03, b"")]


# -- import: pages as CP hands them, built field by field -------------------------

DATA_OPS = [0x01, 0x09, 0x11, 0x89, 0x41, 0x81, 0x02, 0x5A]
CONTROL_OPS = [0x0B, 0x13, 0x1B, 0x8B, 0x83, 0x63]


def _cp_data(max_size: int) -> st.SearchStrategy[bytes]:
    """Record data as CP stores it: no trailing blank unless one blank alone."""
    return st.binary(max_size=max_size).map(lambda d: d.rstrip(b"\x40") or d[:1])


@st.composite
def reader_files(draw: st.DrawFn) -> tuple[bytes, list[tuple[str, int, bytes]]]:
    """Reader pages with every entry form vmur meets, and what each entry is."""
    items: list[tuple[str, int, bytes]] = []
    kinds = st.sampled_from(["data"] * 6 + ["immed", "immed-data-op", "nop", "nop-empty",
                                            "nop-flagged", "zero-control"])
    for _ in range(draw(st.integers(0, 120))):
        kind = draw(kinds)
        if kind in ("immed", "zero-control"):
            op = draw(st.sampled_from(CONTROL_OPS))
        elif kind.startswith("nop"):
            op = 0x03
        else:
            op = draw(st.sampled_from(DATA_OPS))
        data = draw(_cp_data(draw(st.sampled_from([0, 80, 132, 600])))) \
            if kind in ("data", "nop", "nop-flagged") else b""
        items.append((kind, op, data))
    spoolid = draw(st.integers(1, 9999))
    longest = max([len(d) for k, _, d in items if k == "data"] + [0])
    reclen = max(longest, draw(st.sampled_from([80, 132, 1])))
    with_origin = draw(st.booleans())
    limit = 0xFC0 if with_origin else 0xFE0
    pages_entries: list[list[bytes]] = [[tag_entry(draw(st.sampled_from(["", "RSCS X"])))]]
    pos = 0x10 + 152
    for kind, op, data in items:
        pad = draw(st.integers(0, 9))
        if kind.startswith("immed"):
            ent = immediate(op)
        else:
            ent = entry(op, data, pad=pad, flags=0x10 if kind == "nop-flagged" else 0)
        if pos + len(ent) > limit:
            pages_entries.append([])
            pos = 0x10
        pages_entries[-1].append(ent)
        pos += len(ent)
    origin = (e("NODE1").ljust(8, b"\x40"), e("LINUX01").ljust(8, b"\x40"))
    raw = b"".join(page(ents, spoolid=spoolid, reclen=reclen if i == 0 else None,
                        origin=origin if with_origin else None)
                   for i, ents in enumerate(pages_entries))
    return raw, items


@given(reader_files())
@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                   HealthCheck.data_too_large])
def test_import_reads_what_vmur_reads(case):
    """A file CP hands vmur reads the same in spoolkit, and written again it
    reads the same in vmur."""
    raw, items = case
    spoolid = struct.unpack_from(">H", raw, 0xFF8)[0]
    # after an X'10' NOP vmur's detection walk runs through data (test_detection_walk_is_vmurs)
    plain_walk = all(kind != "nop-flagged" for kind, _, _ in items)
    if plain_walk:
        assert vmur.detect_raw(raw) == vm.get_spoolfile_fmt(raw)
    sf = vmur.import_raw(raw, owner="LINUX1")
    assert sf.spoolid == spoolid
    has_origin = raw[0xFC0:0xFD0] == e("NODE1").ljust(8, b"\x40") + e("LINUX01").ljust(8, b"\x40")
    assert sf.origin == (("LINUX01", "NODE1") if has_origin else ("LINUX1", ""))
    # the records: what vmur converts, plus the immediate control CCWs
    expected = []
    for kind, op, data in items:
        if kind == "data":
            expected.append((op, data))
        elif kind == "immed":
            expected.append((op, b""))
        elif kind == "zero-control":
            expected.append((op, b"\x40"))       # vmur pads it like one blank
    assert list(sf.records()) == expected
    again = vmur.export_raw(sf)
    for mode in MODES:
        want = vm.vmur_receive(raw, mode, spoolid=spoolid)
        assert _receive(raw, mode, spoolid=spoolid) == want
        assert vm.vmur_receive(again, mode) == want
    if plain_walk:
        assert vmur.detect_raw(again) == vm.get_spoolfile_fmt(raw)


def test_origin_and_defaults_from_the_pages():
    origin = (e("NODEA").ljust(8, b"\x40"), e("MAINT").ljust(8, b"\x40"))
    raw = page([tag_entry("T1"), entry(0x09, e("A"))], spoolid=12, reclen=132, origin=origin)
    sf = vmur.import_raw(raw)
    assert (sf.type, sf.owner, sf.origin, sf.spoolid, sf.lrecl, sf.tag) == \
        ("RDR", "MAINT", ("MAINT", "NODEA"), 12, 132, "T1")
    assert list(sf.records()) == [(0x09, e("A"))]
    # given attributes win over the pages
    sf = vmur.import_raw(raw, owner="LINUX1", spoolid=7, type="PRT")
    assert (sf.owner, sf.spoolid, sf.type, sf.origin) == ("LINUX1", 7, "PRT", ("MAINT", "NODEA"))
    # no origin: zeros (VM/SP pages) or no CP name there
    for junk in ((bytes(8), bytes(8)), (b"\xff" * 8, b"\x01" * 8)):
        sf = vmur.import_raw(page([tag_entry(), entry(0x41, e("C"))], spoolid=3, origin=junk),
                             owner="LINUX1")
        assert sf.origin == ("LINUX1", "") and sf.lrecl == 80


def test_trailing_blanks_enter_the_model_stripped():
    """CP stores no trailing blanks; pages that have some (here a first entry that is
    no NOP, so no tag) import without them, as every record enters a spool file,
    while receive writes what vmur writes."""
    raw = page([entry(0x00, e(" " * 136)), entry(0x41, e("AB  "))], spoolid=3, reclen=136)
    sf = vmur.import_raw(raw, owner="A")
    assert list(sf.records()) == [(0x00, e(" ")), (0x41, e("AB"))] and sf.tag == ""
    assert vmur.receive(raw, text=True) == vm.vmur_receive(raw, "text") == \
        b" " * 136 + b"\nAB  \n"
    for mode in ("binary", (0x25, 0x40)):
        assert vm.vmur_receive(vmur.export_raw(sf), mode) == vm.vmur_receive(raw, mode) == \
            _receive(raw, mode)
    assert list(vmur.import_raw(vmur.export_raw(sf), owner="A").records()) == \
        list(sf.records())


def test_errors():
    with pytest.raises(TruncatedError):
        vmur.import_raw(b"\x00" * 5000)
    with pytest.raises(TruncatedError):
        vmur.import_raw(b"")
    dump = b"\x00\x00\x00\x01" + bytes(4092)
    assert vmur.detect_raw(dump) == vm.get_spoolfile_fmt(dump) == "VMDUMP"
    with pytest.raises(UnsupportedError, match="VMDUMP"):
        vmur.import_raw(dump, owner="A")
    # vmur receive writes a VMDUMP file's pages as they are
    assert vmur.receive(dump + dump) == vm.vmur_receive(dump + dump) == dump + dump
    # an entry past vmur's data area (X'FE0')
    bad = bytearray(page([tag_entry(), entry(0x41, e("X" * 80))], spoolid=5))
    struct.pack_into(">H", bad, 0x10 + 152 + 6, 4000)
    with pytest.raises(FormatError, match="past the data area"):
        vmur.import_raw(bytes(bad), owner="A")
    with pytest.raises(FormatError, match="past the data area"):
        vmur.receive(bytes(bad))
    # a record longer than the record length vmur pads to: vmur cannot receive it
    long = page([tag_entry(), entry(0x41, e("Y" * 90))], spoolid=5, reclen=80)
    with pytest.raises(FormatError, match="longer than the record length 80"):
        vmur.receive(long)
    assert vmur.receive(long, text=True) == b"Y" * 90 + b"\n"
    assert vmur.import_raw(long, owner="A").lrecl == 90
    # vmur reads a 4020-byte record up to X'FD0'; a spoolkit spool file holds 4004 at most
    big = page([entry(0x5A, b"\xc1" * 4020)], spoolid=5, reclen=4020)
    assert vmur.receive(big) == vm.vmur_receive(big) == b"\xc1" * 4020
    with pytest.raises(UnsupportedError, match="4020 data bytes"):
        vmur.import_raw(big, owner="A")
    with pytest.raises(InvalidArgumentError, match="conflicting"):
        vmur.receive(long, text=True, blocked=(0x25, 0x40))
    with pytest.raises(InvalidArgumentError, match="blocked"):
        vmur.receive(long, blocked=(0x25, 256))


def test_detect_kind():
    inmr01 = b"\x40\x20" + e("INMR01") + b"\x00" * 10
    nd = SpoolFile(type="PUN", owner="A", records=[(0x0B, b""), (0x41, inmr01)])
    assert vmur.detect_kind(nd) == "NETDATA"
    # X'20' missing: not a control record
    plain = SpoolFile(type="PUN", owner="A", records=[(0x41, b"\x40\x00" + inmr01[2:])])
    assert vmur.detect_kind(plain) is None
    assert vmur.detect_kind(SpoolFile(type="PRT", owner="A", dump=True)) == "VMDUMP"
    # only the first page counts, as in vmur
    late = SpoolFile(type="PUN", owner="A",
                     records=[(0x41, b"\xc1" * 80)] * 60 + [(0x41, inmr01)])
    assert vmur.detect_kind(late) is None
    assert vmur.detect_kind(SpoolFile(type="PUN", owner="A")) is None
    # NOPs without data do not push a record off the first page
    nops = SpoolFile(type="PUN", owner="A",
                     records=[(0x03, b"")] * 600 + [(0x41, inmr01)])
    assert vmur.detect_kind(nops) == "NETDATA"


def test_detection_walk_is_vmurs():
    """get_spoolfile_fmt steps over an X'10' NOP in 8 bytes (convert_sfdata uses
    its length) and reads the magic whatever the entry's count."""
    inmr = b"\x10\x20" + e("INMR01")
    raw = page([tag_entry(), immediate(0x0B), entry(0x41, inmr, count=1)], spoolid=9)
    assert vmur.detect_raw(raw) == vm.get_spoolfile_fmt(raw) == "NETDATA"
    flagged_nop = struct.pack(">B3xBxHBxH", 0x03, 0x10, 0, 0x08, 0x20)
    raw = page([tag_entry(), flagged_nop + bytes(20), entry(0x41, inmr)], spoolid=9, reclen=80)
    assert vm.get_spoolfile_fmt(raw) is None and vmur.detect_raw(raw) is None
    # ... while its conversion walk takes the NOP's length and reaches the record
    assert list(vmur.import_raw(raw, owner="A").records()) == [(0x41, inmr)]
    assert vmur.receive(raw) == vm.vmur_receive(raw) == inmr.ljust(80, b"\x40")


# -- the five points of issue 14 (each failed before) -------------------------------

def test_nop_record_without_data_is_not_written_as_an_immediate():
    """vmur takes a NOP's length field at +10: an 8-byte NOP left it reading the
    next entry's address bytes (0) and skipping the rest of the page."""
    sf = SpoolFile(type="PUN", owner="A", spoolid=1,
                   records=[(0x41, e("ONE")), (0x03, b""), (0x41, e("TWO"))])
    raw = vmur.export_raw(sf)
    assert vm.vmur_receive(raw) == e("ONE").ljust(80, b"\x40") + e("TWO").ljust(80, b"\x40")
    assert struct.unpack_from(">I", raw, 12)[0] == 3          # tag + the two cards
    # such pages (an 8-byte NOP): vmur loses what follows, spoolkit refuses them
    bad = page([tag_entry(), entry(0x41, e("ONE")), immediate(0x03), entry(0x41, e("TWO"))],
               spoolid=1, reclen=80)
    assert vm.vmur_receive(bad) == e("ONE").ljust(80, b"\x40")
    with pytest.raises(FormatError, match="shorter than"):
        vmur.import_raw(bad, owner="A")


def test_nop_entries_are_skipped_on_import():
    """A NOP entry, with data or without (the Linux driver ends each channel
    program with a NOP), is no record: vmur skips it."""
    raw = page([tag_entry(), entry(0x01, e("A")), entry(0x03), entry(0x03, e("NOTE")),
                entry(0x01, e("B"))], spoolid=44, reclen=80)
    sf = vmur.import_raw(raw, owner="A")
    assert list(sf.records()) == [(0x01, e("A")), (0x01, e("B"))]
    assert sf.render_text() == "A".ljust(80) + "\n" + "B".ljust(80) + "\n"
    assert vmur.receive(raw) == vm.vmur_receive(raw) == e("A".ljust(80) + "B".ljust(80))


def test_zero_length_records_are_padded_as_vmur_pads_them():
    raw = page([tag_entry(), entry(0x41, e("A")), entry(0x41), entry(0x0B), immediate(0x0B),
                entry(0x41, e("B"))], spoolid=45, reclen=80)
    want = vm.vmur_receive(raw)
    assert want == e("A".ljust(80) + " " * 80 + " " * 80 + "B".ljust(80))
    sf = vmur.import_raw(raw, owner="A", type="PUN")
    assert b"".join(d for op, d in sf.records(pad=True) if op != 0x0B or d) == want
    assert sf.render_text() == "A".ljust(80) + "\n" + " " * 80 + "\n" + " " * 80 + "\n" + \
        "B".ljust(80) + "\n"
    assert vm.vmur_receive(vmur.export_raw(sf)) == want
    assert vmur.receive(raw) == want
    assert vmur.receive(raw, text=True) == vm.vmur_receive(raw, "text") == b"A\n\n\nB\n"


def test_data_area_reaches_fe0():
    """vmur's splink_page has data[4048] up to X'FE0'; CP's z/VM entries end at
    X'FC0', VM/SP-style pages use more."""
    cards = [entry(0x41, e(f"{i:04d}".ljust(76, "Z"))) for i in range(44)]
    assert 0x10 + 152 + sum(map(len, cards)) > 0xFC0
    raw = page([tag_entry()] + cards, spoolid=46, reclen=80)
    sf = vmur.import_raw(raw, owner="A")
    assert [d for _, d in sf.records()] == [e(f"{i:04d}".ljust(76, "Z")) for i in range(44)]
    assert sf.origin == ("A", "")      # X'FC0'-X'FCF' hold data here, no origin
    assert vmur.receive(raw) == vm.vmur_receive(raw)
    assert vm.vmur_receive(vmur.export_raw(sf)) == vm.vmur_receive(raw)


def test_spool_id_must_be_one_vmur_can_receive():
    """CP's spool IDs are 1-9999 and vmur compares SPFILID with the file asked for."""
    for sid in (0, 10000, 0xFFFF):
        raw = page([tag_entry(), entry(0x41, e("A"))], spoolid=sid, reclen=80)
        with pytest.raises(FormatError, match=f"SPFILID {sid}"):
            vmur.import_raw(raw, owner="A")
        with pytest.raises(FormatError, match=f"SPFILID {sid}"):
            vmur.receive(raw)
    with pytest.raises(InvalidArgumentError, match="spool ID"):
        vmur.export_raw(SpoolFile(type="PUN", owner="A", records=[(0x41, e("A"))]))
    raw = page([tag_entry(), entry(0x41, e("A"))], spoolid=77, reclen=80)
    assert vmur.receive(raw, spoolid=77) == vm.vmur_receive(raw, spoolid=77)
    with pytest.raises(ValueError, match="mismatch"):
        vm.vmur_receive(raw, spoolid=78)
    with pytest.raises(FormatError, match="mismatch"):
        vmur.receive(raw, spoolid=78)


# -- vmur punch / print ---------------------------------------------------------------

def _cp_file(records: list[bytes]) -> list[tuple[int, bytes]]:
    return [(0x01, vm.cp_stores(r)) for r in records]


@pytest.mark.parametrize("name", ["hrc242dk.vmarc", "hrc247dk.vmarc", "hrc248dk.vmarc"])
def test_punch_binary_real_vmarc(name):
    """A VMARC archive (F 80 records) punched in binary, received in binary:
    the same bytes, as with vmur."""
    data = (FIXTURES / "vmarc" / name).read_bytes()
    sf = vmur.punch(data, owner="LINUX1", spoolid=300)
    assert list(sf.records()) == _cp_file(vm.vmur_punch(data, 80))
    assert (sf.type, sf.lrecl) == ("PUN", 80)
    raw = vmur.export_raw(sf)
    assert vm.vmur_receive(raw) == vmur.receive(raw) == data


@pytest.mark.parametrize("name", ["hrc242dk.memo", "hrc247dk.memo", "hrc248dk.memo"])
def test_punch_text_real_memo(name):
    """A text file (CRLF lines) punched with -t, received with -t: the same text
    (its CRs are data, so no blank before them is lost)."""
    text = (FIXTURES / "vmarc" / name).read_bytes()
    sf = vmur.punch(text, text=True, owner="LINUX1", spoolid=301)
    assert list(sf.records()) == _cp_file(vm.vmur_punch(text, 80, "text"))
    raw = vmur.export_raw(sf)
    assert vm.vmur_receive(raw, "text") == vmur.receive(raw, text=True) == text


def test_punch_netdata():
    """A NETDATA stream (TSO XMIT / SENDFILE segments in 80-byte cards) punched in
    binary: vmur calls it NETDATA and receives the same bytes."""
    def unit(key: int, *values: bytes) -> bytes:
        return struct.pack(">HH", key, len(values)) + b"".join(
            struct.pack(">H", len(v)) + v for v in values)

    def segment(flags: int, body: bytes) -> bytes:
        return bytes([len(body) + 2, flags]) + body

    inmr01 = segment(0xE0, e("INMR01") + unit(0x0042, b"\x00\x50") + unit(0x1011, e("NODEA"))
                     + unit(0x1012, e("MAINT")) + unit(0x1001, e("NODEB"))
                     + unit(0x1002, e("LINUX1")) + unit(0x1024, e("20240506070809"))
                     + unit(0x102F, b"\x01"))
    inmr02 = segment(0xE0, e("INMR02") + b"\x00\x00\x00\x01" + unit(0x1028, e("INMCOPY"))
                     + unit(0x003C, b"\x40\x00") + unit(0x0042, b"\x00\x50")
                     + unit(0x0049, b"\x80\x00"))
    inmr03 = segment(0xE0, e("INMR03") + unit(0x0042, b"\x00\x50"))
    body = b"".join(segment(0xC0, e(f"LINE {i}".ljust(80))) for i in range(30))
    stream = inmr01 + inmr02 + inmr03 + body + segment(0xE0, e("INMR06"))
    stream += b"\x40" * (-len(stream) % 80)
    sf = vmur.punch(stream, owner="MAINT", spoolid=302)
    raw = vmur.export_raw(sf)
    assert vm.get_spoolfile_fmt(raw) == vmur.detect_raw(raw) == vmur.detect_kind(sf) == "NETDATA"
    assert vm.vmur_receive(raw) == vmur.receive(raw) == stream


@given(st.binary(max_size=3000), st.booleans(),
       st.sampled_from(["binary", "text", (0x25, 0x40), (0x00, 0xFF)]))
@settings(max_examples=150, deadline=None)
def test_punch_is_what_vmur_submits(data, printer, mode):
    reclen = 132 if printer else 80
    kw = {} if mode == "binary" else {"text": True} if mode == "text" else {"blocked": mode}
    sep = 0x0A if mode == "text" else mode[0] if mode != "binary" else None
    if sep is not None and data and data[-1] != sep:
        data += bytes([sep])       # vmur drops a last line without separator (see below)
    try:
        want = vm.vmur_punch(data, reclen, mode)
    except ValueError as exc:
        with pytest.raises(InvalidArgumentError, match="too long" if "long" in str(exc)
                           else "empty"):
            vmur.punch(data, printer=printer, owner="A", **kw)
        return
    sf = vmur.punch(data, printer=printer, owner="A", spoolid=5, **kw)
    assert list(sf.records()) == _cp_file(want)
    assert (sf.type, sf.lrecl) == ("PRT" if printer else "PUN", reclen)
    raw = vmur.export_raw(sf)
    back = b"".join(want)
    if mode == "text":
        back = b"".join(b"\n" if vm.cp_stores(r) == b"\x40" else
                        vm.ebcdic_to_ascii(vm.cp_stores(r)) + b"\n" for r in want)
    elif mode != "binary":
        back = b"".join(r.rstrip(bytes([mode[1]])) + bytes([mode[0]]) for r in want)
    assert vm.vmur_receive(raw, mode) == back


def test_punch_details():
    # a last line without newline: vmur loses it, spoolkit punches it
    assert len(vm.vmur_punch(b"A\nB", 80, "text")) == 1
    assert [d for _, d in vmur.punch(b"A\nB", text=True, owner="A").records()] == [e("A"), e("B")]
    # lines of 80 characters go, 81 are refused as vmur refuses them
    assert len(vmur.punch(b"X" * 80 + b"\n", text=True, owner="A").packed_records()) == 1
    with pytest.raises(InvalidArgumentError, match="input line 2 too long"):
        vmur.punch(b"ok\n" + b"X" * 81 + b"\n", text=True, owner="A")
    member = (FIXTURES / "vmarc" / "hrc248dk" / "dmkgrf.hrc248dk").read_bytes()
    with pytest.raises(ValueError, match="too long"):
        vm.vmur_punch(member, 80, "text")
    with pytest.raises(InvalidArgumentError, match="too long"):
        vmur.punch(member, text=True, owner="A")
    assert len(vmur.punch(member, printer=True, text=True, owner="A").packed_records()) == \
        member.count(b"\n") + 1
    # binary: the last card padded with X'00'
    sf = vmur.punch(b"\xc1" * 81, owner="A")
    assert [d for _, d in sf.records()] == [b"\xc1" * 80, b"\xc1" + bytes(79)]
    with pytest.raises(InvalidArgumentError, match="empty"):
        vmur.punch(b"", owner="A")
    with pytest.raises(InvalidArgumentError, match="conflicting"):
        vmur.punch(b"x\n", text=True, blocked=(0x0A, 0x20), owner="A")
    # print: 132-byte lines, CCW X'01' as the Linux driver writes them
    sf = vmur.punch(b"HELLO\n", printer=True, text=True, owner="A", fname="LIST")
    assert (sf.type, sf.lrecl, sf.fname, list(sf.records())) == \
        ("PRT", 132, "LIST", [(0x01, e("HELLO"))])


@pytest.mark.parametrize("name,force", [
    ("file.txt", False), ("a.b.c", False), ("x..", False), ("a.b.", False), ("noext", False),
    (".profile", False), ("profile.", False), ("ab..c", False), ("..", False),
    ("longername.txt", False), ("longername.txt", True), ("my file.t x", True),
    ("my file.txt", False), ("résumé.txt", True), ("name.longtypex", False), ("", False),
])
def test_spool_name(name, force):
    try:
        want = vm.spoolfile_name(name.encode(), force)
    except ValueError:
        with pytest.raises(InvalidArgumentError):
            vmur.spool_name(name, force=force)
        return
    assert vmur.spool_name(name, force=force) == tuple(p.decode() for p in want)
    fname, ftype = vmur.spool_name(name, force=force)
    SpoolFile(owner="A", fname=fname, ftype=ftype)       # a valid spool file name


def test_iconv_tables_are_cp037():
    """vmur converts with iconv IBM037 <-> ISO-8859-1; Python's cp037 is the same."""
    if shutil.which("iconv") is None:
        pytest.skip("no iconv program")
    every = bytes(range(256))
    got = subprocess.run(["iconv", "-f", "IBM037", "-t", "ISO-8859-1"], input=every,
                         capture_output=True, check=True).stdout
    assert got == vm.ebcdic_to_ascii(every)
    got = subprocess.run(["iconv", "-f", "ISO-8859-1", "-t", "IBM037"], input=every,
                         capture_output=True, check=True).stdout
    assert got == every.decode("latin-1").encode("cp037")


@pytest.mark.fuzz
@given(st.binary(min_size=4096, max_size=8192))
@settings(max_examples=200, deadline=None,
          suppress_health_check=[HealthCheck.large_base_example, HealthCheck.too_slow])
def test_fuzz_import_raw(data):
    data = bytes(4) + data[4:len(data) // 4096 * 4096]
    try:
        vmur.detect_raw(data)
        vmur.import_raw(data, owner="FUZZ")
    except SpoolkitError as exc:
        assert str(exc)
    for kw in ({}, {"text": True}, {"blocked": (0x25, 0x40)}):
        try:
            vmur.receive(data, **kw)
        except SpoolkitError as exc:
            assert str(exc)


@pytest.mark.fuzz
@given(reader_files(), st.data())
@settings(max_examples=100, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
def test_fuzz_mutated_reader_files(case, data):
    raw = bytearray(case[0])
    for _ in range(data.draw(st.integers(1, 6))):
        raw[data.draw(st.integers(4, len(raw) - 1))] = data.draw(st.integers(0, 255))
    raw = bytes(raw)
    try:
        sf = vmur.import_raw(raw, owner="FUZZ")
    except SpoolkitError as exc:
        assert str(exc)
        return
    try:
        vmur.receive(raw)
    except FormatError as exc:            # e.g. a record longer than X'FE0' says
        assert "longer than the record length" in str(exc)
    again = vmur.export_raw(sf)
    assert list(vmur.import_raw(again, owner="FUZZ").records()) == list(sf.records())
