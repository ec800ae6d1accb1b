"""Governance actions for alerts, through Microsoft Entra ID: notify, require sign-in again, suspend.

MDCA's three DocuSign governance actions (DETECTIONS.md §5), carried out with Microsoft
Graph: ``POST /users/{mailbox}/sendMail``, ``POST /users/{id}/revokeSignInSessions`` and
``PATCH /users/{id} {"accountEnabled": false}``. Which actions an alert gets: its activity
policy's ``actions``, or ``builtin_policy_actions`` for the six built-in detections.

Safety:

- **Dry run by default.** An action executes only when its type is on under
  ``activity_policies.governance.execute``; otherwise it is recorded as ``planned`` and no
  Graph call is made (no client is even opened).
- **Once per alert.** The ledger is keyed by (``alert_id``, ``action``): once a row says
  ``executed`` the pair is never run again, whatever re-runs or backfills follow. A
  ``failed`` pair is retried on the next run (each attempt is a row).
- **Safe backfills.** An action that would execute for an alert whose last event is older
  than ``max_alert_age_hours`` is ``skipped`` unless the run asks for ``act_on_old_alerts``.
  Dry-run actions are ``planned`` whatever the alert's age (planning calls nothing), with a
  note when the alert is that old, so a backfilled history shows what each policy would do.
- **Never guess a person.** The DocuSign user is matched to an Entra user by e-mail
  (``mail``, else ``userPrincipalName``, case-insensitive); no match or several matches
  is recorded as ``skipped`` and retried on the next run.

The ledger is one Parquet file, ``<data_dir>/governance/governance_actions.parquet`` (in the
lake, so on S3 when the lake is), append-only by content (a row is added only when something
happened or changed), rewritten whole and published atomically (``Lake.write_bytes``) after
every Graph call, so a crash loses at most the outcome of the call in flight (and then at worst
repeats it: revoking sessions and disabling an account are idempotent in Entra; a mail could
arrive twice). Runs take an exclusive ``flock`` on ``<local_dir>/governance/.lock``, so two
runs never act on the same alert at once. S3 has no lock to share, so with the lake on S3 that
holds for the runs of one machine (one Dagster deployment), which is how it is documented. Parquet rather than a DuckDB file of its own: the warehouse reads it as a plain view
(no second database to attach or lock), and it is small (one row per action attempt).
Nothing secret is stored: the response status and the error message the HTTP layer has
already scrubbed.
"""

from __future__ import annotations

import hashlib
import re
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import Any, Callable, Iterable
from urllib.parse import quote

import pyarrow as pa

from dsassets.lib.clients.graph import GraphClient
from dsassets.lib.clients.http import ApiError
from dsassets.lib.lake.lake import Lake
from dsassets.lib.lake.ledger import OutcomeReport, ParquetLedger
from dsassets.lib.policies.settings import ACTION_TYPES, GovernanceConfig

LEDGER_DIR = "governance"
LEDGER_FILE = "governance_actions.parquet"
# Dagster concurrency pool of the ledger's writer (limit 1 in dagster.yaml).
LEDGER_POOL = "governance_ledger"
STATUSES = ("planned", "executed", "skipped", "failed")

LEDGER_SCHEMA = pa.schema([
    ("recorded_at", pa.timestamp("us", tz="UTC")),
    ("run_id", pa.string()),
    ("action_key", pa.string()),
    ("alert_id", pa.string()),
    ("policy", pa.string()),
    ("severity", pa.string()),
    ("alert_title", pa.string()),
    ("alert_started_at", pa.timestamp("us", tz="UTC")),
    ("alert_ended_at", pa.timestamp("us", tz="UTC")),
    ("alert_partition_date", pa.date32()),
    ("action", pa.string()),
    ("mode", pa.string()),
    ("status", pa.string()),
    ("reason", pa.string()),
    ("target_user_id", pa.string()),
    ("target_email", pa.string()),
    ("entra_user_id", pa.string()),
    ("attempt", pa.int32()),
    ("http_status", pa.int32()),
])


