"""The detection assets on the simulator: every planted incident found, no decoy alerted, backtests repeatable.

One module-scoped lake: 37 days of history (30-day baselines after the 7-day learning period)
and a 7-day evaluated week, which holds one true incident and one decoy of every policy. Only
the assets the detections need are materialized (``group:detections`` and its upstream).
"""

import json
from datetime import date, timedelta

import dagster as dg
import pytest

from dsassets.defs.detections.assets import ALERTS
from dsassets.definitions import defs
from dsassets.lib.detections_config import POLICIES
from dsassets.lib.detections_quality import evaluate, format_report, perfect, read_alerts
from dsassets.lib.lake import Lake
from dsassets.simulator import DocuSignSimulator, SimulatorConfig

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
        tags={"dagster/asset_partition_range_start": start.isoformat(),
              "dagster/asset_partition_range_end": end.isoformat()},
        raise_on_error=True,
    )
    assert result.success


@pytest.fixture(scope="module")
def lake(tmp_path_factory):
    data = tmp_path_factory.mktemp("detections")
    patch = pytest.MonkeyPatch()
    for name in ("DOCUSIGN_INTEGRATION_KEY", "DOCUSIGN_USER_ID", "DOCUSIGN_PRIVATE_KEY_FILE",
                 "DOCUSIGN_ORGANIZATION_ID", "ENTRA_TENANT_ID", "ENTRA_CLIENT_ID", "ENTRA_CLIENT_SECRET",
                 "DSASSETS_CONFIG", "DSASSETS_IDP_EXPORT_FILE"):
        patch.delenv(name, raising=False)
    patch.setenv("DSASSETS_DATA_DIR", str(data))
    patch.setenv("DSASSETS_SIMULATOR_SEED", str(SEED))
    patch.setenv("DSASSETS_SIMULATOR_EVENTS_PER_DAY", str(EVENTS_PER_DAY))
    try:
        definitions = defs()
        # History needs the marts only; the detections run for the evaluated week.
        _run(definitions, NEEDED - DETECTIONS, START - timedelta(days=HISTORY_DAYS), END, "history_backfill")
        _run(definitions, DETECTIONS, START, END, "detections_backfill")
        yield data, definitions
    finally:
        patch.undo()


def _alerts(data) -> list[dict]:
    alerts, missing = read_alerts(Lake.at(data), START, END)
    assert not missing
    return alerts


def test_every_planted_incident_is_found_and_no_decoy_alerts(lake):
    data, _ = lake
    truth = DocuSignSimulator(SimulatorConfig(seed=SEED, events_per_day=EVENTS_PER_DAY)).ground_truth(
        START, END + timedelta(days=1))
    assert {t["policy"] for t in truth if not t["is_decoy"]} == set(POLICIES)
    assert {t["policy"] for t in truth if t["is_decoy"]} == set(POLICIES)
    report = evaluate(_alerts(data), truth)
    assert perfect(report), format_report(report, START, END)
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
        tags={"dagster/asset_partition_range_start": START.isoformat(),
              "dagster/asset_partition_range_end": END.isoformat()})
    # One materialization event per day of the range, each with the run's window metadata.
    mats = result.asset_materializations_for_node("alerts")
    assert len(mats) == (END - START).days + 1
    assert mats[0].metadata["alert_count"].value == len(_alerts(data))
    assert "| started (UTC) | policy |" in mats[0].metadata["newest_alerts"].value
    travel = result.asset_materializations_for_node("det_impossible_travel")
    assert travel[0].metadata["alert_count"].value >= 1
