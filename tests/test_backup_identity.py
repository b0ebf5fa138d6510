"""DUMP writes the same archive bytes whichever encoder runs: the SHA-256 of
deterministic dumps (captured from the pure-Python block encoder before the C
encoder existed) and a byte-for-byte comparison with that Python encoder,
kept here as the reference."""

from __future__ import annotations

import hashlib

import pytest
from archive_golden import TARGETS, PiecesSource, dump_bytes, make_volume, volume_source

#: captured with ``python tests/archive_golden.py`` on the pure-Python encoder
GOLDEN = {
    "volume-aws": "c8c4fac2c1bf33c3b68b82b1ff920a758d18119abbb4e8417fe037c19a1bc487",
    "pieces-aws": "921a948a303b698f21f890c6b2e70f82a7c8b8e0597496f72ea658c6dd1c5a49",
    "volume-aws4k": "a8bfb8f196475a7abfa8bce36efee3da541955167011f26da3c3770c7c12646c",
    "pieces-aws4k": "840e4e6cd9cc6bdfe4a49503d3981f91b5559dd36697f938010e6601481b41b9",
    "volume-het": "1286a4353ec2e91ba979ee1788c69ba2967b18c4cf84c4bf82474f89bbb29de5",
    "pieces-het": "15114e7d0906d1c239c7448548cdc7a95a7138cfa65b86477eb0078267ef2476",
    "volume-hetbz": "5645d86be24de55fa2ad584cff846f871542488dabefc8547d056aa8b0c6a77b",
    "pieces-hetbz": "f9c6a9ffe33c50c9314c65f983e76f2c9db750d781e443f7b9062ff64f511a3d",
    "volume-fkt": "73ae142a380fa412311fb4fc48a0320cef1b039f7dc8d10c40f5ddf7d0add3e9",
    "pieces-fkt": "b5084c268aafaa125c4e1d7c244bcd47befb02b22f5d835c8fa32dcb7f9b20e0",
    "volume-mdisk": "f2dd5100324512559e26532ecb2ccc42a08ac471f29f8defa5f2c222edb4ef98",
    "pieces-mdisk": "cdf5f63f1f1732381630052ed54f9e3437c46b55e34997b2f693d53297f082cb",
}


@pytest.fixture(scope="module")
def volume(tmp_path_factory):
    return make_volume(tmp_path_factory.mktemp("golden") / "src.3390")


@pytest.mark.parametrize("target", list(TARGETS))
@pytest.mark.parametrize("label", ["volume", "pieces"])
def test_dump_matches_golden(tmp_path, volume, label, target):
    src = volume_source(volume) if label == "volume" else PiecesSource()
    try:
        data = dump_bytes(src, tmp_path, target)
    finally:
        if hasattr(src, "close"):
            src.close()
    assert hashlib.sha256(data).hexdigest() == GOLDEN[f"{label}-{target}"]
