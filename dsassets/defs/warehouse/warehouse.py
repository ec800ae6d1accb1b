"""``warehouse``: the one asset that writes ``<local_dir>/warehouse.duckdb``.

The file holds no data, only views over the Parquet lake (raw, staging,
intermediate, marts), the lookup table ``country_codes``, the macros and the
forensic table macros of ``sql/forensics/``. Refreshing it takes a second, so a
DuckDB shell holding the file open only delays this asset (it retries, then
fails naming the process to close); every model asset keeps running because
none of them opens the file.
"""

import re
from pathlib import Path

import dagster as dg

from dsassets.defs.owners import OWNERS
from dsassets.defs.resources import LakeResource
from dsassets.lib.config.project import project_config
from dsassets.lib.detections.registry import DETECTIONS
from dsassets.lib.governance import ledger as governance
from dsassets.lib.lake.lake import Lake
from dsassets.lib.lake.schemas import RAW_SCHEMAS
from dsassets.lib.notify import deliver as notify
from dsassets.lib.posture import controls as posture
from dsassets.lib.transform import sql
from dsassets.lib.transform.files import SQL_DIR, file_statements
from dsassets.lib.transform.models import MODELS, POSTURE_MODELS
from dsassets.lib.triage import suppressions, warehouse as triage

FORENSICS_DIR = SQL_DIR / "forensics"
# Dagster concurrency pool of the one asset that writes warehouse.duckdb (limit 1 in dagster.yaml).
WAREHOUSE_POOL = "warehouse_file"


def warehouse_path(lake: Lake) -> Path:
    # A DuckDB database file needs a local filesystem (locks, in-place writes), so it stays in
    # the local directory even when the lake is on S3; its views name the lake's URLs.
    return lake.local_dir / sql.WAREHOUSE_FILE


def refresh_warehouse(lake: Lake, *, attempts: int = 6, wait_seconds: float = 5.0, log=None) -> dict:
    """(Re)create every view and macro in ``warehouse.duckdb``; returns what it created."""
    config = project_config()
    path = warehouse_path(lake)
    con = sql.open_warehouse(path, attempts=attempts, wait_seconds=wait_seconds, log=log)
    created: dict[str, list[str]] = {"raw": [], "staging": [], "intermediate": [], "marts": [],
                                     "forensics": [], "posture": []}
    try:
        sql.configure(con)
        lake.register(con)
        con.execute("begin transaction")
        sql.install_support(con, config, temp=False, analyst_macros=True)
        sql.bind_raw(con, lake, temp=False)
        created["raw"] = sorted(RAW_SCHEMAS)
        for model in MODELS:
            if model.is_view:
                con.execute(f"create or replace view {model.name} as {sql.model_query(model)}")
            elif sql.has_output(lake, model.name):
                scan = sql.scan_output(lake, model.name)
                if model.latest_view:
                    history = f"{model.name}_history"
                    con.execute(f"create or replace view {history} as select * from {scan}")
                    con.execute(
                        f"create or replace view {model.name} as select * from {history} "
                        f"where dt = (select max(dt) from {history})"
                    )
                    created[model.layer].append(history)
                else:
                    con.execute(f"create or replace view {model.name} as select * from {scan}")
            else:
                continue
            created[model.layer].append(model.name)
        # Posture findings, scores and drift: views over their Parquet, plus the control catalog.
        posture.install(con, config, None, temp=False)
        created["posture"].append("posture_controls")
        created["posture"] += sql.output_views(con, lake, [m.name for m in POSTURE_MODELS])
        # Alerts of the built-in anomaly policies (dsassets/defs/detections): the alerts mart and
        # each policy's own output.
        detections = sql.output_views(con, lake, ["alerts", suppressions.SUPPRESSED_ALERTS, *(d.asset_name for d in DETECTIONS)])
        if detections:
            created["detections"] = detections
        # Activity-policy alerts and the governance and notification ledgers.
        created["governance"] = governance_views(con, lake)
        # Triage: alerts gain status, verdict and assignee; what the investigation macros read.
        created["triage"] = triage.warehouse_views(con, lake, config, created)
        if {"activities", "user_accounts", "users"} <= set(created["marts"]):
            for file in sorted(FORENSICS_DIR.glob("*.sql")):
                for stmt in file_statements(file):
                    con.execute(stmt)
                created["forensics"].append(file.stem)
        con.execute("commit")
    except Exception:
        con.execute("rollback")
        raise
    finally:
        con.close()
    return created


def governance_views(con, lake: Lake) -> list[str]:
    """Views in ``warehouse.duckdb``: the ``governance_actions`` and ``notifications`` ledgers,
    ``policy_alerts``, ``pol_*``.

    Called by ``refresh_warehouse`` inside its transaction; only relations with output are created.
    """
    created = []
    for name, path in (("governance_actions", governance.LEDGER_PATH), ("notifications", notify.LEDGER_PATH)):
        if lake.exists(path):
            con.execute(f"create or replace view {name} as select * from read_parquet({sql.sql_literal(lake.url(path))})")
            created.append(name)
    # One listing for every activity policy's output (object stores have no directories to list).
    found = {rel.split("/")[1] for rel in lake.files(f"{sql.model_path('pol_*')}/dt=*/*.parquet")}
    names = sorted(n for n in found if re.fullmatch(r"pol_[a-z][a-z0-9_]*", n))
    names.append("policy_alerts")
    return created + sql.output_views(con, lake, names)


@dg.asset(
    owners=OWNERS,
    group_name="warehouse",
    kinds={"duckdb"},
    deps=[dg.AssetKey(m.name) for m in (*MODELS, *POSTURE_MODELS)] + [dg.AssetKey("alerts"), dg.AssetKey("governance_actions"), dg.AssetKey("notifications")],
    # DuckDB lets one process write the file: runs that refresh it wait for the pool's one slot
    # instead of failing on the file lock.
    pool=WAREHOUSE_POOL,
    description=(
        "warehouse.duckdb under the data directory: views over every raw, staging, intermediate "
        "and mart dataset, plus the forensic table macros. Holds no data of its own."
    ),
)
def warehouse(context: dg.AssetExecutionContext, lake: LakeResource) -> dg.MaterializeResult:
    created = refresh_warehouse(lake.lake, log=context.log.warning)
    missing = [m.name for m in MODELS if m.layer == "marts" and m.name not in created["marts"]]
    if missing:
        context.log.warning(f"not yet materialized, so not in the warehouse: {', '.join(missing)}")
    return dg.MaterializeResult(
        metadata={
            "path": dg.MetadataValue.path(str(warehouse_path(lake.lake))),
            "relations": dg.MetadataValue.json(created),
            "missing_marts": dg.MetadataValue.json(missing),
        }
    )
