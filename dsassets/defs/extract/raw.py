"""What every raw dataset's asset declares: group ``raw``, Python writing Parquet, one partition a day."""

import dagster as dg

from dsassets.defs.owners import OWNERS
from dsassets.lib.lake.partitions import BACKFILL_POLICY, DAILY

GROUP = "raw"
KINDS = {"python", "parquet"}


def daily_raw_asset(name: str, **extra):
    """``@dg.asset`` for the raw dataset ``name`` (its description is the function's docstring);
    ``extra``: further ``dg.asset`` arguments (a pool, check specs)."""
    return dg.asset(name=name, group_name=GROUP, kinds=KINDS, owners=OWNERS, partitions_def=DAILY,
                    backfill_policy=BACKFILL_POLICY, **extra)


def raw_spec(name: str, description: str) -> dg.AssetSpec:
    return dg.AssetSpec(name, group_name=GROUP, kinds=KINDS, owners=OWNERS, description=description)
