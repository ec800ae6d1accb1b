"""Raw DocuSign Monitor audit events, one Parquet partition per UTC day."""


from datetime import timedelta

import dagster as dg

from dsassets.lib.catalog.tables import metadata_table
from dsassets.defs.extract.raw import daily_raw_asset
from dsassets.defs.resources import DocuSignResource, LakeResource
from dsassets.defs.extract.drift import drift_metadata
from dsassets.lib.config.settings import (
    DUCKDB_MEMORY_LIMIT,
    docusign_settings_from_env,
    late_event_hours,
    monitor_readers,
)
from dsassets.lib.health.connector import RetentionError, check_retention
from dsassets.lib import long_lived
from dsassets.lib.lake import gx_worker
from dsassets.lib.lake.coerce import Drift
from dsassets.lib.lake.event_validations import day_validations
from dsassets.lib.lake.live_stream import Advance, advance_stream, day_lateness
from dsassets.lib.lake.raw_events import DATASET, write_event_partitions
from dsassets.lib.lake.window_reads import read_windows

LATE_CHECK = "events_within_late_bound"
STREAM_POOL = "monitor_stream"
# Executors that run every step in the run's own process: the refresh job's, and the one Dagster
# swaps in for `execute_in_process` (tests, the refresh benchmark).
IN_PROCESS_EXECUTORS = frozenset({dg.in_process_executor.name, "execute_in_process_executor"})


class AuditEventsConfig(dg.Config):
    """How to fill the partition: whole (backfills) or incremental (the intra-day refresh)."""

    # Read the live stream from its one stored cursor to the present and append each event to
    # its own day (late events of complete days too); once the present is past the day's end
    # plus the ingestion lag, compact the day and mark it complete.
    incremental: bool = False


@daily_raw_asset(
    DATASET,
    # One reader of the stream at a time: the 00:20 run and a refresh both read from the one
    # live cursor, and two at once would store the same new events twice.
    pool=STREAM_POOL,
    check_specs=[dg.AssetCheckSpec(
        LATE_CHECK, asset=DATASET,
        description="Warns when Monitor ingested an event read by this run later than "
        "DSASSETS_LATE_EVENT_HOURS (default 6) after it happened: detections ran on incomplete data.",
    )],
)
def raw_docusign_audit_events(
    context: dg.AssetExecutionContext, config: AuditEventsConfig, docusign: DocuSignResource, lake: LakeResource
) -> dg.MaterializeResult:
    """Every DocuSign Monitor audit event whose `timestamp` falls in the partition's UTC day.

    Grain: one row per `eventId`. Source: the Monitor stream (legacy or current
    generation), read from the window start past its end by the ingestion-lag
    overlap and de-duplicated. A range run reads the stream once for the whole range.
    With `incremental: true` (the daily and intra-day runs) the live stream is read from its
    one stored cursor to the present instead: every event lands in its own day, and events of
    days already complete are stored as late files and reported (`late_days`, plus one
    materialization of each such day) so the `late_events_sensor` re-checks those days.
    """
    start, end = context.partition_time_window
    source = docusign.source
    extracted_at = docusign.now()
    settings = docusign_settings_from_env()
    if settings is not None:  # the simulator keeps every day; DocuSign does not
        try:
            check_retention(start, extracted_at, settings.monitor_retention_days)
        except RetentionError as exc:
            raise dg.Failure(f"{DATASET}: {exc}") from None
    memory_limit = DUCKDB_MEMORY_LIMIT.get()
    path = dg.MetadataValue.path(str(lake.lake.dataset_dir(DATASET)))
    if config.incremental:
        if len(context.partition_keys) != 1:
            raise dg.Failure(f"{DATASET}: an incremental run refreshes one day; this run has "
                             f"{len(context.partition_keys)} (run a range without incremental)")
        if context.job_def.executor_def.name in IN_PROCESS_EXECUTORS:
            # A refresh: its checks run in this process, after this step. GX's import (3.4 s) is
            # made on the other core while this step reads (see gx_worker).
            gx_worker.start()
            # The code location and the run's set-up live as long as this process: out of the
            # collector's passes for the rest of the run and its exit (about 1 s of a refresh with
            # nothing new; dsassets.lib.long_lived).
            long_lived.freeze()
        with docusign.client() as client:
            done = advance_stream(
                lake.lake,
                lambda cursor: client.audit_events(start, None, cursor=cursor),
                day=start.date(),
                source=source,
                extracted_at=extracted_at,
                complete_at=end + timedelta(minutes=client.settings.monitor_lag_minutes),
                memory_limit=memory_limit,
            )
        if done.published is None and not done.late_days:
            gx_worker.stop()  # nothing new: the checks repeat their result, GX is not needed
        elif done.published is not None and gx_worker.started():
            # The day's checks run later in this process; the worker validates the day meanwhile.
            day = start.date()
            for suite, task in day_validations(lake.data_dir, lake.local_dir or None, [day])[day].items():
                gx_worker.submit((context.run.run_id, suite, day), *task)
        return _live_result(context, lake, done, source, path)

    read: list[int] = []  # one entry per page read, appended by every window's thread

    def page_stream(client, window_start, window_end):
        for page in client.audit_events(window_start, window_end):
            read.append(1)
            yield page

    drift = Drift()
    # A range of days may be read as windows at once; they share one client, so a rate-limit
    # pause holds them all (DOCUSIGN_MONITOR_READERS).
    with docusign.client() as client:
        counts = write_event_partitions(
            lake.lake,
            read_windows(lambda a, b: page_stream(client, a, b), start, end, monitor_readers()),
            start=start,
            end=end,
            source=source,
            extracted_at=extracted_at,
            memory_limit=memory_limit,
            drift=drift,
        )
    pages = len(read)
    total = sum(counts.values())
    context.log.info(f"{total} events in {len(counts)} day(s) from {pages} page(s) ({source})")
    return dg.MaterializeResult(
        metadata={
            "source": source,
            "simulated": source == "simulator",
            "mode": "whole",
            "row_count": dg.MetadataValue.int(total),
            "pages": pages,
            "rows_per_day": metadata_table(
                [{"day": day, "events": n} for day, n in sorted(counts.items())], {"day": "day", "events": "events"},
                limit=366,
            ),
            "path": path,
            **drift_metadata(context, DATASET, drift),
        },
        # A backfill reads the past, where every event is long ingested: nothing to measure.
        check_results=[dg.AssetCheckResult(
            check_name=LATE_CHECK, asset_key=DATASET, passed=True,
            metadata={"measured": "no: a whole read of past days (only live reads measure lateness)"},
        )] if dg.AssetCheckKey(dg.AssetKey(DATASET), LATE_CHECK) in context.selected_asset_check_keys else [],
    )


