"""Great Expectations checks on the raw audit events, one validation per day of the run.

The structural suite is blocking: an event without a unique id or outside its
partition would duplicate or misplace activity in every model downstream. The run's
events are read and validated day by day, so each partition gets its own verdict.
"""

from collections.abc import Iterator
from datetime import date, datetime, time, timedelta, timezone
from functools import partial

import dagster as dg
import duckdb
import polars as pl

from dsassets.defs.daily_checks import DayResults, daily_check, run_days
from dsassets.defs.extract.audit_events import raw_docusign_audit_events
from dsassets.defs.resources import LakeResource
from dsassets.lib.lake import gx_worker
from dsassets.lib.lake.expectations import REQUIRED_EVENT_COLUMNS, validate_event_ips, validate_raw_events
from dsassets.lib.lake.lake import Lake
from dsassets.lib.lake.raw_events import DATASET

# Share of events whose IP must parse before the warning fires.
IP_PARSE_MOSTLY = 0.99


def days_of(context: dg.AssetCheckExecutionContext, lake: LakeResource,
            columns: list[str]) -> Iterator[tuple[date, datetime, gx_worker.DayReader]]:
    """Each day of the check's window with its start and a reader of its stored events: the given
    columns (those the files have) plus ``dt``. Read a day at a time: a backfill's check then holds
    one day's events, where reading the range at once held a month's (30M rows) and the pandas
    frames made from it. The reader runs where the suite runs (gx_worker): the day is read there."""
    glob = lake.lake.glob(DATASET)
    with lake.lake.register(duckdb.connect()) as con:
        available = {
            row[0]
            for row in con.execute(
                "select name from parquet_schema($glob) where name != 'duckdb_schema'", {"glob": glob}
            ).fetchall()
        } if lake.lake.partitions(DATASET) else set()
    selected = [c for c in columns if c in available]
    for day in run_days(context):
        yield day, datetime.combine(day, time(), timezone.utc), partial(
            read_day, lake.data_dir, lake.local_dir or None, selected, day)


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


@daily_check(asset=raw_docusign_audit_events, blocking=True)
def raw_audit_events_valid(context: dg.AssetCheckExecutionContext, lake: LakeResource) -> DayResults:
    """GX: eventId present and unique, required columns present, every event inside its partition's day."""
    results = {}
    for day, start, read in days_of(context, lake, list(REQUIRED_EVENT_COLUMNS)):
        rows, outcome = gx_worker.validate(validate_raw_events, read, start, start + timedelta(days=1))
        results[day] = dg.AssetCheckResult(
            passed=outcome.success,
            severity=dg.AssetCheckSeverity.ERROR,
            metadata={"rows": rows, **outcome.metadata()},
        )
    return results


@daily_check(asset=raw_docusign_audit_events)
def raw_audit_event_ips_parse(context: dg.AssetCheckExecutionContext, lake: LakeResource) -> DayResults:
    """GX: at least 99% of events carry an IP address that parses as IPv4 or IPv6 (warning only)."""
    results = {}
    for day, _, read in days_of(context, lake, ["ipAddress"]):
        rows, outcome = gx_worker.validate(ips_parse_unless_empty, read, IP_PARSE_MOSTLY)
        results[day] = dg.AssetCheckResult(
            passed=outcome.success if outcome else True,
            severity=dg.AssetCheckSeverity.WARN,
            metadata={"rows": rows, **(outcome.metadata() if outcome else {})},
        )
    return results


def ips_parse_unless_empty(events: pl.DataFrame, mostly: float):
    """The IP suite's outcome, or None for a day without events (nothing to parse)."""
    return validate_event_ips(events, mostly) if len(events) else None
