"""Connector health: a stalled audit log warns, a backfill older than the stream's retention is refused, a failed run is reported."""

from __future__ import annotations

import sys
import types
from datetime import date, datetime, timedelta, timezone

import dagster as dg
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from dsassets.defs.extract.audit_events import raw_docusign_audit_events
from dsassets.defs.health.connector import freshness, report_failed_runs
from dsassets.lib.config.settings import audit_freshness_hours
from dsassets.defs.resources import DocuSignResource, LakeResource
from support.monitor_pages import monitor_page
from dsassets.lib.health.connector import RetentionError, check_retention, is_stale
from dsassets.lib.lake.lake import Lake
from dsassets.lib.lake.raw_events import write_event_partitions

DAY = date(2026, 7, 14)
UTC = timezone.utc


def moment(hour: int, minute: int = 0, day: date = DAY) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC)


@pytest.mark.parametrize(("last", "now", "stale"), [
    (moment(9), moment(14), True),  # a working day that went quiet at 09:00
    (moment(13), moment(14), False),
    (None, moment(14), False),  # no events at all that day: nothing to compare with
    (moment(9), moment(2, day=DAY + timedelta(days=1)), False),  # a closed day's quiet evening
])
def test_is_stale(last, now, stale):
    assert is_stale(DAY, last, now, hours=4) is stale


def lake_with_events_until(tmp_path, last_hour: int) -> Lake:
    lake = Lake.at(tmp_path / "data")
    events = [{"eventId": f"f-{h}", "timestamp": f"{DAY}T{h:02d}:10:00Z", "object": "Envelope", "action": "Sent"}
              for h in range(6, last_hour + 1)]
    start = moment(0)
    write_event_partitions(lake, [monitor_page(events, "c0", "c1")], start=start, end=start + timedelta(days=1),
                           source="docusign", extracted_at=moment(last_hour, 30))
    return lake


def test_freshness_warns_when_a_running_day_goes_quiet(tmp_path, monkeypatch):
    lake = lake_with_events_until(tmp_path, 9)
    result = freshness(lake, DAY, moment(15), audit_freshness_hours())  # the default: 4 hours
    assert result.passed is False and result.severity == dg.AssetCheckSeverity.WARN
    assert "no new DocuSign audit event since 2026-07-14 09:10 UTC (5.8 h)" in result.description
    monkeypatch.setenv("DSASSETS_AUDIT_FRESHNESS_HOURS", "8")
    assert freshness(lake, DAY, moment(15), audit_freshness_hours()).passed is True


def test_decoy_freshness_is_quiet_for_a_lively_day_and_a_closed_one(tmp_path):
    lake = lake_with_events_until(tmp_path, 14)
    assert freshness(lake, DAY, moment(15), 4).passed is True
    assert freshness(lake, DAY, moment(9, day=DAY + timedelta(days=2)), 4).passed is True


def test_retention_refuses_old_windows_and_names_the_setting():
    now = moment(12)
    check_retention(now - timedelta(days=29), now, 30)
    with pytest.raises(RetentionError, match=r"DOCUSIGN_MONITOR_RETENTION_DAYS.*on or after 2026-06-14"):
        check_retention(now - timedelta(days=31), now, 30)


def test_a_backfill_before_the_retention_fails_before_reading_anything(tmp_path, monkeypatch):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = tmp_path / "key.pem"
    pem.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                      serialization.NoEncryption()))
    for name, value in {"DOCUSIGN_INTEGRATION_KEY": "ik", "DOCUSIGN_USER_ID": "u", "DOCUSIGN_ORGANIZATION_ID": "o",
                        "DOCUSIGN_PRIVATE_KEY_FILE": str(pem), "DOCUSIGN_AUTH_SERVER": "http://127.0.0.1:9",
                        "DOCUSIGN_MONITOR_URL": "http://127.0.0.1:9", "DOCUSIGN_ADMIN_URL": "http://127.0.0.1:9",
                        "DOCUSIGN_MONITOR_RETENTION_DAYS": "30"}.items():
        monkeypatch.setenv(name, value)
    old = (datetime.now(UTC) - timedelta(days=45)).date()
    result = dg.materialize([raw_docusign_audit_events], partition_key=old.isoformat(), raise_on_error=False,
                            resources={"lake": LakeResource(data_dir=str(tmp_path / "data")),
                                       "docusign": DocuSignResource()})
    assert not result.success
    [failure] = [e for e in result.all_events if e.is_step_failure]
    message = failure.step_failure_data.error.message
    assert "DOCUSIGN_MONITOR_RETENTION_DAYS" in message and "would be stored empty" in message
    assert Lake.at(tmp_path / "data").partitions("raw_docusign_audit_events") == []


def test_a_failed_run_is_logged_and_sent_to_the_notification_hook(monkeypatch, caplog):
    @dg.op
    def explode():
        raise RuntimeError("Monitor said no")

    @dg.job
    def doomed():
        explode()

    calls = []
    hook_module = types.ModuleType("dsassets.lib.notify")
    hook_module.notify_run_failure = lambda **kw: calls.append(kw)
    monkeypatch.setitem(sys.modules, "dsassets.lib.notify", hook_module)
    with dg.instance_for_test() as instance:
        result = doomed.execute_in_process(instance=instance, raise_on_error=False)
        failure = [e for e in result.all_events if e.event_type_value == "PIPELINE_FAILURE"][0]
        context = dg.build_run_status_sensor_context(
            sensor_name="report_failed_runs", dagster_event=failure, dagster_instance=instance,
            dagster_run=result.dagster_run,
        ).for_run_failure()
        report_failed_runs(context)
    assert calls and calls[0]["job"] == "doomed" and calls[0]["run_id"] == result.run_id
