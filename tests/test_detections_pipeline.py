"""The detection assets on the simulator: every planted incident found, no decoy alerted, backtests repeatable.

One module-scoped lake: 37 days of history (30-day baselines after the 7-day learning period)
and a 7-day evaluated week, which holds one true incident and one decoy of every policy. Only
the assets the detections need are materialized (``group:detections`` and its upstream).
"""

import json
from datetime import date, timedelta
from pathlib import Path

import dagster as dg
import pyarrow.parquet as pq
import pytest


from dsassets.defs import resources
from dsassets.defs.detections.assets import ALERTS
from dsassets.definitions import defs
from dsassets.lib.detections.config import POLICIES
from dsassets.tools.quality import evaluate, format_report, perfect, read_alerts
from dsassets.lib.lake.lake import Lake
from dsassets.lib.lake.partitions import range_tags
from dsassets.simulator import DocuSignSimulator, SimulatorConfig
from dsassets.simulator.incidents import ACTIVITY_POLICIES

SEED, EVENTS_PER_DAY = 20240601, 300
START, END = date(2026, 10, 20), date(2026, 10, 26)  # evaluated, inclusive
HISTORY_DAYS = 37
DETECTIONS = dg.AssetSelection.groups("detections")
# Snapshot extracts write several datasets at once and cannot be subset.
NEEDED = DETECTIONS.upstream().required_multi_asset_neighbors()


def _run(definitions, selection, start: date, end: date, name: str) -> None:
    job = dg.define_asset_job(name, selection=selection)
    merged = dg.Definitions.merge(definitions, dg.Definitions(jobs=[job]))
    result = merged.resolve_job_def(name).execute_in_process(
        tags=range_tags(start, end),
        raise_on_error=True,
    )
    assert result.success


@pytest.fixture(scope="module")
def lake(simulator_env):
    data, _ = simulator_env
    definitions = defs()
    # History needs the marts only; the detections run for the evaluated week.
    _run(definitions, NEEDED - DETECTIONS, START - timedelta(days=HISTORY_DAYS), END, "history_backfill")
    _run(definitions, DETECTIONS, START, END, "detections_backfill")
    return data, definitions


def _alerts(data) -> list[dict]:
    alerts, missing = read_alerts(Lake.at(data), START, END)
    assert not missing
    return alerts


def test_every_planted_incident_is_found_and_no_decoy_alerts(lake):
    data, _ = lake
    truth = DocuSignSimulator(SimulatorConfig(seed=SEED, events_per_day=EVENTS_PER_DAY)).ground_truth(
        START, END + timedelta(days=1))
    assert {t["policy"] for t in truth if not t["is_decoy"]} == set(POLICIES) | set(ACTIVITY_POLICIES)
    assert {t["policy"] for t in truth if t["is_decoy"]} == set(POLICIES) | {
        "mass_envelope_deletion", "mass_download", "session_timeout_raised"}
    report = evaluate(_alerts(data), truth)
    assert perfect(report), format_report(report, START, END)
    # The example activity policies (policies/examples.yaml) are scored like the anomaly ones.
    assert set(report) == set(POLICIES) | set(ACTIVITY_POLICIES)
    assert all(q.recall == 1.0 and q.precision == 1.0 for q in report.values())


def test_alerts_have_the_documented_columns_and_one_row_per_incident(lake):
    data, _ = lake
    alerts = _alerts(data)
    assert alerts
    assert [c for c in alerts[0] if c != "dt"] == [
        "alert_id", "policy", "severity", "title", "description", "user_id", "user_email", "account_id",
        "started_at", "ended_at", "event_ids", "ip_addresses", "countries", "evidence", "partition_date"]
    assert len({a["alert_id"] for a in alerts}) == len(alerts)
    for a in alerts:
        assert a["partition_date"] == a["dt"] and a["started_at"] <= a["ended_at"]
        assert json.loads(a["evidence"])
        assert a["user_email"] and a["event_ids"]
    travel = next(json.loads(a["evidence"]) for a in alerts if a["policy"] == "impossible_travel")
    assert {"distance_km", "speed_kmh", "from", "to"} <= set(travel)


