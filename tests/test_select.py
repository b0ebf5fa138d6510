"""Spool file selection."""

from __future__ import annotations

import datetime as dt

import pytest

from spoolkit.errors import InvalidArgumentError
from spoolkit.spool import Selection, SpoolFile
from spoolkit.spool.select import parse_ranges

T = dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=dt.timezone.utc)
A = SpoolFile(owner="MAINT", spoolid=12, type="PRT", class_="A", form="STD1", dest="PRT1",
              created=T, hold="user")
B = SpoolFile(owner="OPER", spoolid=400, type="NSS", class_="R", created=T + dt.timedelta(1))


@pytest.mark.parametrize("sel,expect", [
    (Selection(), [12, 400]),
    (Selection(owner="maint"), [12]),
    (Selection(owner=["OPER", "X"]), [400]),
    (Selection(spoolid="1-12"), [12]),
    (Selection(spoolid=[(13, 9999)]), [400]),
    (Selection(spoolid=400), [400]),
    (Selection(type="PRT,PUN"), [12]),
    (Selection(class_="R"), [400]),
    (Selection(form="STD1", dest="PRT1"), [12]),
    (Selection(since=T + dt.timedelta(hours=1)), [400]),
    (Selection(until=T), [12]),
    (Selection(sdf=True), [400]),
    (Selection(sdf=False), [12]),
    (Selection(hold=True), [12]),
    (Selection(hold=False), [400]),
    (Selection(hold="system"), []),
    (Selection(owner="MAINT", class_="R"), []),
])
def test_match(sel, expect):
    assert [sf.spoolid for sf in (A, B) if sel.match(sf)] == expect
    assert [sf.spoolid for sf in (A, B) if sel(sf)] == expect


def test_bad_selection():
    assert parse_ranges("1-3, 7") == ((1, 3), (7, 7))
    for bad in ("0-3", "5-2", "x", "1-10000"):
        with pytest.raises(InvalidArgumentError):
            parse_ranges(bad)
    with pytest.raises(InvalidArgumentError):
        Selection(since=dt.datetime(2024, 1, 1))
