"""EBCDIC code pages: typed errors for text outside the code page, total decoding."""

from __future__ import annotations

import codecs

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from spoolkit import ebcdic
from spoolkit.errors import InvalidArgumentError


@pytest.mark.parametrize("cp", list(ebcdic.CODEPAGES))
def test_every_byte_decodes_and_round_trips(cp):
    data = bytes(range(256))
    text = ebcdic.decode(data, cp)
    assert len(text) == 256 and len(set(text)) == 256
    assert ebcdic.encode(text, cp) == data
    assert text.encode(ebcdic.codec_name(cp)) == data
    assert data.decode(ebcdic.codec_name(cp)) == text
    assert ebcdic.decode(memoryview(data), cp) == text


def test_037_matches_python_and_1047_differs_in_six_places():
    data = bytes(range(256))
    assert ebcdic.decode(data, "037") == data.decode("cp037")
    diff = [i for i in range(256) if ebcdic.decode(data[i:i + 1], "037")
            != ebcdic.decode(data[i:i + 1], "1047")]
    assert diff == [0x5F, 0xAD, 0xB0, 0xBA, 0xBB, 0xBD]


def test_encode_outside_code_page_names_character_and_field():
    with pytest.raises(InvalidArgumentError) as ei:
        ebcdic.encode("VOL\u20ac1", what="volser")
    assert str(ei.value) == ("volser: '\u20ac' (U+20AC) at character 4 has no code in "
                             "EBCDIC code page 037")


def test_codec_of_codec_name_raises_typed_error():
    # spool text and card files encode through codec_name's codec
    with pytest.raises(InvalidArgumentError, match=r"'\u2603' \(U\+2603\) at character 3"):
        "ab\u2603".encode(ebcdic.codec_name("1047"))
    enc = codecs.getincrementalencoder(ebcdic.codec_name("037"))()
    with pytest.raises(InvalidArgumentError):
        enc.encode("\U0001f600")
    # other error handlers keep their meaning
    assert "a\u20ac".encode(ebcdic.codec_name("037"), "replace") == b"\x81\x6f"


def test_spool_text_outside_code_page_is_typed():
    from spoolkit.spool.file import SpoolFile
    with pytest.raises(InvalidArgumentError, match="U\\+20AC"):
        SpoolFile.from_text("abc\nd\u20acf\n", owner="MAINT")


def test_plain_cp1047_stays_a_standard_codec():
    assert b"\xc1\xad".decode("cp1047") == "A["
    with pytest.raises(UnicodeEncodeError):
        "\u20ac".encode("cp1047")


def test_bad_codepage_is_typed():
    with pytest.raises(InvalidArgumentError, match="not one of 037, 1047, 273, 500, 1140"):
        ebcdic.encode("A", "875")


@pytest.mark.fuzz
@settings(max_examples=200, deadline=None)
@given(st.text(max_size=40), st.sampled_from(list(ebcdic.CODEPAGES)))
def test_encode_is_typed_or_round_trips(text, cp):
    try:
        data = ebcdic.encode(text, cp)
    except InvalidArgumentError as exc:
        assert "U+" in str(exc)
    else:
        assert ebcdic.decode(data, cp) == text


def test_disk_labels_refuse_text_outside_the_code_page(tmp_path):
    import spoolkit
    from spoolkit.dasd.ckd import vol1_data
    from spoolkit.errors import InvalidArgumentError
    with pytest.raises(InvalidArgumentError, match="volume serial"):
        spoolkit.create_dasd(tmp_path / "x.3390", "3390", "ЖA", cylinders=1)
    assert not (tmp_path / "x.3390").exists()
    with pytest.raises(InvalidArgumentError, match="owner"):
        vol1_data("A", owner="€")
    assert vol1_data("A")[41:51] == "HERCULES  ".encode("cp037")


@pytest.mark.parametrize("cp", ["273", "500", "1140"])
def test_python_pages_match_python_and_keep_037_controls(cp):
    data = bytes(range(256))
    assert ebcdic.decode(data, cp) == data.decode("cp" + cp)
    assert ebcdic.decode(data[:0x40], cp) == ebcdic.decode(data[:0x40], "037")
    assert "[]!|".encode(ebcdic.codec_name(cp)) == "[]!|".encode("cp" + cp)


def test_500_and_1140_differ_from_037_where_ibm_says():
    assert ebcdic.decode(b"\x4a\x5a\x4f\x5f", "500") == "[]!^"
    assert ebcdic.decode(b"\x4a\x5a\x4f\x5f", "037") == "¢!|¬"
    assert ebcdic.encode("\u20ac", "1140") == b"\x9f"
    with pytest.raises(InvalidArgumentError, match="code page 037"):
        ebcdic.encode("\u20ac", "037")
