"""Long fuzz runs of every format family, in worker processes.

    python tests/fuzz/longrun.py --family all --execs 1000000 --workers 2 --out fuzz-out

Each family has seed files (generated here with spoolkit's writers, plus the real
images in ``../shared/fixtures`` where they are small) and a target that reads a
mutated file the way the CLI does (open, read everything, check, map, scan).
A target may raise only :class:`~spoolkit.errors.SpoolkitError` subclasses whose
``str()`` formats.  The supervisor records as a finding:

- ``crash``: the worker died of a signal (SIGSEGV, SIGBUS, SIGABRT from ASan, ...);
- ``untyped``: any other exception, or a SpoolkitError whose ``str()`` fails;
- ``hang``: one execution ran longer than ``--hang`` seconds (default 10);
- ``memory``: the worker's peak RSS passed ``--max-rss`` MiB (default 1024), or an
  allocation failed under the address-space limit.

Mutations are deterministic from (family, seed, iteration), so every finding is
saved with the input that caused it (``OUT/FAMILY-KIND-N.bin``) and a summary
line; ``summary.json`` in OUT holds the counts.  Run it under the sanitizers as
the README's "Fuzzing" section shows.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import random
import resource
import signal
import sys
import tempfile
import time
import traceback
from collections.abc import Iterator
from pathlib import Path
from typing import Callable, Optional

ROOT = Path(__file__).resolve().parents[2]
for _p in (ROOT, ROOT / "tests"):
    if str(_p) not in sys.path:
        sys.path.insert(0, str(_p))

INTERESTING = [0, 1, 0x7F, 0x80, 0xFF, 0x7FFF, 0x8000, 0xFFFF, 0x7FFFFFFF, 0x80000000,
               0xFFFFFFFF, 0x10000, 0x100000]


def _fixtures() -> Optional[Path]:
    from conftest import FIXTURES  # the tests' own lookup of ../shared/fixtures
    return FIXTURES


# -- seeds ----------------------------------------------------------------------
def _seed_ckd(d: Path) -> list[Path]:
    import spoolkit
    from spoolkit.dasd.sample import fill_volume
    out = []
    for dev, name, kw in (("3390", "s.3390", {}), ("3350", "s.3350", {})):
        p = d / name
        with spoolkit.create_dasd(p, dev, "FUZZ01", cylinders=2, **kw) as img:
            fill_volume(img, fraction=0.5, seed=5)
        out.append(p)
    return out


def _seed_cckd(d: Path) -> list[Path]:
    import spoolkit
    from spoolkit.dasd.sample import fill_volume
    out = []
    for name, kw in (("z.cckd", {"compress": "zlib"}), ("b.cckd", {"compress": "bzip2"}),
                     ("c.cckd64", {"cckd64": True})):
        p = d / name
        with spoolkit.create_dasd(p, "3390", "FUZZ02", cylinders=3, **kw) as img:
            fill_volume(img, fraction=0.3, seed=7)
        out.append(p)
    fx = _fixtures()
    if fx:
        out += [q for q in (fx / "cms" / "gcccms_201.cckd",
                            fx / "hercules-tests" / "3390.cckd64") if q.exists()]
    return out


def _seed_fba(d: Path) -> list[Path]:
    import spoolkit
    out = []
    for name, kw in (("p.fba", {}), ("c.cfba", {"compress": "zlib"})):
        p = d / name
        img = spoolkit.create_fba(p, "3370", blocks=2400, **kw)
        with img:
            img.write_blocks(100, bytes(range(256)) * 40)
        out.append(p)
    return out


def _seed_tape(d: Path) -> list[Path]:
    from spoolkit.tape import open_tape
    out = []
    for name, kw in (("a.aws", {}), ("h.het", {"compress": "zlib"}),
                     ("b.het", {"compress": "bzip2"}), ("f.fkt", {})):
        p = d / name
        with open_tape(p, "w", chunk_size=300, **kw) as t:
            t.write_block(b"HELLO WORLD " * 100)
            t.tapemark()
            t.write_block(bytes(range(256)) * 3)
            t.tapemark()
        out.append(p)
    fx = _fixtures()
    if fx:
        out += [q for q in (fx / "hercules-tests" / "awsbsf.aws",
                            fx / "hercules-tests" / "hetbsf.het") if q.exists()]
    return out


def _demo_volume(path: Path) -> None:
    from spoolkit.demo import demo_spool_files
    from spoolkit.spool import create_volume
    with create_volume(path, "3390", volser="FUZZSP", cylinders=4,
                       extents=[("SPOL", 1, 2), ("DRCT", 3, 3)]) as vol:
        vol.add_many(demo_spool_files())


def _seed_spool(d: Path) -> list[Path]:
    p = d / "spool.3390"
    _demo_volume(p)
    return [p]


def _seed_archive(d: Path) -> list[Path]:
    from spoolkit.backup import dump
    v = d / "src.3390"
    _demo_volume(v)
    out = []
    for name in ("arch.aws", "arch.het"):
        dump(v, d / name)
        out.append(d / name)
    return out


DIRECTORY = """\
USER $ALLOC$ NOLOG
 MDISK A01 3390 000 001 VOL001 R
