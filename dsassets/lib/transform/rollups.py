"""Monthly rollups: what a query gives over one ended month of a lake's files, written once.

A step that reads every day before its window (the detections' first-seen days, the users
marts' history) reads the same ended months run after run. A rollup is that query's result over
one month, written to ``<folder>/<YYYY-MM>/<key>.parquet`` under ``Lake.local_dir``; the key hashes
what the result depends on, at least the path and stamp (size and modification time; ETag on S3)
of each of the month's files, so a late or re-materialized day gives a new key and the next run
rolls the month up again.

A rollup is a cache, not an output: deleting the folder costs one read of every month. Two runs
that roll up the same month write the same rows under the same name (each publishes its own
scratch file with ``os.replace``). A rollup no longer current is removed an hour after it was
replaced, so a run still reading it is not cut short.
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

from dsassets.lib.lake.scratch import remove_stale_scratch
from dsassets.lib.transform.sql import sql_literal

# How long a replaced rollup stays for the runs that may still read it.
KEEP_REPLACED_SECONDS = 3600


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
    """``folder/<name>.parquet``, written with the statement ``write(target)`` if it is not there yet;
    the folder's replaced rollups are pruned."""
    path = folder / f"{name}.parquet"
    if not path.exists():
        folder.mkdir(parents=True, exist_ok=True)
        scratch = folder / f".{name}.{os.getpid()}.{time.monotonic_ns()}.tmp"
        try:
            con.execute(write(sql_literal(str(scratch))))
            os.replace(scratch, path)
        finally:
            scratch.unlink(missing_ok=True)
    _prune(folder, keep=path)
    return path


def _prune(folder: Path, keep: Path) -> None:
    """Remove the month's other rollups once ``keep`` has replaced them for an hour, and the scratch
    files of runs killed while rolling it up an hour ago or more."""
    remove_stale_scratch(folder, KEEP_REPLACED_SECONDS)
    if time.time() - keep.stat().st_mtime <= KEEP_REPLACED_SECONDS:
        return
    for other in folder.glob("*.parquet"):
        if other != keep:
            other.unlink(missing_ok=True)  # another run may have pruned it first
