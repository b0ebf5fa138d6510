"""vmur raw reader pages: export/import, the layout vmur reads, kind detection."""

from __future__ import annotations

import struct
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from spool_strategies import spoolfiles

from spoolkit.errors import SpoolkitError, TruncatedError, UnsupportedError
from spoolkit.spool import SpoolFile, vmur

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
import pyspool  # noqa: E402


def vmur_receive_binary(raw: bytes):
    """What `vmur receive` does in binary mode (convert_sfdata), restated:
    walk SPRECNUM entries per page, skip the NOP and immediates, pad each
    data record to the record length at X'FE0' of the first page."""
    reclen = struct.unpack_from(">H", raw, 0xFE0)[0]
    out = []
    for p in range(0, len(raw), 4096):
        count = struct.unpack_from(">I", raw, p + 12)[0]
        pos = p + 16
        for _ in range(count):
            op, flag, n = struct.unpack_from(">B3xBxH", raw, pos)
            if flag & 0x10:
                pos += 8
                continue
            step = struct.unpack_from(">H", raw, pos + 10)[0]
            if op != 0x03:
                out.append(raw[pos + 12:pos + 12 + n].ljust(reclen, b"\x40"))
            pos += step
    return out


def test_export_layout_is_what_vmur_reads():
    recs = [(0x41, f"CARD {i}".encode("cp037")) for i in range(300)] + [(0x0B, b"")]
    sf = SpoolFile(type="PUN", owner="MAINT", spoolid=4321, records=recs, tag="HELLO",
                   origin=("RSCS", "NODEA"))
    raw = vmur.export_raw(sf)
    assert len(raw) % 4096 == 0 and len(raw) > 4096
    for p in range(0, len(raw), 4096):
        assert raw[p:p + 12] == bytes(12)                     # no links, no sequence
        assert struct.unpack_from(">H", raw, p + 0xFF8)[0] == 4321
        assert raw[p + 0xFD4:p + 0xFD8] == bytes(4)           # no CRC in the reader form
    assert struct.unpack_from(">H", raw, 0xFE0)[0] == 80
    assert vmur_receive_binary(raw) == [d.ljust(80, b"\x40") for _, d in recs if d]
    assert vmur.detect_raw(raw) is None


@given(spoolfiles(max_records=40))
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_raw_round_trip(sf):
    if sf.dump:
        with pytest.raises(UnsupportedError):
            vmur.export_raw(sf)
        return
    raw = vmur.export_raw(sf)
    keep = {k: v for k, v in sf.attrs().items()
            if k not in ("spoolid", "origin", "lrecl", "tag", "record_count")}
    back = vmur.import_raw(raw, **keep)
    assert back.spoolid == sf.spoolid and back.origin == sf.origin
    assert back.lrecl == sf.lrecl and back.tag == sf.tag
    assert back == sf
    assert pyspool.py_unpack(raw, check_crc=False)[1] == list(sf.records())


def test_import_defaults_and_errors():
    sf = SpoolFile(type="PRT", owner="LINUX1", spoolid=12, records=[(0x09, b"\xc1")],
                   origin=("MAINT", ""))
    back = vmur.import_raw(vmur.export_raw(sf))
    assert back.type == "RDR" and back.owner == "MAINT" and back.spoolid == 12
    with pytest.raises(TruncatedError):
        vmur.import_raw(b"\x00" * 5000)
    with pytest.raises(TruncatedError):
        vmur.import_raw(b"")
    dump = b"\x00\x00\x00\x01" + bytes(4092)
    assert vmur.detect_raw(dump) == "VMDUMP"
    with pytest.raises(UnsupportedError, match="VMDUMP"):
        vmur.import_raw(dump, owner="A")


def test_detect_kind():
    inmr01 = b"\x40\x20" + "INMR01".encode("cp037") + b"\x00" * 10
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


@pytest.mark.fuzz
@given(st.binary(min_size=4096, max_size=8192))
@settings(max_examples=200, deadline=None,
          suppress_health_check=[HealthCheck.large_base_example, HealthCheck.too_slow])
def test_fuzz_import_raw(data):
    data = bytes(4) + data[4:len(data) // 4096 * 4096]
    try:
        vmur.detect_raw(data)
        vmur.import_raw(data, owner="FUZZ")
    except SpoolkitError:
        pass
