"""The checks on ``alerts`` fail on what governance and analysts cannot work with."""

from datetime import date

import dagster as dg
import pyarrow as pa
import pyarrow.parquet as pq

from dsassets.defs.detections.checks import alerts_alert_id_unique, alerts_have_user_and_evidence
from dsassets.defs.resources import LakeResource
from dsassets.lib.lake.partitions import DAILY

DAY = date(2026, 11, 24)


def _evaluate(tmp_path, rows: list[dict]) -> dict[str, dg.AssetCheckEvaluation]:
    """Write ``rows`` as the day's alerts through a stand-in ``alerts`` asset and run the two checks."""

    @dg.asset(name="alerts", partitions_def=DAILY)
    def alerts() -> None:
        folder = tmp_path / "warehouse" / "alerts" / f"dt={DAY}"
        folder.mkdir(parents=True, exist_ok=True)
        pq.write_table(pa.Table.from_pylist(rows), folder / "data.parquet")

    defs = dg.Definitions(
        assets=[alerts], asset_checks=[alerts_alert_id_unique, alerts_have_user_and_evidence],
        resources={"lake": LakeResource(data_dir=str(tmp_path))},
    )
    result = defs.resolve_implicit_global_asset_job_def().execute_in_process(
        partition_key=DAY.isoformat(), raise_on_error=False)
    return {e.check_name: e for e in result.get_asset_check_evaluations()}


def _alert(alert_id, user_id="u1", evidence='{"ip": "203.0.113.9"}', event_ids=("e1",)):
    return {"alert_id": alert_id, "policy": "anonymous_ip", "user_id": user_id, "user_email": None,
            "evidence": evidence, "event_ids": list(event_ids)}


def test_good_alerts_pass(tmp_path):
    checks = _evaluate(tmp_path, [_alert("a1"), _alert("a2", user_id=None) | {"user_email": "x@example.org"}])
    assert all(e.passed for e in checks.values()) and len(checks) == 2


def test_repeated_ids_and_alerts_without_user_or_evidence_fail(tmp_path):
    checks = _evaluate(tmp_path, [_alert("a1"), _alert("a1"), _alert("a3", user_id=None),
                                  _alert("a4", evidence="{}"), _alert("a5", event_ids=())])
    assert not checks["alerts_alert_id_unique"].passed
    assert checks["alerts_alert_id_unique"].metadata["missing_or_repeated_alert_ids (first 20)"].value[0][1:] == ["a1", "2"]
    quality = checks["alerts_have_user_and_evidence"]
    assert not quality.passed
    assert (quality.metadata["alerts_without_user"].value, quality.metadata["alerts_without_evidence"].value,
            quality.metadata["alerts_without_event_ids"].value) == (1, 1, 1)
