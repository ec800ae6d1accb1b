"""Alerts raised from late events say so: ``late: true`` and both times in their evidence.

An event Monitor ingested after its day was complete is stored in a ``late-*.parquet`` file of
its day (see ``dsassets.lib.lake.live_stream``). When an alert's events include such events,
its evidence gains ``late`` (true), ``late_events`` (how many), ``late_event_at`` (the newest
late event's own time) and ``ingested_at`` (when dsassets read the newest of them from the
stream; Monitor gives no ingestion time of its own). The alert id is untouched: the same
attack keeps the same id whenever its events arrived. Governance counts an alert's age from
``ingested_at`` for late alerts (when it could first be raised), from its end otherwise.
"""

from __future__ import annotations

from datetime import datetime

import duckdb
import orjson

from dsassets.lib.lake.lake import Lake
from dsassets.lib.lake.raw_events import DATASET
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


def mark_late(con: duckdb.DuckDBPyConnection, alerts: str) -> None:
    """Add the late fields to the evidence of the alerts in table ``alerts`` that hold late events."""
    con.execute(
        f"""
        update {alerts} as a
        set evidence = json_merge_patch(coalesce(a.evidence, '{{}}'), json_object(
            'late', true, 'late_events', l.late_events,
            'late_event_at', l.late_event_at, 'ingested_at', l.ingested_at))::varchar
        from (
            select e.alert_id, count(*) as late_events, max(late.event_at) as late_event_at,
                max(late.ingested_at) as ingested_at
            from (select alert_id, unnest(event_ids) as event_id from {alerts}) as e
            inner join late_arrivals as late using (event_id)
            group by e.alert_id
        ) as l
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


def late_view(con: duckdb.DuckDBPyConnection, lake: Lake, relation: str) -> str:
    """``relation`` (alerts, re-evaluated per day) with the late fields in its evidence; itself without late files."""
    if not bind_late_arrivals(con, lake):
        return relation
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
        left join (
            select e.alert_id, count(*) as late_events, max(late.event_at) as late_event_at,
                max(late.ingested_at) as ingested_at
            from (select alert_id, unnest(event_ids) as event_id from {relation}) as e
            inner join late_arrivals as late using (event_id)
            group by e.alert_id
        ) as l on r.alert_id = l.alert_id
        """
    )
    return view
