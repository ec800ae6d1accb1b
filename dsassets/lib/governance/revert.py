"""Undoing a suspension: ``dsassets governance revert ACTION_ID --by NAME --reason TEXT``.

MDCA's governance log lets an admin revert an action. Here the action id is the ledger's
``action_key`` of an executed ``suspend_user``; the revert re-enables the Entra account
(``PATCH /users/{id} {"accountEnabled": true}``) and appends a ``revert_suspend_user`` row
saying who asked and why (``requested_by``, ``reason``, ``reverts_action_key``). An action
that was never executed, is not a suspension or was reverted already is a ``RevertError``
naming the action id; nothing is called and nothing is recorded.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from datetime import datetime
from typing import Callable
from urllib.parse import quote

from dsassets.lib.clients.graph import GraphClient
from dsassets.lib.clients.http import ApiError
from dsassets.lib.governance.actions import Ledger, _safe, action_key

REVERTIBLE = {"suspend_user": "revert_suspend_user"}


class RevertError(ValueError):
    """The action cannot be reverted; the message names the action id and why."""


def revert(
    ledger: Ledger,
    action_id: str,
    graph: Callable[[], AbstractContextManager[GraphClient]],
    *,
    by: str,
    reason: str,
    now: datetime,
    run_id: str = "cli",
) -> dict:
    """Revert executed action ``action_id`` (ledger loaded and locked); returns the ledger row added."""
    rows = [r for r in ledger.rows if r["action_key"] == action_id]
    if not rows:
        raise RevertError(f"governance action {action_id}: not in the ledger ({ledger.url})")
    last = rows[-1]
    if last["action"] not in REVERTIBLE:
        raise RevertError(f"governance action {action_id} is {last['action']}: only "
                          f"{', '.join(REVERTIBLE)} can be reverted")
    if not any(r["status"] == "executed" for r in rows):
        raise RevertError(f"governance action {action_id} ({last['action']} of {last['target_email']}) was never "
                          f"executed (latest status {last['status']}: {last['reason'] or 'no detail'}); "
                          "nothing to revert")
    undo = REVERTIBLE[last["action"]]
    undo_key = action_key(last["alert_id"], undo)
    done = [r for r in ledger.rows if r["action_key"] == undo_key and r["status"] == "executed"]
    if done:
        raise RevertError(f"governance action {action_id} was already reverted at "
                          f"{done[-1]['recorded_at']:%Y-%m-%d %H:%M} UTC by {done[-1]['requested_by']}")
    executed = next(r for r in reversed(rows) if r["status"] == "executed")
    entra_id = executed["entra_user_id"]
    try:
        with graph() as client:
            response = client.request("PATCH", f"/v1.0/users/{quote(entra_id)}", json={"accountEnabled": True},
                                      endpoint_name="Graph set accountEnabled")
        status, http, detail = "executed", response.status_code, ""
    except Exception as exc:
        status, http, detail = "failed", exc.status if isinstance(exc, ApiError) else None, "; " + _safe(exc)
    row = {
        **{k: executed[k] for k in ("alert_id", "policy", "severity", "alert_title", "alert_started_at",
                                    "alert_ended_at", "alert_partition_date", "target_user_id", "target_email")},
        "recorded_at": now, "run_id": run_id, "action_key": undo_key, "action": undo, "mode": "execute",
        "status": status, "reason": f"{reason}{detail}"[:500], "entra_user_id": entra_id,
        "attempt": sum(1 for r in ledger.rows if r["action_key"] == undo_key) + 1, "http_status": http,
        "requested_by": by, "reverts_action_key": action_id,
    }
    ledger.append(row)
    ledger.save()
    return row
