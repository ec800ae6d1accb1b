"""Notifying the security team and the manager, and reverting a suspension, against the Graph stand-in.

Alerts shaped unlike the detections': one about an external user with no DocuSign e-mail, a team
mixing an address in capitals with an Entra group id.
"""

from datetime import timedelta

import pyarrow.parquet as pq
import pytest

from dsassets import cli
from dsassets.defs import resources
from dsassets.lib.governance import actions as governance
from dsassets.lib.governance.revert import RevertError, revert
from dsassets.lib.lake.lake import Lake
from dsassets.lib.policies.settings import GovernanceConfig
from dsassets.simulator.graph_api import group_id
from test_governance import NOW, alert, factory, ledger_rows, sim  # noqa: F401  (sim is a fixture)


def run(tmp_path, alerts, config, graph, actions):
    ledger = governance.Ledger(Lake.at(tmp_path))
    with ledger.locked():
        return governance.run(alerts, lambda a: (actions, ""), config, ledger, graph, now=NOW, run_id="r")


def mails(sim):
    return [c for c in sim.graph_calls if c["path"].endswith("/sendMail")]


@pytest.fixture
def people(sim):
    states = [u for u in sim.expected_user_states(NOW) if u["state"] == "active"]
    admins = [u for u in states if u["is_admin"]]
    return states, admins


def test_security_team_gets_one_mail_per_alert_even_about_an_external_user(tmp_path, sim, people):
    states, _ = people
    team = ["SOC-Oncall@acme.example.com", group_id(sim.world, "DocuSign Organization Admins")]
    config = GovernanceConfig.model_validate({"execute": {"notify_security_team": True},
                                              "mailbox": "secops@acme.example.com", "security_team": team})
    external = governance.Alert(
        alert_id="ext-1", policy="external_admin_granted", severity="high", title="External user granted administrator",
        description="guest made admin", user_id="guest-1", user_email=None, started_at=NOW - timedelta(hours=2),
        ended_at=NOW - timedelta(hours=1), partition_date=NOW.date())
    sim.graph_calls.clear()
    report = run(tmp_path, [external, alert(states[0])], config, factory(sim), ["notify_security_team"])
    assert report.counts()["executed"] == 2
    sent = mails(sim)
    assert len(sent) == 2
    to = {r["emailAddress"]["address"] for r in sent[0]["body"]["message"]["toRecipients"]}
    assert "soc-oncall@acme.example.com" in to and len(to) > 1  # the address and the group's members
    assert any("about guest-1" in m["body"]["message"]["body"]["content"] for m in sent)
    rows = [r for r in ledger_rows(tmp_path) if r["action"] == "notify_security_team"]
    assert {(r["alert_id"], r["status"]) for r in rows} == {("ext-1", "executed"), (alert(states[0]).alert_id, "executed")}
    # Once per alert: a re-run sends nothing and adds no row.
    again = run(tmp_path, [external, alert(states[0])], config, factory(sim), ["notify_security_team"])
    assert again.counts()["done"] == 2 and len(mails(sim)) == 2 and len(ledger_rows(tmp_path)) == len(rows)


def test_manager_is_mailed_and_a_user_without_one_is_skipped(tmp_path, sim, people):
    states, admins = people
    staff = next(u for u in states if not u["is_admin"])
    config = GovernanceConfig.model_validate({"execute": {"notify_manager": True}, "mailbox": "secops@acme.example.com"})
    sim.graph_calls.clear()
    report = run(tmp_path, [alert(staff, "m1"), alert(admins[0], "m2")], config, factory(sim), ["notify_manager"])
    by_alert = {o.alert.alert_id: o for o in report.outcomes}
    assert by_alert["m1"].status == "executed" and by_alert["m1"].reason.startswith("mailed ")
    manager = by_alert["m1"].reason.removeprefix("mailed ")
    assert manager != staff["email"] and manager in {a["email"] for a in admins}
    assert by_alert["m2"].status == "skipped" and "no manager" in by_alert["m2"].reason
    assert [c["body"]["message"]["toRecipients"] for c in mails(sim)] == [[{"emailAddress": {"address": manager}}]]


def test_notifications_need_a_mailbox_and_a_team():
    with pytest.raises(ValueError, match="execute.notify_manager is on but no mailbox"):
        GovernanceConfig.model_validate({"execute": {"notify_manager": True}})
    with pytest.raises(ValueError, match="security_team names nobody"):
        GovernanceConfig.model_validate({"execute": {"notify_security_team": True}, "mailbox": "a@b.c"})
    with pytest.raises(ValueError, match="'soc' is neither an e-mail address nor a group object id"):
        GovernanceConfig.model_validate({"security_team": ["soc"]})