USER MAINT PASSWORD 64M 128M ABCDEG
 INCLUDE IBMDFLT
 MDISK 191 3390 100 050 VOL001 MR
 MDISK 6D0 2314 000 203 VM14-0 R
PROFILE IBMDFLT
 SPOOL 000C 2540 READER *
USER OPERATOR PASSWORD 32M 64M G
 MDISK 191 3390 150 010 VOL001 MR
"""

SYSCONFIG = """\
CP_Owned Slot 1 VOL001
User_Volume_List VOL002 VOL003,
   VOL004
"""


def _seed_directory(d: Path) -> list[Path]:
    a, b = d / "USER.DIRECT", d / "SYSTEM.CONFIG"
    a.write_text(DIRECTORY)
    b.write_text(SYSCONFIG)
    return [a, b]


def _seed_vmur(d: Path) -> list[Path]:
    from spoolkit.demo import demo_spool_files
    from spoolkit.spool.vmur import export_raw
    out = []
    for i, sf in enumerate(demo_spool_files()[:3]):
        p = d / f"f{i}.vmur"
        p.write_bytes(export_raw(sf))
        out.append(p)
    return out


# -- targets --------------------------------------------------------------------
def _t_dasd(path: str) -> None:
    import spoolkit
    with spoolkit.open_dasd(path) as img:
        if hasattr(img, "read_blocks"):
            img.read_blocks(0, min(img.blocks, 64))
        else:
            for trk in range(min(img.total_tracks, 60)):
                img.read_track(*divmod(trk, img.heads))
            img.scan()
    spoolkit.check_dasd(path, level=3)


def _t_tape(path: str) -> None:
    from spoolkit.tape import open_tape
    with open_tape(path) as t:
        for _ in t:
            pass
        t.map()
        t.rewind()
        t.skip_files(2)
        while t.backspace_block():
            pass


def _t_spool(path: str) -> None:
    from spoolkit.spool import open_volume
    with open_volume(path) as vol:
        for sf in vol.files():
            for _ in sf.records():
                pass


def _t_archive(path: str) -> None:
    from spoolkit.backup import scan, verify
    scan(path)
    verify(path)


def _t_directory(path: str) -> None:
    from spoolkit.overlay import build_map, parse_directory, parse_system_config
    if path.endswith("CONFIG"):
        parse_system_config(path)
    else:
        build_map(parse_directory(path))


def _t_vmur(path: str) -> None:
    from spoolkit.errors import SpoolkitError
    from spoolkit.spool.vmur import detect_raw, import_raw, receive
    data = Path(path).read_bytes()
    detect_raw(data)
    for kw in ({}, {"text": True}, {"blocked": (0x25, 0x40)}):
        try:
            receive(data, path=path, **kw)
        except SpoolkitError:
            pass
    sf = import_raw(data, path=path)
    for _ in sf.records():
        pass


FAMILIES: dict[str, tuple[Callable[[Path], list[Path]], Callable[[str], None]]] = {
    "ckd": (_seed_ckd, _t_dasd),
    "cckd": (_seed_cckd, _t_dasd),
    "fba": (_seed_fba, _t_dasd),
    "tape": (_seed_tape, _t_tape),
    "spool": (_seed_spool, _t_spool),
    "archive": (_seed_archive, _t_archive),
    "directory": (_seed_directory, _t_directory),
    "vmur": (_seed_vmur, _t_vmur),
}


# -- mutation -------------------------------------------------------------------
def mutate(data: bytes, rng: random.Random) -> bytes:
    """One deterministic mutation of ``data`` (a few edits, sometimes a cut)."""
    buf = bytearray(data)
    for _ in range(rng.choice((1, 1, 2, 3, 5, 8))):
        if not buf:
            break
        op = rng.random()
        i = rng.randrange(len(buf))
        if op < 0.35:
            buf[i] ^= 1 << rng.randrange(8)
        elif op < 0.55:
            buf[i] = rng.randrange(256)
        elif op < 0.8:
            # an interesting number over a (likely) header field
            width = rng.choice((1, 2, 4, 8))
            i -= i % width
            v = rng.choice(INTERESTING) & ((1 << (8 * width)) - 1)
            buf[i:i + width] = v.to_bytes(width, rng.choice(("big", "little")))
        elif op < 0.9:
            j = rng.randrange(len(buf))
            n = rng.randrange(1, 64)
            buf[i:i + n] = buf[j:j + n]
        else:
            n = rng.randrange(1, 512)
            del buf[i:i + n]
    if rng.random() < 0.15:
        del buf[rng.randrange(len(buf) + 1):]
    return bytes(buf)


# -- worker / supervisor ----------------------------------------------------------
def _worker(family: str, seeds: list[str], first: int, stop: int, seed: int, workdir: str,
            current: mp.Value, results: mp.Queue, max_rss: int, hang: float) -> None:
    from spoolkit.errors import SpoolkitError

    target = FAMILIES[family][1]
    datas = [Path(s).read_bytes() for s in seeds]
    suffixes = [Path(s).name for s in seeds]
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024

    def on_alarm(signum: int, frame: object) -> None:
        raise TimeoutError("hang")

    signal.signal(signal.SIGALRM, on_alarm)
    counts = {"ok": 0, "typed": 0}
    for it in range(first, stop):
        current.value = it
        rng = random.Random(f"{family}:{seed}:{it}")
        k = rng.randrange(len(datas))
        data = mutate(datas[k], rng)
        path = os.path.join(workdir, suffixes[k])
        with open(path, "wb") as f:
            f.write(data)
        signal.setitimer(signal.ITIMER_REAL, hang)
        kind = None
        detail = ""
        try:
            target(path)
            counts["ok"] += 1
        except SpoolkitError as exc:
            try:
                str(exc)
                counts["typed"] += 1
            except Exception:  # noqa: BLE001
                kind, detail = "untyped", "str() of %s fails" % type(exc).__name__
        except TimeoutError:
            kind, detail = "hang", f"over {hang} s"
        except MemoryError:
            kind, detail = "memory", "allocation failed under the address-space limit"
        except BaseException:  # noqa: BLE001 - every other exception is a finding
            kind, detail = "untyped", traceback.format_exc(limit=6)
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
        if kind is None and rss - rss0 > max_rss:
            kind, detail = "memory", f"peak RSS {rss} MiB"
        if kind:
            results.put(("finding", family, kind, it, suffixes[k], data, detail))
            if kind == "memory":
                return  # the peak stays: a fresh worker measures the next inputs
    results.put(("counts", family, counts))


def run_family(family: str, execs: int, workers: int, out: Path, seed: int, max_rss: int,
               hang: float, log: Callable[[str], None]) -> dict[str, object]:
    seeder = FAMILIES[family][0]
    ctx = mp.get_context("fork")
    with tempfile.TemporaryDirectory(prefix=f"spkfuzz-{family}-",
                                     dir="/dev/shm" if os.path.isdir("/dev/shm") else None) as td:
        seed_dir = Path(td) / "seeds"
        seed_dir.mkdir()
        seeds = [str(p) for p in seeder(seed_dir)]
        findings: list[dict[str, object]] = []
        counts = {"ok": 0, "typed": 0}
        t0 = time.monotonic()
        per = -(-execs // workers)
        queue: mp.Queue = ctx.Queue()
        pending = [(w * per, min(execs, (w + 1) * per)) for w in range(workers)]
        running: list[tuple[mp.Process, mp.Value, int, int, str]] = []

        def start(first: int, stop: int) -> None:
            wd = tempfile.mkdtemp(dir=td)
            cur = ctx.Value("q", first)
            p = ctx.Process(target=_worker, args=(family, seeds, first, stop, seed, wd, cur,
                                                  queue, max_rss, hang), daemon=True)
            p.start()
            running.append((p, cur, first, stop, wd))

        for first, stop in pending:
            if first < stop:
                start(first, stop)
        last_seen: dict[int, tuple[int, float]] = {}
        while running:
            while not queue.empty():
                msg = queue.get()
                if msg[0] == "counts":
                    for k, v in msg[2].items():
                        counts[k] += v
                else:
                    _, fam, kind, it, name, data, detail = msg
                    findings.append(_save(out, fam, kind, it, name, data, detail))
                    log(f"  {fam}: {kind} at iteration {it} ({name}): {detail.splitlines()[-1]}")
            for entry in list(running):
                p, cur, first, stop, wd = entry
                it = cur.value
                seen = last_seen.get(id(p))
                now = time.monotonic()
                if seen is None or seen[0] != it:
                    last_seen[id(p)] = (it, now)
                elif now - seen[1] > hang * 2 and p.is_alive():
                    p.kill()   # stuck outside Python (C loop): a hang
                    p.join()
                    findings.append(_save(out, family, "hang", it, "?", b"", "killed"))
                    running.remove(entry)
                    if it + 1 < stop:
                        start(it + 1, stop)
                    continue
                if not p.is_alive():
                    p.join()
                    running.remove(entry)
                    if p.exitcode:
                        # a signal, or a sanitizer's report and exit (ASan exits 1)
                        how = (f"signal {-p.exitcode}" if p.exitcode < 0
                               else f"exit status {p.exitcode} (sanitizer report on stderr)")
                        findings.append(_save(out, family, "crash", it, "?", b"", how))
                        log(f"  {family}: crash ({how}) at iteration {it}")
                        if it + 1 < stop:
                            start(it + 1, stop)
                    elif it + 1 < stop and p.exitcode == 0 and queue.empty():
                        start(it + 1, stop)   # ended early after a memory finding
            time.sleep(0.05)
        while not queue.empty():
            msg = queue.get()
            if msg[0] == "counts":
                for k, v in msg[2].items():
                    counts[k] += v
        seconds = time.monotonic() - t0
    return {"family": family, "execs": execs, "seconds": round(seconds, 1),
            "execs_per_s": round(execs / seconds, 1) if seconds else None, **counts,
            "findings": findings}


def _save(out: Path, family: str, kind: str, it: int, name: str, data: bytes,
          detail: str) -> dict[str, object]:
    out.mkdir(parents=True, exist_ok=True)
    f = out / f"{family}-{kind}-{it}-{name}.bin"
    if data:
        f.write_bytes(data)
    return {"kind": kind, "iteration": it, "input": str(f) if data else None,
            "detail": detail[-2000:]}


def iter_families(names: str) -> Iterator[str]:
    for n in (FAMILIES if names == "all" else names.split(",")):
        if n not in FAMILIES:
            raise SystemExit(f"unknown family {n!r}; choose from {', '.join(FAMILIES)}")
        yield n


def main(argv: Optional[list[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--family", default="all", help="comma-separated, or 'all': "
                    + ", ".join(FAMILIES))
    ap.add_argument("--execs", type=int, default=10000, help="executions per family")
    ap.add_argument("--workers", type=int, default=max(1, len(os.sched_getaffinity(0))))
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--hang", type=float, default=10.0, help="seconds that make a hang")
    ap.add_argument("--max-rss", type=int, default=1024, help="MiB that make a memory finding")
    ap.add_argument("--out", default="fuzz-out", help="directory for findings and summary")
    args = ap.parse_args(argv)
    out = Path(args.out)
    summary = []
    for fam in iter_families(args.family):
        print(f"{fam}: {args.execs} executions on {args.workers} workers", flush=True)
        r = run_family(fam, args.execs, args.workers, out, args.seed, args.max_rss, args.hang,
                       lambda s: print(s, flush=True))
        print(f"{fam}: {r['seconds']} s, {r['execs_per_s']}/s, ok {r['ok']}, typed errors "
              f"{r['typed']}, findings {len(r['findings'])}", flush=True)
        summary.append(r)
    out.mkdir(parents=True, exist_ok=True)
    (out / "summary.json").write_text(json.dumps(summary, indent=2))
    return 1 if any(r["findings"] for r in summary) else 0


if __name__ == "__main__":
    sys.exit(main())
