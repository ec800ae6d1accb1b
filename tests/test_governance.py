"""Governance actions against the simulator's Graph: dry run, exactly once, safe backfills, failures retried."""

from contextlib import contextmanager
from datetime import datetime, timedelta, timezone

import pyarrow.parquet as pq
import pytest

from dsassets.lib.governance import actions as governance
from dsassets.lib.clients.graph import GraphClient
from dsassets.lib.lake.lake import Lake
from dsassets.lib.policies.settings import GovernanceConfig
from dsassets.simulator import DocuSignSimulator, Fault, SimulatorConfig

NOW = datetime(2026, 11, 25, 9, 0, tzinfo=timezone.utc)
ALL_ON = {"notify_user": True, "require_sign_in_again": True, "suspend_user": True}


@pytest.fixture(scope="module")
def sim():
    return DocuSignSimulator(SimulatorConfig(seed=20240601, events_per_day=50), now=lambda: NOW)


@pytest.fixture
def person(sim):
    users = [u for u in sim.expected_user_states(NOW) if u["state"] == "active"]
    return users[0]


def alert(person, alert_id="a1", ended=NOW - timedelta(hours=3), email=None):
    return governance.Alert(
        alert_id=alert_id, policy="mass_download", severity="medium", title="Mass download",
        description="lots", user_id=person["user_id"], user_email=email or person["email"],
        started_at=ended - timedelta(minutes=5), ended_at=ended, partition_date=ended.date(),
    )


def config(**execute) -> GovernanceConfig:
    return GovernanceConfig.model_validate(
        {"execute": execute, "mailbox": "secops@acme.example.com" if execute.get("notify_user") else None})


def factory(sim, faults=None, **overrides):
    transport = sim.transport(faults=faults)

    @contextmanager
    def open_client():
        with GraphClient(sim.graph_settings(**overrides), transport=transport, sleep=lambda s: None) as client:
            yield client

    return open_client


def all_actions(_alert):
    return ["notify_user", "require_sign_in_again", "suspend_user"], "Please call the service desk."


def run(tmp_path, alerts, cfg, graph, **kw):
    ledger = governance.Ledger(Lake.at(tmp_path))
    with ledger.locked():
        return governance.run(alerts, all_actions, cfg, ledger, graph, now=kw.pop("now", NOW), run_id="r", **kw)


def ledger_rows(tmp_path):
    return pq.read_table(tmp_path / governance.LEDGER_PATH).to_pylist()


def test_dry_run_is_the_default_and_makes_no_graph_call(tmp_path, sim, person):
    sim.graph_calls.clear()

    def no_graph():
        raise AssertionError("dry run opened a Graph client")

    report = run(tmp_path, [alert(person)], GovernanceConfig(), no_graph)
    assert report.counts()["planned"] == 3 and sim.graph_calls == []
    rows = ledger_rows(tmp_path)
    assert {(r["action"], r["mode"], r["status"]) for r in rows} == {
        ("notify_user", "dry_run", "planned"), ("require_sign_in_again", "dry_run", "planned"),
        ("suspend_user", "dry_run", "planned")}
    # A re-run plans nothing new: the ledger does not grow.
    run(tmp_path, [alert(person)], GovernanceConfig(), no_graph)
    assert len(ledger_rows(tmp_path)) == 3


def test_execution_calls_graph_exactly_once_per_action_across_re_runs(tmp_path, sim, person):
    sim.graph_calls.clear()
    cfg = config(**ALL_ON)
    first = run(tmp_path, [alert(person)], cfg, factory(sim))
    assert first.counts()["executed"] == 3
    second = run(tmp_path, [alert(person)], cfg, factory(sim))
    third = run(tmp_path, [alert(person)], cfg, factory(sim))
    assert second.counts()["done"] == third.counts()["done"] == 3
    paths = [c["path"] for c in sim.graph_calls]
    assert len(paths) == 3
    assert paths[0] == "/v1.0/users/secops@acme.example.com/sendMail"
    assert paths[1].endswith("/revokeSignInSessions")
    mail = next(c for c in sim.graph_calls if c["path"].endswith("/sendMail"))
    assert mail["body"]["message"]["toRecipients"][0]["emailAddress"]["address"] == person["email"]
    patch = next(c for c in sim.graph_calls if c["method"] == "PATCH")
    assert patch["body"] == {"accountEnabled": False}
    rows = ledger_rows(tmp_path)
    assert [r["status"] for r in rows] == ["executed"] * 3
    assert {r["http_status"] for r in rows} == {202, 200, 204}
    assert all(r["entra_user_id"] and r["mode"] == "execute" for r in rows)