def _suspended(tmp_path, sim, person):
    config = GovernanceConfig.model_validate({"execute": {"suspend_user": True}})
    run(tmp_path, [alert(person, "s1")], config, factory(sim), ["suspend_user"])
    (row,) = [r for r in ledger_rows(tmp_path) if r["action"] == "suspend_user"]
    assert row["status"] == "executed"
    return row


def test_revert_reenables_the_account_and_records_who_and_why(tmp_path, sim, people):
    states, _ = people
    row = _suspended(tmp_path, sim, states[1])
    sim.graph_calls.clear()
    ledger = governance.Ledger(Lake.at(tmp_path))
    with ledger.locked():
        added = revert(ledger, row["action_key"], factory(sim), by="alice.admin", reason="travel confirmed", now=NOW)
    assert [(c["method"], c["path"], c["body"]) for c in sim.graph_calls] == [
        ("PATCH", f"/v1.0/users/{row['entra_user_id']}", {"accountEnabled": True})]
    stored = ledger_rows(tmp_path)[-1]
    assert stored == {**stored, "action": "revert_suspend_user", "status": "executed", "requested_by": "alice.admin",
                      "reason": "travel confirmed", "reverts_action_key": row["action_key"],
                      "entra_user_id": row["entra_user_id"], "alert_id": "s1"}
    assert added["action_key"] == stored["action_key"]
    with ledger.locked(), pytest.raises(RevertError, match=f"{row['action_key']} was already reverted .* by alice.admin"):
        revert(ledger, row["action_key"], factory(sim), by="bob", reason="again", now=NOW)
    # The suspension itself is never re-run by the governance asset afterwards.
    again = run(tmp_path, [alert(states[1], "s1")], GovernanceConfig.model_validate({"execute": {"suspend_user": True}}),
                factory(sim), ["suspend_user"])
    assert again.counts()["done"] == 1


def test_reverting_what_never_ran_names_the_action_and_changes_nothing(tmp_path, sim, people):
    states, _ = people
    run(tmp_path, [alert(states[2], "p1")], GovernanceConfig(), factory(sim), ["suspend_user", "notify_user"])
    rows = ledger_rows(tmp_path)
    planned = next(r for r in rows if r["action"] == "suspend_user")
    mailed = next(r for r in rows if r["action"] == "notify_user")
    ledger = governance.Ledger(Lake.at(tmp_path))
    sim.graph_calls.clear()
    with ledger.locked():
        with pytest.raises(RevertError, match=f"governance action {planned['action_key']} .* was never executed"):
            revert(ledger, planned["action_key"], factory(sim), by="x", reason="y", now=NOW)
        with pytest.raises(RevertError, match=f"{mailed['action_key']} is notify_user: only suspend_user"):
            revert(ledger, mailed["action_key"], factory(sim), by="x", reason="y", now=NOW)
        with pytest.raises(RevertError, match="governance action deadbeef: not in the ledger"):
            revert(ledger, "deadbeef", factory(sim), by="x", reason="y", now=NOW)
    assert sim.graph_calls == [] and ledger_rows(tmp_path) == rows


def test_cli_revert(tmp_path, sim, people, monkeypatch, capsys):
    states, _ = people
    for name in ("DOCUSIGN_INTEGRATION_KEY", "ENTRA_TENANT_ID", "DSASSETS_IDP_EXPORT_FILE", "DSASSETS_CONFIG"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DSASSETS_DATA_DIR", str(tmp_path))
    row = _suspended(tmp_path, sim, states[3])
    assert cli.main(["governance", "revert", "nope", "--by", "me", "--reason", "test"]) == 2
    assert "governance action nope: not in the ledger" in capsys.readouterr().err
    stand_in, _ = resources._simulator(20240601, 600)
    stand_in.graph_calls.clear()
    assert cli.main(["governance", "revert", row["action_key"], "--by", "carol", "--reason", "false positive"]) == 0
    assert "revert_suspend_user" in capsys.readouterr().out
    assert [(c["method"], c["body"]) for c in stand_in.graph_calls] == [("PATCH", {"accountEnabled": True})]
    last = pq.read_table(tmp_path / governance.LEDGER_PATH).to_pylist()[-1]
    assert (last["requested_by"], last["reason"], last["status"]) == ("carol", "false positive", "executed")


def test_an_unknown_security_team_group_is_skipped_naming_it(tmp_path, sim, people):
    states, _ = people
    gone = "9a9a9a9a-0000-4000-8000-000000000003"
    config = GovernanceConfig.model_validate({"execute": {"notify_security_team": True},
                                              "mailbox": "secops@acme.example.com", "security_team": [gone]})
    sim.graph_calls.clear()
    report = run(tmp_path, [alert(states[0], "g1")], config, factory(sim), ["notify_security_team"])
    (o,) = report.outcomes
    assert o.status == "skipped" and f"group {gone} does not exist" in o.reason and mails(sim) == []