def _live_result(context, lake: LakeResource, done: Advance, source: str, path) -> dg.MaterializeResult:
    """Metadata of a live read; every late day also gets a materialization of its own."""
    day = done.day
    bound_s = late_event_hours() * 3600
    for late_day, got in sorted(done.late_days.items()):
        so_far = day_lateness(lake.lake, late_day)
        context.log_event(dg.AssetMaterialization(
            asset_key=DATASET, partition=late_day.isoformat(),
            description=f"{got.added} late event(s) read by the run for {day}",
            metadata={"late": True, "late_events_added": dg.MetadataValue.int(got.added),
                      "late_events": dg.MetadataValue.int(so_far.late_events),
                      "max_ingestion_delay_minutes": round(so_far.max_delay_s / 60, 1),
                      "read_by_partition": day.isoformat(), "file": got.file or ""},
        ))
    own = day_lateness(lake.lake, day)
    worst = max([own.max_delay_s, *(a.max_delay_s for a in done.late_days.values())])
    context.log.info(
        f"{done.added} new events for {day} from {done.pages} page(s) ({source}); "
        + ("the day is complete" if done.complete else "the day is still open")
        + (f"; late events for {', '.join(str(d) for d in sorted(done.late_days))}" if done.late_days else ""))
    checks = []
    if dg.AssetCheckKey(dg.AssetKey(DATASET), LATE_CHECK) in context.selected_asset_check_keys:
        checks.append(dg.AssetCheckResult(
            check_name=LATE_CHECK, asset_key=DATASET, passed=worst <= bound_s,
            severity=dg.AssetCheckSeverity.WARN,
            metadata={"max_ingestion_delay_minutes": round(worst / 60, 1),
                      "bound_minutes": round(bound_s / 60, 1),
                      "late_days": dg.MetadataValue.json(sorted(str(d) for d in done.late_days))},
        ))
    return dg.MaterializeResult(
        metadata={
            "source": source,
            "simulated": source == "simulator",
            "mode": "incremental",
            "added_rows": dg.MetadataValue.int(done.added),
            "complete": done.complete,
            "pages": done.pages,
            "file": done.published or "(nothing new)",
            "path": path,
            # Events of this day that arrived after it was complete, and the largest ingestion
            # delay (a lower bound from stream order) among the day's events.
            "late_events": dg.MetadataValue.int(own.late_events),
            "max_ingestion_delay_minutes": round(own.max_delay_s / 60, 1),
            "late_days": dg.MetadataValue.json(
                {str(d): a.added for d, a in sorted(done.late_days.items())}),
            **drift_metadata(context, DATASET, done.drift),
        },
        check_results=checks,
    )
