"""The triage relations of ``warehouse.duckdb``: ``alert_status``, ``alert_suppressions`` and ``alerts`` with status."""

from __future__ import annotations

from dsassets.lib.lake.lake import Lake
from dsassets.lib.transform import sql
from dsassets.lib.triage import status, suppressions


def warehouse_views(con, lake: Lake, detections: list[str]) -> list[str]:
    """Called by ``refresh_warehouse`` inside its transaction, after the ``alerts`` view exists.

    The status ledger is created empty when missing, so the ``alerts`` view always reads it and
    a status recorded after this refresh shows at once.
    """
    created = []
    status.StatusLedger(lake).ensure_exists()
    ledger = sql.sql_literal(lake.url(status.STATUS_PATH))
    con.execute(f"create or replace view alert_status as select * from read_parquet({ledger})")
    created.append("alert_status")
    if "alerts" in detections:
        scan = sql.parquet_scan(sql.model_glob(lake, sql.Model("marts", "alerts", (), "", True)))
        con.execute(f"create or replace view alerts as {status.alerts_view_sql(scan, ledger)}")
        created.append("alerts")
    if lake.exists(suppressions.SUPPRESSIONS_PATH):
        rules = sql.sql_literal(lake.url(suppressions.SUPPRESSIONS_PATH))
        con.execute(f"create or replace view alert_suppressions as select * from read_parquet({rules})")
        created.append("alert_suppressions")
    return created
