"""What every asset carries in the catalog, applied to the loaded definitions in one place:
owners, tags, a freshness policy on the daily assets and the raw datasets' column schemas.

Freshness: the daily schedule completes yesterday at 00:20 UTC (``defs/jobs.py``); a daily asset
not materialized between midnight and 03:00 UTC is late (the intra-day refresh, when on,
materializes today's partition all day, which counts too).
"""

from __future__ import annotations

from datetime import timedelta

import dagster as dg

from dsassets.lib.catalog.tables import arrow_columns, column_schema
from dsassets.lib.lake.schemas import RAW_SCHEMAS

OWNERS = ["team:security"]
DAILY_FRESHNESS = dg.FreshnessPolicy.cron(deadline_cron="0 3 * * *", lower_bound_delta=timedelta(hours=3))


def annotate(spec: dg.AssetSpec) -> dg.AssetSpec:
    """``spec`` with owners (unless it names its own), tags, freshness and the raw column schema."""
    tags = {"domain": "security", "layer": spec.group_name or "default", **spec.tags}
    metadata = dict(spec.metadata)
    name = spec.key.path[-1]
    if name in RAW_SCHEMAS and "dagster/column_schema" not in metadata:
        metadata["dagster/column_schema"] = column_schema(arrow_columns(RAW_SCHEMAS[name]))
    return spec.replace_attributes(
        owners=spec.owners or OWNERS,
        tags=tags,
        metadata=metadata,
        freshness_policy=spec.freshness_policy or (DAILY_FRESHNESS if spec.partitions_def else None),
    )
