"""The two Great Expectations validations of a day's raw audit events, as tasks a worker can run.

A task is ``(suite, read, *args)``: :func:`gx_worker.validate` runs ``suite(read(), *args)`` in
the refresh's GX worker, or where it is called. Both parts pickle (module-level functions and
plain arguments), so the worker reads the day from the lake itself. The checks on
``raw_docusign_audit_events`` build these tasks; so does a refresh's extraction, which hands them
to the worker as soon as it has written the day (gx_worker.submit).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, time, timedelta, timezone
from functools import partial
from typing import Any

import duckdb
import polars as pl

from dsassets.lib.lake.expectations import REQUIRED_EVENT_COLUMNS, validate_event_ips, validate_raw_events
from dsassets.lib.lake.lake import Lake
from dsassets.lib.lake.raw_events import DATASET

# The suites' names, as the checks and the worker's hand-over know them.
STRUCTURE = "structure"
IPS = "ips"
# Share of events whose IP must parse before the IP check warns.
IP_PARSE_MOSTLY = 0.99

Task = tuple[Any, ...]


def day_validations(data_dir: str, local_dir: str | None, days: Iterable[date]) -> dict[date, dict[str, Task]]:
    """``{day: {STRUCTURE: task, IPS: task}}`` for the given days of the lake's raw events.

    Each reads the columns its suite needs that the stored files have (plus ``dt``), one day at
    a time: a backfill's check then holds one day's events, where reading the range at once held
    a month's (30M rows) and the pandas frames made from it."""
    stored = stored_columns(data_dir, local_dir)
    structure = [c for c in REQUIRED_EVENT_COLUMNS if c in stored]
    ips = [c for c in ("ipAddress",) if c in stored]
    tasks = {}
    for day in days:
        start = datetime.combine(day, time(), timezone.utc)
        tasks[day] = {
            STRUCTURE: (validate_raw_events, partial(read_day, data_dir, local_dir, structure, day),
                        start, start + timedelta(days=1)),
            IPS: (ips_parse_unless_empty, partial(read_day, data_dir, local_dir, ips, day), IP_PARSE_MOSTLY),
        }
    return tasks


def stored_columns(data_dir: str, local_dir: str | None) -> set[str]:
    """The columns the stored raw-event files have (any of them); none before the first day."""
    lake = Lake.at(data_dir, local_dir)
    if not lake.partitions(DATASET):
        return set()
    with lake.register(duckdb.connect()) as con:
        return {
            row[0]
            for row in con.execute(
                "select name from parquet_schema($glob) where name != 'duckdb_schema'", {"glob": lake.glob(DATASET)}
            ).fetchall()
        }


def read_day(data_dir: str, local_dir: str | None, selected: list[str], day: date) -> pl.DataFrame:
    """The ``selected`` columns (and ``dt``) of the day's stored events."""
    if not selected:
        return pl.DataFrame({"dt": []}, schema={"dt": pl.String})
    lake = Lake.at(data_dir, local_dir)
    columns = ", ".join(f'"{c}"' for c in selected)
    with lake.register(duckdb.connect()) as con:
        con.execute("set timezone = 'UTC'")
        return pl.from_arrow(con.sql(
            f"""
            select {columns}, dt::varchar as dt
            from read_parquet($glob, hive_partitioning = true, union_by_name = true)
            where dt = $day
            """,
            params={"glob": lake.glob(DATASET), "day": day.isoformat()},
        ).to_arrow_table())


def ips_parse_unless_empty(events: pl.DataFrame, mostly: float):
    """The IP suite's outcome, or None for a day without events (nothing to parse)."""
    return validate_event_ips(events, mostly) if len(events) else None
