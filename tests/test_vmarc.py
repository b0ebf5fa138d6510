"""VMARC archives: the real ones in the shared fixtures list and unpack to
their authors' text twins; what spoolkit writes (LZW, S2, STORE; F and V;
80-byte and blocked records) reads back identically and is decoded field by
field by the independent reader in tests/vmarc_layout.py; bad archives give
typed errors naming the member and the offset."""

from __future__ import annotations

import datetime as dt
import json
import os
import random
from pathlib import Path

import pytest
import vmarc_layout as L
from conftest import FIXTURES

from spoolkit.cms.fileset import CMSFile
from spoolkit.cms.records import CMSRecords
from spoolkit.cms.vmarc import (
    list_vmarc,
    list_vmarc_bytes,
    list_vmarc_records,
    pack_member,
    pack_vmarc,
    read_vmarc,
    read_vmarc_bytes,
    read_vmarc_member,
    read_vmarc_records,
    vmarc_records,
    write_vmarc,
)
from spoolkit.errors import (
    CompressionError,
    ExistsError,
    FormatError,
    InvalidArgumentError,
    NotFoundError,
    TruncatedError,
)

FIX = (FIXTURES or Path("/nonexistent")) / "vmarc"
PAIRS = json.loads((FIX / "pairs.json").read_text()) if FIX.is_dir() else {"archives": []}
ARCHIVES = list(PAIRS["archives"])
# twins edited in git after the archive was made (fixtures README)
EDITED = {("hrc242dk", "HRC242DK MEMO E1"), ("hrc248dk", "DMKVDC HRC248DK A1"),
          ("hrc248dk", "DMKVMD HRC248DK A1")}
METHODS = ["lzw", "s2", "store"]
WHEN = dt.datetime(2024, 3, 14, 15, 9, 26)

needs_fixtures = pytest.mark.skipif(not FIX.is_dir(), reason="shared fixtures absent")


def local(archive: dict) -> Path:
    return FIX / archive["archive"].split("/")[-1]


def stem(archive: dict) -> str:
    return archive["archive"].split("/")[-1].split(".")[0]


def twin_lines(rel: str) -> list[str]:
    raw = (FIX / rel.split("/", 1)[1]).read_bytes().decode("ascii")
    lines = [ln.rstrip() for ln in raw.split("\r\n")]
    if lines and lines[-1] == "":
        lines.pop()
    return lines


def member_lines(f: CMSFile) -> list[str]:
    text = f.records.to_text("1047", strip=True)
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return lines


def all_fixture_files() -> list[CMSFile]:
    return [f for a in ARCHIVES for f in read_vmarc(local(a))]


# -- the real archives ------------------------------------------------------------------

@needs_fixtures
@pytest.mark.parametrize("archive", ARCHIVES, ids=stem)
def test_fixture_listing_matches_pairs(archive):
    path = local(archive)
    data = path.read_bytes()
    assert len(data) == archive["bytes"]
    members = list_vmarc(path)
    assert len(members) == archive["member_count"] == len(archive["members"])
    for m, want in zip(members, archive["members"]):
        assert m.offset == want["offset"]
        assert m.offset // 80 + 1 == want["record"]
        assert (m.offset % 80 == 0) == want["aligned"]
        assert f"{m.version:04x}" == want["version"]
        assert (m.fname, m.ftype, m.fmode) == (want["fn"], want["ft"], want["fm"])
        assert m.lrecl == want["lrecl"]
        assert m.recfm == want["recfm"]
        assert m.date_raw.hex() == want["datetime_yymmddhhmmss"]
        assert f"{m.flags:02x}" == want["flags"]
        assert m.method == want["method"]
        d = want["datetime_yymmddhhmmss"]
        century = 2000 if int(want["flags"], 16) & 0x20 else 1900
        assert m.date == dt.datetime(century + int(d[0:2]), int(d[2:4]), int(d[4:6]),
                                     int(d[6:8]), int(d[8:10]), int(d[10:12]))
    # the members tile the archive: each ends where the next begins
    ends = [m.offset + m.length for m in members]
    assert ends[:-1] == [m.offset for m in members[1:]]
    assert ends[-1] == len(data)


