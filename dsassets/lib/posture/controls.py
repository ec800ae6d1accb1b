"""Posture controls in a DuckDB connection: what the SQL in ``sql/posture/`` needs.

Before a posture model runs, :func:`install` puts the catalog (``dsassets.lib.posture.catalog``)
in the connection as the table ``posture_controls`` (only enabled controls, with the expected
value rendered from ``dsassets.yaml``) and sets every threshold as a ``posture_*`` DuckDB variable.
"""

from __future__ import annotations

from datetime import date

import duckdb
import pyarrow as pa

from dsassets.lib.config.project import ProjectConfig
from dsassets.lib.posture.catalog import BY_ID, CONTROL_IDS, CONTROLS, Control  # noqa: F401  (the catalog's names)
from dsassets.lib.posture.config import PostureConfig
from dsassets.lib.transform.files import SQL_DIR, file_statements
from dsassets.lib.transform.sql import register_table, set_variables

MACROS_FILE = SQL_DIR / "posture" / "macros.sql"


def enabled_controls(config: PostureConfig) -> list[Control]:
    return [c for c in CONTROLS if c.id not in config.disabled_controls]


def catalog_table(config: PostureConfig) -> pa.Table:
    """The enabled controls as rows of ``posture_controls``."""
    controls = enabled_controls(config)
    points = config.severity_points.model_dump()
    return pa.table(
        {
            "control_id": [c.id for c in controls],
            "control_order": pa.array(range(1, len(controls) + 1), pa.int32()),
            "title": [c.title for c in controls],
            "category": [c.category for c in controls],
            "severity": [c.severity for c in controls],
            "points": pa.array([points[c.severity] for c in controls], pa.int32()),
            "evidence_source": [c.source for c in controls],
            "expected": [c.expected(config) for c in controls],
            "why_it_matters": [c.why for c in controls],
            "remediation": [c.remediation for c in controls],
            "reference": [c.reference for c in controls],
            "setting_keys": pa.array([list(c.setting_keys) for c in controls], pa.list_(pa.string())),
            "change_event_types": pa.array(
                [list(c.change_event_types) for c in controls], pa.list_(pa.string())
            ),
        }
    )


def variables(config: PostureConfig, audit_history_start: date | None) -> dict[str, object]:
    """The ``posture_*`` DuckDB variables the SQL reads with ``getvariable``."""
    values: dict[str, object] = {
        f"posture_{name}": value
        for name, value in config.model_dump().items()
        if isinstance(value, (int, str, bool))
    }
    values["posture_idp_statuses"] = list(config.idp_statuses)
    # First day of audit history in the lake: before it, "no activity" means "not seen yet".
    values["posture_audit_history_start"] = audit_history_start
    return values


def install(
    con: duckdb.DuckDBPyConnection,
    config: ProjectConfig,
    audit_history_start: date | None,
    *,
    temp: bool = True,
) -> None:
    """``posture_controls`` (enabled controls) and the ``posture_*`` threshold variables."""
    posture = config.posture
    set_variables(con, variables(posture, audit_history_start))
    register_table(con, "posture_controls", catalog_table(posture), temp=temp)
    for stmt in file_statements(MACROS_FILE):
        con.execute(stmt)
