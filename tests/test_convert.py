"""spoolkit.convert and the CLI verbs ``dasd copy`` / ``dasd check``."""

from __future__ import annotations

import json
import os
import struct

import pytest

import spoolkit
from spoolkit.cli import main
from spoolkit.dasd import open_dasd
from spoolkit.dasd.sample import fill_volume
from spoolkit.errors import CompressionError, InvalidArgumentError


@pytest.fixture(scope="module")
def vol(tmp_path_factory):
    d = tmp_path_factory.mktemp("conv")
    path = d / "v.3380"
    with spoolkit.create_dasd(path, "3380", "CONV01", cylinders=25) as img:
        fill_volume(img, seed=9)
    return path


def test_workers_do_not_change_output(vol, tmp_path):
    outs = []
    for j in (1, 2, 4):
        out = tmp_path / f"w{j}.cckd"
        done = []
        r = spoolkit.convert(vol, out, compress="zlib", workers=j, progress=done.append)
        assert sum(done) == r["tracks"] == 25 * 15
        outs.append(out.read_bytes())
    assert outs[0] == outs[1] == outs[2]


def test_cli_copy_variants(vol, tmp_path, capsys):
    z = tmp_path / "z.cckd"
    assert main(["dasd", "copy", str(vol), str(z), "-z", "-j", "2", "--json"]) == 0
    r = json.loads(capsys.readouterr().out)
    assert r["format"] == "CCKD" and r["bytes_out"] == z.stat().st_size
    b = tmp_path / "b.cckd"
    assert main(["dasd", "copy", str(z), str(b), "--bzip2", "--level", "9"]) == 0
    with open(b, "rb") as f:
        f.seek(512 + 45)
        assert f.read(1) == b"\x02"  # cmp_algo bzip2
    c64 = tmp_path / "c.cckd64"
    assert main(["dasd", "copy", str(b), str(c64), "--cckd64"]) == 0
    assert c64.read_bytes()[:8] == b"CKD_C064"
    back = tmp_path / "back.3380"
    assert main(["dasd", "copy", str(c64), str(back), "--uncompressed"]) == 0
    assert back.read_bytes() == vol.read_bytes()
    capsys.readouterr()
    assert main(["dasd", "check", str(c64), "--level", "3", "--json"]) == 0
    rep = json.loads(capsys.readouterr().out)
    assert rep["ok"] and rep["format"] == "CKD_C064"
    assert main(["dasd", "info", str(c64), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["volser"] == "CONV01"


def test_failed_copy_leaves_nothing(vol, tmp_path):
    src = tmp_path / "s.cckd"
    spoolkit.convert(vol, src, compress="zlib")
    raw = bytearray(src.read_bytes())
    l2 = struct.unpack_from("<I", raw, 1024)[0]
    off, ln, _ = struct.unpack_from("<IHH", raw, l2 + 8 * 40)
    raw[off + 10:off + 30] = b"\xee" * 20  # break the zlib stream of track 40
    src.write_bytes(bytes(raw))
    dst = tmp_path / "out.3380"
    before = set(os.listdir(tmp_path))
    with pytest.raises(CompressionError) as ei:
        spoolkit.convert(src, dst)
    assert ei.value.track == (2, 10)
    assert set(os.listdir(tmp_path)) == before
    with pytest.raises(CompressionError):
        spoolkit.convert(src, tmp_path / "out.cckd", compress="zlib")
    assert set(os.listdir(tmp_path)) == before
    assert main(["dasd", "copy", str(src), str(dst)]) == 2


def test_same_file_refused(vol):
    with pytest.raises(InvalidArgumentError):
        spoolkit.convert(vol, vol, compress="zlib")


def test_create_dasd_options(tmp_path):
    with spoolkit.create_dasd(tmp_path / "a.cckd", "3390", "OPT001", cylinders=5,
                              compress="bzip2", level=9) as d:
        assert d.info()["compression"] == "bzip2"
        assert d.volser == "OPT001"
    with spoolkit.create_dasd(tmp_path / "b.cckd64", "3380", "OPT002", cylinders=5,
                              cckd64=True) as d:
        assert d.info()["format"] == "CCKD64"
    with open_dasd(tmp_path / "b.cckd64") as d:
        assert d.volser == "OPT002"
    with pytest.raises(InvalidArgumentError):
        spoolkit.create_dasd(tmp_path / "c.cckd", "3390", cylinders=5, colour="red")


def test_plain_to_plain_drops_stale_bytes(vol, tmp_path):
    src = tmp_path / "stale.3380"
    src.write_bytes(vol.read_bytes())
    with open(src, "r+b") as f:  # junk after track 0's EOT, as Hercules may leave it
        f.seek(512 + 400)
        f.write(b"\x77" * 64)
    out = tmp_path / "copy.3380"
    spoolkit.convert(src, out)
    assert out.read_bytes() == vol.read_bytes()


def test_shadow_on_plain_ckd_refused(vol, tmp_path):
    with pytest.raises(InvalidArgumentError, match="compressed"):
        open_dasd(vol, sf=str(tmp_path / "x_*.3380"))


def test_passthrough_cckd_to_cckd64_and_back(vol, tmp_path):
    z = tmp_path / "a.cckd"
    spoolkit.convert(vol, z, compress="zlib")
    z64 = tmp_path / "a.cckd64"
    spoolkit.convert(z, z64, cckd64=True)  # stored images copied, not recompressed
    again = tmp_path / "b.cckd"
    spoolkit.convert(z64, again, compress="zlib")
    assert again.read_bytes() == z.read_bytes()
    back = tmp_path / "back.3380"
    spoolkit.convert(z64, back)
    assert back.read_bytes() == vol.read_bytes()
    # a corrupt stored image is caught even when copied as it is
    raw = bytearray(z.read_bytes())
    l2 = struct.unpack_from("<I", raw, 1024)[0]
    off, ln, _ = struct.unpack_from("<IHH", raw, l2 + 8 * 40)
    raw[off + 10:off + 30] = b"\xee" * 20
    z.write_bytes(bytes(raw))
    with pytest.raises(CompressionError):
        spoolkit.convert(z, tmp_path / "c.cckd64", cckd64=True)
    assert not (tmp_path / "c.cckd64").exists()
    # recompressing at another level is not a copy
    spoolkit.convert(z64, tmp_path / "d.cckd", compress="zlib", level=9)
