"""What an alert looks like on each channel, and the one call that delivers it.

Payloads:

- ``alert_record`` is the generic JSON of a webhook and the line of the JSONL file; its schema
  (``dsassets.alert/v1``) is documented in ``dsassets/lib/notify/README.md``.
- ``slack`` is an incoming-webhook message (``text`` plus ``blocks``); ``teams`` is a Workflows
  webhook message carrying an Adaptive Card.

Delivery retries transient failures (connection errors, 429 and 5xx) with exponential backoff
and full jitter; a 4xx other than 429 fails at once (the URL or payload is wrong, retrying will
not help). Errors name the channel and only the scheme and host of a webhook: Slack and Teams
URLs carry their secret in the path, so no path, query or body is ever logged or recorded.
"""

from __future__ import annotations

import json
import logging
import os
import random
import smtplib
import ssl
import time
from datetime import datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any, Callable, Mapping

import httpx

from dsassets.lib.clients.http import RETRY_STATUSES
from dsassets.lib.config.settings import named_variable
from dsassets.lib.notify.config import Channel

SCHEMA = "dsassets.alert/v1"
RECORD_FIELDS = ("alert_id", "policy", "severity", "title", "description", "user_id", "user_email",
                 "account_id", "started_at", "ended_at", "ip_addresses", "countries", "event_ids")


class DeliveryError(RuntimeError):
    """A delivery failed for good; the message is safe to log and record (no secret in it)."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


def origin(url: str) -> str:
    """``scheme://host[:port]`` of a URL: all of a webhook address that may be recorded."""
    u = httpx.URL(url)
    return f"{u.scheme}://{u.host}" + (f":{u.port}" if u.port else "")


