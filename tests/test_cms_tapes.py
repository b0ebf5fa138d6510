"""VMFPLC2 and CMS TAPE DUMP tapes: every file of the real VM/370 minidisks
in ../shared/fixtures/cms/ dumped and loaded back with its records and
attributes; the blocks written decoded by the independent model in
tests/cmstape_layout.py; damaged tapes give typed errors naming the file,
the block and the offset."""

from __future__ import annotations

import datetime as dt
import random
import struct

import cmstape_layout as L
import pytest

from spoolkit.cms import (
    CMSFile,
    CMSRecords,
    open_minidisk,
    read_tapedump,
    read_vmfplc2,
    scan_tapedump,
    scan_vmfplc2,
    write_tapedump,
    write_vmfplc2,
)
from spoolkit.errors import ExistsError, FormatError, SpoolkitError, TruncatedError
from spoolkit.tape import open_tape

DISKS = ["cmsuser_191", "gcccms_201"]
WHEN = dt.datetime(2024, 3, 14, 15, 9, 26)
KINDS = {"vmfplc2": (write_vmfplc2, read_vmfplc2, scan_vmfplc2),
         "tapedump": (write_tapedump, read_tapedump, scan_tapedump)}


def disk_files(fixtures, name):
    with open_minidisk(str(fixtures / "cms" / f"{name}.cckd")) as md:
        return [CMSFile(f.fname, f.ftype, f.fmode, f.recfm, f.lrecl, f.datetime(), r)
                for f, r in md.read_all()]


def v_file(name, n, seed, hi=300, when=WHEN):
    r = random.Random(seed)
    recs = CMSRecords.from_iter(r.randbytes(r.randrange(1, hi)) for _ in range(n))
    return CMSFile(name, "DATA", "A1", "V", recs.longest, when, recs)


def f_file(name, n, lrecl, seed, when=WHEN):
    r = random.Random(seed)
    return CMSFile(name, "FIXED", "B2", "F", lrecl, when,
                   CMSRecords.from_iter(r.randbytes(lrecl) for _ in range(n)))


def minutes(d):
    return d.replace(second=0)


@pytest.fixture(params=DISKS)
def real_files(request, fixtures):
    return disk_files(fixtures, request.param)


# -- round trips ----------------------------------------------------------------------

@pytest.mark.parametrize("kind", list(KINDS))
def test_real_files_round_trip(tmp_path, real_files, kind):
    write, read, scan = KINDS[kind]
    tape = tmp_path / "t.aws"
    assert write(tape, real_files) == len(real_files)
    back = list(read(tape))
    # the VM/370 disks keep minutes; so do both tapes for such dates
    assert back == real_files
    assert [e.status.name for e in scan(tape)] == [f.name for f in real_files]


@pytest.mark.parametrize("kind", list(KINDS))
def test_real_files_het(tmp_path, real_files, kind):
    write, read, _ = KINDS[kind]
    tape = tmp_path / "t.het"
    write(tape, real_files)
    with open_tape(tape) as t:
        assert any(b.method for b in t if not b.is_tapemark)   # compressed blocks
    assert list(read(tape)) == real_files


