"""The ``notify`` section of ``dsassets.yaml``: where alerts are sent (webhook, e-mail, JSONL file).

One flat model per channel rather than a union per type, so a bad entry is reported on the key
the user wrote (``notify.channels[0].type``, ``notify.channels[1]: webhook channel needs url or
url_env``), not on a union branch label. Secrets (webhook URLs, SMTP passwords) may be named by
environment variable (``url_env``, ``password_env``) so they need not sit in the file.
"""

from __future__ import annotations

from typing import Literal, Mapping

from pydantic import Field, field_validator, model_validator

from dsassets.lib.config.section import Section
from dsassets.lib.config.settings import named_variable

SEVERITIES: tuple[str, ...] = ("informational", "low", "medium", "high")
Severity = Literal["informational", "low", "medium", "high"]


class Channel(Section):
    """One destination. Which keys apply depends on ``type``; the others must be left out."""

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    type: Literal["webhook", "email", "jsonl"]
    # Dry run unless true: deliveries are planned in the ledger, nothing is sent.
    execute: bool = False
    min_severity: Severity = "medium"
    # Only these policy ids (built-in detections or activity policies); null = every policy.
    policies: list[str] | None = None
    # webhook: the URL, or the environment variable holding it (Slack/Teams URLs are secrets).
    url: str | None = None
    url_env: str | None = None
    format: Literal["generic", "slack", "teams"] = "generic"
    timeout_seconds: float = Field(default=10.0, gt=0)
    max_attempts: int = Field(default=4, ge=1, le=10)
    # email: Graph sendMail from a mailbox (the governance Graph client) or SMTP.
    transport: Literal["graph", "smtp"] | None = None
    to: list[str] | None = None
    mailbox: str | None = None
    smtp_host: str | None = None
    smtp_port: int = Field(default=587, ge=1, le=65535)
    starttls: bool = True
    sender: str | None = None
    username_env: str | None = None
    password_env: str | None = None
    # jsonl: file path; relative paths are relative to the local data directory.
    path: str | None = None

    @field_validator("policies")
    @classmethod
    def _not_empty(cls, value: list[str] | None) -> list[str] | None:
        if value is not None and not value:
            raise ValueError("an empty list matches no policy; leave the key out for every policy")
        return value

    @model_validator(mode="after")
    def _complete(self) -> Channel:
        need = {
            "webhook": [("url or url_env", self.url or self.url_env)],
            "email": [("transport (graph or smtp)", self.transport), ("to", self.to)],
            "jsonl": [("path", self.path)],
        }[self.type]
        if self.type == "email" and self.transport == "graph":
            need.append(("mailbox", self.mailbox))
        if self.type == "email" and self.transport == "smtp":
            need += [("smtp_host", self.smtp_host), ("sender", self.sender)]
        missing = [key for key, value in need if not value]
        if missing:
            raise ValueError(f"{self.type} channel {self.name!r} needs {', '.join(missing)}")
        if self.url and not self.url.startswith(("https://", "http://")):
            raise ValueError(f"channel {self.name!r}: url must start with https:// or http://")
        return self

    def webhook_url(self, env: Mapping[str, str] | None = None) -> str:
        """The URL to post to; a missing environment variable is an error naming it."""
        if self.url:
            return self.url
        value = (named_variable(self.url_env or "", env) or "").strip()
        if not value:
            raise ValueError(f"notify channel {self.name!r}: environment variable {self.url_env} is not set")
        return value

    def wants(self, policy: str, severity: str) -> bool:
        """Whether an alert of ``policy`` and ``severity`` goes to this channel."""
        if self.policies is not None and policy not in self.policies:
            return False
        rank = SEVERITIES.index(severity) if severity in SEVERITIES else len(SEVERITIES)
        return rank >= SEVERITIES.index(self.min_severity)


class NotifyConfig(Section):
    """Alert notifications: channels, and how old an alert may be and still be sent."""

    channels: list[Channel] = Field(default_factory=list)
    # Alerts whose last event is older than this are not sent (recorded as skipped) so a backfill
    # never pages anyone; run the notifications asset with {send_old_alerts: true} to send them.
    max_alert_age_hours: int = Field(default=48, ge=1)

    @field_validator("channels")
    @classmethod
    def _unique_names(cls, value: list[Channel]) -> list[Channel]:
        names = [c.name for c in value]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"channel names must be unique: {', '.join(dupes)}")
        return value
