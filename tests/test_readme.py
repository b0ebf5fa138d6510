"""Every Python and shell block of README.md runs, on data this test makes.

The install blocks (``pip install``) are what CI itself runs.  Names a block
uses without defining them (``spoolfile``, ``dev``, ...) come from
``PRELUDE``; files it reads come from ``prepare()``.  A block that needs the
real fixture images is skipped where they are missing.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import pytest
from conftest import FIXTURES, ROOT

README = ROOT / "README.md"
ENV = {**os.environ, "PYTHONPATH": str(ROOT)}


def blocks() -> list[tuple[str, int, str]]:
    """(language, first line, code) of every fenced block."""
    out = []
    lines = README.read_text().splitlines()
    i = 0
    while i < len(lines):
        m = re.match(r"^```(\w*)\s*$", lines[i])
        if not m:
            i += 1
            continue
        lang, start = m.group(1), i + 1
        j = start
        while j < len(lines) and not lines[j].startswith("```"):
            j += 1
        assert j < len(lines), f"README.md:{i + 1}: block never closed"
        assert lines[j].strip() == "```", f"README.md:{j + 1}: a block opens inside a block"
        out.append((lang, start + 1, "\n".join(lines[start:j]) + "\n"))
        i = j + 1
    return out


def runnable() -> list[tuple[str, int, str]]:
    return [b for b in blocks() if b[0] in ("python", "sh") and "pip install" not in b[2]]


PRELUDE = textwrap.dedent("""
    import spoolkit
    from spoolkit.demo import demo_spool_files
    _files = demo_spool_files()
    spoolfile = _files[0]
    from spoolkit.spool import open_volume as _ov
    a, b, other = _ov("sysa.3390", "r+"), _ov("sysb.3390", "r+"), _ov("other.3390", "r+")
    dev = spoolkit.open_dasd("guarded.3390", "r+")
    from spoolkit.overlay import parse_directory as _pd, parse_system_config as _psc
    directory = _pd("USER.DIRECT")
    system_config = _psc("SYSTEM.CONFIG")
    track = spoolkit.Track.from_records(5, 0, [(1, b"", b"x" * 80)])
""")

EPILOGUE = textwrap.dedent("""
    for _v in (a, b, other, dev):
        _v.close()
""")

DIRECTORY = """\
USER MAINT PASSWORD 64M 128M ABCDEG
 MDISK 191 3390 100 050 ZVMRES MR
 MDISK 123 3390 000 END ZVMRES MR
USER OPERATOR PASSWORD 32M 64M G
 MDISK 191 3390 150 010 ZVMRES MR
"""

SYSTEM_CONFIG = """\
CP_Owned Slot 1 ZVMRES
CP_Owned Slot 2 ZVMPG1
"""


def prepare(d: Path) -> None:
    """The files the README's examples read."""
    import spoolkit
    from spoolkit.dasd.sample import fill_volume
    from spoolkit.demo import demo_spool_files
    from spoolkit.spool import create_volume
    from spoolkit.tape import open_tape

    with spoolkit.create_dasd(d / "big.3390", "3390", "BIG001", cylinders=4, lfs=True) as v:
        fill_volume(v, fraction=0.5, seed=2)
    with spoolkit.create_dasd(d / "base.cckd", "3390", "BASE01", cylinders=3,
                              compress="zlib") as v:
        fill_volume(v, fraction=0.5, seed=4)
    (d / "shadow").mkdir()
    with spoolkit.open_dasd(d / "base.cckd", "r+", sf=str(d / "shadow" / "base_*.cckd")) as v:
        v.write_track(1, 0, spoolkit.Track.from_records(1, 0, [(1, b"", b"shadowed")]))
    spoolkit.format_volume(d / "guarded.3390", "3390", volser="GUARD1", cylinders=10,
                           extents=[("SPOL", 1, 8), ("DRCT", 9, 9)])
    img = spoolkit.Track.from_records(1, 0, [(1, b"", b"\x40" * 80)])
    (d / "track.bin").write_bytes(img.image)
    with open_tape(d / "in.aws", "w") as t:
        t.write_block(b"A" * 8000)
        t.tapemark()
    if FIXTURES is not None and (FIXTURES / "j90009.het").exists():
        shutil.copy(FIXTURES / "j90009.het", d / "j90009.het")
    (d / "listing.txt").write_text("1TITLE\n LINE 1\n")
    (d / "deck.txt").write_text("//JOB\n//STEP EXEC PGM=IEFBR14\n")
    files = demo_spool_files()
    for name, cyls in (("spool1.3390", 10), ("sysa.3390", 6), ("sysb.3390", 6),
                       ("other.3390", 6), ("restored.3390", 10)):
        with create_volume(d / name, "3390", volser=name.split(".")[0][:6].upper(), cylinders=cyls,
                           extents=[("SPOL", 1, cyls - 2), ("DRCT", cyls - 1, cyls - 1)]) as v:
            if name in ("spool1.3390", "sysa.3390"):
                v.add_many(files)
    with create_volume(d / "spool2.3390", "3390", volser="SPOOL2", cylinders=300,
                       extents=[("SPOL", 1, 100), ("DRCT", 101, 101)]):
        pass
    (d / "tests").symlink_to(ROOT / "tests")     # the fuzz harness example
    (d / "USER.DIRECT").write_text(DIRECTORY)
    (d / "SYSTEM.CONFIG").write_text(SYSTEM_CONFIG)
    for name, kind in (("zvmres.3390", "PERM"), ("zvmpg1.3390", "PAGE")):
        spoolkit.format_volume(d / name, "3390", volser=name.split(".")[0][:6].upper(),
                               cylinders=300,
                               extents=[(kind, 1, 299)])