def _iso(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def alert_record(alert: dict) -> dict:
    """The generic JSON form of an alert (webhook ``generic`` and the JSONL line)."""
    record: dict[str, Any] = {"schema": SCHEMA}
    for name in RECORD_FIELDS:
        value = alert.get(name)
        record[name] = list(value) if isinstance(value, (list, tuple)) else _iso(value)
    try:
        record["evidence"] = json.loads(alert.get("evidence") or "null")
    except ValueError:
        record["evidence"] = alert.get("evidence")
    return record


def summary_lines(alert: dict) -> list[str]:
    who = alert.get("user_email") or alert.get("user_id") or "no single user"
    where = ", ".join(alert.get("countries") or []) or "unknown"
    ips = ", ".join(alert.get("ip_addresses") or []) or "none"
    return [
        str(alert.get("description") or ""),
        f"User: {who}",
        f"When (UTC): {alert['started_at']:%Y-%m-%d %H:%M} - {alert['ended_at']:%Y-%m-%d %H:%M}",
        f"Countries: {where}   IPs: {ips}",
        f"Policy: {alert['policy']}   Alert id: {alert['alert_id']}",
    ]


def headline(alert: dict) -> str:
    return f"[{str(alert['severity']).upper()}] {alert['title']}"


def payload(channel: Channel, alert: dict) -> dict:
    """The JSON body a webhook channel posts for ``alert``."""
    if channel.format == "slack":
        text = "\n".join(summary_lines(alert))
        return {
            "text": f"{headline(alert)}\n{text}",
            "blocks": [
                {"type": "header", "text": {"type": "plain_text", "text": headline(alert)[:150]}},
                {"type": "section", "text": {"type": "mrkdwn", "text": text[:3000]}},
            ],
        }
    if channel.format == "teams":
        body = [{"type": "TextBlock", "text": headline(alert), "weight": "Bolder", "size": "Medium", "wrap": True}]
        body += [{"type": "TextBlock", "text": line, "wrap": True} for line in summary_lines(alert)]
        return {
            "type": "message",
            "attachments": [{
                "contentType": "application/vnd.microsoft.card.adaptive",
                "content": {"$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                            "type": "AdaptiveCard", "version": "1.4", "body": body},
            }],
        }
    return alert_record(alert)


class _HideWebhookPaths(logging.Filter):
    """httpx logs every request's full URL at INFO; for webhooks the path is the secret, so the
    records of the URLs registered here show only ``scheme://host``."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: set[str] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        if self.urls and isinstance(record.args, tuple):
            record.args = tuple(origin(str(a)) + "/[REDACTED]" if str(a) in self.urls else a for a in record.args)
        return True


_HIDE = _HideWebhookPaths()
logging.getLogger("httpx").addFilter(_HIDE)


def _backoff(attempt: int, rng: random.Random, base: float = 1.0, cap: float = 30.0) -> float:
    return rng.uniform(0.0, min(cap, base * 2 ** (attempt - 1)))


def post_webhook(
    channel: Channel,
    alert: dict,
    *,
    transport: httpx.BaseTransport | None = None,
    sleep: Callable[[float], None] = time.sleep,
    rng: random.Random | None = None,
) -> int:
    """POST the channel's payload; returns the HTTP status or raises ``DeliveryError``."""
    url = channel.webhook_url()
    _HIDE.urls.add(url)
    where = f"notify channel {channel.name!r} ({origin(url)})"
    rng = rng or random.Random()
    with httpx.Client(transport=transport, timeout=channel.timeout_seconds) as client:
        for attempt in range(1, channel.max_attempts + 1):
            try:
                response = client.post(url, json=payload(channel, alert))
            except httpx.TransportError as exc:
                failure, status = f"{type(exc).__name__} (no response)", None
            else:
                status = response.status_code
                if status < 400:
                    return status
                failure = f"HTTP {status}"
                if status not in RETRY_STATUSES:
                    raise DeliveryError(f"{where}: {failure}; not retried (check the URL and format)", status)
            if attempt == channel.max_attempts:
                raise DeliveryError(f"{where}: {failure} after {attempt} attempts", status)
            sleep(_backoff(attempt, rng))
    raise AssertionError("unreachable")  # pragma: no cover


def mail_subject(alert: dict) -> str:
    return f"DocuSign security alert {headline(alert)}"


def mail_body(alert: dict) -> str:
    return "\n".join(summary_lines(alert)) + "\n"


def send_smtp(
    channel: Channel,
    alert: dict,
    *,
    env: Mapping[str, str] | None = None,
    sleep: Callable[[float], None] = time.sleep,
    rng: random.Random | None = None,
) -> None:
    """Send the alert mail through ``smtp_host``; STARTTLS and login as configured."""
    user = (named_variable(channel.username_env, env) or "") if channel.username_env else ""
    password = (named_variable(channel.password_env, env) or "") if channel.password_env else ""
    if channel.password_env and not password:
        raise DeliveryError(f"notify channel {channel.name!r}: environment variable {channel.password_env} is not set")
    message = EmailMessage()
    message["From"] = channel.sender
    message["To"] = ", ".join(channel.to or [])
    message["Subject"] = mail_subject(alert)
    message.set_content(mail_body(alert))
    where = f"notify channel {channel.name!r} (smtp://{channel.smtp_host}:{channel.smtp_port})"
    rng = rng or random.Random()
    for attempt in range(1, channel.max_attempts + 1):
        try:
            with smtplib.SMTP(channel.smtp_host or "", channel.smtp_port, timeout=channel.timeout_seconds) as smtp:
                if channel.starttls:
                    smtp.starttls(context=ssl.create_default_context())
                if user:
                    smtp.login(user, password)
                smtp.send_message(message)
            return
        except smtplib.SMTPAuthenticationError as exc:
            raise DeliveryError(f"{where}: authentication failed (SMTP {exc.smtp_code})") from None
        except (smtplib.SMTPException, OSError) as exc:
            if attempt == channel.max_attempts:
                code = getattr(exc, "smtp_code", None)
                detail = f"SMTP {code}" if code else type(exc).__name__
                raise DeliveryError(f"{where}: {detail} after {attempt} attempts") from None
            sleep(_backoff(attempt, rng))


def append_jsonl(channel: Channel, alert: dict, local_dir: Path) -> Path:
    """Append the alert's record as one line; the file is created when missing."""
    path = Path(channel.path or "").expanduser()
    if not path.is_absolute():
        path = local_dir / path
    path.parent.mkdir(parents=True, exist_ok=True)
    line = json.dumps(alert_record(alert), sort_keys=True, separators=(",", ":")) + "\n"
    with open(path, "a", encoding="utf-8") as out:
        out.write(line)
        out.flush()
        os.fsync(out.fileno())
    return path


def destination(channel: Channel) -> str:
    """Where the channel delivers, as recorded in the ledger: never a secret."""
    if channel.type == "webhook":
        try:
            return origin(channel.webhook_url())
        except ValueError:
            return f"${channel.url_env}"
    if channel.type == "email" and channel.transport == "smtp":
        return f"smtp://{channel.smtp_host}:{channel.smtp_port}"
    if channel.type == "email":
        return f"graph:{channel.mailbox}"
    return f"file:{channel.path}"