@needs_fixtures
@pytest.mark.parametrize("archive", ARCHIVES, ids=stem)
def test_fixture_members_equal_their_twins(archive):
    files = list(read_vmarc(local(archive)))
    assert [f.name for f in files] == [f"{m['fn']} {m['ft']} {m['fm']}"
                                       for m in archive["members"]]
    for f, want in zip(files, archive["members"]):
        assert (f.recfm, f.lrecl) == (want["recfm"], want["lrecl"])
        if f.recfm == "F":
            assert all(len(r) == f.lrecl for r in f.records)
        else:
            assert 0 < f.records.longest <= f.lrecl
        lines = member_lines(f)
        if want["twin"] is None:
            # AUXLCL: one card naming the update, "HRCnnnDK - what it does"
            assert f.ftype == "AUXLCL" and len(f.records) == 1
            assert lines[0].startswith(f"{stem(archive).upper()} - ")
            continue
        twin = twin_lines(want["twin"])
        assert len(twin) == want["twin_info"]["lines"]
        if (stem(archive), f.name) not in EDITED:
            assert lines == twin, f.name
        elif f.ftype == "MEMO":
            # the twin's ruler lines are '-', the member's '='; all else equal
            assert len(lines) == len(twin)
            diff = [(a, b) for a, b in zip(lines, twin) if a != b]
            assert len(diff) == 2
            assert all(set(a) == {"="} and set(b) == {"-"} for a, b in diff)
        else:
            # rewritten comment lines ("./ *"); the update's control cards match
            assert lines[0] == twin[0] and lines[-1] == twin[-1]
            assert [ln for ln in lines if not ln.startswith("./ *")] == \
                [ln for ln in twin if not ln.startswith("./ *")]
            assert any("130 to 255" in ln for ln in lines)
            assert len(lines) == len(twin) + 1


@needs_fixtures
@pytest.mark.parametrize("archive", ARCHIVES, ids=stem)
def test_fixture_independent_reader_agrees(archive):
    """tests/vmarc_layout.py decodes the real streams to the same records, and
    its LZW encoder (as VMARC.ASSEMBLE's PACKLZW) gives back VMARC's bytes."""
    data = local(archive).read_bytes()
    ours = list(read_vmarc(local(archive)))
    theirs = L.read_archive(data)
    assert len(theirs) == len(ours)
    for (h, recs, end), f in zip(theirs, ours):
        assert list(f.records) == recs
        assert L.lzw_encode(recs, f.recfm == "F") == data[h.offset + 38:end]


@needs_fixtures
def test_repacking_real_members_gives_vmarcs_bytes():
    archive = ARCHIVES[-1]
    data = local(archive).read_bytes()
    members = list_vmarc(local(archive))
    for m, f in zip(members, read_vmarc(local(archive))):
        ours = pack_member(f)
        assert ours == data[m.offset:m.offset + m.length]
        assert ours[37] == 0x20              # HDRFY2K: the dates are 2025


def test_year_flag_decides_the_century():
    f = cms("Y V A1", "V", 3, [b"abc"], date=dt.datetime(2025, 2, 5, 22, 5))
    data = bytearray(pack_vmarc([f]))
    assert data[30:36].hex() == "250205220500" and data[37] == 0x20
    data[37] = 0x00                      # an archive of VMARC before 1.2.21
    (m,) = list_vmarc_bytes(bytes(data))
    assert m.date == dt.datetime(1925, 2, 5, 22, 5) and m.flags == 0
    data[30] = 0x1A                      # no packed decimal: no date
    assert list_vmarc_bytes(bytes(data))[0].date is None


