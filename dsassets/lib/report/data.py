"""The report's datasets: each ``sql/report/<name>.sql`` run against ``warehouse.duckdb`` for a period."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import duckdb

from dsassets.lib.lake.lake import Lake
from dsassets.lib.transform.files import SQL_DIR

REPORT_SQL = SQL_DIR / "report"
DATASETS = ("alerts_per_day", "alerts_by_severity_status", "top_users", "top_ips", "top_countries",
            "country_signins", "posture_scores", "failing_controls", "actions")


class ReportError(RuntimeError):
    """The report cannot be made (no warehouse yet); one line saying what to do."""


def _plain(value):
    """JSON-ready values for the Vega-Lite specs and the tables (dates as ISO text)."""
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, float):
        return round(value, 2)
    return value


def collect(warehouse: Path, lake: Lake, start: date, end: date) -> tuple[dict[str, list[dict]], dict[str, str]]:
    """``({dataset: rows}, {dataset: why it is empty})`` for ``[start, end)``.

    A dataset whose views do not exist yet (posture never materialized, say) is empty with the
    reason, so the report still renders what there is.
    """
    if not warehouse.exists():
        raise ReportError(f"{warehouse} does not exist yet: run `dsassets demo` or `dsassets backfill` first")
    data: dict[str, list[dict]] = {}
    missing: dict[str, str] = {}
    with duckdb.connect(str(warehouse), read_only=True) as con:
        lake.register(con)
        for name in DATASETS:
            query = (REPORT_SQL / f"{name}.sql").read_text()
            try:
                cur = con.execute(query, {"start": start, "end": end})
            except duckdb.CatalogException as exc:
                data[name] = []
                missing[name] = str(exc).splitlines()[0]
                continue
            cols = [d[0] for d in cur.description]
            data[name] = [{c: _plain(v) for c, v in zip(cols, row)} for row in cur.fetchall()]
    return data, missing
