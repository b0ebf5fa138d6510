"""Running a job over many images: the plan (what is left to do), local
execution (small images in parallel processes, large ones one at a time on
all cores) and the journal, written by this process only."""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from typing import Callable, Optional, Protocol

from ..errors import ExistsError, InvalidArgumentError, SpoolkitError
from ..jsonvalue import JSONValue
from ..util import default_workers
from .jobs import JOBS, WRITES, JobOptions, run_one
from .journal import Journal, Outcome
from .sources import PathLike, Source, discover
from .task import Task

#: images at least this big run one at a time with all cores' threads
LARGE = 256 << 20

ProgressFn = Callable[[Source, Outcome], None]


@dataclass
class Plan:
    job: str
    to: str
    tasks: list[Task]
    skipped: list[Source]
    skipped_failed: int = 0
    #: sources whose output name in DIR is taken by a file this batch did not write
    blocked: list[Source] = field(default_factory=list)

    @property
    def total_bytes(self) -> int:
        return sum(t.source.size for t in self.tasks)


@dataclass
class Summary:
    """What a batch did: counts, bytes and the failures (``to_dict()`` is the
    ``--json`` report)."""

    job: str
    to: str
    images: int = 0
    ok: int = 0
    failed: int = 0
    skipped: int = 0
    skipped_failed: int = 0     # skipped images whose journaled outcome is a failure
    bytes_in: int = 0
    bytes_out: int = 0
    seconds: float = 0.0
    results: list[tuple[Source, Outcome]] = field(default_factory=list)

    def add(self, src: Source, out: Outcome) -> None:
        self.images += 1
        self.ok += out.status == "ok"
        self.failed += out.status != "ok"
        self.bytes_in += out.bytes_in
        self.bytes_out += out.bytes_out
        self.results.append((src, out))

    @property
    def failures(self) -> list[tuple[Source, Outcome]]:
        return [(s, o) for s, o in self.results if o.status != "ok"]

    def to_dict(self) -> dict[str, JSONValue]:
        return {"job": self.job, "to": self.to, "images": self.images, "ok": self.ok,
                "failed": self.failed, "skipped": self.skipped,
                "skipped_failed": self.skipped_failed, "bytes_in": self.bytes_in,
                "bytes_out": self.bytes_out, "seconds": round(self.seconds, 3),
                "results": [{"path": s.path, "name": s.name, "status": o.status,
                             "kind": o.kind, "output": o.output, "bytes_in": o.bytes_in,
                             "bytes_out": o.bytes_out, "error_type": o.error_type,
                             "error": o.error}
                            for s, o in sorted(self.results, key=lambda r: r[0].path)]}


class Runner(Protocol):
    """Executes the tasks of a plan, yielding each outcome as it finishes."""

    name: str

    def run(self, job: str, tasks: list[Task], to: str,
            opts: JobOptions) -> Iterator[tuple[Task, Outcome]]: ...


def _die_with_parent() -> None:
    # a killed batch leaves no worker writing on after it (Linux: PR_SET_PDEATHSIG)
    try:
        import ctypes
        import signal
        ctypes.CDLL(None, use_errno=True).prctl(1, int(signal.SIGKILL))
    except (OSError, AttributeError):
        pass


class LocalRunner:
    """Small images in a pool of ``workers`` processes (one thread each);
    images of ``large`` bytes or more afterwards, one at a time, each on
    ``workers`` threads."""

    name = "local"

    def __init__(self, workers: Optional[int] = None, large: int = LARGE) -> None:
        self.workers = workers or default_workers()
        self.large = large

    def run(self, job: str, tasks: list[Task], to: str,
            opts: JobOptions) -> Iterator[tuple[Task, Outcome]]:
        small = [t for t in tasks if t.source.size < self.large]
        big = [t for t in tasks if t.source.size >= self.large]
        if len(small) == 1 or (small and self.workers == 1):
            big = small + big
            small = []
        if small:
            with ProcessPoolExecutor(max_workers=min(self.workers, len(small)),
                                     initializer=_die_with_parent) as pool:
                futures: dict[Future[Outcome], Task] = {
                    pool.submit(run_one, job, t.source, to, opts, 1, t.overwrite): t
                    for t in small}
                try:
                    for fut in as_completed(futures):
                        yield futures[fut], fut.result()
                except BaseException:
                    for f in futures:
                        f.cancel()
                    raise
        for t in big:
            yield t, run_one(job, t.source, to, opts, self.workers, t.overwrite)


