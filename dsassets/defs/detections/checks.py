"""Asset checks on ``alerts``, one result per day of the run that materializes it.

- ``alerts_alert_id_unique`` (blocking): governance acts once per ``alert_id``, so a repeated or
  missing id would act twice or never;
- ``alerts_have_user_and_evidence``: an alert nobody can be tied to, or without the evidence an
  analyst needs, is a defect in its policy.

Each reads the run's alerts once and splits what it finds by day (``dt``).
"""

from collections import defaultdict
from datetime import date

import dagster as dg

from dsassets.defs.daily_checks import DayResults, daily_check, run_days
from dsassets.defs.detections.assets import ALERTS
from dsassets.defs.resources import LakeResource
from dsassets.lib.lake.partitions import window_dates
from dsassets.lib.transform import sql

SAMPLE = 20


def _query(lake_resource: LakeResource, context, query: str) -> list[tuple]:
    """``query`` over the window's alerts (relation ``window_alerts``); nothing when there is no output."""
    lake = lake_resource.lake
    if not sql.has_output(lake, ALERTS):
        return []
    start, end = window_dates(context)
    with sql.session(lake) as con:
        sql.set_window(con, start, end)
        con.execute(
            f"create temp view window_alerts as select * from {sql.parquet_scan(sql.model_glob(lake, ALERTS))} "
            "where dt >= getvariable('window_start') and dt < getvariable('window_end')")
        return con.execute(query).fetchall()


def _by_day(context, rows: list[tuple]) -> dict[date, list[tuple]]:
    """Rows (``dt`` first) per day of the run, every day present."""
    days: dict[date, list[tuple]] = defaultdict(list)
    for row in rows:
        days[row[0]].append(row)
    return {day: days[day] for day in run_days(context)}


def _alert_counts(lake: LakeResource, context) -> dict[date, int]:
    return dict(_query(lake, context, "select dt, count(*) from window_alerts group by dt"))


def id_problems(rows: list[tuple]) -> dict:
    return {"missing_or_repeated_alert_ids (first 20)": dg.MetadataValue.json(
        [[str(v) for v in row] for row in rows[:SAMPLE]])}


@daily_check(
    asset=dg.AssetKey(ALERTS),
    description="alert_id is never null and never repeats in a day (governance acts once per alert_id).",
    blocking=True,
)
def alerts_alert_id_unique(context: dg.AssetCheckExecutionContext, lake: LakeResource) -> DayResults:
    rows = _query(
        lake, context,
        "select dt, alert_id, count(*) as n from window_alerts group by all "
        "having alert_id is null or count(*) > 1 order by n desc",
    )
    counts = _alert_counts(lake, context)
    return {
        day: dg.AssetCheckResult(passed=not found, metadata={"alerts": counts.get(day, 0), **id_problems(found)})
        for day, found in _by_day(context, rows).items()
    }


@daily_check(
    asset=dg.AssetKey(ALERTS),
    description="Every alert names a user (id or e-mail) and carries evidence (non-empty JSON) and event ids.",
)
def alerts_have_user_and_evidence(context: dg.AssetCheckExecutionContext, lake: LakeResource) -> DayResults:
    rows = _query(
        lake, context,
        "select dt, alert_id, policy, "
        "coalesce(user_id, user_email) is null as no_user, "
        "coalesce(cast(evidence as varchar), '') in ('', '{}', 'null') as no_evidence, "
        "coalesce(len(event_ids), 0) = 0 as no_events "
        "from window_alerts where coalesce(user_id, user_email) is null "
        "or coalesce(cast(evidence as varchar), '') in ('', '{}', 'null') or coalesce(len(event_ids), 0) = 0",
    )
    counts = _alert_counts(lake, context)
    return {
        day: dg.AssetCheckResult(
            passed=not found,
            metadata={
                "alerts": counts.get(day, 0),
                "alerts_without_user": sum(1 for r in found if r[3]),
                "alerts_without_evidence": sum(1 for r in found if r[4]),
                "alerts_without_event_ids": sum(1 for r in found if r[5]),
                "offending_alerts (first 20)": dg.MetadataValue.json(
                    [{"dt": str(r[0]), "alert_id": r[1], "policy": r[2]} for r in found[:SAMPLE]]),
            },
        )
        for day, found in _by_day(context, rows).items()
    }
