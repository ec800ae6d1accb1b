"""Great Expectations checks on the raw audit events, one validation per day of the run.

The structural suite is blocking: an event without a unique id or outside its
partition would duplicate or misplace activity in every model downstream. The run's
events are read once and validated day by day, so each partition gets its own verdict.
"""

from datetime import datetime, time, timedelta, timezone

import dagster as dg
import duckdb
import polars as pl

from dsassets.defs.daily_checks import DayResults, daily_check, run_days
from dsassets.defs.extract.audit_events import raw_docusign_audit_events
from dsassets.defs.resources import LakeResource
from dsassets.lib.lake.expectations import REQUIRED_EVENT_COLUMNS, validate_event_ips, validate_raw_events
from dsassets.lib.lake.raw_events import DATASET

# Share of events whose IP must parse before the warning fires.
IP_PARSE_MOSTLY = 0.99


def read_window(lake: LakeResource, context: dg.AssetCheckExecutionContext, columns: list[str]) -> pl.DataFrame:
    """The given columns (plus `dt`) of the raw events stored in the check's partition window."""
    start, end = context.partition_time_window
    glob = lake.lake.glob(DATASET)
    with lake.lake.register(duckdb.connect()) as con:
        con.execute("set timezone = 'UTC'")
        available = {
            row[0]
            for row in con.execute(
                "select name from parquet_schema($glob) where name != 'duckdb_schema'", {"glob": glob}
            ).fetchall()
        } if lake.lake.partitions(DATASET) else set()
        selected = ", ".join(f'"{c}"' for c in columns if c in available)
        if not selected:
            return pl.DataFrame({"dt": []}, schema={"dt": pl.String})
        return pl.from_arrow(con.sql(
            f"""
            select {selected}, dt::varchar as dt
            from read_parquet($glob, hive_partitioning = true, union_by_name = true)
            where dt >= $start and dt < $end
            """,
            params={"glob": glob, "start": start.date().isoformat(), "end": end.date().isoformat()},
        ).to_arrow_table())


def days_of(context: dg.AssetCheckExecutionContext, events: pl.DataFrame):
    """Each day of the run with its start and its events (``dt`` as read: YYYY-MM-DD)."""
    for day in run_days(context):
        start = datetime.combine(day, time(), timezone.utc)
        yield day, start, events.filter(pl.col("dt") == day.isoformat())


@daily_check(asset=raw_docusign_audit_events, blocking=True)
def raw_audit_events_valid(context: dg.AssetCheckExecutionContext, lake: LakeResource) -> DayResults:
    """GX: eventId present and unique, required columns present, every event inside its partition's day."""
    events = read_window(lake, context, list(REQUIRED_EVENT_COLUMNS))
    results = {}
    for day, start, found in days_of(context, events):
        outcome = validate_raw_events(found, start, start + timedelta(days=1))
        results[day] = dg.AssetCheckResult(
            passed=outcome.success,
            severity=dg.AssetCheckSeverity.ERROR,
            metadata={"rows": len(found), **outcome.metadata()},
        )
    return results


@daily_check(asset=raw_docusign_audit_events)
def raw_audit_event_ips_parse(context: dg.AssetCheckExecutionContext, lake: LakeResource) -> DayResults:
    """GX: at least 99% of events carry an IP address that parses as IPv4 or IPv6 (warning only)."""
    events = read_window(lake, context, ["ipAddress"])
    results = {}
    for day, _, found in days_of(context, events):
        outcome = validate_event_ips(found, IP_PARSE_MOSTLY) if len(found) else None
        results[day] = dg.AssetCheckResult(
            passed=outcome.success if outcome else True,
            severity=dg.AssetCheckSeverity.WARN,
            metadata={"rows": len(found), **(outcome.metadata() if outcome else {})},
        )
    return results
