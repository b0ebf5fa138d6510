"""Verbs that need tracks, given an FBA image: one typed error naming the
file, nothing written; what works on FBA images keeps working."""

from __future__ import annotations

import hashlib

import pytest

from spoolkit import create_dasd, create_fba, ddr, open_dasd
from spoolkit.backup.media import OpenedArchive, as_ref, exists
from spoolkit.cli import main
from spoolkit.cp.identify import NotAVolumeError
from spoolkit.cp.info import volume_info
from spoolkit.cp.volume import open_cp_volume
from spoolkit.dasd import DasdImage, FBAImage, require_ckd
from spoolkit.dasd import ddr as spkd
from spoolkit.errors import FormatError


@pytest.fixture(params=[None, "zlib"], ids=["FBA", "CFBA"])
def fba(request, tmp_path):
    path = tmp_path / "v.fba"
    create_fba(path, "3370", blocks=2400, volser="FBA001", compress=request.param).close()
    return path


def digest(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def refused(exc: pytest.ExceptionInfo[FormatError], path, what):
    msg = str(exc.value)
    assert exc.value.path == str(path)
    assert "FBA image" in msg and f"{what} needs a CKD volume" in msg


def test_require_ckd_narrows(tmp_path, fba):
    with create_dasd(tmp_path / "c.3390", "3390", cylinders=2) as ckd:
        assert require_ckd(ckd, "x") is ckd
    with open_dasd(fba) as img:
        assert isinstance(img, FBAImage) and not isinstance(img, DasdImage)
        with pytest.raises(FormatError) as exc:
            require_ckd(img, "a thing")
        refused(exc, fba, "a thing")
        assert "2400 blocks" in str(exc.value)
        # what every image offers still works on it
        assert img.info()["blocks"] == 2400 and img.volser == "FBA001"


def test_dumps_of_an_fba_image_are_refused(tmp_path, fba):
    with pytest.raises(FormatError) as exc:
        spkd.dump(fba, tmp_path / "s.aws")
    refused(exc, fba, "a volume dump")
    with pytest.raises(FormatError) as exc:
        ddr.dump(fba, tmp_path / "d.aws")
    refused(exc, fba, "a DDR dump")
    assert not (tmp_path / "s.aws").exists() and not (tmp_path / "d.aws").exists()


def test_restores_onto_an_fba_image_are_refused(tmp_path, fba):
    src = tmp_path / "c.3390"
    create_dasd(src, "3390", cylinders=2, volser="CKD001").close()
    spkd.dump(src, tmp_path / "s.aws")
    ddr.dump(src, tmp_path / "d.aws")
    before = digest(fba)
    with pytest.raises(FormatError) as exc:
        spkd.restore(tmp_path / "s.aws", fba)
    refused(exc, fba, "restoring a volume dump")
    with pytest.raises(FormatError) as exc:
        ddr.restore(tmp_path / "d.aws", fba)
    refused(exc, fba, "restoring a DDR dump")
    assert digest(fba) == before


def test_cp_volume_of_an_fba_image(fba):
    for opener in (open_cp_volume, volume_info):
        with pytest.raises(NotAVolumeError, match="FBA disk image"):
            opener(fba)


def test_archive_on_an_fba_extent_is_refused(fba):
    before = digest(fba)
    ref = as_ref(f"{fba}@0-1")
    with pytest.raises(FormatError) as exc:
        exists(ref)
    refused(exc, fba, "an archive on minidisk cylinders (IMAGE@FIRST-LAST)")
    with pytest.raises(FormatError) as exc, OpenedArchive(ref, "w"):
        pass
    refused(exc, fba, "an archive on minidisk cylinders (IMAGE@FIRST-LAST)")
    assert digest(fba) == before


@pytest.mark.parametrize("argv, what", [
    (["dasd", "tracks", "{img}"], "listing tracks"),
    (["dasd", "read", "{img}", "0", "0", "-o", "{out}"], "reading a track"),
    (["dasd", "dump", "{img}", "{out}"], "a DDR dump"),
    (["dasd", "dump", "{img}", "{out}", "--format", "spoolkit"], "a volume dump"),
])
def test_cli_track_verbs_on_an_fba_image(tmp_path, capsys, fba, argv, what):
    out = tmp_path / "out.bin"
    rc = main([a.format(img=fba, out=out) for a in argv])
    _, err = capsys.readouterr()
    assert rc == 2 and not out.exists()
    assert str(fba) in err and f"{what} needs a CKD volume" in err
    assert "Traceback" not in err and err.count("\n") == 1


def test_cli_info_of_an_fba_image_still_works(capsys, fba):
    assert main(["dasd", "info", str(fba), "--json"]) == 0
    assert '"blocks": 2400' in capsys.readouterr().out