@needs_fixtures
def test_read_one_member_and_missing_member():
    path = local(ARCHIVES[0])
    f = read_vmarc_member(path, "iobloks", "hrc242dk")
    assert f.name == "IOBLOKS HRC242DK E1" and len(f.records) == 27
    with pytest.raises(NotFoundError):
        read_vmarc_member(path, "NOPE", "HRC242DK")


# -- round trips ------------------------------------------------------------------------

def cms(name: str, recfm: str, lrecl: int, records, date=WHEN) -> CMSFile:
    fn, ft, fm = name.split()
    return CMSFile(fn, ft, fm, recfm, lrecl, date, CMSRecords.from_iter(records))


def generated() -> list[CMSFile]:
    rnd = random.Random(18)
    text = [(" ".join(rnd.choice(["LA", "R1,0(R2)", "BALR", "14,15", "*", "DC", "CL8'X'"])
                      for _ in range(rnd.randrange(1, 12)))).encode("cp037")
            for _ in range(400)]
    return [
        cms("EMPTY V A1", "V", 0, []),
        cms("EMPTY F A1", "F", 80, []),
        cms("ONE V A1", "V", 1, [b"\x00"]),
        cms("ONE F A1", "F", 80, [b"\x40" * 80]),
        cms("LRECL1 F A1", "F", 1, [bytes([i]) for i in range(256)]),
        cms("LRECL1 V A1", "V", 1, [bytes([i]) for i in range(256)]),
        cms("BINARY F A1", "F", 256, [bytes(range(256))] * 3 + [bytes(range(255, -1, -1))]),
        cms("BINARY V B2", "V", 256, [bytes(range(i, 256)) for i in range(256)]),
        cms("HUGE V A1", "V", 65535, [rnd.randbytes(65535), b"\x25", rnd.randbytes(65534)]),
        cms("BLANKS F A1", "F", 80, [b"\x40" * 80] * 500),
        cms("TEXT V A1", "V", max(len(t) for t in text), text),
        cms("TEXT F A1", "F", 72, [t[:72].ljust(72, b"\x40") for t in text]),
        cms("NODATE V A1", "V", 5, [b"12345"], date=None),
        cms("OLD F A1", "F", 4, [b"1979"], date=dt.datetime(1979, 12, 31, 23, 59, 58)),
        cms("Y1900 F A1", "F", 4, [b"1900"], date=dt.datetime(1900, 1, 1)),
        cms("Y2099 V A1", "V", 4, [b"2099"], date=dt.datetime(2099, 12, 31, 23, 59, 59)),
    ]


def check_same(got: CMSFile, want: CMSFile) -> None:
    assert (got.fname, got.ftype, got.fmode) == (want.fname, want.ftype, want.fmode)
    assert (got.recfm, got.lrecl) == (want.recfm, want.lrecl)
    assert got.date == want.date
    assert got.records == want.records


