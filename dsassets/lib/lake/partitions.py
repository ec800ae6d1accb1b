"""The one daily partitioning shared by every daily asset, how backfills split it into runs, and
the partition mappings that declare which earlier (or all) days an asset reads.

Dagster orders an asset backfill's runs by these mappings: a day's detections are launched
only once every targeted day of their lookback has its ``activities``. Without them a parallel
backfill could compute day D before day D-1's marts exist and silently differ from a serial run.
"""

import os
from datetime import date
from typing import Iterable, Mapping

import dagster as dg

from dsassets.lib.config.settings import BACKFILL_DAYS_PER_RUN, START_DATE

# UTC days. The newest partition is today (end_offset=1): the intra-day refresh fills it as
# the day goes, and the 00:20 schedule completes it once it is over plus the Monitor
# ingestion-lag overlap. The default start leaves room for a quarter of backtesting; set
# DSASSETS_START_DATE for more.
DAILY = dg.DailyPartitionsDefinition(
    start_date=START_DATE.get(),
    timezone="UTC",
    end_offset=1,
)

DAYS_PER_RUN_ENV = BACKFILL_DAYS_PER_RUN.name


def backfill_policy(env: Mapping[str, str] = os.environ) -> dg.BackfillPolicy:
    """Unset: a backfill is one run over the whole range (the Monitor stream is read once, and
    ``dg launch --partition-range`` needs it). N: runs of at most N days, which Dagster's backfill
    daemon launches side by side as far as the run queue allows, in the order the lookback
    mappings below require. Every daily asset shares one policy, because Dagster never puts
    assets with different policies in the same run."""
    raw = env.get(DAYS_PER_RUN_ENV, "").strip()
    if not raw:
        return dg.BackfillPolicy.single_run()
    try:
        days = int(raw)
    except ValueError:
        raise ValueError(f"{DAYS_PER_RUN_ENV}={raw!r} is not a whole number of days") from None
    if days < 1:
        raise ValueError(f"{DAYS_PER_RUN_ENV}={raw!r} must be at least 1")
    return dg.BackfillPolicy.multi_run(max_partitions_per_run=days)


BACKFILL_POLICY = backfill_policy()


def last_days(days: int) -> dg.TimeWindowPartitionMapping:
    """The day itself and the ``days`` before it (a detection's baseline window).

    Days before the first partition do not exist; reading fewer of them is what the asset does too.
    """
    return dg.TimeWindowPartitionMapping(
        start_offset=-days, end_offset=0, allow_nonexistent_upstream_partitions=True
    )


# "Every snapshot / event before the window's end" (users, user_accounts, learning periods):
# a hundred years back stands for all of history; Dagster maps it as one time window, so
# the size costs nothing.
EVERY_EARLIER_DAY = last_days(36_500)
# activities takes a user's e-mail from the latest directory snapshot on or before the day,
# else the earliest one after it: it can read any day, later ones included.
EVERY_DAY = dg.AllPartitionMapping()


def deps(names: Iterable[str], mappings: Mapping[str, dg.PartitionMapping] | None = None) -> list[dg.AssetDep]:
    """``AssetDep``s on ``names``: identity (same day) unless ``mappings`` names another mapping."""
    mappings = mappings or {}
    return [dg.AssetDep(name, partition_mapping=mappings.get(name)) for name in names]


def range_tags(first: date, last: date) -> dict[str, str]:
    """The run tags that make one run cover the days ``first`` to ``last``, both included.

    ``execute_in_process`` and ``dg.materialize`` take one partition key; a run over several days
    is what a single-run backfill launches, and these tags are how Dagster spells its range.
    """
    return {"dagster/asset_partition_range_start": first.isoformat(),
            "dagster/asset_partition_range_end": last.isoformat()}


def window_dates(context: dg.AssetExecutionContext | dg.AssetCheckExecutionContext) -> tuple[date, date]:
    """The run's partition window as dates: ``[start, end)``."""
    window = context.partition_time_window
    return window.start.date(), window.end.date()
