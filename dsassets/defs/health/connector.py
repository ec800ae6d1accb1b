"""Connector health: a stalled audit log is a warning, a failed run is reported, not just recorded."""

import importlib
from datetime import date, datetime

import dagster as dg
import duckdb

from dsassets.defs.daily_checks import DayResults, daily_check, run_days
from dsassets.defs.extract.audit_events import raw_docusign_audit_events
from dsassets.defs.resources import DocuSignResource, LakeResource
from dsassets.lib.config.settings import audit_freshness_hours
from dsassets.lib.health.connector import is_stale, quiet_hours
from dsassets.lib.lake.lake import Lake
from dsassets.lib.lake.raw_events import DATASET

# A module the analyst-notification work may add; when it exists its hook is called too.
NOTIFY_MODULE, NOTIFY_HOOK = "dsassets.lib.notify", "notify_run_failure"


@daily_check(asset=raw_docusign_audit_events, uses_clock=True)
def raw_audit_events_fresh(
    context: dg.AssetCheckExecutionContext, lake: LakeResource, docusign: DocuSignResource
) -> DayResults:
    """Warn when a running day had events but none arrived for DSASSETS_AUDIT_FRESHNESS_HOURS (default 4)."""
    now, hours = docusign.now(), audit_freshness_hours()
    return {day: freshness(lake.lake, day, now, hours) for day in run_days(context)}


def freshness(lake: Lake, day: date, now: datetime, hours: int) -> dg.AssetCheckResult:
    """The freshness check's result for ``day`` of the raw audit events at ``now``."""
    last = None
    if day in lake.partitions(DATASET):
        files = [lake.partition_file(DATASET, day, name) for name in lake.list_files(DATASET, day)]
        with lake.register(duckdb.connect()) as con:
            [(last,)] = con.execute("select max(_event_time) from read_parquet($files)", {"files": files}).fetchall()
    stale = is_stale(day, last, now, hours)
    quiet = quiet_hours(day, last, now)
    return dg.AssetCheckResult(
        passed=not stale,
        severity=dg.AssetCheckSeverity.WARN,
        description=(f"no new DocuSign audit event since {last:%Y-%m-%d %H:%M} UTC ({quiet:.1f} h) on a day that "
                     f"had events: check the Monitor connection and the intra-day refresh") if stale else None,
        metadata={"last_event_at": str(last), "quiet_hours": -1.0 if quiet is None else round(quiet, 2),
                  "threshold_hours": hours},
    )


@dg.run_failure_sensor(name="report_failed_runs", default_status=dg.DefaultSensorStatus.RUNNING)
def report_failed_runs(context: dg.RunFailureSensorContext) -> None:
    """Every failed run is reported in the sensor log and, once it exists, through the notification channel."""
    run = context.dagster_run
    message = context.failure_event.message or "(no message)"
    context.log.error(f"run {run.run_id} of {run.job_name} failed: {message}")
    try:
        module = importlib.import_module(NOTIFY_MODULE)
    except ModuleNotFoundError:
        return
    hook = getattr(module, NOTIFY_HOOK, None)
    if hook is not None:
        hook(job=run.job_name, run_id=run.run_id, message=message)
