"""Raw DocuSign Monitor audit events, one Parquet partition per UTC day."""


import os
from datetime import datetime, timezone

import dagster as dg

from dsassets.defs.resources import DocuSignResource, LakeResource
from dsassets.lib.partitions import BACKFILL_POLICY, DAILY
from dsassets.lib.raw_events import DATASET, write_event_partitions


@dg.asset(
    name=DATASET,
    group_name="raw",
    kinds={"python", "parquet"},
    partitions_def=DAILY,
    backfill_policy=BACKFILL_POLICY,
)
def raw_docusign_audit_events(
    context: dg.AssetExecutionContext, docusign: DocuSignResource, lake: LakeResource
) -> dg.MaterializeResult:
    """Every DocuSign Monitor audit event whose `timestamp` falls in the partition's UTC day.

    Grain: one row per `eventId`. Source: the Monitor stream (legacy or current
    generation), read from the window start past its end by the ingestion-lag
    overlap and de-duplicated. A range run reads the stream once for the whole range.
    """
    start, end = context.partition_time_window
    source = docusign.source
    extracted_at = datetime.now(timezone.utc)
    pages = 0

    def page_stream():
        nonlocal pages
        with docusign.client() as client:
            for page in client.audit_events(start, end):
                pages += 1
                yield page.events, page.cursor

    counts = write_event_partitions(
        lake.lake,
        page_stream(),
        start=start,
        end=end,
        source=source,
        extracted_at=extracted_at,
        memory_limit=os.environ.get("DSASSETS_DUCKDB_MEMORY_LIMIT", "2GB"),
    )
    total = sum(counts.values())
    context.log.info(f"{total} events in {len(counts)} day(s) from {pages} page(s) ({source})")
    return dg.MaterializeResult(
        metadata={
            "source": source,
            "simulated": source == "simulator",
            "row_count": dg.MetadataValue.int(total),
            "pages": pages,
            "rows_per_day": dg.MetadataValue.md(
                "| day | events |\n|---|---|\n"
                + "\n".join(f"| {day} | {n} |" for day, n in sorted(counts.items()))
            ),
            "path": dg.MetadataValue.path(str(lake.lake.dataset_dir(DATASET))),
        }
    )