def test_vmfplc2_blocks_decoded_independently(tmp_path, real_files):
    tape = tmp_path / "t.aws"
    write_vmfplc2(tape, real_files)
    blocks = L.aws_blocks(tape)
    assert blocks[-2:] == [None, None] and None not in blocks[:-2]
    got = L.decode_plc(blocks)
    assert len(got) == len(real_files)
    for f, t in zip(real_files, got):
        assert (t.fname, t.ftype, t.fmode, t.recfm, t.lrecl, t.records) == \
            (f.fname, f.ftype, f.fmode, f.recfm, f.lrecl, len(f.records))
        assert t.cut() == list(f.records)
        raw = len(f.records.data) + (2 * len(f.records) if f.recfm == "V" else 0)
        assert t.fields["numblk"] == raw // 4000
        assert t.fields["lastsz"] == -(-(raw % 4000) // 800)
        assert t.fields["dbc"] == t.fields["adbc"] == -(-raw // 800)
        assert (t.fields["wp"], t.fields["rp"], t.fields["items"]) == \
            (len(f.records) + 1, 1, len(f.records))
        # full blocks of 4005, the last a multiple of 800 plus the prefix
        assert all(s == 4005 for s in t.block_sizes[:-1])
        assert (t.block_sizes[-1] - 5) % 800 == 0
        assert len(t.block_sizes) == t.fields["numblk"] + (1 if t.fields["lastsz"] else 0)
        d = f.date
        assert t.fields["mmddhhmm"] == [d.month, d.day, d.hour, d.minute]
        assert t.fields["year"] == f"{d.year % 100:02d}"
        assert t.fields["adt"] == [d.year % 100, d.month, d.day, d.hour, d.minute, d.second]
        assert t.fields["flag"] == (0x08 if d.year >= 2000 else 0)


def test_tapedump_blocks_decoded_independently(tmp_path, real_files):
    tape = tmp_path / "t.aws"
    write_tapedump(tape, real_files)
    blocks = L.aws_blocks(tape)
    assert blocks[-2:] == [None, None] and None not in blocks[:-2]
    got = L.decode_dump(blocks)
    assert len(got) == len(real_files)
    for f, t in zip(real_files, got):
        assert (t.fname, t.ftype, t.fmode, t.recfm, t.lrecl, t.records) == \
            (f.fname, f.ftype, f.fmode, f.recfm, f.lrecl, len(f.records))
        assert t.fields["mode"] == f.fmode
        assert t.cut() == list(f.records)
        raw = len(f.records.data) + (2 * len(f.records) if f.recfm == "V" else 0)
        assert t.fields["dbc"] == len(t.block_sizes) == -(-raw // 800)
        assert t.data[raw:] == bytes(len(t.data) - raw)        # zero padded
        d = f.date
        assert t.fields["mmddhhmm"] == [d.month, d.day, d.hour, d.minute]
        assert t.fields["year"] == f"{d.year % 100:02d}"


def test_dates_to_the_precision_kept(tmp_path):
    files = [v_file("A", 3, 1), v_file("B", 2, 2, when=dt.datetime(1987, 12, 31, 23, 59, 58))]
    write_vmfplc2(tmp_path / "p.aws", files)
    assert [f.date for f in read_vmfplc2(tmp_path / "p.aws")] == [f.date for f in files]
    write_tapedump(tmp_path / "d.aws", files)
    assert [f.date for f in read_tapedump(tmp_path / "d.aws")] == \
        [minutes(f.date) for f in files]
    st = scan_vmfplc2(tmp_path / "p.aws")[1].status
    assert st.date == "1987-12-31 23:59:58"
    assert scan_tapedump(tmp_path / "d.aws")[1].status.date == "87-12-31 23:59"


@pytest.mark.parametrize("kind", list(KINDS))
def test_large_and_odd_files(tmp_path, kind):
    write, read, _ = KINDS[kind]
    files = [v_file("BIG", 5000, 3, hi=2000),                 # records span many blocks
             f_file("F1", 1, 1, 4),                             # one byte
             f_file("F4K", 7, 4000, 5),                         # exactly whole blocks
             f_file("WIDE", 3, 65535, 6),
             v_file("V1", 1, 7, hi=2),
             CMSFile("EMPTY", "FILE", "A1", "V", 1, WHEN, CMSRecords())]
    write(tmp_path / "t.aws", files)
    back = list(read(tmp_path / "t.aws"))
    want = files if kind == "vmfplc2" else [
        CMSFile(f.fname, f.ftype, f.fmode, f.recfm, f.lrecl, minutes(f.date), f.records)
        for f in files]
    assert back == want


def test_vmfplc2_more_than_65535_records(tmp_path):
    f = f_file("MANY", 70000, 1, 8)
    write_vmfplc2(tmp_path / "t.aws", [f])
    t = L.decode_plc(L.aws_blocks(tmp_path / "t.aws"))[0]
    assert t.records == 70000 and t.fields["items"] == 0xFFFF
    assert list(read_vmfplc2(tmp_path / "t.aws")) == [f]


def test_tapemarks_between_files_are_read_through(tmp_path):
    a, b = v_file("A", 40, 9), f_file("B", 30, 80, 10)
    for kind in KINDS:
        write, read, _ = KINDS[kind]
        write(tmp_path / "one.aws", [a], force=True)
        write(tmp_path / "two.aws", [b], force=True)
        with open_tape(tmp_path / "m.aws", "w", overwrite=True) as t:
            for name in ("one.aws", "two.aws"):
                for blk in L.aws_blocks(tmp_path / name)[:-2]:
                    t.write_block(blk)
                t.tapemark()                               # TAPE DUMP (WTM)
            t.tapemark()
        assert [f.name for f in read(tmp_path / "m.aws")] == [a.name, b.name]


def test_refuses_existing_tape(tmp_path):
    tape = tmp_path / "t.aws"
    write_vmfplc2(tape, [v_file("A", 3, 1)])
    before = tape.read_bytes()
    with pytest.raises(ExistsError):
        write_vmfplc2(tape, [v_file("B", 3, 2)])
    assert tape.read_bytes() == before
    write_tapedump(tape, [v_file("B", 3, 2)], force=True)
    assert [f.fname for f in read_tapedump(tape)] == ["B"]


def test_failed_write_leaves_no_tape(tmp_path):
    bad = CMSFile("BAD NAME", "X", "A1", "V", 1, WHEN, CMSRecords.from_iter([b"x"]))
    with pytest.raises(SpoolkitError):
        write_vmfplc2(tmp_path / "t.aws", [v_file("A", 3, 1), bad])
    assert list(tmp_path.iterdir()) == []


# -- damaged tapes --------------------------------------------------------------------

def rewrite(src, dst, edit):
    """dst: the blocks of src (plain AWS) after edit(list of blocks)."""
    blocks = edit(L.aws_blocks(src))
    with open_tape(dst, "w", overwrite=True) as t:
        for b in blocks:
            if b is None:
                t.tapemark()
            else:
                t.write_block(b)


def two_files(tmp_path, kind):
    files = [v_file("FIRST", 50, 11), v_file("SECOND", 400, 12)]
    KINDS[kind][0](tmp_path / "ok.aws", files, force=True)
    return files


def test_vmfplc2_truncated_file(tmp_path):
    two_files(tmp_path, "vmfplc2")
    # drop the last data block of SECOND
    rewrite(tmp_path / "ok.aws", tmp_path / "bad.aws", lambda b: b[:-3] + b[-2:])
    with pytest.raises(TruncatedError) as e:
        list(read_vmfplc2(tmp_path / "bad.aws"))
    assert "SECOND DATA A1" in str(e.value) and e.value.block is not None
    assert e.value.offset is not None


def test_vmfplc2_short_block_inside_file(tmp_path):
    two_files(tmp_path, "vmfplc2")

    def cut(b):
        b = list(b)
        b[-4] = b[-4][:1000]            # a data block of SECOND cut short
        return b
    rewrite(tmp_path / "ok.aws", tmp_path / "bad.aws", cut)
    with pytest.raises(SpoolkitError) as e:
        list(read_vmfplc2(tmp_path / "bad.aws"))
    assert "SECOND DATA A1" in str(e.value)
    assert e.value.block is not None and e.value.offset is not None


def test_vmfplc2_bad_prefix_and_header(tmp_path):
    two_files(tmp_path, "vmfplc2")

    def prefix(b):
        b = list(b)
        b[1] = b"\x02XXXX" + b[1][5:]
        return b
    rewrite(tmp_path / "ok.aws", tmp_path / "bad.aws", prefix)
    with pytest.raises(FormatError) as e:
        list(read_vmfplc2(tmp_path / "bad.aws"))
    assert e.value.block == 1 and "FIRST DATA A1" in str(e.value)

    def header(b):
        b = list(b)
        b[0] = b[0][:30]
        return b
    rewrite(tmp_path / "ok.aws", tmp_path / "bad.aws", header)
    with pytest.raises(TruncatedError) as e:
        list(read_vmfplc2(tmp_path / "bad.aws"))
    assert "PLCH block 0" in str(e.value)

    def recfm(b):
        b = list(b)
        b[0] = b[0][:35] + b"\xc1" + b[0][36:]
        return b
    rewrite(tmp_path / "ok.aws", tmp_path / "bad.aws", recfm)
    with pytest.raises(FormatError, match="record format X'C1'"):
        scan_vmfplc2(tmp_path / "bad.aws")


def test_wrong_record_length(tmp_path):
    for kind in KINDS:
        two_files(tmp_path, kind)
        hdr_block = 0 if kind == "vmfplc2" else None

        def lrecl(b, kind=kind, hdr_block=hdr_block):
            b = list(b)
            if kind == "vmfplc2":
                b[hdr_block] = b[hdr_block][:37] + struct.pack(">I", 10) + b[hdr_block][41:]
            else:
                i = next(k for k, x in enumerate(b) if x and x[4] == 0xD5)
                b[i] = b[i][:17] + struct.pack(">I", 10) + b[i][21:]
            return b
        rewrite(tmp_path / "ok.aws", tmp_path / "bad.aws", lrecl)
        with pytest.raises(FormatError) as e:
            list(KINDS[kind][1](tmp_path / "bad.aws"))
        assert "FIRST DATA A1" in str(e.value) and "LRECL" in str(e.value)
        assert e.value.block is not None and e.value.offset is not None


def test_tapedump_damage(tmp_path):
    two_files(tmp_path, "tapedump")
    # no CMSN block before the end
    rewrite(tmp_path / "ok.aws", tmp_path / "bad.aws",
            lambda b: [x for x in b if x is None or x[4] != 0xD5])
    with pytest.raises(TruncatedError, match="without their CMSN block"):
        list(read_tapedump(tmp_path / "bad.aws"))

    def short_n(b):
        b = list(b)
        i = next(k for k, x in enumerate(b) if x and x[4] == 0xD5)
        b[i] = b[i][:60]
        return b
    rewrite(tmp_path / "ok.aws", tmp_path / "bad.aws", short_n)
    with pytest.raises(TruncatedError, match="at least 87"):
        scan_tapedump(tmp_path / "bad.aws")

    def short_data(b):
        b = list(b)
        b[0] = b[0][:400]
        return b
    rewrite(tmp_path / "ok.aws", tmp_path / "bad.aws", short_data)
    with pytest.raises(FormatError, match="805 or 4101") as e:
        list(read_tapedump(tmp_path / "bad.aws"))
    # the file's name is in its CMSN block, after the data: block and offset say where
    assert e.value.block == 0 and e.value.offset == 0

    # too few records' bytes: a CMSN that claims more records
    def more(b):
        b = list(b)
        i = next(k for k, x in enumerate(b) if x and x[4] == 0xD5)
        b[i] = b[i][:11] + struct.pack(">H", 900) + b[i][13:]
        return b
    rewrite(tmp_path / "ok.aws", tmp_path / "bad.aws", more)
    with pytest.raises(SpoolkitError) as e:
        list(read_tapedump(tmp_path / "bad.aws"))
    assert "FIRST DATA A1" in str(e.value)


def test_tapedump_null_block_reads_as_zeros(tmp_path):
    f = f_file("SPARSE", 20, 80, 13)
    write_tapedump(tmp_path / "ok.aws", [f])

    def null(b):
        b = list(b)
        b[0] = b"\x02\xc3\xd4\xe2\xf0" + bytes(800)
        return b
    rewrite(tmp_path / "ok.aws", tmp_path / "n.aws", null)
    (back,) = read_tapedump(tmp_path / "n.aws")
    assert list(back.records)[:10] == [bytes(80)] * 10
    assert list(back.records)[10:] == list(f.records)[10:]


def test_not_a_vmfplc2_tape(tmp_path):
    with open_tape(tmp_path / "x.aws", "w") as t:
        t.write_block(b"HDR1" + bytes(76))
    with pytest.raises(FormatError, match="not a VMFPLC2 block") as e:
        scan_vmfplc2(tmp_path / "x.aws")
    assert e.value.block == 0 and e.value.offset == 0
    with pytest.raises(FormatError, match="not a TAPE DUMP block"):
        scan_tapedump(tmp_path / "x.aws")


@pytest.mark.parametrize("kind", list(KINDS))
def test_file_longer_than_a_read_run(tmp_path, kind):
    # 10 MB: more than one C read run (8 MB, 4096 blocks), a tapemark after it
    write, read, _ = KINDS[kind]
    files = [f_file("HUGE", 130_000, 80, 14), v_file("AFTER", 30, 15)]
    write(tmp_path / "t.aws", files)
    back = list(read(tmp_path / "t.aws"))
    assert [b.records for b in back] == [f.records for f in files]
    assert len(back[0].records) == 130_000