def test_only_enabled_action_types_execute(tmp_path, sim, person):
    sim.graph_calls.clear()
    report = run(tmp_path, [alert(person)], config(require_sign_in_again=True), factory(sim))
    assert report.counts() | {} == {"planned": 2, "executed": 1, "skipped": 0, "failed": 0, "done": 0}
    assert [c["path"].rsplit("/", 1)[1] for c in sim.graph_calls] == ["revokeSignInSessions"]


def test_an_old_alert_in_a_backfill_is_not_acted_on_unless_asked(tmp_path, sim, person):
    sim.graph_calls.clear()
    old = alert(person, "old", ended=NOW - timedelta(days=30))
    report = run(tmp_path, [old], config(**ALL_ON), factory(sim))
    assert report.counts()["skipped"] == 3 and sim.graph_calls == []
    assert all("older than 48 h" in r["reason"] for r in ledger_rows(tmp_path))
    report = run(tmp_path, [old], config(**ALL_ON), factory(sim), act_on_old_alerts=True)
    assert report.counts()["executed"] == 3 and len(sim.graph_calls) == 3


def test_a_backfill_in_dry_run_plans_actions_for_old_alerts_without_any_graph_call(tmp_path, sim, person):
    sim.graph_calls.clear()
    old = alert(person, "old", ended=NOW - timedelta(days=30))
    report = run(tmp_path, [old], config(), factory(sim))
    assert report.counts()["planned"] == 3 and sim.graph_calls == []
    rows = ledger_rows(tmp_path)
    assert {(r["mode"], r["status"]) for r in rows} == {("dry_run", "planned")}
    assert all("would need act_on_old_alerts" in r["reason"] for r in rows)
    # Turning execution on later still holds history back.
    report = run(tmp_path, [old], config(**ALL_ON), factory(sim))
    assert report.counts()["skipped"] == 3 and sim.graph_calls == []


def test_a_graph_failure_is_recorded_and_retried_on_the_next_run(tmp_path, sim, person):
    sim.graph_calls.clear()
    faults = [Fault(path_contains="/revokeSignInSessions", status=500, times=1)]
    graph = factory(sim, faults=faults, max_attempts=1)
    cfg = config(require_sign_in_again=True)
    first = run(tmp_path, [alert(person)], cfg, graph)
    assert first.counts()["failed"] == 1 and sim.graph_calls == []
    failed = [r for r in ledger_rows(tmp_path) if r["status"] == "failed"]
    assert len(failed) == 1 and failed[0]["http_status"] == 500 and failed[0]["attempt"] == 1
    assert "client_secret" not in failed[0]["reason"] and sim.graph_settings().client_secret not in str(failed)
    second = run(tmp_path, [alert(person)], cfg, graph)
    assert second.counts()["executed"] == 1 and len(sim.graph_calls) == 1
    rows = [r for r in ledger_rows(tmp_path) if r["action"] == "require_sign_in_again"]
    assert [(r["status"], r["attempt"]) for r in rows] == [("failed", 1), ("executed", 2)]


def test_an_unmatched_user_is_recorded_never_guessed(tmp_path, sim, person):
    sim.graph_calls.clear()
    stranger = alert(person, "s1", email="nobody@elsewhere.example")
    report = run(tmp_path, [stranger], config(**ALL_ON), factory(sim))
    assert report.counts()["skipped"] == 3 and sim.graph_calls == []
    assert all("unmatched user: no Entra ID user" in r["reason"] for r in ledger_rows(tmp_path))


def test_config_refuses_governance_for_a_detection_that_does_not_exist():
    with pytest.raises(ValueError, match="impossible_travle, which is not a built-in detection"):
        GovernanceConfig.model_validate({"builtin_policy_actions": {"impossible_travle": ["notify_user"]}})
    ok = GovernanceConfig.model_validate({"builtin_policy_actions": {"impossible_travel": ["notify_user"]}})
    assert ok.builtin_policy_actions == {"impossible_travel": ["notify_user"]}


def test_config_refuses_mail_execution_without_a_mailbox():
    with pytest.raises(ValueError, match="no mailbox"):
        GovernanceConfig.model_validate({"execute": {"notify_user": True}})
