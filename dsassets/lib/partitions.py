"""The one daily partitioning shared by every daily asset, so partition mappings stay identity."""

import os

import dagster as dg

# UTC days. The newest partition is today (end_offset=1): the intra-day refresh fills it as
# the day goes, and the 00:20 schedule completes it once it is over plus the Monitor
# ingestion-lag overlap. The default start leaves room for a quarter of backtesting; set
# DSASSETS_START_DATE for more.
DAILY = dg.DailyPartitionsDefinition(
    start_date=os.environ.get("DSASSETS_START_DATE", "2025-01-01"),
    timezone="UTC",
    end_offset=1,
)