@dataclass(frozen=True)
class Alert:
    alert_id: str
    policy: str
    severity: str
    title: str
    description: str
    user_id: str | None
    user_email: str | None
    started_at: datetime
    ended_at: datetime
    partition_date: date

    @classmethod
    def from_row(cls, row: dict) -> Alert:
        return cls(*(row.get(k) for k in cls.__dataclass_fields__))  # type: ignore[arg-type]


def action_key(alert_id: str, action: str) -> str:
    return hashlib.sha256(f"{alert_id}|{action}".encode()).hexdigest()[:32]


LEDGER_PATH = f"{LEDGER_DIR}/{LEDGER_FILE}"


class Ledger(ParquetLedger):
    """The persistent record of every governance action, read whole and rewritten atomically."""

    def __init__(self, lake: Lake) -> None:
        super().__init__(lake, LEDGER_DIR, LEDGER_FILE, LEDGER_SCHEMA, "action_key")

    def attempts(self, key: str) -> int:
        return sum(1 for r in self.rows if r["action_key"] == key and r["status"] in ("executed", "failed"))


class Directory:
    """DocuSign e-mail -> Entra user id, from one listing of the tenant's users per run."""

    def __init__(self, client: GraphClient) -> None:
        self._client = client
        self._by_mail: dict[str, set[str]] | None = None
        self._by_upn: dict[str, set[str]] = {}

    def _load(self) -> None:
        self._by_mail = {}
        for user in self._client.paged("/v1.0/users?$select=id,mail,userPrincipalName,accountEnabled",
                                       endpoint_name="Graph users (governance)"):
            if user.get("mail"):
                self._by_mail.setdefault(user["mail"].strip().lower(), set()).add(user["id"])
            if user.get("userPrincipalName"):
                self._by_upn.setdefault(user["userPrincipalName"].strip().lower(), set()).add(user["id"])

    def match(self, email: str) -> tuple[str | None, str]:
        """``(entra id, "")`` or ``(None, why not)``; several candidates is never a match."""
        if self._by_mail is None:
            self._load()
        assert self._by_mail is not None
        key = email.strip().lower()
        ids = self._by_mail.get(key) or self._by_upn.get(key) or set()
        if len(ids) == 1:
            return next(iter(ids)), ""
        if not ids:
            return None, f"no Entra ID user with mail or userPrincipalName {key}"
        return None, f"{len(ids)} Entra ID users share {key}; not guessing which one"


def notify_body(alert: Alert, message: str) -> str:
    lines = [
        "Hello,",
        "",
        f"Security monitoring raised an alert on activity by your DocuSign account: {alert.title}.",
        "",
        alert.description,
        "",
        f"When (UTC): {alert.started_at:%Y-%m-%d %H:%M} - {alert.ended_at:%Y-%m-%d %H:%M}",
        f"Alert id: {alert.alert_id}",
    ]
    if message:
        lines += ["", message]
    lines += ["", "If this was not you, contact your security team right away."]
    return "\n".join(lines)


def _call(client: GraphClient, action: str, entra_id: str, email: str, alert: Alert,
          config: GovernanceConfig, message: str) -> int:
    """Perform one action; returns the HTTP status (raises ``ApiError`` on failure)."""
    if action == "notify_user":
        payload = {
            "message": {
                "subject": config.notify_subject.replace("{title}", alert.title),
                "body": {"contentType": "Text", "content": notify_body(alert, message)},
                "toRecipients": [{"emailAddress": {"address": email}}],
            },
            "saveToSentItems": False,
        }
        response = client.request("POST", f"/v1.0/users/{quote(config.mailbox or '')}/sendMail",
                                  json=payload, endpoint_name="Graph sendMail")
    elif action == "require_sign_in_again":
        response = client.request("POST", f"/v1.0/users/{quote(entra_id)}/revokeSignInSessions",
                                  json={}, endpoint_name="Graph revokeSignInSessions")
    elif action == "suspend_user":
        response = client.request("PATCH", f"/v1.0/users/{quote(entra_id)}", json={"accountEnabled": False},
                                  endpoint_name="Graph set accountEnabled")
    else:  # pragma: no cover - validated by the config model
        raise ValueError(action)
    return response.status_code


