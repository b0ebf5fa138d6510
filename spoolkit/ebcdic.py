"""EBCDIC code pages 037 and 1047.

Python ships ``cp037`` but no ``cp1047`` (the z/OS UNIX and Linux-on-Z code
page).  1047 differs from 037 in six positions (``[ ] ^ ¬ Ý ¨``); this module
builds its table from 037 and registers it as the codec ``cp1047`` (aliases
``ibm1047``, ``1047``), so ``data.decode("cp1047")`` works once spoolkit is
imported.  The control-character mapping is glibc's (X'15' NEL, X'25' LF).
"""

from __future__ import annotations

import codecs

# position: (character in 037, character in 1047)
_DIFF_1047 = {0x5F: "^", 0xAD: "[", 0xB0: "¬", 0xBA: "Ý", 0xBB: "¨", 0xBD: "]"}

_DECODE_1047 = "".join(
    _DIFF_1047.get(i, ch) for i, ch in enumerate(bytes(range(256)).decode("cp037"))
)
_ENCODE_1047 = codecs.charmap_build(_DECODE_1047)

CODEPAGES = {"037": "cp037", "1047": "cp1047"}


class _Codec(codecs.Codec):
    def encode(self, input, errors="strict"):
        return codecs.charmap_encode(input, errors, _ENCODE_1047)

    def decode(self, input, errors="strict"):
        return codecs.charmap_decode(input, errors, _DECODE_1047)


class _IncEnc(codecs.IncrementalEncoder):
    def encode(self, input, final=False):
        return codecs.charmap_encode(input, self.errors, _ENCODE_1047)[0]


class _IncDec(codecs.IncrementalDecoder):
    def decode(self, input, final=False):
        return codecs.charmap_decode(input, self.errors, _DECODE_1047)[0]


class _Writer(_Codec, codecs.StreamWriter):
    pass


class _Reader(_Codec, codecs.StreamReader):
    pass


_INFO = codecs.CodecInfo(
    name="cp1047", encode=_Codec().encode, decode=_Codec().decode,
    incrementalencoder=_IncEnc, incrementaldecoder=_IncDec,
    streamwriter=_Writer, streamreader=_Reader,
)


def _search(name: str) -> codecs.CodecInfo | None:
    if name.replace("-", "").replace("_", "").lower() in ("cp1047", "ibm1047", "1047"):
        return _INFO
    return None


codecs.register(_search)


def codec_name(codepage: str) -> str:
    """The Python codec for ``"037"`` or ``"1047"`` (also accepts ``cp037`` ...)."""
    from .errors import InvalidArgumentError

    key = str(codepage).lower().removeprefix("cp").removeprefix("ibm").removeprefix("-")
    try:
        return CODEPAGES[key]
    except KeyError:
        raise InvalidArgumentError(
            f"codepage: {codepage!r} is not one of 037, 1047"
        ) from None


def encode(text: str, codepage: str = "037") -> bytes:
    """Text to EBCDIC bytes."""
    return text.encode(codec_name(codepage))


def decode(data: bytes, codepage: str = "037") -> str:
    """EBCDIC bytes to text."""
    return bytes(data).decode(codec_name(codepage))
