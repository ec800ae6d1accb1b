"""The checks on ``alerts`` fail on what governance and analysts cannot work with, and in a run over
several days each day gets its own result, as the UI shows it per partition."""

from datetime import date, timedelta

import dagster as dg
import pyarrow as pa
import pyarrow.parquet as pq
from dagster._core.event_api import PartitionKeyFilter  # the filter the UI's check history uses

from dsassets.defs.detections.checks import alerts_alert_id_unique, alerts_have_user_and_evidence
from dsassets.defs.resources import LakeResource
from dsassets.lib.lake.partitions import DAILY, range_tags

DAY = date(2026, 11, 24)
CHECKS = [alerts_alert_id_unique, alerts_have_user_and_evidence]


def _run(tmp_path, days: dict[date, list[dict]], instance=None) -> dg.ExecuteInProcessResult:
    """Write each day's ``rows`` as its alerts through a stand-in ``alerts`` asset and run the two
    checks, in one run over the days (a range run when there are several)."""

    @dg.asset(name="alerts", partitions_def=DAILY, backfill_policy=dg.BackfillPolicy.single_run())
    def alerts(context: dg.AssetExecutionContext) -> None:
        for key in context.partition_keys:
            folder = tmp_path / "warehouse" / "alerts" / f"dt={key}"
            folder.mkdir(parents=True, exist_ok=True)
            if days[date.fromisoformat(key)]:  # a day without alerts writes no file
                pq.write_table(pa.Table.from_pylist(days[date.fromisoformat(key)]), folder / "data.parquet")

    defs = dg.Definitions(assets=[alerts], asset_checks=CHECKS,
                          resources={"lake": LakeResource(data_dir=str(tmp_path))})
    first, last = min(days), max(days)
    return defs.resolve_implicit_global_asset_job_def().execute_in_process(
        instance=instance, raise_on_error=False,
        tags=range_tags(first, last),
    )


def _evaluate(tmp_path, rows: list[dict]) -> dict[str, dg.AssetCheckEvaluation]:
    """The two checks' evaluations of one day holding ``rows``."""
    return {e.check_name: e for e in _run(tmp_path, {DAY: rows}).get_asset_check_evaluations()}


def _alert(alert_id, user_id="u1", evidence='{"ip": "203.0.113.9"}', event_ids=("e1",)):
    return {"alert_id": alert_id, "policy": "anonymous_ip", "user_id": user_id, "user_email": None,
            "evidence": evidence, "event_ids": list(event_ids)}


def test_good_alerts_pass(tmp_path):
    checks = _evaluate(tmp_path, [_alert("a1"), _alert("a2", user_id=None) | {"user_email": "x@example.org"}])
    assert all(e.passed for e in checks.values()) and len(checks) == 2
    assert {e.partition for e in checks.values()} == {DAY.isoformat()}


def test_repeated_ids_and_alerts_without_user_or_evidence_fail(tmp_path):
    checks = _evaluate(tmp_path, [_alert("a1"), _alert("a1"), _alert("a3", user_id=None),
                                  _alert("a4", evidence="{}"), _alert("a5", event_ids=())])
    assert not checks["alerts_alert_id_unique"].passed
    assert checks["alerts_alert_id_unique"].metadata["missing_or_repeated_alert_ids (first 20)"].value[0][1:] == ["a1", "2"]
    quality = checks["alerts_have_user_and_evidence"]
    assert not quality.passed
    assert (quality.metadata["alerts_without_user"].value, quality.metadata["alerts_without_evidence"].value,
            quality.metadata["alerts_without_event_ids"].value) == (1, 1, 1)


def test_a_range_run_gives_each_day_its_own_check_result(tmp_path):
    """Day 1 is clean, day 2 has no alerts, day 3 has an alert without a user: the instance (what
    the UI reads) holds one evaluation per check and day with that day's numbers, and no day is
    left planned, which the UI would show as skipped."""
    good, empty, bad = DAY, DAY + timedelta(days=1), DAY + timedelta(days=2)
    instance = dg.DagsterInstance.ephemeral()
    result = _run(tmp_path, {good: [_alert("a1"), _alert("a2"), _alert("a3")], empty: [],
                             bad: [_alert("b1"), _alert("b2", user_id=None)]}, instance)
    assert result.success  # the failed check does not block: it is not the blocking one
    storage = instance.event_log_storage
    for check in CHECKS:
        key = check.check_key
        [state] = storage.get_asset_check_state([(key, DAILY)]).values()
        by_status = {status.value: sorted(subset.subset_value.get_partition_keys()) if not subset.is_empty else []
                     for status, subset in state.subsets.items()}
        passed = [good.isoformat(), empty.isoformat()] if check is alerts_have_user_and_evidence else \
            [good.isoformat(), empty.isoformat(), bad.isoformat()]
        assert by_status["SUCCEEDED"] == passed, (key, by_status)
        assert by_status["SKIPPED"] == [] and by_status["IN_PROGRESS"] == []
        numbers = {}
        for day in (good, empty, bad):
            [record] = storage.get_asset_check_execution_history(
                key, limit=5, partition_filter=PartitionKeyFilter(key=day.isoformat()))
            evaluation = record.event.dagster_event.event_specific_data
            assert evaluation.partition == day.isoformat()
            assert evaluation.target_materialization_data is not None  # the day's own materialization
            numbers[day] = evaluation.metadata["alerts"].value
        assert numbers == {good: 3, empty: 0, bad: 2}
        # No range-wide evaluation beside the days' own.
        assert storage.get_asset_check_execution_history(
            key, limit=5, partition_filter=PartitionKeyFilter(key=None)) == []
    [quality] = storage.get_asset_check_execution_history(
        alerts_have_user_and_evidence.check_key, limit=5, partition_filter=PartitionKeyFilter(key=bad.isoformat()))
    assert quality.event.dagster_event.event_specific_data.metadata["alerts_without_user"].value == 1


def test_a_repeated_id_on_one_day_of_a_range_still_blocks_the_run(tmp_path):
    clean, repeated = DAY, DAY + timedelta(days=1)
    result = _run(tmp_path, {clean: [_alert("a1")], repeated: [_alert("b1"), _alert("b1")]})
    assert not result.success
    unique = {e.partition: e.passed for e in result.get_asset_check_evaluations()
              if e.check_name == "alerts_alert_id_unique"}
    assert unique == {clean.isoformat(): True, repeated.isoformat(): False}
