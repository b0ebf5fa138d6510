"""Hypothesis strategies for spool files (shared by the spool tests)."""

from __future__ import annotations

import datetime as dt

from hypothesis import strategies as st

from spoolkit.spool import SpoolFile

USERID = st.from_regex(r"[A-Z0-9@#$]{1,8}", fullmatch=True)
NAME8 = st.from_regex(r"[A-Z0-9@#$]{1,8}", fullmatch=True)
NAME4 = st.from_regex(r"[A-Z0-9@#$]{1,4}", fullmatch=True)
FNAME = st.text(st.sampled_from("ABCXYZ0189$#@.-_ abc"), max_size=12).map(str.rstrip)
TAGTEXT = st.text(st.sampled_from("RSCS NODE1 USERA 50 ,.()*+-=abc"), max_size=136).map(
    str.rstrip)
OPCODES = [0x01, 0x09, 0x11, 0x19, 0x89, 0xE1, 0x0B, 0x13, 0x1B, 0x8B, 0xE3, 0x83, 0x41,
           0x81, 0x02, 0x63, 0x03, 0x5A]
CREATED = st.datetimes(min_value=dt.datetime(1972, 1, 1), max_value=dt.datetime(2099, 12, 31),
                       timezones=st.just(dt.timezone.utc))


def record():
    return st.tuples(
        st.sampled_from(OPCODES),
        st.one_of(st.binary(max_size=150), st.binary(max_size=4004),
                  st.sampled_from([b"", b"\x40", b"\x40\x40\x40", b"\xc1\x40\x40"])),
    )


@st.composite
def spoolfiles(draw, max_records=60, spoolid=True):
    recs = draw(st.lists(record(), max_size=max_records))
    kind = draw(st.sampled_from(["RDR", "PRT", "PUN", "CON", "NSS", "DCSS", "DCSSG", "IMG",
                                 "UCR", "NLS", "TRF"]))
    hold = draw(st.sampled_from(["none", "user", "system", "both"]))
    return SpoolFile(
        type=kind,
        owner=draw(USERID),
        spoolid=draw(st.integers(1, 9999)) if spoolid else None,
        origin=(draw(USERID), draw(st.one_of(st.just(""), NAME8))),
        class_=draw(st.sampled_from("AZ09*")),
        form=draw(NAME8), dest=draw(NAME8), dist=draw(st.one_of(st.just(""), NAME8)),
        fname=draw(FNAME), ftype=draw(FNAME),
        records=recs,
        lrecl=draw(st.one_of(st.none(), st.just(4096))),
        copies=draw(st.integers(1, 255)), hold=hold,
        keep=draw(st.booleans()), msg=draw(st.booleans()), dump=draw(st.booleans()),
        created=draw(CREATED), tag=draw(TAGTEXT),
        chars=draw(st.lists(NAME4, max_size=4)), fcb=draw(st.one_of(st.just(""), NAME4)),
        modify=draw(st.one_of(st.just(""), NAME4)), modify_trc=draw(st.integers(0, 3)),
        flash=draw(st.one_of(st.just(""), NAME4)), flash_count=draw(st.integers(0, 255)),
    )
