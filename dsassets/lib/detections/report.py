"""What a day's materialization of alerts says: how many, per policy, and the newest ones."""

from __future__ import annotations

from datetime import date, timedelta

import dagster as dg

from dsassets.lib.catalog.tables import newest_alerts_table
from dsassets.lib.transform import sql
from dsassets.lib.transform.runner import Run


def alert_report(run: Run, name: str, day: date, count: int, by_policy: dict[str, int] | None = None) -> dict:
    """``alert_count``, ``alerts_per_policy`` (starting from ``by_policy``) and ``newest_alerts`` of ``day``."""
    rows = sql.read_rows(run.con, run.lake, name, day, day + timedelta(days=1))
    per_policy = dict(by_policy or {})
    for row in rows:
        per_policy[row["policy"]] = per_policy.get(row["policy"], 0) + 1
    return {
        "alert_count": dg.MetadataValue.int(count),
        "alerts_per_policy": dg.MetadataValue.json(per_policy),
        "newest_alerts": newest_alerts_table(rows),
    }
