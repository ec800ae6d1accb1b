"""The three governance actions as Microsoft Graph calls, and who in Entra ID a DocuSign user is.

``POST /users/{mailbox}/sendMail``, ``POST /users/{id}/revokeSignInSessions`` and
``PATCH /users/{id} {"accountEnabled": false}``; a DocuSign user is matched to an Entra user
by e-mail (``mail``, else ``userPrincipalName``, case-insensitive), never guessed.
"""

from __future__ import annotations

from urllib.parse import quote

from dsassets.lib.clients.graph import GraphClient
from dsassets.lib.governance.ledger import Alert
from dsassets.lib.policies.settings import GovernanceConfig


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


def perform(client: GraphClient, action: str, entra_id: str, email: str, alert: Alert,
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
