"""An independent model of VMFPLC2 and CMS TAPE DUMP tapes for the tests:
AWS chunks read straight from the image file, blocks decoded field by field
from the layouts (Hercules vmfplc2.c FST / CMS structs; VM/370 DMSTPE
TAPEBUF, FSTSAVE and IOBUFF), records cut from the data stream.  It imports
nothing of spoolkit's tape or CMS code."""

from __future__ import annotations

import struct
from dataclasses import dataclass, field


def aws_blocks(path):
    """[bytes, or None for a tapemark] of a plain AWS image (no compression)."""
    data = open(path, "rb").read()
    out, pos, cur = [], 0, bytearray()
    while pos < len(data):
        clen, _prev, f1, f2 = struct.unpack_from("<HHBB", data, pos)
        pos += 6
        assert f2 == 0 and not f1 & 0x03, f"compressed or odd chunk at {pos - 6}"
        if f1 & 0x40:
            out.append(None)
            continue
        cur += data[pos:pos + clen]
        pos += clen
        if f1 & 0x20:
            out.append(bytes(cur))
            cur = bytearray()
    assert not cur
    return out


def ebc(b):
    return b.decode("cp037")


def unbcd(b):
    return (b >> 4) * 10 + (b & 15)


@dataclass
class TapeFile:
    fname: str
    ftype: str
    fmode: str
    recfm: str
    lrecl: int
    records: int
    fields: dict = field(default_factory=dict)
    data: bytes = b""
    block_sizes: list = field(default_factory=list)

    def cut(self):
        """The records from the data stream."""
        if self.recfm == "F":
            return [self.data[i * self.lrecl:(i + 1) * self.lrecl] for i in range(self.records)]
        out, pos = [], 0
        for _ in range(self.records):
            n = int.from_bytes(self.data[pos:pos + 2], "big")
            assert 1 <= n <= self.lrecl, (n, self.lrecl)
            out.append(self.data[pos + 2:pos + 2 + n])
            pos += 2 + n
        return out


def decode_plc(blocks):
    """Files of a VMFPLC2 tape: PLCH = X'02' D7 D3 C3 C8 + 72-byte FST."""
    files, cur = [], None
    for b in blocks:
        if b is None:
            continue
        if b[:5] == b"\x02\xd7\xd3\xc3\xc8":
            assert len(b) == 77, len(b)
            f = b[5:]
            cur = TapeFile(ebc(f[0:8]).rstrip(), ebc(f[8:16]).rstrip(), ebc(f[24:26]),
                           ebc(f[30:31]), int.from_bytes(f[32:36], "big"),
                           int.from_bytes(f[0x38:0x3C], "big"))
            cur.fields = {
                "mmddhhmm": [unbcd(x) for x in f[16:20]],
                "wp": int.from_bytes(f[20:22], "big"), "rp": int.from_bytes(f[22:24], "big"),
                "items": int.from_bytes(f[26:28], "big"), "fcl": int.from_bytes(f[28:30], "big"),
                "flag": f[31], "dbc": int.from_bytes(f[36:38], "big"), "year": ebc(f[38:40]),
                "lastsz": int.from_bytes(f[40:44], "big"),
                "numblk": int.from_bytes(f[44:48], "big"),
                "adbc": int.from_bytes(f[0x34:0x38], "big"),
                "adt": [unbcd(x) for x in f[0x3E:0x44]],
            }
            files.append(cur)
        else:
            assert b[:5] == b"\x02\xd7\xd3\xc3\xc4", b[:5].hex()
            assert cur is not None
            cur.data += b[5:]
            cur.block_sizes.append(len(b))
    return files


def decode_dump(blocks):
    """Files of a TAPE DUMP tape: 805-byte X'02' "CMS " blocks, then an
    805-byte CMSN block (64 FST bytes from FSTWP, then FN FT FM)."""
    files, data, sizes = [], b"", []
    for b in blocks:
        if b is None:
            continue
        assert len(b) == 805, len(b)
        assert b[:4] == b"\x02\xc3\xd4\xe2", b[:4].hex()
        if b[4] == 0xD5:
            f = b[5:]
            tf = TapeFile(ebc(f[64:72]).rstrip(), ebc(f[72:80]).rstrip(), ebc(f[80:82]),
                          ebc(f[10:11]), int.from_bytes(f[12:16], "big"),
                          int.from_bytes(f[6:8], "big"))
            tf.fields = {
                "wp": int.from_bytes(f[0:2], "big"), "rp": int.from_bytes(f[2:4], "big"),
                "mode": ebc(f[4:6]), "fcl": int.from_bytes(f[8:10], "big"), "flag": f[11],
                "dbc": int.from_bytes(f[16:18], "big"), "year": ebc(f[18:20]),
                "mmddhhmm": [unbcd(x) for x in f[20:24]],
                "aic": int.from_bytes(f[0x20:0x24], "big"),
            }
            tf.data, tf.block_sizes = data, sizes
            files.append(tf)
            data, sizes = b"", []
        else:
            assert b[4] == 0x40, hex(b[4])
            data += b[5:]
            sizes.append(len(b))
    assert not data, "data blocks after the last CMSN block"
    return files