@dataclass
class Outcome:
    alert: Alert
    action: str
    mode: str
    status: str  # planned | executed | skipped | failed | done (executed earlier, nothing to do)
    reason: str = ""
    http_status: int | None = None
    recorded: bool = False


class Report(OutcomeReport):
    STATUSES = STATUSES

    def markdown(self, limit: int = 50) -> str:
        order = {"executed": 0, "failed": 1, "planned": 2, "skipped": 3, "done": 4}

        def cells(o: Outcome) -> list[str]:
            detail = o.reason + (f" (HTTP {o.http_status})" if o.http_status else "")
            return [f"{o.alert.started_at:%Y-%m-%d %H:%M}", o.alert.policy, o.alert.user_email or o.alert.user_id or "",
                    o.action, o.mode, f"**{o.status}**", detail]

        return self.table(["alert started (UTC)", "policy", "user", "action", "mode", "status", "detail"], cells,
                          empty="_no governance actions for the alerts of this window_", limit=limit,
                          order=lambda o: (order[o.status], o.alert.started_at, o.alert.alert_id))


GraphFactory = Callable[[], AbstractContextManager[GraphClient]]


def run(
    alerts: Iterable[Alert],
    actions_for: Callable[[Alert], tuple[list[str], str]],
    config: GovernanceConfig,
    ledger: Ledger,
    graph: GraphFactory,
    *,
    now: datetime,
    run_id: str = "",
    act_on_old_alerts: bool = False,
) -> Report:
    """Plan and (where enabled) execute every action of ``alerts``; record what happened in ``ledger``.

    ``actions_for(alert)`` gives the alert's action types and the policy's extra mail text.
    ``ledger`` must be loaded (and held locked by the caller for the run); it is saved after
    every Graph call and at the end. ``graph`` is only entered when something executes.
    """
    report = Report()
    latest = ledger.latest()
    max_age = timedelta(hours=config.max_alert_age_hours)
    client: GraphClient | None = None
    directory: Directory | None = None
    stack: AbstractContextManager[GraphClient] | None = None

    def record(o: Outcome, entra_id: str | None = None) -> None:
        a = o.alert
        key = action_key(a.alert_id, o.action)
        prev = latest.get(key)
        attempt = ledger.attempts(key) + (1 if o.status in ("executed", "failed") else 0)
        if (o.status not in ("executed", "failed") and prev is not None
                and (prev["status"], prev["mode"], prev["reason"]) == (o.status, o.mode, o.reason)):
            return  # nothing new: re-runs do not grow the ledger
        row = {
            "recorded_at": now, "run_id": run_id, "action_key": key, "alert_id": a.alert_id,
            "policy": a.policy, "severity": a.severity, "alert_title": a.title,
            "alert_started_at": a.started_at, "alert_ended_at": a.ended_at,
            "alert_partition_date": a.partition_date, "action": o.action, "mode": o.mode,
            "status": o.status, "reason": o.reason[:500], "target_user_id": a.user_id,
            "target_email": a.user_email, "entra_user_id": entra_id, "attempt": attempt,
            "http_status": o.http_status,
        }
        ledger.append(row)
        latest[key] = row
        o.recorded = True

    try:
        for alert in sorted(alerts, key=lambda a: (a.started_at, a.alert_id)):
            actions, message = actions_for(alert)
            for action in sorted(set(actions), key=ACTION_TYPES.index):
                mode = "execute" if config.execute.enabled(action) else "dry_run"
                prev = latest.get(action_key(alert.alert_id, action))
                if prev is not None and prev["status"] == "executed":
                    report.outcomes.append(Outcome(alert, action, prev["mode"], "done", "executed earlier"))
                    continue
                too_old = now - alert.ended_at > max_age and not act_on_old_alerts
                if too_old and mode == "execute":
                    o = Outcome(alert, action, mode, "skipped",
                                f"alert older than {config.max_alert_age_hours} h (backfill); "
                                "run with act_on_old_alerts to act on it")
                    record(o)
                    report.outcomes.append(o)
                    continue
                if not alert.user_email:
                    o = Outcome(alert, action, mode, "skipped", "alert has no single user with an e-mail")
                    record(o)
                    report.outcomes.append(o)
                    continue
                if mode == "dry_run":
                    # Planning is harmless, so history gets a plan too: it shows what the policy
                    # would have done, and the note says execution would still hold back.
                    reason = "dry run: execution of this action type is off"
                    if too_old:
                        reason += f"; older than {config.max_alert_age_hours} h, it would need act_on_old_alerts"
                    o = Outcome(alert, action, mode, "planned", reason)
                    record(o)
                    report.outcomes.append(o)
                    continue
                # Execute: resolve the person first, then one Graph call.
                try:
                    if client is None:
                        stack = graph()
                        client = stack.__enter__()
                        directory = Directory(client)
                    assert directory is not None
                    entra_id, why = directory.match(alert.user_email)
                except Exception as exc:  # directory unreachable: every pending action retries next run
                    o = Outcome(alert, action, mode, "failed", f"Entra ID user lookup failed: {_safe(exc)}",
                                getattr(exc, "status", None))
                    record(o)
                    report.outcomes.append(o)
                    ledger.save()
                    continue
                if entra_id is None:
                    o = Outcome(alert, action, mode, "skipped", f"unmatched user: {why}")
                    record(o)
                    report.outcomes.append(o)
                    continue
                try:
                    status = _call(client, action, entra_id, alert.user_email, alert, config, message)
                    o = Outcome(alert, action, mode, "executed", "", status)
                except Exception as exc:
                    o = Outcome(alert, action, mode, "failed", _safe(exc),
                                exc.status if isinstance(exc, ApiError) else None)
                record(o, entra_id)
                report.outcomes.append(o)
                ledger.save()
    finally:
        if stack is not None:
            stack.__exit__(None, None, None)
        ledger.save()
    return report


