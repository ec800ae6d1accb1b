"""Send the window's alerts to the configured channels, once per (alert, channel), and record it.

Safety, as for governance actions:

- **Dry run by default.** A channel sends only with ``execute: true``; otherwise each delivery
  is recorded as ``planned`` and nothing is contacted.
- **Once per (alert, channel).** The ledger ``<data_dir>/notify/notifications.parquet`` is keyed
  by both; once a row says ``sent`` the pair is never sent again, whatever re-runs or backfills
  follow. A ``failed`` pair is tried again on the next run (each attempt is a row).
- **Backfills page nobody.** An alert whose last event is older than ``max_alert_age_hours`` is
  ``skipped`` unless the run asks for ``send_old_alerts``.
- **No secrets.** The ledger holds the channel name, its type and only the scheme and host of a
  webhook (``destination``), and error messages built without URL paths or bodies.

The ledger is saved after every delivery, so a crash repeats at most the delivery in flight.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Callable, Iterable

from dsassets.lib.clients.http import ApiError
from dsassets.lib.lake.lake import Lake
from dsassets.lib.lake.ledger import OutcomeReport, ParquetLedger
from dsassets.lib.lake.schemas import schema
from dsassets.lib.notify import channels as ch
from dsassets.lib.notify.config import Channel, NotifyConfig

LEDGER_DIR = "notify"
LEDGER_FILE = "notifications.parquet"
LEDGER_PATH = f"{LEDGER_DIR}/{LEDGER_FILE}"
LEDGER_POOL = "notify_ledger"
STATUSES = ("planned", "sent", "skipped", "failed")

LEDGER_SCHEMA = schema("""
    recorded_at:ts run_id delivery_key alert_id policy severity alert_title alert_ended_at:ts
    alert_partition_date:date channel channel_type destination mode status reason attempt:int32
    http_status:int32
""")


def delivery_key(alert_id: str, channel: str) -> str:
    return hashlib.sha256(f"{alert_id}|{channel}".encode()).hexdigest()[:32]


class Ledger(ParquetLedger):
    """Every planned, sent, skipped and failed notification."""

    def __init__(self, lake: Lake) -> None:
        super().__init__(lake, LEDGER_DIR, LEDGER_FILE, LEDGER_SCHEMA, "delivery_key")

    def attempts(self, key: str) -> int:
        return sum(1 for r in self.rows if r["delivery_key"] == key and r["status"] in ("sent", "failed"))


@dataclass
class Outcome:
    alert: dict
    channel: Channel
    mode: str
    status: str  # planned | sent | skipped | failed | done (sent earlier)
    reason: str = ""
    http_status: int | None = None
    recorded: bool = False


class Report(OutcomeReport):
    STATUSES = STATUSES


Sender = Callable[[Channel, dict], int | None]


def default_sender(lake: Lake, graph_factory=None, **webhook_kw) -> Sender:
    """Deliver through the real channel: webhook (httpx), Graph sendMail, SMTP or the JSONL file."""

    def send(channel: Channel, alert: dict) -> int | None:
        if channel.type == "webhook":
            return ch.post_webhook(channel, alert, **webhook_kw)
        if channel.type == "jsonl":
            ch.append_jsonl(channel, alert, Path(lake.local_dir))
            return None
        if channel.transport == "smtp":
            ch.send_smtp(channel, alert)
            return None
        if graph_factory is None:
            raise ch.DeliveryError(f"notify channel {channel.name!r}: no Microsoft Graph client configured")
        with graph_factory() as graph:
            graph.send_mail(channel.mailbox, list(channel.to or []), ch.mail_subject(alert), ch.mail_body(alert))
        return None

    return send


def run(
    alerts: Iterable[dict],
    config: NotifyConfig,
    ledger: Ledger,
    send: Sender,
    *,
    now: datetime,
    run_id: str = "",
    send_old_alerts: bool = False,
) -> Report:
    """Plan or send every (alert, channel) delivery the channels' filters select; record each.

    ``ledger`` must be loaded and held locked by the caller for the run.
    """
    report = Report()
    latest = ledger.latest()
    max_age = timedelta(hours=config.max_alert_age_hours)

    def record(o: Outcome) -> None:
        a = o.alert
        key = delivery_key(a["alert_id"], o.channel.name)
        prev = latest.get(key)
        if (o.status in ("planned", "skipped") and prev is not None
                and (prev["status"], prev["mode"], prev["reason"]) == (o.status, o.mode, o.reason)):
            return  # nothing new: re-runs do not grow the ledger
        row = {
            "recorded_at": now, "run_id": run_id, "delivery_key": key, "alert_id": a["alert_id"],
            "policy": a["policy"], "severity": a["severity"], "alert_title": a["title"],
            "alert_ended_at": a["ended_at"], "alert_partition_date": a.get("partition_date"),
            "channel": o.channel.name, "channel_type": o.channel.type,
            "destination": ch.destination(o.channel), "mode": o.mode, "status": o.status,
            "reason": o.reason[:500], "attempt": ledger.attempts(key) + (o.status in ("sent", "failed")),
            "http_status": o.http_status,
        }
        ledger.append(row)
        latest[key] = row
        o.recorded = True

    ordered = sorted(alerts, key=lambda a: (a["started_at"], a["alert_id"]))
    try:
        for channel in config.channels:
            mode = "execute" if channel.execute else "dry_run"
            for alert in ordered:
                if not channel.wants(alert["policy"], alert["severity"]):
                    continue
                prev = latest.get(delivery_key(alert["alert_id"], channel.name))
                if prev is not None and prev["status"] == "sent":
                    report.outcomes.append(Outcome(alert, channel, prev["mode"], "done", "sent earlier"))
                    continue
                too_old = now - alert["ended_at"] > max_age and not send_old_alerts
                if too_old and mode == "execute":
                    o = Outcome(alert, channel, mode, "skipped",
                                f"alert older than {config.max_alert_age_hours} h (backfill); "
                                "run with send_old_alerts to send it")
                elif mode == "dry_run":
                    o = Outcome(alert, channel, mode, "planned", "dry run: execute is off for this channel")
                else:
                    try:
                        o = Outcome(alert, channel, mode, "sent", "", send(channel, alert))
                    except Exception as exc:  # recorded, retried next run; the others still go out
                        o = Outcome(alert, channel, mode, "failed", _safe(exc), getattr(exc, "status", None))
                    record(o)
                    report.outcomes.append(o)
                    ledger.save()
                    continue
                record(o)
                report.outcomes.append(o)
    finally:
        ledger.save()
    return report


def _safe(exc: BaseException) -> str:
    """``DeliveryError``, config errors and scrubbed Graph errors carry no secret; anything else by type only."""
    if isinstance(exc, (ch.DeliveryError, ApiError, ValueError)):
        return str(exc)[:500]
    return f"{type(exc).__name__} while delivering"

