"""Great Expectations checks on the raw audit events, one validation per day of the run.

The structural suite is blocking: an event without a unique id or outside its
partition would duplicate or misplace activity in every model downstream. The run's
events are read and validated day by day, so each partition gets its own verdict
(dsassets.lib.lake.event_validations).
"""

import dagster as dg

from dsassets.defs.daily_checks import DayResults, daily_check, run_days
from dsassets.defs.extract.audit_events import raw_docusign_audit_events
from dsassets.defs.resources import LakeResource
from dsassets.lib.lake import gx_worker
from dsassets.lib.lake.event_validations import IPS, STRUCTURE, day_validations


def validate_days(context: dg.AssetCheckExecutionContext, lake: LakeResource, suite: str) -> dict:
    """``{day: (rows, outcome)}`` of ``suite`` over each day of the check's window. In a refresh
    the extraction handed the day to the GX worker already; this collects that (gx_worker)."""
    tasks = day_validations(lake.data_dir, lake.local_dir or None, run_days(context))
    return {day: gx_worker.validate(*task[suite], key=(context.run.run_id, suite, day)) for day, task in tasks.items()}


@daily_check(asset=raw_docusign_audit_events, blocking=True)
def raw_audit_events_valid(context: dg.AssetCheckExecutionContext, lake: LakeResource) -> DayResults:
    """GX: eventId present and unique, required columns present, every event inside its partition's day."""
    return {
        day: dg.AssetCheckResult(
            passed=outcome.success,
            severity=dg.AssetCheckSeverity.ERROR,
            metadata={"rows": rows, **outcome.metadata()},
        )
        for day, (rows, outcome) in validate_days(context, lake, STRUCTURE).items()
    }


# Run after the steps that do not wait for it: in a refresh its validation, handed to the GX worker
# by the extraction, runs on the other core meanwhile, and this step only collects it.
@daily_check(asset=raw_docusign_audit_events, op_tags={"dagster/priority": "-1"})
def raw_audit_event_ips_parse(context: dg.AssetCheckExecutionContext, lake: LakeResource) -> DayResults:
    """GX: at least 99% of events carry an IP address that parses as IPv4 or IPv6 (warning only)."""
    return {
        day: dg.AssetCheckResult(
            passed=outcome.success if outcome else True,
            severity=dg.AssetCheckSeverity.WARN,
            metadata={"rows": rows, **(outcome.metadata() if outcome else {})},
        )
        for day, (rows, outcome) in validate_days(context, lake, IPS).items()
    }
