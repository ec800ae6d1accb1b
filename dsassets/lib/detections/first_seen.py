"""Each user's first day of activity before a run, with every ended month rolled up once.

``detection_first_seen`` (the learning period of the two location policies and of multiple failed
sign-ins) needs each user's first day of activity in all of history before the window's end: every
partition of ``int_user_activity_daily``. After a year that is 365 files, read by three policies
every day (2.4 s each at 66k users, against 0.2 s at 30 days). A month before the run's month
changes only when one of its days is re-materialized, so its users' first days are rolled up once,
one row per user, into ``<local_dir>/.first-seen/<YYYY-MM>/<key>.parquet``. The key hashes the
path and stamp (size and modification time; ETag on S3) of each of that month's files: a late or
re-materialized day changes its file's stamp, hence the key, and the next run rolls the month up
again. The run's own month is read day by day, as before. Deleting ``.first-seen`` costs one read
of every month (:mod:`dsassets.lib.transform.rollups`).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb

from dsassets.lib.lake.lake import Lake
from dsassets.lib.transform import rollups
from dsassets.lib.transform.sql import model_path, parquet_scan, sql_literal

MODEL = "int_user_activity_daily"
# Under Lake.local_dir, beside the scratch folders (dsassets.lib.transform.unchanged skips it).
FOLDER = ".first-seen"
# What the policies' SQL reads: each user's first day in the rolled-up months, and the first day
# it reads from int_user_activity_daily itself.
MONTHS_RELATION = "first_seen_months"
RAW_FROM_VARIABLE = "det_first_seen_raw_from"


def install_empty(con: duckdb.DuckDBPyConnection) -> None:
    """No month rolled up: every day is read from ``int_user_activity_daily`` (connections without a lake)."""
    con.execute(f"create or replace temp table {MONTHS_RELATION} (user_id varchar, first_dt date)")
    con.execute(f"set variable {RAW_FROM_VARIABLE} = date '0001-01-01'")


def bind(con: duckdb.DuckDBPyConnection, lake: Lake, start: date) -> list[str]:
    """``first_seen_months`` over the rollups of every month before ``start``'s (made where missing or
    stale), and ``int_user_activity_daily`` read from the first of ``start``'s month; the months."""
    month_start = start.replace(day=1)
    by_month = rollups.ended_months(lake.stamps(model_path(MODEL), lambda rel: False), month_start)
    made = [_rollup(con, lake, month, files) for month, files in sorted(by_month.items())]
    if made:
        listed = ", ".join(sql_literal(str(path)) for path in made)
        con.execute(f"drop table if exists {MONTHS_RELATION}")
        con.execute(f"create or replace temp view {MONTHS_RELATION} as "
                    f"select user_id, first_dt from read_parquet([{listed}])")
    else:
        install_empty(con)
    con.execute(f"set variable {RAW_FROM_VARIABLE} = date '{month_start.isoformat()}'")
    return sorted(by_month)


def _rollup(con: duckdb.DuckDBPyConnection, lake: Lake, month: str, files: dict[str, str]) -> Path:
    """The month's rollup file for exactly these files, written if it is not there yet."""
    scan = parquet_scan([lake.url(rel) for rel in sorted(files)])
    return rollups.rollup(
        con, lake.local_dir / FOLDER / month, rollups.key(files),
        lambda target: f"copy (select user_id, min(dt) as first_dt from {scan} "
                       f"where user_id is not null group by user_id) to {target} (format parquet)")
