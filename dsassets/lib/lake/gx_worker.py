"""Great Expectations in a second process, imported there while the run does other work.

Importing GX costs 3.4 s (scipy.stats, altair, pydantic models), the largest fixed cost of a
refresh late in the day. A refresh runs its steps in one process, one step at a time: the other
core is idle while the extraction reads the Monitor stream. :func:`start`, called by a refresh's
extraction, starts one worker process that imports GX at once. Once it has written the day, the
extraction hands the day's validations to the worker (:func:`submit`), which reads the day's
columns from the lake and validates them while the run goes on; the checks then collect the
outcomes (:func:`validate` with the same key), or have the worker validate then. Without a started
worker (the daily runs, whose checks run in a process of their own, and backfills) the day is
read and validated where it is called, as before. The outcome is the same either way; only where
the import is paid, and the day held, changes.
"""

from __future__ import annotations

import ctypes
import gc
import multiprocessing
import os
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Callable, TypeVar

import polars as pl

T = TypeVar("T")
# A day's events, read where it is called: picklable (a module-level function and its arguments).
DayReader = Callable[[], pl.DataFrame]
_pool: ProcessPoolExecutor | None = None
# Validations handed to the worker ahead of their checks, by key: (run id, suite, day).
_ahead: dict[tuple, Future] = {}


def start() -> None:
    """Start the worker and its GX import, once per process."""
    global _pool
    if _pool is None:
        # spawn, not fork: the run has threads (the Monitor read-ahead, DuckDB's) whose locks a
        # forked child could inherit held.
        _pool = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"))
        _pool.submit(_import_gx)


def started() -> bool:
    """Whether this process has a worker (a refresh's extraction started one)."""
    return _pool is not None


def stop() -> None:
    """End the worker when the run will validate nothing (a refresh with nothing new: its checks
    repeat their last result), in the middle of its import if need be."""
    global _pool
    if _pool is not None:
        # Python 3.14 has terminate_workers(); before it, the executor's own table of its processes.
        for process in list((getattr(_pool, "_processes", None) or {}).values()):
            process.kill()  # SIGKILL: a SIGTERM its parent ignores, it ignores too
        _pool.shutdown(wait=False, cancel_futures=True)
        _pool = None
    _ahead.clear()


def submit(key: tuple, suite: Callable[..., T], read: DayReader, *args) -> None:
    """Have the worker validate now, for :func:`validate` with the same ``key`` to collect; without
    a worker, nothing (the check validates when it runs). ``key`` starts with the run's id: what
    another run handed over and never collected is dropped, not collected by this one."""
    if _pool is None:
        return
    for stale in [k for k in _ahead if k[0] != key[0]]:
        _ahead.pop(stale).cancel()
    _ahead[key] = _hand_over(_pool, suite, read, *args)


def validate(suite: Callable[..., T], read: DayReader, *args, key: tuple | None = None) -> tuple[int, T]:
    """``(rows, suite(read(), *args))``: what was submitted under ``key``, else in the worker when
    one was started, which then reads the day itself (the run's process never holds it, nor a
    copy handed over), else here."""
    global _pool
    ahead = _ahead.pop(key, None) if key is not None else None
    if ahead is not None or _pool is not None:
        try:
            return (ahead or _hand_over(_pool, suite, read, *args)).result()
        except BrokenProcessPool:
            # the worker died (killed, out of memory): validate here, as without one
            _pool = None
            _ahead.clear()
    return _run(suite, read, *args)


def _hand_over(pool: ProcessPoolExecutor, suite: Callable[..., T], read: DayReader, *args) -> Future:
    return pool.submit(_run_in_worker, dict(os.environ), suite, read, *args)


def _import_gx() -> None:
    from dsassets.lib.lake import expectations

    expectations.warm()


def _run(suite: Callable[..., T], read: DayReader, *args) -> tuple[int, T]:
    frame = read()
    return len(frame), suite(frame, *args)


def _run_in_worker(environ: dict[str, str], suite: Callable[..., T], read: DayReader, *args) -> tuple[int, T]:
    # The run's environment as it was when the validation was handed over, not as it was when
    # the worker started: the lake's S3 credentials are read from it by botocore.
    os.environ.clear()
    os.environ.update(environ)
    try:
        return _run(suite, read, *args)
    finally:
        # The worker waits beside the run's next steps: hand a day's pandas frames (1.3 GB at a
        # million events) back to the system, not to this process's free lists.
        gc.collect()
        _trim_heap()


def _trim_heap() -> None:
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc: its allocator keeps what it keeps
        pass
