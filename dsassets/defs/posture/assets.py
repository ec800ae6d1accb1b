"""Posture assets (group ``posture``): findings, scores and drift, one per file of ``sql/posture/``.

Run like every SQL model (``dsassets.lib.transform.runner``), with the control catalog and the
``posture_*`` threshold variables (``dsassets.lib.posture.controls.install``) in the connection,
and materialization metadata meant for people: the score per account and the failing
controls with their remediation.
"""

from datetime import date, timedelta

import dagster as dg
import duckdb

from dsassets.lib.catalog.tables import metadata_table
from dsassets.defs.sql_asset import model_asset
from dsassets.lib.lake.lake import Lake
from dsassets.lib.posture import controls as posture
from dsassets.lib.transform import runner, sql
from dsassets.lib.transform.models import BY_NAME, POSTURE_MODELS, Model

GROUP = "posture"


def audit_history_start(lake: Lake) -> date | None:
    """The first day of audit events in the lake; before it, no activity means "not seen yet"."""
    days = lake.partitions("raw_docusign_audit_events")
    return days[0] if days else None


def _rows(con: duckdb.DuckDBPyConnection, query: str, params: list | None = None) -> list[dict]:
    rel = con.execute(query, params or [])
    names = [d[0] for d in rel.description]
    return [dict(zip(names, row)) for row in rel.fetchall()]


def _day_relation(lake: Lake, name: str, day: date) -> str:
    return f"read_parquet({sql.sql_literal(sql.model_day_file(lake, name, day))})"


def _pct(value) -> str:
    return "n/a" if value is None else f"{value:.1f}%"


def findings_metadata(con: duckdb.DuckDBPyConnection, lake: Lake, day: date) -> dict:
    """Score per account and the failing / unknown controls of ``day``."""
    rel = _day_relation(lake, "posture_findings", day)
    scores = _rows(
        con,
        f"""
        select
            coalesce(account_name, account_id) as account,
            sum(points_achieved)::int as achieved,
            sum(points_possible)::int as possible,
            round(100.0 * sum(points_achieved) / nullif(sum(points_possible), 0), 1) as score_pct,
            count(*) filter (where status = 'pass') as passed,
            count(*) filter (where status = 'fail') as failed,
            count(*) filter (where status = 'unknown') as unknown
        from {rel}
        group by all
        order by account
        """,
    )
    total_achieved = sum(r["achieved"] for r in scores)
    total_possible = sum(r["possible"] for r in scores)
    organization_pct = round(100.0 * total_achieved / total_possible, 1) if total_possible else None
    for row in scores:
        row["score"] = f"{_pct(row['score_pct'])} ({row['achieved']}/{row['possible']})"
    scores.append(
        {
            "account": "organization",
            "score": f"{_pct(organization_pct)} ({total_achieved}/{total_possible})",
            "passed": sum(r["passed"] for r in scores),
            "failed": sum(r["failed"] for r in scores),
            "unknown": sum(r["unknown"] for r in scores),
        }
    )
    order = "order by account, case severity when 'high' then 0 when 'medium' then 1 else 2 end, control_order"
    failing = _rows(
        con,
        f"select coalesce(account_name, account_id) as account, * from {rel} "
        f"where status = 'fail' {order}",
    )
    unknown = _rows(
        con,
        f"select coalesce(account_name, account_id) as account, * from {rel} "
        f"where status = 'unknown' {order}",
    )
    metadata: dict = {
        "posture_day": day.isoformat(),
        "organization_score_pct": dg.MetadataValue.float(organization_pct)
        if organization_pct is not None
        else dg.MetadataValue.text("n/a"),
        "scores": metadata_table(
            scores,
            {"account": "account", "score": "score (points)", "passed": "pass",
             "failed": "fail", "unknown": "unknown"},
        ),
        "failing_controls": metadata_table(
            failing,
            {"account": "account", "title": "control", "severity": "severity",
             "observed": "observed", "expected": "expected", "remediation": "remediation"},
        ),
        "unknown_controls": metadata_table(
            unknown, {"account": "account", "title": "control", "status_reason": "why unknown"}
        ),
    }
    # Numeric per-account entries plot over time in the asset's metadata history.
    for row in scores[:-1]:
        if row["score_pct"] is not None:
            metadata[f"score_pct: {row['account']}"] = dg.MetadataValue.float(float(row["score_pct"]))
    return metadata


def scores_metadata(con: duckdb.DuckDBPyConnection, lake: Lake, day: date) -> dict:
    rows = _rows(
        con,
        f"select * from {_day_relation(lake, 'posture_scores', day)} "
        "order by scope = 'organization', scope_name",
    )
    for row in rows:
        row["score"] = f"{_pct(row['score_pct'])} ({row['points_achieved']}/{row['points_possible']})"
        row["known"] = _pct(row["score_of_known_pct"])
        row["coverage"] = _pct(row["coverage_pct"])
    return {
        "posture_day": day.isoformat(),
        "scores": metadata_table(
            rows,
            {"scope": "scope", "scope_name": "name", "score": "score (points)",
             "known": "score of known", "coverage": "coverage", "controls_failed": "fail",
             "controls_unknown": "unknown"},
        ),
    }


def changes_metadata(con: duckdb.DuckDBPyConnection, lake: Lake, start: date, end: date) -> dict:
    rows = _rows(
        con,
        f"select *, from_status || ' -> ' || to_status as transition, "
        f"coalesce(account_name, account_id) as account, "
        f"changed_setting || ': ' || changed_old_value || ' -> ' || changed_new_value as change "
        f"from {sql.scan_output(lake, 'posture_changes')} where dt >= ? and dt < ? "
        f"order by dt, account, control_id",
        [start, end],
    )
    return {
        "changes": metadata_table(
            rows,
            {"dt": "day", "account": "account", "title": "control", "transition": "status",
             "to_observed": "now", "changed_by": "changed by", "changed_from_ip": "IP",
             "changed_from_country": "country", "change": "audit event"},
        ),
        "regressions": sum(1 for r in rows if r["change_kind"] in ("regressed", "now_failing")),
        "traced_to_an_event": sum(1 for r in rows if r["attribution"] == "audit_event"),
    }


def _changes_of_day(con: duckdb.DuckDBPyConnection, lake: Lake, day: date) -> dict:
    return changes_metadata(con, lake, day, day + timedelta(days=1))


# Each day's partition: its score per account and failing controls, its scores, its drift.
DAY_REPORTS = {"posture_findings": findings_metadata, "posture_scores": scores_metadata,
               "posture_changes": _changes_of_day}


def _install(model: Model, run: runner.Run) -> None:
    posture.install(run.con, run.config, audit_history_start(run.lake))
    sql.install_parts(run.con, model)


def posture_run(model: Model) -> runner.SqlAsset:
    return runner.SqlAsset(
        name=model.name,
        sql_file=model.path,
        query=lambda run: sql.model_query(model),
        requires=tuple(d for d in model.deps if d in BY_NAME),
        reads=model.deps,
        setup=lambda run: _install(model, run),
        day_report=lambda run, day, count: DAY_REPORTS[model.name](run.con, run.lake, day),
    )


posture_assets = [model_asset(m, posture_run(m)) for m in POSTURE_MODELS]
