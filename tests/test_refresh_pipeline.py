"""The intra-day refresh through Dagster: the schedules' runs find an incident the same day, ids hold.

The simulator's present is moved with ``DSASSETS_SIMULATOR_NOW``; each tick's run request
(from the real schedule functions) is executed in process against one instance and lake.
"""

import gc
from datetime import UTC, date, datetime, timedelta

import dagster as dg
import pyarrow.parquet as pq
import pytest


from dsassets.definitions import defs
from dsassets.lib.lake import gx_worker
from dsassets.lib.lake.lake import Lake
from dsassets.lib.lake.raw_events import DATASET, read_state
from dsassets.simulator import DocuSignSimulator, SimulatorConfig
from dsassets.tools.schedule_tick import run_schedule_tick

SEED, EVENTS_PER_DAY = 5, 300
DAY = date(2026, 10, 20)
POLICY = "failed_signin_burst"  # policies/examples.yaml: more than 10 failed sign-ins in 5 minutes


@pytest.fixture(scope="module")
def env(simulator_env):
    data, patch = simulator_env
    with dg.instance_for_test() as instance:
        yield data, defs(), instance, patch


def tick(env, schedule: str, at: datetime) -> dg.RunRequest:
    """Evaluate a schedule at ``at`` and run what it asks for, with the simulator's clock at ``at``."""
    data, definitions, instance, patch = env
    patch.setenv("DSASSETS_SIMULATOR_NOW", at.isoformat())
    request, result = run_schedule_tick(definitions, instance, schedule, at)
    assert result.success
    return request


def alerts(data) -> list[dict]:
    files = sorted((data / "warehouse" / f"pol_{POLICY}").glob(f"dt={DAY}/*.parquet"))
    return pq.read_table([str(f) for f in files]).to_pylist() if files else []


def step_order(instance: dg.DagsterInstance) -> list[str]:
    """The steps of the instance's latest run, in the order they started."""
    run = instance.get_runs(limit=1)[0]
    return [r.dagster_event.step_key for r in instance.all_logs(run.run_id, of_type=dg.DagsterEventType.STEP_START)]


def test_a_refresh_finds_the_incident_within_one_interval_and_the_day_closes_with_the_same_alert(env, monkeypatch):
    data, _, instance, _ = env
    handed = []  # what the extraction hands the GX worker ahead of the checks
    monkeypatch.setattr(gx_worker, "submit", lambda key, *task, _submit=gx_worker.submit: (
        handed.append(key), _submit(key, *task)))
    truth = next(t for t in DocuSignSimulator(SimulatorConfig(seed=SEED, events_per_day=EVENTS_PER_DAY))
                 .ground_truth(DAY, DAY + timedelta(days=1))
                 if t["policy"] == "multiple_failed_logins" and not t["is_decoy"])
    last = truth["ended_at"]
    before = last.replace(minute=last.minute // 15 * 15, second=0, microsecond=0) - timedelta(minutes=30)
    gx_worker.stop()  # whatever an earlier test in this process started
    first = tick(env, "intraday_refresh_schedule", before)
    assert gx_worker._pool is not None  # the refresh's checks validate in a GX worker (test_gx_worker)
    assert gc.get_freeze_count() > 0  # and the process's long-lived objects left the collector's passes
    # The extraction handed both of the day's validations over, and the checks collected them;
    # the IP check, which nothing waits for, collected last, after the models.
    run_id = instance.get_runs(limit=1)[0].run_id
    assert sorted(handed) == [(run_id, "ips", before.date()), (run_id, "structure", before.date())]
    assert gx_worker._ahead == {}
    assert step_order(instance)[-1] == "raw_docusign_audit_events_raw_audit_event_ips_parse"
    assert alerts(data) == []
    # The day's first refresh takes the DocuSign snapshots; later ones only the identity provider's.
    assert dg.AssetKey("raw_docusign_accounts") in first.asset_selection
    # One interval after the incident's last event, the alert is there.
    after = before + timedelta(minutes=45)
    assert after - last <= timedelta(minutes=15)
    second = tick(env, "intraday_refresh_schedule", after)
    assert dg.AssetKey("raw_docusign_accounts") not in second.asset_selection
    # Entra's directory audits: the day's first read took the 90 days, this one only the latest.
    assert after.date() == before.date()
    idp = instance.get_latest_materialization_event(dg.AssetKey("raw_idp_users")).asset_materialization
    assert idp.metadata["directory_audits_asked_from"].value == [(before - timedelta(minutes=60)).isoformat()]
    found = [a for a in alerts(data) if set(a["event_ids"]) & set(truth["event_ids"])]
    assert len(found) == 1
    assert len(Lake.at(data).list_files(DATASET, DAY)) == 2  # one file per refresh
    # The next day's 00:20 run completes the day: one file, the same alert id.
    closing = tick(env, "daily_pipeline_schedule", datetime(2026, 10, 21, 0, 20, tzinfo=UTC))
    assert closing.partition_key == DAY.isoformat()
    assert Lake.at(data).list_files(DATASET, DAY) == ["data.parquet"]
    assert read_state(Lake.at(data), DAY).complete
    final = [a for a in alerts(data) if set(a["event_ids"]) & set(truth["event_ids"])]
    assert [a["alert_id"] for a in final] == [found[0]["alert_id"]]
    assert set(final[0]["event_ids"]) >= set(found[0]["event_ids"])
    # Governance acted on it once (a dry run: planned), whatever the runs that followed.
    ledger = pq.read_table(data / "governance" / "governance_actions.parquet").to_pylist()
    mine = [(r["action"], r["status"]) for r in ledger if r["alert_id"] == found[0]["alert_id"]]
    assert sorted(mine) == [("notify_user", "planned"), ("require_sign_in_again", "planned")]


def test_the_refresh_interval_is_a_setting_and_a_bad_one_is_named(monkeypatch):
    from dsassets.defs.jobs import refresh_minutes
    from dsassets.lib.config.settings import ConfigError

    monkeypatch.setenv("DSASSETS_REFRESH_MINUTES", "10")
    assert refresh_minutes() == 10
    monkeypatch.setenv("DSASSETS_REFRESH_MINUTES", "7")
    with pytest.raises(ConfigError, match="DSASSETS_REFRESH_MINUTES=7: must divide the hour"):
        refresh_minutes()


def test_a_tick_is_skipped_while_the_previous_refresh_still_runs():
    definitions = defs()
    repo = definitions.get_repository_def()
    schedule = repo.get_schedule_def("intraday_refresh_schedule")
    at = datetime(2026, 10, 20, 10, 15, tzinfo=UTC)
    with dg.instance_for_test() as instance:
        def evaluate():
            with dg.build_schedule_context(instance=instance, scheduled_execution_time=at,
                                           repository_def=repo) as context:
                return schedule.evaluate_tick(context)

        assert evaluate().run_requests[0].partition_key == "2026-10-20"
        running = instance.add_run(dg.DagsterRun(job_name="intraday_refresh", run_id="a" * 32,
                                                 status=dg.DagsterRunStatus.STARTED))
        tick = evaluate()
        assert not tick.run_requests and "still in progress" in tick.skip_message
        instance.report_run_failed(running)  # finished, even badly: the next tick resumes from its cursor
        assert evaluate().run_requests


def test_the_refresh_runs_in_process_and_the_daily_runs_fan_out():
    definitions = defs()
    assert definitions.resolve_job_def("intraday_refresh").executor_def.name == "in_process"
    assert definitions.resolve_job_def("daily_pipeline").executor_def.name == "dsassets_multiprocess"
