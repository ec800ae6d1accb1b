"""Notifications: a real webhook receiver on loopback, the JSONL file, Graph mail; once, retried, dry run."""

import json
from contextlib import contextmanager
from datetime import date, datetime, timedelta, timezone

import pyarrow.parquet as pq
import pytest

from dsassets.lib.clients.graph import GraphClient
from dsassets.lib.config.project import ConfigError, parse_config
from dsassets.lib.lake.lake import Lake
from dsassets.lib.notify import channels, deliver
from dsassets.lib.notify.config import NotifyConfig
from dsassets.simulator import DocuSignSimulator, SimulatorConfig
from support.loopback_receiver import Receiver, SmtpReceiver

NOW = datetime(2026, 11, 25, 9, 0, tzinfo=timezone.utc)


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


def alert(alert_id, severity="high", policy="impossible_travel", ended=NOW - timedelta(hours=2)):
    return {
        "alert_id": alert_id, "policy": policy, "severity": severity, "title": "Impossible travel",
        "description": "alice@example.org signed in from France then Japan", "user_id": "u1",
        "user_email": "alice@example.org", "account_id": "acc1", "started_at": ended - timedelta(minutes=30),
        "ended_at": ended, "event_ids": ["e1", "e2"], "ip_addresses": ["192.0.2.1", "192.0.2.200"],
        "countries": ["FR", "JP"], "evidence": json.dumps({"distance_km": 9700}), "partition_date": ended.date(),
    }


ALERTS = [alert("a-high", "high"), alert("a-medium", "medium"), alert("a-low", "low")]


def notify_config(url, **channel) -> NotifyConfig:
    spec = {"name": "soc", "type": "webhook", "url": url, "min_severity": "medium", "execute": True, **channel}
    return NotifyConfig.model_validate({"channels": [spec]})


def run(tmp_path, alerts, cfg, **kw):
    lake = Lake.at(tmp_path)
    ledger = deliver.Ledger(lake)
    send = deliver.default_sender(lake, kw.pop("graph", None), sleep=lambda s: None)
    with ledger.locked():
        return deliver.run(alerts, cfg, ledger, send, now=kw.pop("now", NOW), run_id="r", **kw)


def ledger_rows(tmp_path):
    return pq.read_table(tmp_path / deliver.LEDGER_DIR / deliver.LEDGER_FILE).to_pylist()


def test_one_post_per_alert_at_or_above_the_severity_and_none_on_re_runs(tmp_path, receiver):
    cfg = notify_config(receiver.url)
    first = run(tmp_path, ALERTS, cfg)
    assert first.counts()["sent"] == 2
    assert sorted(p["body"]["alert_id"] for p in receiver.posts) == ["a-high", "a-medium"]
    body = receiver.posts[0]["body"]
    assert body["schema"] == channels.SCHEMA and body["countries"] == ["FR", "JP"]
    assert body["evidence"] == {"distance_km": 9700}
    for _ in range(2):
        again = run(tmp_path, ALERTS, cfg)
        assert again.counts()["sent"] == 0 and again.counts()["done"] == 2
    assert len(receiver.posts) == 2
    assert [r["status"] for r in ledger_rows(tmp_path)] == ["sent", "sent"]


def test_a_500_is_retried_with_backoff_and_delivered_once(tmp_path, receiver):
    receiver.script = [500, 503]
    report = run(tmp_path, [ALERTS[0]], notify_config(receiver.url))
    assert report.counts()["sent"] == 1
    assert [p["status"] for p in receiver.posts] == [500, 503, 200]
    assert len(receiver.accepted()) == 1


def test_dry_run_is_the_default_and_sends_nothing(tmp_path, receiver):
    cfg = NotifyConfig.model_validate({"channels": [{"name": "soc", "type": "webhook", "url": receiver.url}]})
    report = run(tmp_path, ALERTS, cfg)
    assert report.counts()["planned"] == 2 and receiver.posts == []
    assert {r["status"] for r in ledger_rows(tmp_path)} == {"planned"}
    run(tmp_path, ALERTS, cfg)
    assert len(ledger_rows(tmp_path)) == 2  # re-planning records nothing new