def test_backfill_in_reverse_order_and_reruns_give_the_same_alerts(lake):
    data, definitions = lake
    before = {a["alert_id"]: a for a in _alerts(data)}
    for day in (START + timedelta(days=1), START):
        _run(definitions, DETECTIONS, day, day, f"detections_{day:%Y%m%d}")
    after = {a["alert_id"]: a for a in _alerts(data)}
    assert after.keys() == before.keys()
    strip = lambda a: {k: (list(v) if isinstance(v, list) else v) for k, v in a.items()}  # noqa: E731
    assert [strip(after[k]) for k in sorted(after)] == [strip(before[k]) for k in sorted(before)]


def test_materialization_metadata_has_count_and_newest_alerts(lake):
    data, definitions = lake
    job = dg.define_asset_job("det_meta", selection=dg.AssetSelection.assets("det_impossible_travel", ALERTS))
    merged = dg.Definitions.merge(definitions, dg.Definitions(jobs=[job]))
    result = merged.resolve_job_def("det_meta").execute_in_process(
        tags=range_tags(START, END))
    # One materialization event per day of the range, each with that day's own alerts.
    mats = result.asset_materializations_for_node("alerts")
    assert len(mats) == (END - START).days + 1
    per_day: dict[str, int] = {}
    for alert in _alerts(data):
        day = str(alert["dt"])[:10]
        per_day[day] = per_day.get(day, 0) + 1
    for mat in mats:
        assert mat.metadata["alert_count"].value == per_day.get(mat.partition, 0), mat.partition
        assert mat.metadata["dagster/row_count"].value == per_day.get(mat.partition, 0)
        assert sum(mat.metadata["alerts_per_policy"].value.values()) == per_day.get(mat.partition, 0)
    assert sum(m.metadata["alert_count"].value for m in mats) == len(_alerts(data))
    busiest = max(mats, key=lambda m: m.metadata["alert_count"].value)
    newest = busiest.metadata["newest_alerts"]
    assert [c.name for c in newest.schema.columns][:4] == ["started (UTC)", "severity", "user", "policy"]
    assert {r.data["alert_id"] for r in newest.records} <= {a["alert_id"][:12] for a in _alerts(data)}
    assert len(newest.records) == busiest.metadata["alert_count"].value
    columns = {c.name for c in busiest.metadata["dagster/column_schema"].schema.columns}
    assert {"alert_id", "policy", "severity", "user_email", "evidence", "event_ids"} <= columns
    checks = {e.check_name: e.passed for e in result.get_asset_check_evaluations()}
    assert checks == {"alerts_alert_id_unique": True, "alerts_have_user_and_evidence": True}
    # Each check gave each day of the range its own evaluation, with that day's alert count.
    for evaluation in result.get_asset_check_evaluations():
        assert evaluation.metadata["alerts"].value == per_day.get(evaluation.partition, 0), evaluation.partition
    assert len(result.get_asset_check_evaluations()) == 2 * len(mats)
    travel = result.asset_materializations_for_node("det_impossible_travel")
    assert sum(m.metadata["alert_count"].value for m in travel) >= 1


