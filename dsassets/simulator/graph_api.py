"""Microsoft Graph (Entra ID) endpoints the pipeline reads and the governance actions it calls.

Entra ID mirrors the DocuSign workforce (same people, same e-mail as UPN):
created two days before joining DocuSign, disabled or deleted on the
termination day. Soft-deleted users stay in ``deletedItems`` for 30 days
with the real recycle-bin renaming of the UPN (``<id without dashes><upn>``;
``mail`` keeps the address); audit records are kept 30 days too.
"""

from __future__ import annotations

import re
from urllib.parse import quote

import numpy as np

from dsassets.simulator.directory import DISABLED, ENABLED, SOFT_DELETED
from dsassets.simulator.ids import TICKS_PER_DAY, guid1, iso_graph, tag
from dsassets.simulator.serving import Reply, Served, graph_error
from dsassets.simulator.stream import CursorError, parse_iso

DEFAULT_PAGE = 100
MAX_PAGE = 999
AUDIT_RETENTION_DAYS = 30
USER_FIELDS = (
    "id",
    "displayName",
    "givenName",
    "surname",
    "userPrincipalName",
    "mail",
    "accountEnabled",
    "createdDateTime",
)


class GraphAPI:
    def __init__(self, sim: Served):
        self.sim = sim
        self.world = sim.world

    def token(self, tenant: str, form: dict[str, str]) -> Reply:
        w = self.world
        if tenant.lower() not in (w.entra_tenant_id.lower(), "organizations"):
            return Reply(
                400, {"error": "invalid_request", "error_description": f"AADSTS90002: Tenant '{tenant}' not found."}
            )
        if form.get("grant_type") != "client_credentials":
            return Reply(400, {"error": "unsupported_grant_type", "error_description": "AADSTS70003"})
        if form.get("client_id") != w.entra_client_id:
            return Reply(
                400,
                {
                    "error": "unauthorized_client",
                    "error_description": "AADSTS700016: Application not found in the directory.",
                },
            )
        if form.get("client_secret") != w.entra_client_secret:
            return Reply(
                401, {"error": "invalid_client", "error_description": "AADSTS7000215: Invalid client secret provided."}
            )
        token = self.sim.tokens.issue("graph")
        return Reply(200, {"token_type": "Bearer", "expires_in": 3599, "ext_expires_in": 3599, "access_token": token})

    # -- reads ---------------------------------------------------------------------------------

    def _user_objects(self, rows, snap, states, deleted_at=None) -> list[dict]:
        L = snap.life
        entra = self.world.entra_ids(L["slot"][rows], L["ten"][rows]) if len(rows) else []
        out = []
        for k, r in enumerate(rows):
            first, last, email = snap.name_of(r)
            obj = {
                "id": entra[k],
                "displayName": f"{first} {last}",
                "givenName": first,
                "surname": last,
                "userPrincipalName": email,
                "mail": email,
                "accountEnabled": states[r] == ENABLED,
                "createdDateTime": iso_graph(int(L["entra_created"][r]))[:19] + "Z",
            }
            if deleted_at is not None:
                obj["userPrincipalName"] = entra[k].replace("-", "") + email
                obj["deletedDateTime"] = iso_graph(int(deleted_at[r]))[:19] + "Z"
            out.append(obj)
        return out

    def users(self, query: dict[str, str], url: str) -> Reply:
        snap = self.sim.snapshot()
        states, _ = snap.entra_states()
        listed = (states == ENABLED) | (states == DISABLED)
        flt = query.get("$filter", "").strip()
        m = re.fullmatch(r"accountEnabled\s+eq\s+(true|false)", flt, re.IGNORECASE)
        if flt and not m:
            return graph_error(400, "Request_UnsupportedQuery", f"Unsupported filter: {flt}")
        if m:
            listed &= (states == ENABLED) == (m.group(1).lower() == "true")
        return self._paged(
            np.flatnonzero(listed).tolist(), query, url, lambda rows: self._user_objects(rows, snap, states)
        )

    def deleted_users(self, query: dict[str, str], url: str) -> Reply:
        snap = self.sim.snapshot()
        states, deleted_at = snap.entra_states()
        rows = np.flatnonzero(states == SOFT_DELETED).tolist()
        return self._paged(rows, query, url, lambda rs: self._user_objects(rs, snap, states, deleted_at))

    def directory_audits(self, query: dict[str, str], url: str) -> Reply:
        snap = self.sim.snapshot()
        since = snap.t - AUDIT_RETENTION_DAYS * TICKS_PER_DAY
        flt = query.get("$filter", "")
        for op, stamp in re.findall(r"activityDateTime\s+(ge|gt)\s+([0-9T:\-\.Z+]+)", flt):
            try:
                since = max(since, parse_iso(stamp) + (1 if op == "gt" else 0))
            except CursorError:
                return graph_error(400, "BadRequest", f"Invalid activityDateTime: {stamp}")
        names = set(re.findall(r"activityDisplayName\s+eq\s+'([^']*)'", flt))
        events = [e for e in snap.entra_events(since) if not names or e[1] in names]
        L = snap.life

        def render(items):
            rows = [r for _, _, r in items]
            entra = self.world.entra_ids(L["slot"][rows], L["ten"][rows]) if rows else []
            out = []
            for (when, name, r), eid in zip(items, entra):
                first, last, email = snap.name_of(r)
                op = {"Add user": "Add", "Delete user": "Delete", "Restore user": "Restore"}.get(name, "Update")
                out.append(
                    {
                        "id": "Directory_" + guid1(self.world.seed, tag("audit"), when, r),
                        "category": "UserManagement",
                        "correlationId": guid1(self.world.seed, tag("correlation"), when, r),
                        "result": "success",
                        "resultReason": "",
                        "activityDisplayName": name,
                        "activityDateTime": iso_graph(when),
                        "loggedByService": "Core Directory",
                        "operationType": op,
                        "initiatedBy": {
                            "app": None,
                            "user": {
                                "id": guid1(self.world.seed, tag("it admin")),
                                "displayName": "IT Service Desk",
                                "userPrincipalName": f"it-admin@{self.world.domain}",
                                "ipAddress": "",
                            },
                        },
                        "targetResources": [
                            {
                                "id": eid,
                                "displayName": f"{first} {last}",
                                "type": "User",
                                "userPrincipalName": email,
                                "modifiedProperties": [],
                            }
                        ],
                        "additionalDetails": [],
                    }
                )
            return out

        return self._paged(events, query, url, render)

    def _paged(self, items: list, query: dict[str, str], url: str, render) -> Reply:
        try:
            top = int(query.get("$top", DEFAULT_PAGE))
            skip = int(query.get("$skiptoken", "0") or 0)
        except ValueError:
            return graph_error(400, "BadRequest", "Invalid $top or $skiptoken")
        top = max(1, min(top, MAX_PAGE))
        page = items[skip : skip + top]
        value = render(page)
        select = [s.strip() for s in query.get("$select", "").split(",") if s.strip()]
        if select:
            value = [{k: v for k, v in obj.items() if k in select} for obj in value]
        body: dict = {"@odata.context": "https://graph.microsoft.com/v1.0/$metadata#Collection", "value": value}
        if skip + top < len(items):
            params = {k: v for k, v in query.items() if k != "$skiptoken"}
            params["$top"] = str(top)
            params["$skiptoken"] = str(skip + top)
            body["@odata.nextLink"] = url + "?" + "&".join(f"{k}={quote(v, safe=',:()=$')}" for k, v in params.items())
        return Reply(200, body)

    # -- governance actions (recorded for tests) -----------------------------------------------

    def record(self, method: str, path: str, user: str, body) -> None:
        self.sim.graph_calls.append({"method": method, "path": path, "user": user, "body": body, "at": self.sim.now()})

    def send_mail(self, user: str, body) -> Reply:
        if not isinstance(body, dict) or "message" not in body:
            return graph_error(400, "ErrorInvalidRequest", "message is required")
        self.record("POST", f"/v1.0/users/{user}/sendMail", user, body)
        return Reply(202)

    def revoke_sessions(self, user: str, body) -> Reply:
        self.record("POST", f"/v1.0/users/{user}/revokeSignInSessions", user, body)
        return Reply(200, {"@odata.context": "https://graph.microsoft.com/v1.0/$metadata#Edm.Boolean", "value": True})

    def patch_user(self, user: str, body) -> Reply:
        if not isinstance(body, dict):
            return graph_error(400, "BadRequest", "a JSON object is required")
        self.record("PATCH", f"/v1.0/users/{user}", user, body)
        return Reply(204)
