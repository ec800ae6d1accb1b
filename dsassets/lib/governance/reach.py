"""Notifying beyond the user: the security team and the user's manager (MDCA's "notify additional users").

- ``notify_security_team`` mails ``governance.security_team``: addresses as written, and the
  members of any Entra group listed (``GET /groups/{id}/transitiveMembers``). It needs no
  Entra match of the alert's user, so an alert about an external user still reaches the team.
- ``notify_manager`` mails the user's manager in Entra ID (``GET /users/{id}/manager``). A user
  without a manager (or one without a mailbox) is ``NoRecipient``: the action is skipped and
  retried on the next run.
"""

from __future__ import annotations

import re
from urllib.parse import quote

from dsassets.lib.clients.graph import GraphClient
from dsassets.lib.clients.http import ApiError

ACTIONS = ("notify_security_team", "notify_manager")
GROUP_ID = re.compile(r"^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")


class NoRecipient(RuntimeError):
    """Nobody to send the notification to; the message says why."""


def security_team_recipients(client: GraphClient, team: list[str]) -> list[str]:
    """Addresses of the team: listed ones, then each listed group's members (sorted, once each)."""
    out: dict[str, None] = {}
    for who in team:
        who = who.strip()
        if not GROUP_ID.match(who):
            out.setdefault(who.lower())
            continue
        try:
            members = list(client.group_members(who))
        except ApiError as exc:
            if exc.status == 404:
                raise NoRecipient(f"security_team: group {who} does not exist in Entra ID") from None
            raise
        for m in sorted(members, key=lambda m: m.get("id") or ""):
            address = m.get("mail") or m.get("userPrincipalName")
            if address:
                out.setdefault(address.strip().lower())
    if not out:
        raise NoRecipient("security_team: no member with a mailbox")
    return list(out)


def manager_address(client: GraphClient, entra_id: str) -> str:
    """The mail of the user's manager; ``NoRecipient`` when Entra ID lists none."""
    try:
        manager = client.get_json(f"/v1.0/users/{quote(entra_id)}/manager?$select=id,mail,userPrincipalName",
                                  endpoint_name="Graph user manager")
    except ApiError as exc:
        if exc.status == 404:
            raise NoRecipient(f"no manager in Entra ID for user {entra_id}") from None
        raise
    address = (manager or {}).get("mail") or (manager or {}).get("userPrincipalName")
    if not address:
        raise NoRecipient(f"the manager of user {entra_id} has no mailbox")
    return address


def body(alert, audience: str) -> str:
    who = alert.user_email or alert.user_id or "no single user"
    lines = [
        "Hello,",
        "",
        f"Security monitoring raised an alert about {who}{audience}: {alert.title} ({alert.severity}).",
        "",
        alert.description,
        "",
        f"When (UTC): {alert.started_at:%Y-%m-%d %H:%M} - {alert.ended_at:%Y-%m-%d %H:%M}",
        f"Policy: {alert.policy}",
        f"Alert id: {alert.alert_id}",
    ]
    return "\n".join(lines)


def call(client: GraphClient, action: str, entra_id: str | None, alert, config) -> tuple[int, str]:
    """Send the notification; ``(HTTP status, who received it)``."""
    if action == "notify_security_team":
        recipients = security_team_recipients(client, config.security_team)
        text = body(alert, "")
    else:
        assert entra_id is not None
        recipients = [manager_address(client, entra_id)]
        text = body(alert, ", who reports to you")
    payload = {
        "message": {
            "subject": config.notify_subject.replace("{title}", alert.title),
            "body": {"contentType": "Text", "content": text},
            "toRecipients": [{"emailAddress": {"address": a}} for a in recipients],
        },
        "saveToSentItems": False,
    }
    response = client.request("POST", f"/v1.0/users/{quote(config.mailbox or '')}/sendMail",
                              json=payload, endpoint_name="Graph sendMail")
    return response.status_code, ", ".join(recipients)