def test_a_4xx_fails_at_once_is_recorded_and_retried_next_run(tmp_path, receiver):
    receiver.script = [404]
    report = run(tmp_path, [ALERTS[0]], notify_config(receiver.url))
    assert report.counts()["failed"] == 1 and len(receiver.posts) == 1
    reason = report.outcomes[0].reason
    assert "HTTP 404" in reason and "'soc'" in reason and "\n" not in reason
    run(tmp_path, [ALERTS[0]], notify_config(receiver.url))
    assert len(receiver.accepted()) == 1
    assert [(r["status"], r["attempt"]) for r in ledger_rows(tmp_path)] == [("failed", 1), ("sent", 2)]


def test_an_unreachable_webhook_is_one_line_and_loses_nothing(tmp_path, receiver):
    receiver.close()
    cfg = notify_config(receiver.url, max_attempts=2)
    report = run(tmp_path, ALERTS[:2], cfg)
    assert report.counts()["failed"] == 2
    assert all("no response" in o.reason and "\n" not in o.reason for o in report.outcomes)
    assert len(ledger_rows(tmp_path)) == 2


def test_no_secret_of_the_url_reaches_the_ledger_or_the_logs(tmp_path, receiver, monkeypatch, caplog):
    caplog.set_level("DEBUG")
    monkeypatch.setenv("SOC_HOOK", receiver.url)
    receiver.script = [400]
    cfg = NotifyConfig.model_validate(
        {"channels": [{"name": "soc", "type": "webhook", "url_env": "SOC_HOOK", "execute": True}]})
    run(tmp_path, ALERTS[:2], cfg)
    text = json.dumps(ledger_rows(tmp_path), default=str)
    assert "s3cr3t" not in text and "/services" not in text
    assert f"http://127.0.0.1:{receiver.server.server_port}" in text
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "HTTP Request: POST" in logged and "s3cr3t" not in logged and "/services" not in logged


def test_old_alerts_are_not_sent_unless_asked(tmp_path, receiver):
    old = alert("a-old", ended=NOW - timedelta(days=5))
    report = run(tmp_path, [old], notify_config(receiver.url))
    assert report.counts()["skipped"] == 1 and receiver.posts == []
    run(tmp_path, [old], notify_config(receiver.url), send_old_alerts=True)
    assert len(receiver.posts) == 1


def test_policy_filter_and_slack_and_teams_shapes(tmp_path, receiver):
    cfg = NotifyConfig.model_validate({"channels": [
        {"name": "slack", "type": "webhook", "url": receiver.url, "format": "slack", "execute": True,
         "policies": ["impossible_travel"]},
        {"name": "teams", "type": "webhook", "url": receiver.url, "format": "teams", "execute": True,
         "min_severity": "high"},
    ]})
    run(tmp_path, [alert("t1"), alert("t2", policy="anonymous_ip")], cfg)
    slack = [p["body"] for p in receiver.posts if "blocks" in p["body"]]
    teams = [p["body"] for p in receiver.posts if p["body"].get("type") == "message"]
    assert len(slack) == 1 and "alice@example.org" in slack[0]["text"]
    assert slack[0]["blocks"][0]["type"] == "header"
    assert len(teams) == 2
    card = teams[0]["attachments"][0]
    assert card["contentType"] == "application/vnd.microsoft.card.adaptive"
    assert card["content"]["type"] == "AdaptiveCard"


def test_jsonl_gets_one_line_per_alert_across_re_runs(tmp_path):
    cfg = NotifyConfig.model_validate({"channels": [
        {"name": "siem", "type": "jsonl", "path": "notify/alerts.jsonl", "min_severity": "informational",
         "execute": True}]})
    run(tmp_path, ALERTS, cfg)
    run(tmp_path, ALERTS, cfg)
    lines = (tmp_path / "notify" / "alerts.jsonl").read_text().splitlines()
    records = [json.loads(line) for line in lines]
    assert sorted(r["alert_id"] for r in records) == ["a-high", "a-low", "a-medium"]
    assert records[0]["started_at"].startswith("2026-11-25T06:30")