def test_switching_execution_on_performs_each_action_exactly_once_against_the_graph_stand_in(lake, tmp_path):
    """The governance asset over the week's alerts with every action type on, run twice, then dry again."""
    data, definitions = lake
    repo = Path(__file__).resolve().parents[1]
    cfg = tmp_path / "dsassets.yaml"
    cfg.write_text(
        (repo / "dsassets.yaml").read_text()
        .replace("files: [\"policies/*.yaml\"]", f"files: [\"{repo}/policies/*.yaml\"]")
        .replace("notify_user: false", "notify_user: true")
        .replace("require_sign_in_again: false", "require_sign_in_again: true")
        .replace("suspend_user: false", "suspend_user: true")
        .replace("mailbox: null", "mailbox: secops@acme.example.com")
        .replace("builtin_policy_actions: {}", "builtin_policy_actions: {impossible_travel: [notify_user]}")
    )
    sim, _ = resources._simulator(SEED, EVENTS_PER_DAY)  # the instance the resources use in this process
    job = dg.define_asset_job("governance_exec", selection=dg.AssetSelection.assets("governance_actions"))
    merged = dg.Definitions.merge(definitions, dg.Definitions(jobs=[job]))
    patch = pytest.MonkeyPatch()
    patch.setenv("DSASSETS_CONFIG", str(cfg))
    try:
        def run() -> dict:
            result = merged.resolve_job_def("governance_exec").execute_in_process(
                tags=range_tags(START, END),
                run_config={"ops": {"governance_actions": {"config": {"act_on_old_alerts": True}}}},
            )
            meta = result.asset_materializations_for_node("governance_actions")[0].metadata
            return {k: meta[k].value for k in ("executed", "already_done", "failed", "planned")}

        sim.graph_calls.clear()
        first = run()
        calls = [(c["method"], c["path"]) for c in sim.graph_calls]
        assert first["executed"] > 0 and first["failed"] == 0 and first["planned"] == 0
        assert len(calls) == first["executed"]
        second = run()
        assert second["executed"] == 0 and second["already_done"] == first["executed"]
        assert len(sim.graph_calls) == len(calls)
    finally:
        patch.undo()
    ledger = pq.read_table(data / "governance" / "governance_actions.parquet").to_pylist()
    executed = [(r["alert_id"], r["action"]) for r in ledger if r["status"] == "executed"]
    assert len(executed) == len(set(executed)) == first["executed"]
    # Every example policy with actions, and the built-in one given actions above, acted.
    assert {r["policy"] for r in ledger if r["status"] == "executed"} >= {
        "mass_envelope_deletion", "mass_download", "failed_signin_burst", "impossible_travel"}


def test_a_backtest_honours_the_scope_in_force(lake, tmp_path):
    """Re-running the week's impossible-travel partitions with the alerted user excluded drops the alert."""
    data, definitions = lake
    repo = Path(__file__).resolve().parents[1]
    before = [a for a in _alerts(data) if a["policy"] == "impossible_travel"]
    assert before
    victim = before[0]["user_email"]
    cfg = tmp_path / "dsassets.yaml"
    cfg.write_text(
        (repo / "dsassets.yaml").read_text()
        .replace("files: [\"policies/*.yaml\"]", f"files: [\"{repo}/policies/*.yaml\"]")
        .replace("scope: {}", f"scope: {{impossible_travel: {{exclude: {{users: [{victim.upper()}]}}}}}}")
    )
    selection = dg.AssetSelection.assets("det_impossible_travel", ALERTS)
    patch = pytest.MonkeyPatch()
    patch.setenv("DSASSETS_CONFIG", str(cfg))
    try:
        _run(definitions, selection, START, END, "scoped_backtest")
        scoped = [a for a in _alerts(data) if a["policy"] == "impossible_travel"]
    finally:
        patch.undo()
        _run(definitions, selection, START, END, "unscoped_backtest")  # leave the shared lake as it was
    assert not [a for a in scoped if a["user_email"] == victim]
    assert len(scoped) == len([a for a in before if a["user_email"] != victim])
    assert [a["alert_id"] for a in _alerts(data) if a["policy"] == "impossible_travel"] == [
        a["alert_id"] for a in before]


def test_every_activity_of_the_week_says_whether_its_user_is_managed(lake):
    data, _ = lake
    import duckdb

    from dsassets.lib.transform import sql

    glob = Lake.at(data).url("warehouse/activities/dt=*/*.parquet")
    total, unknown, external_grants = duckdb.sql(
        f"select count(*), count(*) filter (where is_managed_user is null), "
        f"count(*) filter (where action = 'AdminAdded' and is_affected_user_managed = false) "
        f"from {sql.parquet_scan(glob)} where dt between '{START}' and '{END}'").fetchall()[0]
    assert total > 1000 and unknown == 0
    assert external_grants == 1  # the planted external administrator
