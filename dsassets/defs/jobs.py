"""Jobs and the schedule: the daily partitioned pipeline, then the warehouse refresh."""

import dagster as dg

# Every daily-partitioned layer. Unpartitioned assets (the warehouse file) live in group
# `warehouse` and run in their own job, since one run cannot mix partitioned and unpartitioned assets.
DAILY_GROUPS = ("raw", "staging", "intermediate", "marts", "posture", "detections", "policies", "governance")

daily_job = dg.define_asset_job(
    "daily_pipeline",
    selection=dg.AssetSelection.groups(*DAILY_GROUPS),
    description="Extract, model and detect for a day (or, as a single-run backfill, a range of days).",
)

warehouse_job = dg.define_asset_job(
    "warehouse_refresh",
    selection=dg.AssetSelection.groups("warehouse"),
    description="Refresh the views in warehouse.duckdb over the Parquet lake.",
)

daily_schedule = dg.build_schedule_from_partitioned_job(daily_job, hour_of_day=1, minute_of_hour=0)

# The warehouse views read Parquet globs, so new partitions show up without a refresh; this
# nightly refresh picks up models materialized for the first time and changed forensic macros.
warehouse_schedule = dg.ScheduleDefinition(job=warehouse_job, cron_schedule="30 2 * * *", execution_timezone="UTC")