def _shim(d: Path) -> Path:
    bindir = d / ".bin"
    bindir.mkdir()
    shim = bindir / "spoolkit"
    shim.write_text(f"#!/bin/sh\nexec {sys.executable} -m spoolkit \"$@\"\n")
    shim.chmod(0o755)
    return bindir


def _needs_fixture(code: str) -> bool:
    return "j90009.het" in code


@pytest.mark.parametrize("lang,line,code", runnable(),
                         ids=[f"{b[0]}-line{b[1]}" for b in runnable()])
def test_readme_block(tmp_path, lang, line, code):
    if _needs_fixture(code) and (FIXTURES is None or not (FIXTURES / "j90009.het").exists()):
        pytest.skip("needs ../shared/fixtures/j90009.het")
    prepare(tmp_path)
    if lang == "python":
        script = tmp_path / "example.py"
        script.write_text(PRELUDE + code + EPILOGUE)
        proc = subprocess.run([sys.executable, str(script)], cwd=tmp_path, env=ENV,
                              capture_output=True, text=True, timeout=600)
    else:
        env = {**ENV, "PATH": f"{_shim(tmp_path)}:{os.environ['PATH']}"}
        # a watch runs until it is told to stop: end it as the README says, with SIGTERM
        script = re.sub(r"^(spoolkit spool watch .*?)(\s+#.*)?$",
                        r"timeout --preserve-status -s TERM 3 \1", code, flags=re.M)
        proc = subprocess.run(["bash", "-euo", "pipefail", "-c", script], cwd=tmp_path,
                              env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, (f"README.md:{line} ({lang}) failed:\n{code}\n"
                                  f"stdout:\n{proc.stdout[-3000:]}\nstderr:\n{proc.stderr[-3000:]}")


def test_every_block_is_covered():
    langs = {b[0] for b in blocks()}
    assert langs <= {"python", "sh", "", "text"}, langs
    assert len(runnable()) >= 8


def quick_start() -> str:
    """The shell block of the README's Quick start section."""
    text = README.read_text()
    section = text[text.index("## Quick start"):]
    section = section[:section.index("\n## ", 1)]
    m = re.search(r"^```sh\n(.*?)^```", section, flags=re.M | re.S)
    assert m, "the Quick start has no sh block"
    return m.group(1)


def _source_tree(dest: Path) -> None:
    """The checkout's tracked files (what a user has after cloning)."""
    try:
        names = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True,
                               check=True).stdout.decode().split("\0")
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("the Quick start test copies a git checkout's files")
    for name in filter(None, names):
        src = ROOT / name
        if src.is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / name)


@pytest.mark.parametrize("who", [
    pytest.param("root", marks=pytest.mark.slow),   # CI's sdist step installs as root too
    "user",
])
def test_quick_start(who):
    """The Quick start, run as written on a copy of the checkout, as root and
    as a user without root (``nobody`` when the tests run as root): no step
    may need ``sudo`` or write outside the user's directory."""
    code = quick_start()
    assert "sudo" not in code and "apt-get" not in code
    is_root = os.geteuid() == 0
    if who == "root" and not is_root:
        pytest.skip("the tests do not run as root")
    prefix: list[str] = []
    if who == "user" and is_root:
        if shutil.which("runuser") is None:
            pytest.skip("runuser (util-linux) is needed to run as a user")
        prefix = ["runuser", "-u", "nobody", "--"]
    # a directory the user owns, outside root's private temporary directories
    base = Path(tempfile.mkdtemp(prefix="spoolkit-quickstart-"))
    try:
        os.chmod(base, 0o755)
        work, home = base / "spoolkit", base / "home"
        work.mkdir()
        home.mkdir()
        _source_tree(work)
        if prefix:
            subprocess.run(["chown", "-R", "nobody:", str(work), str(home)], check=True)
        # a fresh login's environment: system paths, no virtualenv, no PYTHONPATH
        env = {k: v for k, v in os.environ.items() if k.startswith(("PIP_", "LANG", "LC_"))}
        env.update(HOME=str(home), PATH="/usr/local/bin:/usr/bin:/bin")
        proc = subprocess.run([*prefix, "env", "-i", *(f"{k}={v}" for k, v in env.items()),
                               "bash", "-euo", "pipefail", "-c", code], cwd=work,
                              capture_output=True, text=True, timeout=1200)
        assert proc.returncode == 0, (f"Quick start as {who} failed:\n{code}\n"
                                      f"stdout:\n{proc.stdout[-3000:]}\n"
                                      f"stderr:\n{proc.stderr[-3000:]}")
        assert "volumes equal: yes" in proc.stdout, proc.stdout[-3000:]
    finally:
        shutil.rmtree(base, ignore_errors=True)
