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

from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Callable, Iterable

from dsassets.lib.clients.graph import GraphClient
from dsassets.lib.clients.http import ApiError
from dsassets.lib.governance import reach
from dsassets.lib.governance.entra import Directory, perform
from dsassets.lib.governance.ledger import LEDGER_PATH, LEDGER_POOL, STATUSES, Alert, Ledger, action_key  # noqa: F401
from dsassets.lib.lake.ledger import OutcomeReport
from dsassets.lib.policies.settings import ACTION_TYPES, GovernanceConfig


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
                too_old = now - (alert.raised_at or alert.ended_at) > max_age and not act_on_old_alerts
                if too_old and mode == "execute":
                    o = Outcome(alert, action, mode, "skipped",
                                f"alert older than {config.max_alert_age_hours} h (backfill); "
                                "run with act_on_old_alerts to act on it")
                    record(o)
                    report.outcomes.append(o)
                    continue
                # The security team is told about any alert, even one about an external user.
                needs_user = action != "notify_security_team"
                if needs_user and not alert.user_email:
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
                    entra_id, why = directory.match(alert.user_email) if needs_user else (None, "")
                except Exception as exc:  # directory unreachable: every pending action retries next run
                    o = Outcome(alert, action, mode, "failed", f"Entra ID user lookup failed: {_safe(exc)}",
                                getattr(exc, "status", None))
                    record(o)
                    report.outcomes.append(o)
                    ledger.save()
                    continue
                if needs_user and entra_id is None:
                    o = Outcome(alert, action, mode, "skipped", f"unmatched user: {why}")
                    record(o)
                    report.outcomes.append(o)
                    continue
                try:
                    if action in reach.ACTIONS:
                        status, sent_to = reach.call(client, action, entra_id, alert, config)
                        o = Outcome(alert, action, mode, "executed", f"mailed {sent_to}", status)
                    else:
                        status = perform(client, action, entra_id, alert.user_email, alert, config, message)
                        o = Outcome(alert, action, mode, "executed", "", status)
                except reach.NoRecipient as exc:
                    o = Outcome(alert, action, mode, "skipped", str(exc))
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
