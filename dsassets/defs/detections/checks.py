"""Asset checks on ``alerts``, over the partitions of the run that materializes it.

- ``alerts_alert_id_unique`` (blocking): governance acts once per ``alert_id``, so a repeated or
  missing id would act twice or never;
- ``alerts_have_user_and_evidence``: an alert nobody can be tied to, or without the evidence an
  analyst needs, is a defect in its policy.
"""

import dagster as dg

from dsassets.defs.detections.assets import ALERTS
from dsassets.lib.lake.partitions import window_dates
from dsassets.defs.resources import LakeResource
from dsassets.lib.lake.partitions import DAILY
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


def id_problems(rows: list[tuple]) -> dict:
    return {"missing_or_repeated_alert_ids (first 20)": dg.MetadataValue.json(
        [[str(v) for v in row] for row in rows[:SAMPLE]])}


@dg.asset_check(
    asset=dg.AssetKey(ALERTS),
    description="alert_id is never null and never repeats in the window (governance acts once per alert_id).",
    partitions_def=DAILY,
    blocking=True,
)
def alerts_alert_id_unique(context: dg.AssetCheckExecutionContext, lake: LakeResource) -> dg.AssetCheckResult:
    rows = _query(
        lake, context,
        "select dt, alert_id, count(*) as n from window_alerts group by all "
        "having alert_id is null or count(*) > 1 order by n desc",
    )
    return dg.AssetCheckResult(passed=not rows, metadata=id_problems(rows))


@dg.asset_check(
    asset=dg.AssetKey(ALERTS),
    description="Every alert names a user (id or e-mail) and carries evidence (non-empty JSON) and event ids.",
    partitions_def=DAILY,
)
def alerts_have_user_and_evidence(context: dg.AssetCheckExecutionContext, lake: LakeResource) -> dg.AssetCheckResult:
    rows = _query(
        lake, context,
        "select dt, alert_id, policy, "
        "coalesce(user_id, user_email) is null as no_user, "
        "coalesce(cast(evidence as varchar), '') in ('', '{}', 'null') as no_evidence, "
        "coalesce(len(event_ids), 0) = 0 as no_events "
        "from window_alerts where coalesce(user_id, user_email) is null "
        "or coalesce(cast(evidence as varchar), '') in ('', '{}', 'null') or coalesce(len(event_ids), 0) = 0",
    )
    return dg.AssetCheckResult(
        passed=not rows,
        metadata={
            "alerts_without_user": sum(1 for r in rows if r[3]),
            "alerts_without_evidence": sum(1 for r in rows if r[4]),
            "alerts_without_event_ids": sum(1 for r in rows if r[5]),
            "offending_alerts (first 20)": dg.MetadataValue.json(
                [{"dt": str(r[0]), "alert_id": r[1], "policy": r[2]} for r in rows[:SAMPLE]]),
        },
    )
