"""The analyst's relations in ``warehouse.duckdb``: ``alerts`` with triage status, the triage
ledgers, and what the investigation macros (``sql/forensics/alert_events.sql``,
``user_insights.sql``) read: ``org_ip_ranges`` and ``ip_list_entries`` from dsassets.yaml, and
``alerts`` / ``governance_actions`` / ``notifications`` as empty views while they have no data yet (DuckDB binds a
macro's tables when it is created)."""

from __future__ import annotations

import pyarrow as pa

from dsassets.lib.config.project import ProjectConfig
from dsassets.lib.detections.engine import empty_alerts_query
from dsassets.lib.governance import ledger as governance
from dsassets.lib.intel import ip_intel
from dsassets.lib.lake.lake import Lake
from dsassets.lib.notify import deliver
from dsassets.lib.transform import sql
from dsassets.lib.triage import status, suppressions

_DUCK_TYPES = {pa.string(): "varchar", pa.int32(): "integer", pa.date32(): "date",
               pa.timestamp("us", tz="UTC"): "timestamptz"}


def _empty_select(schema: pa.Schema) -> str:
    cols = ", ".join(f"null::{_DUCK_TYPES[f.type]} as {f.name}" for f in schema)
    return f"select {cols} where false"


def warehouse_views(con, lake: Lake, config: ProjectConfig, created: dict[str, list[str]]) -> list[str]:
    """Called by ``refresh_warehouse`` inside its transaction, after the alert and governance views.

    The status ledger is created empty when missing, so the ``alerts`` view always reads it and
    a status recorded after this refresh shows at once.
    """
    out = []
    status.StatusLedger(lake).ensure_exists()
    ledger = sql.sql_literal(lake.url(status.STATUS_PATH))
    con.execute(f"create or replace view alert_status as select * from read_parquet({ledger})")
    out.append("alert_status")
    if "alerts" in created.get("detections", []):
        scan = sql.scan_output(lake, "alerts")
    else:
        scan = f"({empty_alerts_query()})"
    con.execute(f"create or replace view alerts as {status.alerts_view_sql(scan, ledger)}")
    out.append("alerts")
    if lake.exists(suppressions.SUPPRESSIONS_PATH):
        rules = sql.sql_literal(lake.url(suppressions.SUPPRESSIONS_PATH))
        con.execute(f"create or replace view alert_suppressions as select * from read_parquet({rules})")
        out.append("alert_suppressions")
    for name, schema in (("governance_actions", governance.LEDGER_SCHEMA), ("notifications", deliver.LEDGER_SCHEMA)):
        if name not in created.get("governance", []):
            con.execute(f"create or replace view {name} as {_empty_select(schema)}")
    lists, _ = ip_intel.ip_list_table(config)
    for name, table in (("org_ip_ranges", ip_intel.org_range_table(config)), ("ip_list_entries", lists)):
        con.register(f"{name}__arrow", table)
        con.execute(f"create or replace table {name} as select * from {name}__arrow")
        con.unregister(f"{name}__arrow")
        out.append(name)
    return out