def plan(job: str, sources: Iterable[PathLike], to: str, journal: Journal, *,
         hash_sources: bool = False, retry_failed: bool = False,
         overwrite: bool = False, large: int = LARGE) -> Plan:
    """What is left to do: every source without a finished journal entry of
    the same identity.  A source an earlier run started may have its output
    written already (killed before journaling it): that output is replaced."""
    if job not in JOBS:
        raise InvalidArgumentError(f"unknown job {job!r}: one of {', '.join(JOBS)}")
    tasks, skipped, blocked, failed = [], [], [], 0
    for src in discover(sources, exclude=to):
        if hash_sources:
            src = src.with_hash()
        if journal.finished(job, src, retry_failed=retry_failed):
            skipped.append(src)
            failed += journal.status(job, src) == "failed"
            continue
        # an output is the batch's own when an entry says it was started (and the
        # destination was free then) or finished; a failed entry wrote nothing
        ours = job in WRITES and journal.status(job, src) in ("running", "ok")
        if (job in WRITES and not overwrite and not ours
                and os.path.lexists(os.path.join(to, src.name))):
            blocked.append(src)
            continue
        tasks.append(Task(src, overwrite or ours, None if src.size >= large else 1))
    return Plan(job, to, tasks, skipped, failed, blocked)


def _refused(src: Source, to: str) -> Outcome:
    from ..kinds import file_kind
    from ..output import check_destination

    try:
        check_destination(os.path.join(to, src.name))
        raise ExistsError("exists (use -f to replace it)", path=os.path.join(to, src.name))
    except SpoolkitError as exc:
        return Outcome("failed", kind=file_kind(src.files[0]).kind, bytes_in=src.size,
                       error_type=type(exc).__name__, error=exc.cli_str())


def execute(p: Plan, journal: Journal, runner: Runner, opts: JobOptions,
            progress: Optional[ProgressFn] = None) -> Summary:
    """Run the plan's tasks, journaling each start and outcome."""
    t0 = time.monotonic()
    summary = Summary(p.job, p.to, skipped=len(p.skipped), skipped_failed=p.skipped_failed)
    run_id = journal.begin_run(p.job, opts.to_dict(), runner.name,
                               int(getattr(runner, "workers", 0) or 0))
    journal.start_many(p.job, [t.source for t in p.tasks] + p.blocked, run_id)
    for src in p.blocked:
        out = _refused(src, p.to)
        journal.finish(p.job, src, out)
        summary.add(src, out)
    for task, out in runner.run(p.job, p.tasks, p.to, opts):
        journal.finish(p.job, task.source, out)
        summary.add(task.source, out)
        if progress is not None:
            progress(task.source, out)
    journal.end_run(run_id)
    summary.seconds = time.monotonic() - t0
    return summary


def run(job: str, sources: Iterable[PathLike], *, to: PathLike,
        workers: Optional[int] = None, client: object = None,
        options: Optional[JobOptions] = None, hash_sources: bool = False,
        retry_failed: bool = False, overwrite: bool = False, large: int = LARGE,
        progress: Optional[ProgressFn] = None,
        on_plan: Optional[Callable[[Plan], None]] = None) -> Summary:
    """Run ``job`` ("convert", "check", "inventory" or "verify") over
    ``sources`` (files, directories, manifests) with the journal and
    outputs in ``to``.  Finished images (same path, size, mtime; and SHA-256
    with ``hash_sources``) are skipped; a failed image never stops the
    batch.  ``client``: a ``dask.distributed.Client`` to run the images on
    its cluster instead of local processes."""
    to_s = os.path.abspath(os.fspath(to))
    os.makedirs(to_s, exist_ok=True)
    opts = options or JobOptions()
    runner: Runner
    if client is not None:
        from .cluster import DaskRunner
        runner = DaskRunner(client)
    else:
        runner = LocalRunner(workers, large)
    with Journal(to_s) as journal:
        p = plan(job, sources, to_s, journal, hash_sources=hash_sources,
                 retry_failed=retry_failed, overwrite=overwrite, large=large)
        if on_plan is not None:
            on_plan(p)
        return execute(p, journal, runner, opts, progress)


__all__ = ["LARGE", "LocalRunner", "Plan", "Summary", "Task", "execute", "plan", "run"]
