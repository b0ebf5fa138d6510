"""Shadow files of compressed images (Hercules ``sf=``): their names from a
template, the stack of base + shadows opened together, the check that a
shadow belongs to the file below it, and a new empty shadow."""

from __future__ import annotations

import os

from .._native import ffi, lib
from ..errors import (
    FormatError,
    InvalidArgumentError,
    NotFoundError,
)
from ..output import write_file
from .cckdfile import HDR_POS, KIND_CKD, OPENED, CompressedFile, build_header
from .ckd import DevHeader

TYPE_CHECKING = False  # typing costs every command's start
if TYPE_CHECKING:
    from typing import Callable, Optional


MAX_SHADOWS = 8


def shadow_name(template: str, n: int) -> str:
    """Name of shadow ``n`` (1..8) for an ``sf=`` template: the character just
    before the last dot of the file name (or the last one) becomes ``n``."""
    head, name = os.path.split(template)
    dot = name.rfind(".")
    pos = dot - 1 if dot > 0 else len(name) - 1
    if pos < 0:
        raise InvalidArgumentError(f"shadow file template {template!r} has no name")
    return os.path.join(head, name[:pos] + str(n) + name[pos + 1:])


def shadow_names(template: str) -> list[str]:
    """The existing shadow files of a template, lowest first."""
    out = []
    for n in range(1, MAX_SHADOWS + 1):
        name = shadow_name(template, n)
        if not os.path.exists(name):
            break
        out.append(name)
    return out



def open_stack(path: str, mode: str, sf: Optional[str], kind: int,
               check: Optional[Callable[[list[CompressedFile]], None]] = None
               ) -> list[CompressedFile]:
    """Open base + shadows; only the top file may be writable.  In ``"r+"``
    mode with ``sf`` a new shadow is created when none exists yet.  Each
    shadow must belong to the file below it (:func:`check_shadow`); the
    writable file must have sound tables (:meth:`CompressedFile.check_writable`);
    ``check(files)`` (the caller's own validation) runs before anything is
    written, so a refused open leaves every file as it was."""
    names = [path] + (shadow_names(sf) if sf else [])
    if sf and mode != "r+" and len(names) == 1:
        raise NotFoundError(f"no shadow file matches {sf!r} (looked for "
                            f"{shadow_name(sf, 1)})", path=path)
    created = None
    if sf and mode == "r+" and len(names) == 1:
        created = _new_shadow(path, shadow_name(sf, 1))
        names.append(created)
    files: list[CompressedFile] = []
    try:
        for i, name in enumerate(names):
            f = CompressedFile(name, mode == "r+" and i == len(names) - 1, kind)
            files.append(f)
            if i:
                check_shadow(files[i - 1], f)
        if check is not None:
            check(files)
        top = files[-1]
        if top.writable:
            if top.hdr.opts & OPENED:
                raise FormatError("file was not closed cleanly (OPENED bit set); run "
                                  "'spoolkit dasd check --repair' first", path=top.path,
                                  offset=HDR_POS + 3)
            top.check_writable()
            top.mark_open()
    except BaseException:
        for f in files:
            f.writable = False
            f.close()
        if created:
            os.unlink(created)
        raise
    return files


def check_shadow(lower: CompressedFile, f: CompressedFile) -> None:
    """Refuse a shadow file made for another file than ``lower``.

    A shadow spoolkit made records the identity of the file below it
    (``SPKBASE1`` + CRC-32C in the reserved part of its compressed header,
    see docs/formats.md); one made by Hercules records nothing, so there the
    fields Hercules copies from the file below must agree."""
    if f.is64 != lower.is64 or not f.shadow or f.fba != lower.fba:
        raise FormatError(f"not a shadow of the same kind as {lower.path} (32- and 64-bit, "
                          "CKD and FBA files cannot be mixed)", path=f.path, offset=0)
    a, b = lower.devhdr, f.devhdr
    if (a.heads, a.track_size, a.devtype) != (b.heads, b.track_size, b.devtype) \
            or f.hdr.cyls < lower.hdr.cyls or f.num_l1 < lower.num_l1:
        raise FormatError(f"shadow file of another volume: its headers say {b.heads} heads, "
                          f"{b.track_size}-byte tracks, device X'{b.devtype:02X}', "
                          f"{f.hdr.cyls} cylinders; {lower.path} has {a.heads}, "
                          f"{a.track_size}, X'{a.devtype:02X}', {lower.hdr.cyls}",
                          path=f.path, offset=8)
    if f.hdr.has_base_id and f.hdr.base_id != lower.identity():
        raise FormatError(f"shadow file made for another base image than {lower.path} (or "
                          "that image changed after the shadow was made): its recorded base "
                          f"identity {f.hdr.base_id:08X} is not {lower.identity():08X}",
                          path=f.path, offset=HDR_POS + lib.SPK_CCKD_BASE_ID_POS)


def _new_shadow(base: str, name: str) -> str:
    """Create an empty shadow of ``base`` (cckd_sf_new): devid with 'S', L1 all
    X'FF', and the identity of ``base`` recorded for :func:`check_shadow`."""
    f = CompressedFile(base, False, KIND_CKD)
    try:
        hdr = DevHeader(**{**f.devhdr.__dict__})
        hdr.devid = hdr.devid[:4] + "S" + hdr.devid[5:]
        h = ffi.new("spk_cckd_hdr *", f.hdr[0])
        h.size = h.used = f.meta_end
        h.free_off = h.free_total = h.free_largest = h.free_num = h.free_imbed = 0
        h.opts = 0
        h.has_base_id, h.base_id = 1, f.identity()
        is64 = f.is64
        n = f.num_l1
    finally:
        f.close()
    return write_file(name, hdr.build() + build_header(h, is64, name)
                      + b"\xff" * (n * (8 if is64 else 4)))
