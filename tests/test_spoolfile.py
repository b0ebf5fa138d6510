"""The SpoolFile model: validation, records, copies, text rendering, code pages."""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess

import pytest

from spoolkit import ebcdic
from spoolkit.errors import InvalidArgumentError, UnsupportedError
from spoolkit.spool import SpoolFile
from spoolkit.spool.records import Records


def e(text):
    return text.encode("cp037")


@pytest.mark.parametrize("attr, value", [
    ("spoolid", 0), ("spoolid", 10000), ("spoolid", "12"), ("type", "XYZ"),
    ("owner", ""), ("owner", "TOOLONGID"), ("owner", "BAD USER"), ("origin", ("A", "NODE 1")),
    ("origin", "A B"), ("class_", "AB"), ("class_", "%"), ("form", "TOOLONGFORM"),
    ("dest", ""), ("dist", "ABCDEFGHI"), ("fname", "X" * 13), ("ftype", "A\tB"),
    ("fname", "€uro"), ("copies", 0), ("copies", 256), ("hold", "yes"), ("keep", 1),
    ("msg", "no"), ("dump", None), ("created", dt.datetime(2024, 1, 1)),
    ("created", "2024-01-01"), ("tag", "T" * 137), ("chars", ["A", "B", "C", "D", "E"]),
    ("chars", ["TOOLONG"]), ("fcb", "FCB12"), ("modify_trc", 4), ("flash_count", 256),
    ("lrecl", 0), ("lrecl", 40000), ("record_count", 5),
])
def test_invalid_attribute_names_it(attr, value):
    kw = {"owner": "MAINT", "records": [(0x09, b"\xc1")]}
    kw[attr] = value
    with pytest.raises(InvalidArgumentError) as exc:
        SpoolFile(**kw)
    assert str(exc.value).startswith(attr.rstrip("_") if attr != "class_" else "class_")


def test_defaults_and_normalisation():
    sf = SpoolFile(owner="maint", type="pun", records=[(0x41, e("CARD"))],
                   created=dt.datetime(2024, 5, 6, 7, 8, 9, 123456,
                                       tzinfo=dt.timezone(dt.timedelta(hours=2))))
    assert sf.owner == "MAINT" and sf.type == "PUN" and sf.origin == ("MAINT", "")
    assert sf.dist == "MAINT" and sf.form == "STANDARD" and sf.dest == "OFF"
    assert sf.lrecl == 80 and sf.record_count == 1 and sf.copies == 1 and sf.hold == "none"
    assert sf.created == dt.datetime(2024, 5, 6, 5, 8, 9, 123456, tzinfo=dt.timezone.utc)
    assert sf.created.tzinfo is dt.timezone.utc
    assert SpoolFile(owner="A").lrecl == 132
    assert SpoolFile(owner="A", type="NSS", records=[(2, b"\x00" * 4004)]).lrecl == 4004


def test_lrecl_must_cover_records():
    with pytest.raises(InvalidArgumentError, match="lrecl"):
        SpoolFile(owner="A", type="PUN", records=[(0x41, e("X" * 81))], lrecl=80)
    assert SpoolFile(owner="A", type="PUN", records=[(0x41, e("X" * 81))]).lrecl == 81


def test_trailing_blanks_removed_as_cp_does():
    sf = SpoolFile(owner="A", type="PUN",
                   records=[(0x41, e("ABC     ")), (0x41, e("    ")), (0x41, b""),
                            (0x41, e(" X"))])
    assert list(sf.records()) == [(0x41, e("ABC")), (0x41, e(" ")), (0x41, b""),
                                  (0x41, e(" X"))]
    padded = list(sf.records(pad=True))
    # every data record is padded, a 0-byte one too, as vmur receive pads it
    assert padded[0] == (0x41, e("ABC".ljust(80))) and padded[2] == (0x41, e(" " * 80))
    # immediate CCWs and NOPs are no data records: left as they are
    ctl = SpoolFile(owner="A", type="PRT", records=[(0x0B, b""), (0x03, e("NOTE")),
                                                    (0x09, e("L"))])
    assert list(ctl.records(pad=True)) == [(0x0B, b""), (0x03, e("NOTE")),
                                           (0x09, e("L".ljust(132)))]


def test_records_are_compact():
    sf = SpoolFile(owner="A", records=[(9, b"\xc1\xc2"), (0x0B, b""), (9, b"\xc3")])
    block = sf.packed_records()
    assert isinstance(block, Records)
    assert block.data == b"\xc1\xc2\xc3" and block.ops == b"\x09\x0b\x09"
    assert list(block.ends) == [2, 2, 3]
    with pytest.raises(InvalidArgumentError, match="record 1"):
        SpoolFile(owner="A", records=[(9, b"x"), (300, b"y")])
    with pytest.raises(InvalidArgumentError, match="record 0"):
        SpoolFile(owner="A", records=[(9,)])


