"""Alerts raised from late events say so: ``late: true`` and both times in their evidence.

An event Monitor ingested after its day was complete is stored in a ``late-*.parquet`` file of
its day (see ``dsassets.lib.lake.live_stream``). An alert is *raised from late events* when
the processing of its day could not have raised it: one of its events was read after the
alert's day had ended, and the alert was not already in the asset's earlier output of that
day (unmarked). Its evidence gains ``late`` (true), ``late_events`` (how many such events),
``late_event_at`` (the newest one's own time) and ``ingested_at`` (when dsassets read the
newest of them from the stream; Monitor gives no ingestion time of its own). An alert that
was raised on time and later gained a late straggler is left unmarked: it was seen (and
notified, and aged) from its day's run. The alert id is untouched either way. Governance
counts a late alert's age from ``ingested_at`` (when it could first be raised), from its
end otherwise.
"""

from __future__ import annotations

from datetime import datetime

import duckdb
import orjson

from dsassets.lib.lake.lake import Lake
from dsassets.lib.lake.raw_events import DATASET
from dsassets.lib.transform import sql
from dsassets.lib.transform.sql import sql_literal


def bind_late_arrivals(con: duckdb.DuckDBPyConnection, lake: Lake) -> bool:
    """``late_arrivals(event_id, event_at, ingested_at)`` from the late files; False when there are none."""
    pattern = f"{lake.dataset_path(DATASET)}/dt=*/late-*.parquet"
    if not lake.files(pattern):
        return False
    con.execute(
        f"""
        create or replace temp table late_arrivals as
        select eventId as event_id, _event_time as event_at, _extracted_at as ingested_at
        from read_parquet({sql_literal(lake.url(pattern))})
        """
    )
    return True


def bind_on_time(con: duckdb.DuckDBPyConnection, lake: Lake, asset: str) -> None:
    """``on_time_alerts(alert_id)``: the alerts ``asset`` had already written for the run's days
    without ``late`` (read before this run replaces them; empty for days never written)."""
    prior = "select null::varchar as alert_id where false"
    if sql.has_output(lake, asset):
        prior = (
            f"select alert_id from {sql.scan_output(lake, asset)} "
            "where dt >= getvariable('window_start') and dt < getvariable('window_end') "
            "and coalesce(try_cast(json_extract(evidence, '$.late') as boolean), false) = false "
            "and alert_id is not null"
        )
    con.execute(f"create or replace temp table on_time_alerts as {prior}")


def _late_alerts(relation: str) -> str:
    """Per alert of ``relation`` raised from late events: how many, the newest event time and read time.

    Raised from late events: one of its events arrived after the alert's day had ended (so
    the day's first processing could not see it), and the alert was not already there,
    unmarked, in the asset's earlier output of that day. An alert that was raised on time
    and merely gained a late straggler stays as it was: its age still counts from its end.
    """
    return f"""
        select e.alert_id, count(*) as late_events, max(late.event_at) as late_event_at,
            max(late.ingested_at) as ingested_at
        from (select alert_id, dt, unnest(event_ids) as event_id from {relation}) as e
        inner join late_arrivals as late using (event_id)
        where timezone('UTC', late.ingested_at) >= e.dt + interval 1 day
            and e.alert_id not in (select alert_id from on_time_alerts)
        group by e.alert_id
    """


def mark_late(con: duckdb.DuckDBPyConnection, lake: Lake, alerts: str, asset: str) -> None:
    """Add the late fields to the evidence of the alerts in table ``alerts`` raised from late events."""
    bind_on_time(con, lake, asset)
    con.execute(
        f"""
        update {alerts} as a
        set evidence = json_merge_patch(coalesce(a.evidence, '{{}}'), json_object(
            'late', true, 'late_events', l.late_events,
            'late_event_at', l.late_event_at, 'ingested_at', l.ingested_at))::varchar
        from ({_late_alerts(alerts)}) as l
        where a.alert_id = l.alert_id
        """
    )


def raised_at(evidence: str | None, ended_at: datetime) -> datetime:
    """When the alert could first be raised: its late events' ingestion, else its last event."""
    if not evidence:
        return ended_at
    try:
        found = orjson.loads(evidence)
    except orjson.JSONDecodeError:
        return ended_at
    if not isinstance(found, dict) or found.get("late") is not True or not found.get("ingested_at"):
        return ended_at
    try:
        moment = datetime.fromisoformat(str(found["ingested_at"]).replace(" ", "T"))
    except ValueError:
        return ended_at
    return max(moment, ended_at) if moment.tzinfo else ended_at


def late_view(con: duckdb.DuckDBPyConnection, lake: Lake, relation: str, asset: str) -> str:
    """``relation`` (the alerts of ``asset``) with the late fields in the evidence of those raised
    from late events; ``relation`` itself when there are no late files."""
    if not bind_late_arrivals(con, lake):
        return relation
    # The earlier output is read now, into a table, as the run replaces it when it writes;
    # the alerts stay a view (they read day tables built as each day is written).
    bind_on_time(con, lake, asset)
    view = f"{relation}__late"
    con.execute(
        f"""
        create or replace temp view {view} as
        select r.* replace (
            case when l.alert_id is null then r.evidence
            else json_merge_patch(coalesce(r.evidence, '{{}}'), json_object(
                'late', true, 'late_events', l.late_events,
                'late_event_at', l.late_event_at, 'ingested_at', l.ingested_at))::varchar
            end as evidence)
        from {relation} as r
        left join ({_late_alerts(relation)}) as l on r.alert_id = l.alert_id
        """
    )
    return view
