"""Monthly rollups: what a query gives over one ended month of a lake's files, written once.

A step that reads every day before its window (the detections' first-seen days, the users
marts' history) reads the same ended months run after run. A rollup is that query's result over
one month, written to ``<folder>/<YYYY-MM>/<key>.parquet`` under ``Lake.local_dir``; the key hashes
what the result depends on, at least the path and stamp (size and modification time; ETag on S3)
of each of the month's files, so a late or re-materialized day gives a new key and the next run
rolls the month up again.

A rollup is a cache, not an output: deleting the folder costs one read of every month. Two runs
that roll up the same month write the same rows under the same name (each publishes its own
scratch file with ``os.replace``). A run that uses a rollup touches it, and a rollup no run has
used for an hour is removed: one replaced by a late day, and one another run may still read,
which matters where runs of different days legitimately use different rollups of one folder at
once (the users marts' month to date: a backfill beside the intra-day refresh).
"""

from __future__ import annotations

import hashlib
import os
import time
from collections import defaultdict
from datetime import date
from pathlib import Path
from typing import Callable

import duckdb

from dsassets.lib.lake.scratch import remove_stale_scratch, remove_untouched
from dsassets.lib.transform.sql import sql_literal

# How long a rollup no run has used since stays, for the runs that may still read it.
KEEP_UNUSED_SECONDS = 3600


def day_of(rel: str) -> date | None:
    """The day of a partition file's path (``.../dt=YYYY-MM-DD/...``), or ``None``."""
    for part in rel.split("/"):
        if part.startswith("dt="):
            try:
                return date.fromisoformat(part.removeprefix("dt="))
            except ValueError:
                return None
    return None


def ended_months(stamps: dict[str, str], before: date) -> dict[str, dict[str, str]]:
    """The Parquet files of days before ``before`` (a month's first day), with their stamps, by month."""
    by_month: dict[str, dict[str, str]] = defaultdict(dict)
    for rel, stamp in stamps.items():
        day = day_of(rel)
        if day is not None and day < before and rel.endswith(".parquet"):
            by_month[day.strftime("%Y-%m")][rel] = stamp
    return dict(by_month)


def key(files: dict[str, str], *also: str) -> str:
    """The rollup's name: a hash of its files' paths and stamps, and of ``also`` (code, settings)."""
    text = "\n".join([*also, *(f"{rel}\t{files[rel]}" for rel in sorted(files))])
    return hashlib.sha256(text.encode()).hexdigest()[:20]


def rollup(con: duckdb.DuckDBPyConnection, folder: Path, name: str, write: Callable[[str], str]) -> Path:
    """``folder/<name>.parquet``, marked used now, or written with the statement ``write(target)`` if
    it is not there; the folder's rollups unused for an hour are pruned."""
    path = folder / f"{name}.parquet"
    try:
        os.utime(path)  # in use: another run's prune leaves it an hour from now
    except FileNotFoundError:
        folder.mkdir(parents=True, exist_ok=True)
        scratch = folder / f".{name}.{os.getpid()}.{time.monotonic_ns()}.tmp"
        try:
            con.execute(write(sql_literal(str(scratch))))
            os.replace(scratch, path)
        finally:
            scratch.unlink(missing_ok=True)
    _prune(folder)
    return path


def _prune(folder: Path) -> None:
    """Remove the folder's rollups no run has used for an hour (not the one this run just used), and
    the scratch files of runs killed while rolling up an hour ago or more."""
    remove_stale_scratch(folder, KEEP_UNUSED_SECONDS)
    remove_untouched(folder, "*.parquet", KEEP_UNUSED_SECONDS)
