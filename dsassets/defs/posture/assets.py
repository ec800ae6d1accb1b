"""Posture assets (group ``posture``): findings, scores and drift, one per file of ``sql/posture/``.

A sibling of the model factory in ``defs/models/assets.py``: same daily partitions,
single-run backfills and Parquet-per-day output, plus the control catalog and the
``posture_*`` threshold variables (``dsassets.lib.posture.controls.install``) in the connection,
and materialization metadata meant for people: the score per account and the failing
controls with their remediation.
"""

from datetime import date

import dagster as dg
import duckdb

from dsassets.defs.resources import LakeResource
from dsassets.defs.models.assets import BY_NAME, MODELS, window_dates
from dsassets.lib.posture import controls as posture
from dsassets.lib.transform import sql
from dsassets.lib.config.project import load_config
from dsassets.lib.lake.lake import Lake
from dsassets.lib.lake.partitions import BACKFILL_POLICY, DAILY, EVERY_EARLIER_DAY, deps
from dsassets.lib.transform.sql import Model

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
            "account": "**organization**",
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
        "scores": dg.MetadataValue.md(
            posture.markdown_table(
                scores,
                {"account": "account", "score": "score (points)", "passed": "pass",
                 "failed": "fail", "unknown": "unknown"},
            )
        ),
        "failing_controls": dg.MetadataValue.md(
            posture.markdown_table(
                failing,
                {"account": "account", "title": "control", "severity": "severity",
                 "observed": "observed", "expected": "expected", "remediation": "remediation"},
            )
        ),
        "unknown_controls": dg.MetadataValue.md(
            posture.markdown_table(
                unknown, {"account": "account", "title": "control", "status_reason": "why unknown"}
            )
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
        "scores": dg.MetadataValue.md(
            posture.markdown_table(
                rows,
                {"scope": "scope", "scope_name": "name", "score": "score (points)",
                 "known": "score of known", "coverage": "coverage", "controls_failed": "fail",
                 "controls_unknown": "unknown"},
            )
        ),
    }


def changes_metadata(con: duckdb.DuckDBPyConnection, lake: Lake, start: date, end: date) -> dict:
    glob = sql.model_glob(lake, posture.POSTURE_BY_NAME["posture_changes"])
    rows = _rows(
        con,
        f"select *, from_status || ' -> ' || to_status as transition, "
        f"coalesce(account_name, account_id) as account, "
        f"changed_setting || ': ' || changed_old_value || ' -> ' || changed_new_value as change "
        f"from {sql.parquet_scan(glob)} where dt >= ? and dt < ? "
        f"order by dt, account, control_id",
        [start, end],
    )
    return {
        "changes": dg.MetadataValue.md(
            posture.markdown_table(
                rows,
                {"dt": "day", "account": "account", "title": "control", "transition": "status",
                 "to_observed": "now", "changed_by": "changed by", "changed_from_ip": "IP",
                 "changed_from_country": "country", "change": "audit event"},
            )
        ),
        "regressions": sum(1 for r in rows if r["change_kind"] in ("regressed", "now_failing")),
        "traced_to_an_event": sum(1 for r in rows if r["attribution"] == "audit_event"),
    }


def _materialize(context: dg.AssetExecutionContext, lake_resource: LakeResource, model: Model):
    lake = lake_resource.lake
    start, end = window_dates(context)
    config = load_config()
    known = {**BY_NAME, **posture.POSTURE_BY_NAME}
    with sql.session(lake) as con:
        bound = sql.prepare(con, lake, config, (*MODELS, *posture.POSTURE_MODELS))
        missing = [d for d in model.deps if d in known and d not in bound]
        if missing:
            raise RuntimeError(
                f"{model.name} needs {', '.join(missing)}: materialize "
                f"{'it' if len(missing) == 1 else 'them'} for this window first"
            )
        posture.install(con, config, audit_history_start(lake))
        posture.install_parts(con, model.name)
        sql.set_window(con, start, end)
        result = f"{model.name}__result"
        con.execute(f"create temp view {result} as {sql.model_query(model)}")
        counts = sql.write_partitions(con, lake, model.name, result, start, end)
        last_day = max(sql.days_in(start, end))
        if model.name == "posture_findings":
            report = findings_metadata(con, lake, last_day)
        elif model.name == "posture_scores":
            report = scores_metadata(con, lake, last_day)
        else:
            report = changes_metadata(con, lake, start, end)
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": sum(counts.values()),
            "rows_per_day": dg.MetadataValue.json({d.isoformat(): n for d, n in counts.items()}),
            "window": f"{start.isoformat()} .. {end.isoformat()} (end exclusive)",
            "location": dg.MetadataValue.path(str(sql.model_dir(lake, model.name))),
            **report,
        }
    )


# posture_changes pairs each finding with the previous one, however old, and links the activities
# since then; posture_findings reads only its own day.
LOOKBACKS = {"posture_changes": {"posture_findings": EVERY_EARLIER_DAY, "activities": EVERY_EARLIER_DAY}}


def build_posture_asset(model: Model) -> dg.AssetsDefinition:
    @dg.asset(
        name=model.name,
        group_name=GROUP,
        kinds={"duckdb", "sql"},
        description=model.description,
        deps=deps(model.deps, LOOKBACKS.get(model.name)),
        partitions_def=DAILY,
        backfill_policy=BACKFILL_POLICY,
        metadata={"layer": "posture", "sql": dg.MetadataValue.path(str(model.path))},
    )
    def _asset(context: dg.AssetExecutionContext, lake: LakeResource) -> dg.MaterializeResult:
        return _materialize(context, lake, model)

    return _asset


posture_assets = [build_posture_asset(m) for m in posture.POSTURE_MODELS]
