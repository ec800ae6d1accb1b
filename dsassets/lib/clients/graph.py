"""Microsoft Graph (Entra ID) client: app-only token, paging, and the user reads we correlate with DocuSign.

Write operations (mail, session revocation, disabling an account) are thin
wrappers over ``post_json``/``patch_json`` so each is a few lines.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Iterator
from urllib.parse import quote

import httpx

from dsassets.lib.clients.http import BearerApiClient, same_origin

# Audit activities that change whether a person can sign in (Entra audit log display names).
ACCOUNT_ACTIVITIES = ("Disable account", "Enable account", "Delete user", "Restore user", "Add user")


_ODATA_SAFE = "$,'()=:/"


class GraphDataError(ValueError):
    """Graph returned a document we cannot use; the message names the endpoint."""


def odata_query(**params: str) -> str:
    """Encode OData options as ``$name=value`` with ``%20`` for spaces.

    httpx would encode ``$`` as ``%24`` and spaces as ``+``; Graph's documented
    form is a literal ``$`` and ``%20``, so the query is built here instead.
    """
    return "&".join(f"${name}={quote(value, safe=_ODATA_SAFE)}" for name, value in params.items())


class GraphClient(BearerApiClient):
    """Microsoft Graph client using the client-credentials grant.

    ``transport`` is the only seam for tests and stand-in servers; ``clock``,
    ``sleep`` and ``rng`` make retries and token expiry testable without waiting.
    """

    TOKEN_ENDPOINT = "Entra ID token (client credentials)"
    DataError = GraphDataError

    def _secrets(self) -> list[str]:
        return [self.settings.client_secret]

    # -- plumbing ------------------------------------------------------------------------------

    def _request_token(self, now: float) -> httpx.Response:
        s = self.settings
        return self._http.request(
            "POST",
            f"{s.authority_url}/{s.tenant_id}/oauth2/v2.0/token",
            data={
                "client_id": s.client_id,
                "client_secret": s.client_secret,
                "scope": f"{s.graph_url}/.default",
                "grant_type": "client_credentials",
            },
            endpoint_name=self.TOKEN_ENDPOINT,
        )

    def _url(self, path: str) -> str:
        if path.startswith(("http://", "https://")):
            # Only nextLinks come in as full URLs; never send the token to another host.
            if not same_origin(path, self.settings.graph_url):
                raise GraphDataError(f"refusing to follow a Graph link off {self.settings.graph_url}")
            return path
        return f"{self.settings.graph_url}/{path.lstrip('/')}"

    def request(
        self, method: str, path: str, *, params: dict[str, Any] | None = None, json: Any = None, endpoint_name: str
    ) -> httpx.Response:
        """Authenticated call to ``path`` (relative to ``graph_url``, or a full Graph URL).

        A 401 renews the token and retries the call once.
        """
        return self._authorized(method, self._url(path), params=params, json=json, endpoint_name=endpoint_name)

    def get_json(self, path: str, params: dict[str, Any] | None = None, *, endpoint_name: str | None = None) -> Any:
        """GET ``path`` and return the decoded JSON body."""
        name = endpoint_name or f"Graph GET {path.split('?')[0]}"
        return self._json(self.request("GET", path, params=params, endpoint_name=name), name)

    def post_json(self, path: str, json: Any, *, endpoint_name: str | None = None) -> Any:
        """POST ``json`` to ``path``; returns the decoded body, or ``None`` for an empty (202/204) reply."""
        name = endpoint_name or f"Graph POST {path}"
        response = self.request("POST", path, json=json, endpoint_name=name)
        return self._json(response, name) if response.content else None

    def patch_json(self, path: str, json: Any, *, endpoint_name: str | None = None) -> Any:
        """PATCH ``json`` to ``path``; returns the decoded body, or ``None`` for an empty (204) reply."""
        name = endpoint_name or f"Graph PATCH {path}"
        response = self.request("PATCH", path, json=json, endpoint_name=name)
        return self._json(response, name) if response.content else None

    def paged(self, path: str, *, endpoint_name: str) -> Iterator[dict]:
        """Yield every ``value`` item of a collection, following ``@odata.nextLink``."""
        url: str | None = path
        visited: set[str] = set()
        while url:
            visited.add(url)
            body = self.get_json(url, endpoint_name=endpoint_name)
            items = body.get("value") if isinstance(body, dict) else None
            if not isinstance(items, list):
                raise GraphDataError(f"{endpoint_name}: response lacks the 'value' list")
            yield from items
            url = body.get("@odata.nextLink") or None
            if url in visited:
                raise GraphDataError(f"{endpoint_name}: @odata.nextLink repeats a page already read")

    # -- reads ---------------------------------------------------------------------------------

    def disabled_users(self) -> Iterator[dict]:
        """Users whose Entra account is disabled."""
        query = odata_query(
            filter="accountEnabled eq false", select="id,userPrincipalName,mail,accountEnabled,createdDateTime"
        )
        return self.paged(f"/v1.0/users?{query}", endpoint_name="Graph disabled users")

    def deleted_users(self) -> Iterator[dict]:
        """Users in the directory recycle bin (soft-deleted, restorable for 30 days)."""
        query = odata_query(select="id,userPrincipalName,mail,deletedDateTime")
        return self.paged(
            f"/v1.0/directory/deletedItems/microsoft.graph.user?{query}", endpoint_name="Graph deleted users"
        )

    def directory_audits(self, since: datetime) -> Iterator[dict]:
        """Audit records of account disable/enable/delete/restore/add activities at or after ``since``."""
        if since.tzinfo is None:
            since = since.replace(tzinfo=timezone.utc)
        stamp = since.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        activities = " or ".join(f"activityDisplayName eq '{name}'" for name in ACCOUNT_ACTIVITIES)
        query = odata_query(filter=f"activityDateTime ge {stamp} and ({activities})")
        return self.paged(f"/v1.0/auditLogs/directoryAudits?{query}", endpoint_name="Graph directory audits")

    # -- writes --------------------------------------------------------------------------------

    def send_mail(self, sender: str, to: list[str] | str, subject: str, body: str) -> None:
        """Send a plain-text mail from ``sender``'s mailbox (needs Mail.Send application permission)."""
        recipients = [to] if isinstance(to, str) else list(to)
        message = {
            "subject": subject,
            "body": {"contentType": "Text", "content": body},
            "toRecipients": [{"emailAddress": {"address": address}} for address in recipients],
        }
        self.post_json(
            f"/v1.0/users/{quote(sender)}/sendMail",
            {"message": message, "saveToSentItems": False},
            endpoint_name="Graph sendMail",
        )

    def revoke_sign_in_sessions(self, user_id: str) -> None:
        """Invalidate the user's refresh tokens and session cookies."""
        self.post_json(
            f"/v1.0/users/{quote(user_id)}/revokeSignInSessions", {}, endpoint_name="Graph revokeSignInSessions"
        )

    def set_account_enabled(self, user_id: str, enabled: bool) -> None:
        """Enable or disable the user's Entra account."""
        self.patch_json(
            f"/v1.0/users/{quote(user_id)}", {"accountEnabled": enabled}, endpoint_name="Graph set accountEnabled"
        )