def test_graph_mail_goes_from_the_mailbox_once(tmp_path):
    sim = DocuSignSimulator(SimulatorConfig(seed=7, events_per_day=20), now=lambda: NOW)

    @contextmanager
    def graph():
        with GraphClient(sim.graph_settings(), transport=sim.transport(), sleep=lambda s: None) as client:
            yield client

    cfg = NotifyConfig.model_validate({"channels": [
        {"name": "soc-mail", "type": "email", "transport": "graph", "mailbox": "secops@acme.example.com",
         "to": ["soc@acme.example.com"], "execute": True}]})
    run(tmp_path, ALERTS, cfg, graph=graph)
    run(tmp_path, ALERTS, cfg, graph=graph)
    mails = [c for c in sim.graph_calls if c["path"].endswith("/sendMail")]
    assert len(mails) == 2
    message = mails[0]["body"]["message"]
    assert message["toRecipients"] == [{"emailAddress": {"address": "soc@acme.example.com"}}]
    assert "Impossible travel" in message["subject"]


def test_smtp_mail_logs_in_with_env_credentials_retries_a_busy_server_and_sends_once(tmp_path, monkeypatch):
    smtp = SmtpReceiver(busy=1)
    monkeypatch.setenv("SOC_SMTP_USER", "relay-user")
    monkeypatch.setenv("SOC_SMTP_PASSWORD", "pa55-w0rd-xyz")
    cfg = NotifyConfig.model_validate({"channels": [
        {"name": "soc-smtp", "type": "email", "transport": "smtp", "smtp_host": "127.0.0.1", "smtp_port": smtp.port,
         "starttls": False, "sender": "dsassets@acme.example.com", "to": ["soc@acme.example.com"],
         "username_env": "SOC_SMTP_USER", "password_env": "SOC_SMTP_PASSWORD", "execute": True}]})
    try:
        run(tmp_path, ALERTS[:1], cfg)
        run(tmp_path, ALERTS[:1], cfg)
    finally:
        smtp.close()
    assert smtp.busy == 0 and len(smtp.messages) == 1 and len(smtp.auth) == 1
    message = smtp.messages[0]
    assert "To: soc@acme.example.com" in message and "Impossible travel" in message
    rows = ledger_rows(tmp_path)
    assert [r["status"] for r in rows] == ["sent"] and rows[0]["destination"] == f"smtp://127.0.0.1:{smtp.port}"
    assert "pa55" not in json.dumps(rows, default=str)


@pytest.mark.parametrize(
    "channel, expected",
    [
        ({"name": "x", "type": "pager"}, "x.yaml: notify.channels[0].type: Input should be 'webhook', 'email' or 'jsonl'"),
        ({"name": "x", "type": "webhook"}, "x.yaml: notify.channels[0]: Value error, webhook channel 'x' needs url or url_env"),
        ({"name": "x", "type": "webhook", "url": "http://h", "min_severity": "urgent"},
         "x.yaml: notify.channels[0].min_severity: Input should be"),
        ({"name": "x", "type": "email", "transport": "smtp", "to": ["a@b"]},
         "x.yaml: notify.channels[0]: Value error, email channel 'x' needs smtp_host, sender"),
    ],
)
def test_bad_channel_config_is_one_line_naming_the_key(channel, expected):
    with pytest.raises(ConfigError) as err:
        parse_config({"notify": {"channels": [channel]}}, source="x.yaml")
    message = str(err.value)
    assert message.startswith(expected) and "\n" not in message


def test_a_missing_url_variable_is_a_failed_delivery_naming_it(tmp_path, monkeypatch):
    monkeypatch.delenv("NOPE_HOOK", raising=False)
    cfg = NotifyConfig.model_validate(
        {"channels": [{"name": "soc", "type": "webhook", "url_env": "NOPE_HOOK", "execute": True}]})
    report = run(tmp_path, ALERTS[:1], cfg)
    assert report.outcomes[0].status == "failed" and "NOPE_HOOK is not set" in report.outcomes[0].reason
    assert ledger_rows(tmp_path)[0]["destination"] == "$NOPE_HOOK"


def test_partition_date_is_kept(tmp_path, receiver):
    run(tmp_path, ALERTS[:1], notify_config(receiver.url))
    assert ledger_rows(tmp_path)[0]["alert_partition_date"] == date(2026, 11, 25)
