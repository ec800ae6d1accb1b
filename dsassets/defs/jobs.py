"""Jobs and schedules: the daily pipeline, the intra-day refresh of today, the warehouse refresh.

- ``daily_pipeline_schedule`` (00:20 UTC) completes yesterday: the live audit-event stream is
  read from its one stored cursor (or from the day's start on a new lake) to the present,
  past midnight plus the ingestion lag, and the day compacted; snapshots are taken and every
  model, detection and policy recomputes for the day. Events that reach an earlier, complete
  day are stored there as late files and re-checked by ``late_events_sensor``.
- ``intraday_refresh_schedule`` (every ``DSASSETS_REFRESH_MINUTES``, default 15) runs the
  same assets for today, appending only new events; DocuSign's user and settings snapshots
  are taken on the day's first refresh only (they cost one call per user), the identity
  provider's every time (terminated users must be seen the same day). A step whose inputs did
  not change since the previous refresh is not recomputed.
- Backfills (``dsassets backfill``, the UI) read days whole, replacing what they held.
"""

from datetime import timedelta

import dagster as dg

from dsassets.defs.extract.snapshots import raw_docusign_esignature, raw_docusign_organization
from dsassets.lib.lake.raw_events import DATASET as AUDIT_EVENTS
from dsassets.lib.config.settings import REFRESH_MINUTES, ConfigError
from dsassets.lib.transform.unchanged import SKIP_TAG

# Every daily-partitioned layer. Unpartitioned assets (the warehouse file) live in group
# `warehouse` and run in their own job, since one run cannot mix partitioned and unpartitioned assets.
DAILY_GROUPS = ("raw", "staging", "intermediate", "marts", "baselines", "posture", "detections", "policies",
                "governance", "notify")
DAILY = dg.AssetSelection.groups(*DAILY_GROUPS)
INCREMENTAL = {"ops": {AUDIT_EVENTS: {"config": {"incremental": True}}}}
# Snapshot assets that cost a call per user: taken once a day.
DAILY_SNAPSHOTS = [*raw_docusign_organization.keys, *raw_docusign_esignature.keys]


def refresh_minutes() -> int:
    minutes = REFRESH_MINUTES.integer()
    if minutes not in (5, 10, 15, 20, 30, 60):
        raise ConfigError(f"{REFRESH_MINUTES.name}={minutes}: must divide the hour (5, 10, 15, 20, 30 or 60)")
    return minutes


daily_job = dg.define_asset_job(
    "daily_pipeline",
    selection=DAILY,
    description="Extract, model and detect for a day (or, as a single-run backfill, a range of days).",
)

refresh_job = dg.define_asset_job(
    "intraday_refresh",
    selection=DAILY,
    config=INCREMENTAL,
    # One day's small steps: a process per step would cost more than the steps themselves, and a
    # refresh is about latency (the daily and backfill runs keep the multiprocess executor).
    executor_def=dg.in_process_executor,
    # A step whose inputs did not change since the last refresh keeps its files and repeats what
    # it reported (dsassets.lib.transform.unchanged): with nothing new, a refresh costs seconds.
    run_tags={SKIP_TAG: "true"},
    description="Today so far: append the audit events since the last refresh, then recompute today's "
    "models, detections, policies and governance.",
)

warehouse_job = dg.define_asset_job(
    "warehouse_refresh",
    selection=dg.AssetSelection.groups("warehouse"),
    description="Refresh the views in warehouse.duckdb over the Parquet lake.",
)


@dg.schedule(job=daily_job, cron_schedule="20 0 * * *", execution_timezone="UTC")
def daily_pipeline_schedule(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
    """Complete yesterday once the Monitor ingestion lag past midnight has passed."""
    day = (context.scheduled_execution_time - timedelta(days=1)).date().isoformat()
    return dg.RunRequest(run_key=day, partition_key=day, run_config=INCREMENTAL)


@dg.schedule(job=refresh_job, cron_schedule=f"*/{refresh_minutes()} * * * *", execution_timezone="UTC")
def intraday_refresh_schedule(context: dg.ScheduleEvaluationContext):
    """Refresh today; skipped while the previous refresh still runs (it resumes where that stops)."""
    busy = context.instance.get_run_records(
        dg.RunsFilter(job_name=refresh_job.name, statuses=[
            dg.DagsterRunStatus.QUEUED, dg.DagsterRunStatus.NOT_STARTED, dg.DagsterRunStatus.STARTING,
            dg.DagsterRunStatus.STARTED]),
        limit=1,
    )
    if busy:
        return dg.SkipReason(f"refresh run {busy[0].dagster_run.run_id} is still in progress")
    now = context.scheduled_execution_time
    day = now.date().isoformat()
    graph = context.repository_def.asset_graph
    selected = DAILY.resolve(graph)
    if day in context.instance.get_materialized_partitions(DAILY_SNAPSHOTS[0]):
        selected -= set(DAILY_SNAPSHOTS)
    return dg.RunRequest(
        run_key=now.isoformat(),
        partition_key=day,
        asset_selection=sorted(selected, key=lambda k: k.to_user_string()),
    )


# The warehouse views read Parquet globs, so new partitions show up without a refresh; this
# nightly refresh picks up models materialized for the first time and changed forensic macros.
warehouse_schedule = dg.ScheduleDefinition(job=warehouse_job, cron_schedule="30 2 * * *", execution_timezone="UTC")