def test_with_attrs_and_equality():
    sf = SpoolFile(owner="A", spoolid=7, records=[(9, b"\xc1")], tag="HELLO")
    other = sf.with_attrs(class_="B", hold="user")
    assert other.class_ == "B" and other.hold == "user" and other.spoolid == 7
    assert list(other.records()) == list(sf.records())
    assert other != sf and other.with_attrs(class_="A", hold="none") == sf
    assert sf.with_attrs(records=[(9, b"\xc2")]) != sf
    with pytest.raises(InvalidArgumentError, match="copies"):
        sf.with_attrs(copies=0)
    with pytest.raises(InvalidArgumentError, match="colour"):
        sf.with_attrs(colour="red")
    meta = SpoolFile(owner="A", spoolid=7, records=None, record_count=1)
    assert not meta.has_records
    with pytest.raises(UnsupportedError):
        list(meta.records())


def test_tag_bytes():
    sf = SpoolFile(owner="A", tag="NODE1 USER1  ")
    assert sf.tag == "NODE1 USER1"
    assert sf.tag_bytes() == e("NODE1 USER1").ljust(136, b"\x40")


# -- rendering with real carriage control ------------------------------------

SKIP1_IMM, SPACE1_IMM, SPACE2_IMM, SPACE3_IMM = 0x8B, 0x0B, 0x13, 0x1B
W_NOSPACE, W_SP1, W_SP2, W_SP3, W_SKIP1, W_SKIP2 = 0x01, 0x09, 0x11, 0x19, 0x89, 0x91


def printfile(recs):
    return SpoolFile(owner="A", type="PRT", records=[(op, e(t)) for op, t in recs])


def test_render_asa_from_write_space_ccws():
    sf = printfile([(SKIP1_IMM, ""), (W_SP1, "TITLE"), (W_SP2, "LINE A"), (W_SP3, "LINE B"),
                    (W_SKIP1, "LINE C"), (W_SP1, "PAGE 2"), (W_NOSPACE, "UNDER"),
                    (W_SP1, "_____"), (W_SKIP2, "END")])
    assert sf.render_text(asa=True) == (
        "1TITLE\n LINE A\n0LINE B\n-LINE C\n1PAGE 2\n UNDER\n+_____\n END\n")
    assert sf.render_text() == (
        "\fTITLE\nLINE A\n\nLINE B\n\n\nLINE C\n\fPAGE 2\nUNDER\n_____\nEND\n")


def test_render_immediate_spaces_accumulate():
    sf = printfile([(W_NOSPACE, "A"), (SPACE3_IMM, ""), (SPACE2_IMM, ""), (W_NOSPACE, "B"),
                    (SPACE1_IMM, ""), (W_NOSPACE, "C")])
    # 5 spaces before B: ASA can say at most 3, so blank lines take the rest
    assert sf.render_text(asa=True) == " A\n \n \n-B\n C\n"
    assert sf.render_text() == "A\n\n\n\n\nB\nC\n"


def test_render_ignores_control_orders_and_nops():
    sf = printfile([(0x63, "\x00FCB"), (0x03, "note"), (0xFB, ""), (W_SP1, "ONLY")])
    assert sf.render_text(asa=True) == " ONLY\n"


def test_asa_text_round_trip():
    text = "1HEADER\n \n0DOUBLE\n-TRIPLE\n+OVERPRINT\n2CHANNEL 2\nCCHANNEL 12\n LAST\n"
    sf = SpoolFile.from_text(text, asa=True, owner="A")
    assert sf.render_text(asa=True) == text
    ops = [op for op, _ in sf.records()]
    assert ops[:2] == [SKIP1_IMM, W_NOSPACE] and 0xE3 in ops
    with pytest.raises(InvalidArgumentError, match="line 2"):
        SpoolFile.from_text(" ok\nXbad\n", asa=True, owner="A")


def test_plain_text_round_trip():
    text = "FIRST\nSECOND\n\fNEW PAGE\n"
    sf = SpoolFile.from_text(text, owner="A")
    assert sf.render_text() == text
    assert sf.render_text(asa=True) == " FIRST\n SECOND\n1NEW PAGE\n"


def test_punch_cards():
    sf = SpoolFile.from_cards("//JOB CARD\n  DATA [X]\n", owner="A", codepage="1047")
    assert sf.type == "PUN" and sf.lrecl == 80
    assert list(sf.records())[1] == (0x41, "  DATA [X]".encode("cp1047"))
    out = sf.render_text(codepage="1047")
    assert out.splitlines() == ["//JOB CARD".ljust(80), "  DATA [X]".ljust(80)]
    # 037 reads 1047's brackets as other characters
    assert "[" not in sf.render_text(codepage="037")
    deck = SpoolFile.from_cards(e("A" * 80 + "B" * 80), owner="A")
    assert [d for _, d in deck.records()] == [e("A" * 80), e("B" * 80)]
    with pytest.raises(UnsupportedError):
        SpoolFile(owner="A", type="NSS").render_text()
    with pytest.raises(InvalidArgumentError, match="codepage"):
        sf.render_text(codepage="875")


def test_cp1047_codec():
    table = bytes(range(256))
    text = table.decode("cp1047")
    assert text.encode("cp1047") == table
    assert ebcdic.encode("[]^¬", "1047") == b"\xad\xbd\x5f\xb0"
    assert ebcdic.encode("[]^¬", "037") == b"\xba\xbb\xb0\x5f"
    assert ebcdic.decode(b"\xc1", "IBM1047") == "A"
    iconv = shutil.which("iconv")
    if iconv:
        ref = subprocess.run([iconv, "-f", "IBM1047", "-t", "UTF-8"], input=table,
                             capture_output=True, check=True).stdout.decode()
        assert ref == text
