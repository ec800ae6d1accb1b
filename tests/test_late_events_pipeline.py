"""Late events through Dagster: the 00:20 runs day by day, the sensor re-checks the late day.

The simulator ingests 2% of events 1.5-4.5 hours late and holds a planted brute force until
1-3 hours into the next day, as an outage would: the day's own run cannot see it. The next
day's run stores it in its day; the sensor (evaluated as the daemon does, on the same
instance) asks for that day's downstream assets; their run raises the alert once, on the
attack's day, marked late.
"""

from datetime import UTC, date, datetime, timedelta

import dagster as dg
import orjson
import pyarrow.parquet as pq
import pytest

from dsassets.definitions import defs
from dsassets.lib.lake.lake import Lake
from dsassets.lib.lake.live_stream import day_lateness
from dsassets.lib.lake.raw_events import DATASET
from dsassets.simulator import DocuSignSimulator, SimulatorConfig
from dsassets.tools.schedule_tick import run_schedule_tick

SEED, EVENTS_PER_DAY, LATE_SHARE = 5, 300, 0.02
ATTACK_DAY = date(2026, 10, 20)  # seed 5 plants a brute force ending at 17:45 that day
POLICY = "multiple_failed_logins"  # the simulator plants it; its alert on one day of history:
ALERTS = "pol_failed_signin_burst"  # policies/examples.yaml: more than 10 failed sign-ins in 5 minutes


@pytest.fixture(scope="module")
def env(simulator_env):
    data, patch = simulator_env
    patch.setenv("DSASSETS_SIMULATOR_LATE_SHARE", str(LATE_SHARE))
    patch.setenv("DSASSETS_SIMULATOR_LATE_POLICIES", POLICY)
    with dg.instance_for_test() as instance:
        yield data, defs(), instance, patch


def daily(env, day: date):
    """The 00:20 schedule's run for ``day``, with the simulator's clock at that moment."""
    data, definitions, instance, patch = env
    at = datetime.combine(day + timedelta(days=1), datetime.min.time(), UTC) + timedelta(minutes=20)
    patch.setenv("DSASSETS_SIMULATOR_NOW", at.isoformat())
    _, result = run_schedule_tick(definitions, instance, "daily_pipeline_schedule", at)
    assert result.success
    return result


def late_check(result) -> dg.AssetCheckEvaluation:
    return next(e for e in result.get_asset_check_evaluations() if e.check_name == "events_within_late_bound")


def run(env, job_name: str, request: dg.RunRequest):
    _, definitions, instance, _ = env
    result = definitions.resolve_job_def(job_name).execute_in_process(
        instance=instance, partition_key=request.partition_key, run_config=request.run_config,
        asset_selection=request.asset_selection, tags=request.tags,
    )
    assert result.success
    return result


def sensor_tick(env, cursor: str | None):
    _, definitions, instance, _ = env
    repo = definitions.get_repository_def()
    with dg.build_sensor_context(instance=instance, repository_def=repo, cursor=cursor) as context:
        return repo.get_sensor_def("late_events_sensor").evaluate_tick(context)


def alerts(data, day: date) -> list[dict]:
    files = sorted((data / "warehouse" / ALERTS).glob(f"dt={day}/*.parquet"))
    return pq.read_table([str(f) for f in files]).to_pylist() if files else []


def test_a_brute_force_ingested_after_its_day_is_stored_there_rechecked_and_alerted_once(env):
    data, _, instance, _ = env
    sim = DocuSignSimulator(SimulatorConfig(seed=SEED, events_per_day=EVENTS_PER_DAY, late_share=LATE_SHARE,
                                            late_policies=(POLICY,)))
    truth = next(t for t in sim.ground_truth(ATTACK_DAY, ATTACK_DAY + timedelta(days=1))
                 if t["policy"] == POLICY and not t["is_decoy"])
    on_time = daily(env, ATTACK_DAY)
    assert late_check(on_time).passed
    # The day's own run could not see the attack: Monitor had not ingested it yet.
    assert not [a for a in alerts(data, ATTACK_DAY) if set(a["event_ids"]) & set(truth["event_ids"])]
    tick = sensor_tick(env, None)
    assert not tick.run_requests  # nothing late yet: the run saw every event its day had then
    later = daily(env, ATTACK_DAY + timedelta(days=1))  # reads the late attack, files it under its day
    # Held from 17:45 until after 01:00: later than the 6-hour bound, so the check warns.
    check = late_check(later)
    assert not check.passed and check.severity == dg.AssetCheckSeverity.WARN
    assert check.metadata["max_ingestion_delay_minutes"].value > 6 * 60
    stored = Lake.at(data).list_files(DATASET, ATTACK_DAY)
    assert "data.parquet" in stored and any(n.startswith("late-") for n in stored)
    late = day_lateness(Lake.at(data), ATTACK_DAY)
    assert late.late_events >= len(truth["event_ids"])
    record = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=dg.AssetKey(DATASET), asset_partitions=[ATTACK_DAY.isoformat()]),
        limit=1).records[0]
    assert record.asset_materialization.metadata["late"].value is True

    tick = sensor_tick(env, tick.cursor)
    requested = {r.partition_key: set(r.asset_selection) for r in tick.run_requests}
    # The attack's day, with everything below the raw layer and nothing of it; the day after ran
    # after the late events were stored, so it needs nothing.
    assert ATTACK_DAY.isoformat() in requested
    assert (ATTACK_DAY + timedelta(days=1)).isoformat() not in requested
    mine = requested[ATTACK_DAY.isoformat()]
    names = {k.to_user_string() for k in mine}
    assert {"stg_docusign__audit_events", "activities", f"det_{POLICY}", ALERTS, "governance_actions"} <= names
    assert not any(n.startswith("raw_") for n in names)
    for request in tick.run_requests:
        run(env, "daily_pipeline", request)

    found = [a for a in alerts(data, ATTACK_DAY) if set(a["event_ids"]) & set(truth["event_ids"])]
    assert len(found) == 1
    evidence = orjson.loads(found[0]["evidence"])
    assert evidence["late"] is True and evidence["late_events"] >= 1
    assert datetime.fromisoformat(evidence["late_event_at"]) <= truth["ended_at"] + timedelta(seconds=1)
    ingested = datetime.fromisoformat(evidence["ingested_at"])
    assert ingested == datetime(2026, 10, 22, 0, 20, tzinfo=UTC)  # when the next day's run read it
    # The re-check materialized nothing raw, so the sensor has nothing new to ask.
    assert not sensor_tick(env, tick.cursor).run_requests
    # Governance counts the alert's age from when it could be raised, not from the attack.
    from dsassets.lib.governance.actions import Alert

    assert Alert.from_row(found[0]).raised_at == ingested

    # What the benchmark prints, over the attack's day (settled: every late event has arrived):
    # each event stored once in its own day, and the attack alerted once per policy, late.
    from dsassets.tools.late_measure import Stored, raised_by

    lake, stored = Lake.at(data), Stored()
    stored.add_day(lake, sim, ATTACK_DAY)
    assert stored.served == stored.stored > 0 and stored.late == late.late_events
    assert (stored.duplicates, stored.missing, stored.unknown, stored.wrong_day) == (0, 0, 0, 0)
    raised = raised_by(lake, truth["event_ids"])
    # One alert, the activity policy's (the MDCA policy is in its learning period on one day of history).
    assert [(a.policy, a.day, a.late) for a in raised] == [("failed_signin_burst", ATTACK_DAY, True)]
