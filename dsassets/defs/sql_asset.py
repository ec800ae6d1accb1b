"""A partitioned SQL asset as Dagster sees it: a daily asset that runs its record through the runner."""

from typing import Iterable

import dagster as dg

from dsassets.defs.owners import OWNERS
from dsassets.defs.resources import LakeResource
from dsassets.lib.lake.partitions import BACKFILL_POLICY, DAILY, deps
from dsassets.lib.transform import runner
from dsassets.lib.transform.models import Model


def daily_sql_asset(
    spec: runner.SqlAsset,
    *,
    group: str,
    description: str,
    deps: Iterable[dg.AssetDep | dg.AssetKey],
    metadata: dict | None = None,
) -> dg.AssetsDefinition:
    """The daily, single-run-backfilled DuckDB asset that materializes ``spec`` for its window."""

    @dg.asset(
        name=spec.name,
        group_name=group,
        kinds={"duckdb", "sql"},
        owners=OWNERS,
        description=description,
        deps=list(deps),
        partitions_def=DAILY,
        backfill_policy=BACKFILL_POLICY,
        metadata=metadata,
    )
    def _asset(context: dg.AssetExecutionContext, lake: LakeResource) -> dg.MaterializeResult:
        return runner.materialize(context, lake.lake, spec)

    return _asset


def model_asset(model: Model, spec: runner.SqlAsset) -> dg.AssetsDefinition:
    """The asset of a model record: its layer is its group, its record says what it reads."""
    return daily_sql_asset(
        spec,
        group=model.layer,
        description=model.description,
        deps=deps(model.deps, model.reads),
        metadata={"layer": model.layer, "sql": dg.MetadataValue.path(str(model.path))},
    )
