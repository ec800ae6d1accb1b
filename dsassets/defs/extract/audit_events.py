"""Raw DocuSign Monitor audit events, one Parquet partition per UTC day."""


from datetime import timedelta

import dagster as dg

from dsassets.lib.catalog.tables import metadata_table
from dsassets.defs.extract.raw import daily_raw_asset
from dsassets.defs.resources import DocuSignResource, LakeResource
from dsassets.lib.config.settings import DUCKDB_MEMORY_LIMIT
from dsassets.lib.lake.raw_events import DATASET, refresh_day, write_event_partitions


class AuditEventsConfig(dg.Config):
    """How to fill the partition: whole (backfills) or incremental (the intra-day refresh)."""

    # Resume from the cursor the day's files stored and append only new events; once the read
    # passes the day's end plus the ingestion lag, compact the day and mark it complete.
    incremental: bool = False


@daily_raw_asset(DATASET)
def raw_docusign_audit_events(
    context: dg.AssetExecutionContext, config: AuditEventsConfig, docusign: DocuSignResource, lake: LakeResource
) -> dg.MaterializeResult:
    """Every DocuSign Monitor audit event whose `timestamp` falls in the partition's UTC day.

    Grain: one row per `eventId`. Source: the Monitor stream (legacy or current
    generation), read from the window start past its end by the ingestion-lag
    overlap and de-duplicated. A range run reads the stream once for the whole range.
    With `incremental: true` (the `intraday_refresh` job) a single day is appended to from
    the stored cursor instead, as one more file per run.
    """
    start, end = context.partition_time_window
    source = docusign.source
    extracted_at = docusign.now()
    memory_limit = DUCKDB_MEMORY_LIMIT.get()
    path = dg.MetadataValue.path(str(lake.lake.dataset_dir(DATASET)))
    if config.incremental:
        if len(context.partition_keys) != 1:
            raise dg.Failure(f"{DATASET}: an incremental run refreshes one day; this run has "
                             f"{len(context.partition_keys)} (run a range without incremental)")

        with docusign.client() as client:
            done = refresh_day(
                lake.lake,
                lambda cursor: client.audit_events(start, end, cursor=cursor),
                day=start.date(),
                source=source,
                extracted_at=extracted_at,
                complete_at=end + timedelta(minutes=client.settings.monitor_lag_minutes),
                memory_limit=memory_limit,
            )
        context.log.info(
            f"{done.added} new events for {start.date()} from {done.pages} page(s) ({source}); "
            + ("the day is complete" if done.complete else "the day is still open"))
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
            }
        )

    pages = 0

    def page_stream():
        nonlocal pages
        with docusign.client() as client:
            for page in client.audit_events(start, end):
                pages += 1
                yield page

    counts = write_event_partitions(
        lake.lake,
        page_stream(),
        start=start,
        end=end,
        source=source,
        extracted_at=extracted_at,
        memory_limit=memory_limit,
    )
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
        }
    )
