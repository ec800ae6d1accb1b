"""``warehouse``: the one asset that writes ``<local_dir>/warehouse.duckdb``.

The file holds no data, only views over the Parquet lake (raw, staging,
intermediate, marts), the lookup table ``country_codes``, the macros and the
forensic table macros of ``sql/forensics/``. Refreshing it takes a second, so a
DuckDB shell holding the file open only delays this asset (it retries, then
fails naming the process to close); every model asset keeps running because
none of them opens the file.
"""

from pathlib import Path

import dagster as dg

from dsassets.defs.resources import LakeResource
from dsassets.defs.models.assets import MODELS
from dsassets.lib.governance import actions as governance
from dsassets.lib.posture import controls as posture
from dsassets.lib.triage import suppressions, warehouse as triage
from dsassets.lib.transform import sql
from dsassets.lib.config.project import load_config
from dsassets.lib.detections.config import POLICIES
from dsassets.lib.lake.lake import Lake
from dsassets.lib.lake.schemas import RAW_SCHEMAS

FORENSICS_DIR = sql.SQL_DIR / "forensics"
# Dagster concurrency pool of the one asset that writes warehouse.duckdb (limit 1 in dagster.yaml).
WAREHOUSE_POOL = "warehouse_file"


def warehouse_path(lake: Lake) -> Path:
    # A DuckDB database file needs a local filesystem (locks, in-place writes), so it stays in
    # the local directory even when the lake is on S3; its views name the lake's URLs.
    return lake.local_dir / sql.WAREHOUSE_FILE


def refresh_warehouse(lake: Lake, *, attempts: int = 6, wait_seconds: float = 5.0, log=None) -> dict:
    """(Re)create every view and macro in ``warehouse.duckdb``; returns what it created."""
    config = load_config()
    path = warehouse_path(lake)
    con = sql.open_warehouse(path, attempts=attempts, wait_seconds=wait_seconds, log=log)
    created: dict[str, list[str]] = {"raw": [], "staging": [], "intermediate": [], "marts": [],
                                     "forensics": [], "posture": []}
    try:
        sql.configure(con)
        lake.register(con)
        con.execute("begin transaction")
        sql.install_support(con, config, temp=False)
        sql.bind_raw(con, lake, temp=False)
        created["raw"] = sorted(RAW_SCHEMAS)
        for model in MODELS:
            if model.is_view:
                con.execute(f"create or replace view {model.name} as {sql.model_query(model)}")
            elif sql.has_output(lake, model):
                scan = sql.parquet_scan(sql.model_glob(lake, model))
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
        for model in posture.POSTURE_MODELS:
            if sql.has_output(lake, model):
                scan = sql.parquet_scan(sql.model_glob(lake, model))
                con.execute(f"create or replace view {model.name} as select * from {scan}")
                created["posture"].append(model.name)
        # Alerts of the six anomaly policies (dsassets/defs/detections): the alerts mart and each
        # policy's own output.
        for name in ("alerts", suppressions.SUPPRESSED_ALERTS, *(f"det_{p}" for p in POLICIES)):
            alert_model = sql.Model("marts", name, (), "", True)
            if sql.has_output(lake, alert_model):
                scan = sql.parquet_scan(sql.model_glob(lake, alert_model))
                con.execute(f"create or replace view {name} as select * from {scan}")
                created.setdefault("detections", []).append(name)
        # Activity-policy alerts and the governance ledger.
        created["governance"] = governance.warehouse_views(con, lake)
        # Triage: alerts gain status, verdict and assignee; what the investigation macros read.
        created["triage"] = triage.warehouse_views(con, lake, config, created)
        if {"activities", "user_accounts", "users"} <= set(created["marts"]):
            for file in sorted(FORENSICS_DIR.glob("*.sql")):
                for stmt in sql.statements(file.read_text()):
                    con.execute(stmt)
                created["forensics"].append(file.stem)
        con.execute("commit")
    except Exception:
        con.execute("rollback")
        raise
    finally:
        con.close()
    return created


@dg.asset(
    group_name="warehouse",
    kinds={"duckdb"},
    deps=[dg.AssetKey(m.name) for m in (*MODELS, *posture.POSTURE_MODELS)] + [dg.AssetKey("alerts"), dg.AssetKey("governance_actions"), dg.AssetKey("notifications")],
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