def _safe(exc: BaseException) -> str:
    """The error text: ``ApiError`` messages are already scrubbed of credentials by the HTTP layer."""
    return f"{type(exc).__name__}: {exc}"[:500]


def alerts_from_rows(rows: Iterable[dict[str, Any]]) -> list[Alert]:
    """Distinct alerts (an alert in both ``alerts`` and ``policy_alerts`` counts once)."""
    seen: dict[str, Alert] = {}
    for row in rows:
        seen.setdefault(row["alert_id"], Alert.from_row(row))
    return list(seen.values())


def warehouse_views(con, lake) -> list[str]:
    """Views in ``warehouse.duckdb``: the ``governance_actions`` and ``notifications`` ledgers, ``policy_alerts``, ``pol_*``.

    Called by ``refresh_warehouse`` inside its transaction; only relations with output are created.
    """
    from dsassets.lib.transform import sql

    created = []
    if lake.exists(LEDGER_PATH):
        con.execute(
            f"create or replace view governance_actions as select * from "
            f"read_parquet({sql.sql_literal(lake.url(LEDGER_PATH))})"
        )
        created.append("governance_actions")
    from dsassets.lib.notify import deliver

    if lake.exists(deliver.LEDGER_PATH):
        con.execute(f"create or replace view notifications as select * from "
                    f"read_parquet({sql.sql_literal(lake.url(deliver.LEDGER_PATH))})")
        created.append("notifications")
    # One listing for every activity policy's output (object stores have no directories to list).
    found = {rel.split("/")[1] for rel in lake.files(f"{sql.model_path('pol_*')}/dt=*/*.parquet")}
    names = sorted(n for n in found if re.fullmatch(r"pol_[a-z][a-z0-9_]*", n))
    names.append("policy_alerts")
    for name in names:
        model = sql.Model("marts", name, (), "", True)
        if sql.has_output(lake, model):
            con.execute(f"create or replace view {name} as select * from {sql.parquet_scan(sql.model_glob(lake, model))}")
            created.append(name)
    return created
