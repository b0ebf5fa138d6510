"""``tape get --codepage``: text output in a chosen EBCDIC code page."""

from __future__ import annotations

import pytest

from spoolkit import ebcdic
from spoolkit.cli import main
from spoolkit.tape import LabelledWriter, open_tape

LINES = ["IF A[1] != B[2] | C ^ D THEN", "SAY 'HELLO'", "AE: ÄÖÜ ß {x}"]


def _tape(path, codepage):
    recs = [ebcdic.encode(line, codepage).ljust(80, b"\x40") for line in LINES]
    with open_tape(path, "w") as t:
        w = LabelledWriter(t, "CP0001")
        w.begin("TEXT.DATA", "FB", 80, 240)
        w.write(b"".join(recs))
        w.close()


@pytest.mark.parametrize("codepage", ["500", "1047", "273"])
def test_get_decodes_in_the_code_page(tmp_path, capsys, codepage):
    tape = tmp_path / f"t{codepage}.aws"
    _tape(tape, codepage)
    out = tmp_path / "out.txt"
    assert main(["tape", "get", str(tape), "1", str(out), "--codepage", codepage]) == 0
    assert out.read_text(encoding="utf-8").splitlines() == LINES
    # read as 037 (the --ascii default) the same records say something else
    other = tmp_path / "other.txt"
    assert main(["tape", "get", str(tape), "1", str(other), "--ascii"]) == 0
    assert other.read_text(encoding="utf-8").splitlines() != LINES


@pytest.mark.hercules
def test_037_text_equals_hetget(fixtures, herc, tmp_path):
    theirs, ours = tmp_path / "h.txt", tmp_path / "o.txt"
    herc("hetget", "-a", "-s", fixtures / "j90009.het", theirs, 1)
    assert main(["tape", "get", str(fixtures / "j90009.het"), "1", str(ours),
                 "--codepage", "037"]) == 0
    assert ours.read_bytes() == theirs.read_bytes()


def test_unknown_code_page_fails_before_any_output(tmp_path, capsys):
    tape = tmp_path / "t.aws"
    _tape(tape, "037")
    out = tmp_path / "out.txt"
    assert main(["tape", "get", str(tape), "1", str(out), "--codepage", "875"]) == 2
    err = capsys.readouterr().err
    assert "875" in err and "037, 1047" in err and err.count("\n") == 1
    assert not out.exists()