def check_layout(data: bytes, files: list[CMSFile], method: str, reclen: int) -> None:
    """Header fields and streams decoded by the independent reader."""
    assert len(data) % reclen == 0
    decoded = L.read_archive(data, reclen)
    assert len(decoded) == len(files)
    for (h, recs, end), f in zip(decoded, files):
        assert h.offset % reclen == 0
        assert h.magic == L.MAGIC
        assert h.version == (0x0101 if method == "store" else 0x0100)
        assert (h.fname, h.ftype, h.fmode) == (f.fname, f.ftype, f.fmode)
        assert (h.lrecl, h.recfm) == (f.lrecl, f.recfm)
        y2k = 0x20 if f.date is not None and f.date.year >= 2000 else 0
        assert h.flags == {"lzw": 0x00, "s2": 0x80, "store": 0x40}[method] | y2k
        assert h.method == method.upper()
        want_date = "000000000000" if f.date is None else f.date.strftime("%y%m%d%H%M%S")
        assert h.date.hex() == want_date
        assert recs == list(f.records)
        # the padding after the stream is zeros up to the record boundary
        pad_end = -(-end // reclen) * reclen
        assert not any(data[end:pad_end])
        if method == "lzw":
            assert data[h.offset + 38:end] == L.lzw_encode(recs, f.recfm == "F")


@needs_fixtures
@pytest.mark.parametrize("method", METHODS)
def test_round_trip_fixture_members(tmp_path, method):
    files = all_fixture_files()
    out = tmp_path / f"all.{method}.vmarc"
    listed = write_vmarc(out, files, method=method)
    back = list(read_vmarc(out))
    assert len(back) == len(files) == 35
    for got, want in zip(back, files):
        check_same(got, want)
    assert [m.name for m in listed] == [f.name for f in files]
    assert listed == list_vmarc(out)
    check_layout(out.read_bytes(), files, method, 80)


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("blocked", [None, 38, 4096])
def test_round_trip_generated(tmp_path, method, blocked):
    files = generated()
    out = tmp_path / "gen.vmarc"
    write_vmarc(out, files, method=method, blocked=blocked)
    reclen = blocked or 80
    back = list(read_vmarc(out, reclen=reclen))
    assert len(back) == len(files)
    for got, want in zip(back, files):
        check_same(got, want)
    members = list_vmarc(out, reclen=reclen)
    assert [(m.records, m.size) for m in members] == \
        [(len(f.records), len(f.records.data)) for f in files]
    check_layout(out.read_bytes(), files, method, reclen)


@pytest.mark.parametrize("method", ["lzw", "s2"])
def test_full_string_table_is_recycled_alike(method):
    """Enough varied data to fill the 4096-entry table many times: VMARC's
    reuse of unreferenced entries, both sides alike."""
    rnd = random.Random(7)
    words = [rnd.randbytes(rnd.randrange(2, 9)) for _ in range(3000)]
    recs = [b"".join(rnd.choice(words) for _ in range(rnd.randrange(1, 30)))[:200] or b"x"
            for _ in range(3000)]
    f = cms("FULL TABLE A1", "V", max(len(r) for r in recs), recs)
    data = pack_vmarc([f], method=method)
    assert (len(data) - 38) * 2 // 3 > 3 * 4096      # codes: several tables' worth
    (got,) = read_vmarc_bytes(data)
    check_same(got, f)
    check_layout(data, [f], method, 80)


def test_archive_as_records_of_a_cms_file():
    files = generated()[:6]
    recs = vmarc_records(files, method="s2", blocked=800)
    assert all(len(r) == 800 for r in recs)
    back = list(read_vmarc_records(recs))
    for got, want in zip(back, files):
        check_same(got, want)
    assert [m.name for m in list_vmarc_records(recs)] == [f.name for f in files]
    as_file = CMSFile("X", "VMARC", "A1", "F", 800, WHEN, recs)
    assert [g.records for g in read_vmarc_records(as_file)] == [f.records for f in files]
    with pytest.raises(FormatError, match="shorter than a member header"):
        list_vmarc_records(CMSRecords.from_iter([b"x" * 30, b"y" * 40]))


def test_archive_kept_as_a_v_file():
    """VMARC 1.2.27 reads a V archive's records back to back too; members
    start on record boundaries."""
    files = generated()[:5]
    parts = [pack_member(f, method="lzw") for f in files]
    # each member's stream without its padding, cut into records of varied lengths
    rnd = random.Random(3)
    recs = []
    for part in parts:
        ((_h, _r, end),) = L.read_archive(part)
        part = part[:end]
        i = 0
        while i < len(part):
            n = rnd.randrange(38, 300) if i == 0 else rnd.randrange(1, 300)
            recs.append(part[i:i + n])
            i += n
    archive = CMSFile("X", "VMARC", "A1", "V", max(map(len, recs)), WHEN,
                      CMSRecords.from_iter(recs))
    back = list(read_vmarc_records(archive))
    assert [g.name for g in back] == [f.name for f in files]
    for got, want in zip(back, files):
        check_same(got, want)


def test_concatenated_archives_and_zero_padding():
    a = pack_vmarc(generated()[:3], method="lzw")
    b = pack_vmarc(generated()[3:6], method="store")
    both = a + bytes(160) + b + bytes(80)
    assert [m.name for m in list_vmarc_bytes(both)] == [f.name for f in generated()[:6]]


# -- writing rules ----------------------------------------------------------------------

def test_write_refuses_existing_unless_force(tmp_path):
    out = tmp_path / "x.vmarc"
    out.write_bytes(b"old")
    with pytest.raises(ExistsError):
        write_vmarc(out, generated()[:2])
    assert out.read_bytes() == b"old"
    write_vmarc(out, generated()[:2], force=True)
    assert len(list(read_vmarc(out))) == 2
    assert not [p for p in os.listdir(tmp_path) if p.startswith(".")]


def test_write_failure_leaves_nothing(tmp_path):
    out = tmp_path / "y.vmarc"
    bad = cms("EMPTYREC V A1", "V", 10, [b"abc", b""])
    with pytest.raises(InvalidArgumentError, match="empty"):
        write_vmarc(out, [generated()[2], bad])
    assert not out.exists() and not os.listdir(tmp_path)


@pytest.mark.parametrize("bad,match", [
    (cms("SHORT F A1", "F", 80, [b"x" * 79]), "LRECL"),
    (cms("LONG V A1", "V", 3, [b"abcd"]), "longer than LRECL"),
    (cms("BAD TOOLONGFT A1", "V", 3, [b"abc"]), "file type"),
    (cms("X Y A1", "U", 3, [b"abc"]), "RECFM"),
    (cms("X Y A1", "F", 0, []), "LRECL"),
    (cms("X Y A1", "V", 3, [b"abc"], date=dt.datetime(2100, 1, 1)), "1900..2099"),
])
def test_write_rejects_what_vmarc_cannot_hold(bad, match):
    with pytest.raises(InvalidArgumentError, match=match):
        pack_vmarc([bad])


def test_bad_method_and_block():
    with pytest.raises(InvalidArgumentError):
        pack_vmarc(generated()[:1], method="zip")
    with pytest.raises(InvalidArgumentError):
        pack_vmarc(generated()[:1], blocked=37)


# -- bad archives -----------------------------------------------------------------------

def one(method: str = "lzw", f: CMSFile | None = None) -> bytes:
    return pack_vmarc([f or cms("T V A1", "V", 40, [b"hello world" * 3, b"again"] * 20)],
                      method=method)


def test_bad_header_magic_and_version():
    data = bytearray(one())
    data[0] = 0x7B
    with pytest.raises(FormatError, match=":CFF") as e:
        list_vmarc_bytes(bytes(data), path="x.vmarc")
    assert e.value.offset == 0 and e.value.path == "x.vmarc"
    data = bytearray(one())
    data[9] = 0x03
    with pytest.raises(FormatError, match="version 0103"):
        list_vmarc_bytes(bytes(data))
    data = bytearray(one())
    data[36] = 0xE4          # 'U'
    with pytest.raises(FormatError, match="RECFM"):
        list_vmarc_bytes(bytes(data))


def test_undefined_lzw_code_names_member_and_offset():
    data = bytearray(one())
    # the second code (offset 39, low nibble + byte 40) points at an entry not made yet
    data[39] = (data[39] & 0xF0) | 0x0F
    data[40] = 0xFF
    with pytest.raises(CompressionError, match=r"member T V A1: LZW code 4095") as e:
        list(read_vmarc_bytes(bytes(data), path="a.vmarc"))
    assert e.value.offset == 39


def test_undefined_s2_code():
    data = bytearray(one("s2"))
    data[38], data[39] = 0xFF, (data[39] & 0x0F) | 0xF0
    with pytest.raises(CompressionError, match="S2 stream starts with code 4095"):
        list_vmarc_bytes(bytes(data))


@pytest.mark.parametrize("method", METHODS)
def test_truncated_member(method):
    data = one(method)
    cut = data[:38 + 20]
    with pytest.raises(TruncatedError, match="member T V A1") as e:
        list_vmarc_bytes(cut)
    assert e.value.offset == len(cut)
    with pytest.raises(TruncatedError):
        list_vmarc_bytes(data[:30])


def test_wrong_record_lengths():
    # an F header over a V stream: the end comes inside a record
    f = cms("F F A1", "F", 7, [b"1234567", b"abcdefg"])
    data = bytearray(pack_vmarc([f]))
    data[28:30] = (6).to_bytes(2, "big")           # LRECL 6: 14 bytes are no whole records
    with pytest.raises(FormatError, match="ends inside record 3"):
        list_vmarc_bytes(bytes(data))
    # a V record longer than the header's LRECL
    v = bytearray(one())
    v[28:30] = (10).to_bytes(2, "big")
    with pytest.raises(FormatError, match="longer than the LRECL 10"):
        list_vmarc_bytes(bytes(v))
    # STORE: a record length that is not the F LRECL
    s = bytearray(pack_vmarc([f], method="store"))
    s[39] = 6
    with pytest.raises(FormatError, match="record 1 is 6 bytes"):
        list_vmarc_bytes(bytes(s))
    # STORE: a length running past the archive (hostile size)
    s = bytearray(one("store"))
    s[38:40] = b"\xff\xff"
    s[28:30] = b"\xff\xff"
    with pytest.raises(TruncatedError, match="inside record 1"):
        list_vmarc_bytes(bytes(s))


def test_hostile_sizes_allocate_only_what_the_stream_holds():
    # LRECL 65535 F with a tiny stream: no 64 KiB-per-record guess matters
    data = bytearray(one())
    data[28:30] = b"\xff\xff"
    data[36] = 0xC6                                 # F
    with pytest.raises(FormatError, match="ends inside record 1"):
        list(read_vmarc_bytes(bytes(data)))
    # blanks compress ~100:1; the exact-size retry still gets them right
    f = cms("B F A1", "F", 80, [b"\x40" * 80] * 20000)
    (got,) = read_vmarc_bytes(pack_vmarc([f]))
    assert got.records == f.records


def test_garbage_after_last_member():
    data = one() + b"\x01" + bytes(79)
    with pytest.raises(FormatError, match=":CFF"):
        list_vmarc_bytes(data)


def test_end_code_spilling_into_one_more_record():
    """An LZW end code starting on a record's last byte takes its second byte
    from one more (zero) record, which belongs to the member."""
    for k in range(1, 400):
        f = cms("SPILL V A1", "V", 400, [bytes(range(256))[:k] or b"x"])
        data = pack_vmarc([f])
        ((h, recs, end),) = L.read_archive(data)
        if end % 80 == 1:
            break
    else:
        pytest.fail("no size puts the end code on a record boundary")
    assert len(data) == end - 1 + 80 and not any(data[end - 2:])
    both = data + pack_vmarc([f], method="s2")
    members = list_vmarc_bytes(both)
    assert [m.offset for m in members] == [0, len(data)]
    assert members[0].length == len(data)
    assert [g.records for g in read_vmarc_bytes(both)] == [f.records, f.records]


def test_store_closing_zeros_spilling_into_a_zero_record():
    """STORE's three closing zeros: when the third starts a record, that
    record is all zeros and the next member follows it."""
    for k in range(1, 200):
        f = cms("SPILL V A1", "V", 200, [b"\xc1" * k])
        if (38 + 2 + k + 2) % 80 == 0:
            break
    data = pack_vmarc([f], method="store")
    assert len(data) == 38 + 2 + k + 2 + 80 and not any(data[-80:])
    both = data + pack_vmarc([f], method="lzw")
    assert [m.method for m in list_vmarc_bytes(both)] == ["STORE", "LZW"]
    assert [g.records for g in read_vmarc_bytes(both)] == [f.records, f.records]
