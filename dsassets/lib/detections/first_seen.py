"""Each user's first day of activity before a run, with every ended month rolled up once.

``detection_first_seen`` (the learning period of the two location policies and of multiple failed
sign-ins) needs each user's first day of activity in all of history before the window's end: every
partition of ``int_user_activity_daily``. After a year that is 365 files, read by three policies
every day (2.4 s each at 66k users, against 0.2 s at 30 days). A month before the run's month
changes only when one of its days is re-materialized, so its users' first days are rolled up once,
one row per user, into ``<local_dir>/.first-seen/<YYYY-MM>/<key>.parquet``. The key hashes the
path and stamp (size and modification time; ETag on S3) of each of that month's files: a late or
re-materialized day changes its file's stamp, hence the key, and the next run rolls the month up
again. The run's own month is read day by day, as before.

The rollup is a cache, not an output: deleting ``.first-seen`` costs one read of every month. Two
runs that roll up the same month write the same rows under the same name (each publishes its
own scratch file with ``os.replace``). A rollup no longer current is removed an hour after it was
replaced, so a run still reading it is not cut short.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections import defaultdict
from datetime import date
from pathlib import Path

import duckdb

from dsassets.lib.lake.lake import Lake
from dsassets.lib.lake.scratch import remove_stale_scratch
from dsassets.lib.transform.sql import model_path, parquet_scan, sql_literal

MODEL = "int_user_activity_daily"
# Under Lake.local_dir, beside the scratch folders (dsassets.lib.transform.unchanged skips it).
FOLDER = ".first-seen"
# What the policies' SQL reads: each user's first day in the rolled-up months, and the first day
# it reads from int_user_activity_daily itself.
MONTHS_RELATION = "first_seen_months"
RAW_FROM_VARIABLE = "det_first_seen_raw_from"
# How long a replaced rollup stays for the runs that may still read it.
KEEP_REPLACED_SECONDS = 3600


def install_empty(con: duckdb.DuckDBPyConnection) -> None:
    """No month rolled up: every day is read from ``int_user_activity_daily`` (connections without a lake)."""
    con.execute(f"create or replace temp table {MONTHS_RELATION} (user_id varchar, first_dt date)")
    con.execute(f"set variable {RAW_FROM_VARIABLE} = date '0001-01-01'")


def bind(con: duckdb.DuckDBPyConnection, lake: Lake, start: date) -> list[str]:
    """``first_seen_months`` over the rollups of every month before ``start``'s (made where missing or
    stale), and ``int_user_activity_daily`` read from the first of ``start``'s month; the months."""
    month_start = start.replace(day=1)
    by_month: dict[str, dict[str, str]] = defaultdict(dict)
    prefix = model_path(MODEL)
    for rel, stamp in lake.stamps(prefix, lambda rel: False).items():
        day = _day(rel)
        if day is not None and day < month_start and rel.endswith(".parquet"):
            by_month[day.strftime("%Y-%m")][rel] = stamp
    rollups = [_rollup(con, lake, month, files) for month, files in sorted(by_month.items())]
    if rollups:
        listed = ", ".join(sql_literal(str(path)) for path in rollups)
        con.execute(f"drop table if exists {MONTHS_RELATION}")
        con.execute(f"create or replace temp view {MONTHS_RELATION} as "
                    f"select user_id, first_dt from read_parquet([{listed}])")
    else:
        install_empty(con)
    con.execute(f"set variable {RAW_FROM_VARIABLE} = date '{month_start.isoformat()}'")
    return sorted(by_month)


def _day(rel: str) -> date | None:
    for part in rel.split("/"):
        if part.startswith("dt="):
            try:
                return date.fromisoformat(part.removeprefix("dt="))
            except ValueError:
                return None
    return None


def _rollup(con: duckdb.DuckDBPyConnection, lake: Lake, month: str, files: dict[str, str]) -> Path:
    """The month's rollup file for exactly these files, written if it is not there yet."""
    key = hashlib.sha256("\n".join(f"{rel}\t{files[rel]}" for rel in sorted(files)).encode()).hexdigest()[:20]
    folder = lake.local_dir / FOLDER / month
    path = folder / f"{key}.parquet"
    if not path.exists():
        folder.mkdir(parents=True, exist_ok=True)
        scratch = folder / f".{key}.{os.getpid()}.{time.monotonic_ns()}.tmp"
        try:
            con.execute(
                f"copy (select user_id, min(dt) as first_dt from {parquet_scan([lake.url(rel) for rel in sorted(files)])} "
                f"where user_id is not null group by user_id) to {sql_literal(str(scratch))} (format parquet)")
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
