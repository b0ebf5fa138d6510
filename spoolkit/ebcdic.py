"""EBCDIC code pages 037 and 1047 (and 273, 500, 1140 from Python's codecs).

Python ships ``cp037`` but no ``cp1047`` (the z/OS UNIX and Linux-on-Z code
page).  1047 differs from 037 in six positions (``[ ] ^ ¬ Ý ¨``); this module
builds its table from 037 and registers it as the codec ``cp1047`` (aliases
``ibm1047``, ``1047``), so ``data.decode("cp1047")`` works once spoolkit is
imported.  The control-character mapping is glibc's (X'15' NEL, X'25' LF).

Both code pages map all 256 bytes, so decoding never fails.  Encoding text
with a character the code page lacks raises
:class:`~spoolkit.errors.InvalidArgumentError` naming the character and
where it is, both from :func:`encode` and from the codecs :func:`codec_name`
returns (``spoolkit-037``, ``spoolkit-1047``), so every caller that encodes
through them gets a typed error instead of a ``UnicodeEncodeError``.  The
plain ``cp1047`` codec keeps the standard codec behaviour.
"""

from __future__ import annotations

import codecs
from typing import TYPE_CHECKING, Optional, Union

from .errors import InvalidArgumentError

if TYPE_CHECKING:
    from typing_extensions import Buffer

# position: (character in 037, character in 1047)
_DIFF_1047 = {0x5F: "^", 0xAD: "[", 0xB0: "¬", 0xBA: "Ý", 0xBB: "¨", 0xBD: "]"}

_DECODE = {
    "037": bytes(range(256)).decode("cp037"),
    "1047": "".join(_DIFF_1047.get(i, ch)
                    for i, ch in enumerate(bytes(range(256)).decode("cp037"))),
}
#: further code pages Python ships (same control characters as 037):
#: 273 Germany/Austria, 500 International, 1140 US with the euro sign
_PYTHON_PAGES = ("273", "500", "1140")
_DECODE.update({cp: bytes(range(256)).decode("cp" + cp) for cp in _PYTHON_PAGES})
_ENCODE = {cp: codecs.charmap_build(table) for cp, table in _DECODE.items()}

CODEPAGES = {cp: f"spoolkit-{cp}" for cp in _DECODE}


def _message(exc: UnicodeEncodeError, codepage: str, what: str) -> str:
    ch = exc.object[exc.start]
    return (f"{what}: {ch!r} (U+{ord(ch):04X}) at character {exc.start + 1} has no code in "
            f"EBCDIC code page {codepage}")


def _codec_info(name: str, codepage: str, typed: bool) -> codecs.CodecInfo:
    enc_table, dec_table = _ENCODE[codepage], _DECODE[codepage]

    def encode(text: str, errors: str = "strict") -> tuple[bytes, int]:
        try:
            return codecs.charmap_encode(text, errors, enc_table)
        except UnicodeEncodeError as exc:
            if not typed or errors != "strict":
                raise
            raise InvalidArgumentError(_message(exc, codepage, "text")) from None

    def decode(data: Buffer, errors: str = "strict") -> tuple[str, int]:
        return codecs.charmap_decode(data, errors, dec_table)

    class IncEnc(codecs.IncrementalEncoder):
        def encode(self, text: str, final: bool = False) -> bytes:
            return encode(text, self.errors)[0]

    class IncDec(codecs.IncrementalDecoder):
        def decode(self, data: Buffer, final: bool = False) -> str:
            return decode(data, self.errors)[0]

    class Writer(codecs.StreamWriter):
        def encode(self, text: str, errors: str = "strict") -> tuple[bytes, int]:
            return encode(text, errors)

    class Reader(codecs.StreamReader):
        def decode(self, data: Buffer, errors: str = "strict") -> tuple[str, int]:
            return decode(data, errors)

    return codecs.CodecInfo(name=name, encode=encode, decode=decode,
                            incrementalencoder=IncEnc, incrementaldecoder=IncDec,
                            streamwriter=Writer, streamreader=Reader)


_CODECS = {
    "cp1047": _codec_info("cp1047", "1047", typed=False),
    "ibm1047": None, "1047": None,
    "spoolkit037": _codec_info("spoolkit-037", "037", typed=True),
    "spoolkit1047": _codec_info("spoolkit-1047", "1047", typed=True),
}
_CODECS["ibm1047"] = _CODECS["1047"] = _CODECS["cp1047"]
_CODECS.update({f"spoolkit{cp}": _codec_info(f"spoolkit-{cp}", cp, typed=True)
                for cp in _PYTHON_PAGES})


def _search(name: str) -> Optional[codecs.CodecInfo]:
    return _CODECS.get(name.replace("-", "").replace("_", "").lower())


codecs.register(_search)


def _codepage(codepage: str) -> str:
    key = str(codepage).lower()
    for prefix in ("cp", "ibm", "-"):
        if key.startswith(prefix):
            key = key[len(prefix):]
    if key not in CODEPAGES:
        raise InvalidArgumentError(f"codepage: {str(codepage)[:20]!r} is not one of "
                                   f"{', '.join(CODEPAGES)}")
    return key


def codec_name(codepage: str) -> str:
    """The Python codec for ``"037"``, ``"1047"``, ``"500"``... (also accepts
    ``cp037``, ``ibm500`` ...).

    Its strict encoder raises :class:`~spoolkit.errors.InvalidArgumentError`
    for a character the code page lacks."""
    return CODEPAGES[_codepage(codepage)]


def encode(text: str, codepage: str = "037", *, what: str = "text") -> bytes:
    """Text to EBCDIC bytes; a character the code page lacks raises
    :class:`~spoolkit.errors.InvalidArgumentError` naming ``what`` (e.g.
    ``"volser"``, ``"tag"``), the character and its position."""
    cp = _codepage(codepage)
    try:
        return codecs.charmap_encode(text, "strict", _ENCODE[cp])[0]
    except UnicodeEncodeError as exc:
        raise InvalidArgumentError(_message(exc, cp, what)) from None


def decode(data: Union[bytes, bytearray, memoryview], codepage: str = "037") -> str:
    """EBCDIC bytes to text (never fails: every byte has a character)."""
    return codecs.charmap_decode(bytes(data), "strict", _DECODE[_codepage(codepage)])[0]
