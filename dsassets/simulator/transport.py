"""The simulator as an ``httpx`` transport: routing by path, bearer checks and fault injection.

Hosts are ignored, so the same transport answers for account-d.docusign.com,
api-d.docusign.com, lens-d.docusign.net, api-d.docusign.net/Management,
demo.docusign.net/restapi, login.microsoftonline.com and graph.microsoft.com
(and for the loopback server, where everything is one origin).
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, unquote

import httpx

from dsassets.simulator.docusign_api import DocuSignAPI
from dsassets.simulator.graph_api import GraphAPI
from dsassets.simulator.serving import DEMO_BASE_URI, Reply, Served, error, graph_error
from dsassets.simulator.user_export import UserExportAPI


@dataclass
class Fault:
    """Make matching requests fail: an HTTP status (with ``Retry-After``) or a raised httpx exception.

    ``times=None`` fails forever. ``hits`` counts how often it fired.
    """

    path_contains: str
    status: int | None = None
    times: int | None = 1
    retry_after: str | None = None
    exception: type[Exception] | None = None
    method: str | None = None
    body: Any = None
    hits: int = field(default=0, compare=False)

    def matches(self, request: httpx.Request) -> bool:
        if self.times is not None and self.hits >= self.times:
            return False
        if self.method and request.method.upper() != self.method.upper():
            return False
        return self.path_contains in str(request.url.raw_path, "ascii") or self.path_contains in request.url.path


_ROUTES: list[tuple[str, re.Pattern[str], str]] = [
    (method, re.compile(pattern), name)
    for method, pattern, name in [
        ("POST", r"/oauth/token", "ds_token"),
        ("GET", r"/oauth/userinfo", "userinfo"),
        ("GET", r"/api/v2(?:\.0)?/datasets/monitor/stream", "stream_legacy"),
        ("GET", r"/v1/organizations/(?P<org>[^/]+)/stream", "stream_current"),
        ("GET", r"(?:/[Mm]anagement)?/v2/organizations", "organizations"),
        ("GET", r"(?P<prefix>(?:/[Mm]anagement)?)/v2/organizations/(?P<org>[^/]+)/users", "org_users"),
        ("GET", r"(?:/[Mm]anagement)?/v2/organizations/(?P<org>[^/]+)/reserved_domains", "reserved_domains"),
        ("GET", r"(?:/[Mm]anagement)?/v2\.1/organizations/(?P<org>[^/]+)/users/(?P<user>[^/]+)/dsprofile", "dsprofile"),
        ("POST", r"(?P<prefix>(?:/[Mm]anagement)?)/v2/organizations/(?P<org>[^/]+)/exports/user_list", "export_create"),
        (
            "GET",
            r"(?:/[Mm]anagement)?/v2/organizations/(?P<org>[^/]+)/exports/user_list/(?P<id>[^/]+)",
            "export_status",
        ),
        (
            "GET",
            r"(?:/[Mm]anagement)?/v2/organizations/(?P<org>[^/]+)/exports/user_list/(?P<id>[^/]+)/results/[^/]+",
            "export_download",
        ),
        ("GET", r"/restapi/v2\.1/accounts/(?P<account>[^/]+)/users", "esign_users"),
        ("GET", r"/restapi/v2\.1/accounts/(?P<account>[^/]+)/settings", "esign_settings"),
        ("GET", r"/restapi/v2\.1/accounts/(?P<account>[^/]+)/settings/password_rules", "esign_password_rules"),
        ("POST", r"/(?P<tenant>[^/]+)/oauth2/v2\.0/token", "graph_token"),
        ("GET", r"/v1\.0/users", "graph_users"),
        ("GET", r"/v1\.0/directory/deletedItems/microsoft\.graph\.user", "graph_deleted"),
        ("GET", r"/v1\.0/auditLogs/directoryAudits", "graph_audits"),
        ("GET", r"/v1\.0/groups/(?P<group>[^/]+)/transitiveMembers(?:/microsoft\.graph\.user)?", "graph_group_members"),
        ("GET", r"/v1\.0/users/(?P<user>[^/]+)/manager", "graph_manager"),
        ("POST", r"/v1\.0/users/(?P<user>[^/]+)/sendMail", "graph_send_mail"),
        ("POST", r"/v1\.0/users/(?P<user>[^/]+)/revokeSignInSessions", "graph_revoke"),
        ("PATCH", r"/v1\.0/users/(?P<user>[^/]+)", "graph_patch_user"),
    ]
]
_GRAPH = {
    "graph_group_members", "graph_manager", "graph_users", "graph_deleted", "graph_audits", "graph_send_mail",
    "graph_revoke", "graph_patch_user",
}
_OPEN = {"ds_token", "graph_token"}


def _serving(change: int) -> None:
    """Count a request in (+1) or out (-1); the seconds with at least one in go to ``serving_seconds``."""
    cls = SimulatorTransport
    with cls._serving_lock:
        now = time.perf_counter()
        if change > 0 and cls._in_flight == 0:
            cls._busy_since = now
        cls._in_flight += change
        if change < 0 and cls._in_flight == 0:
            cls.serving_seconds += now - cls._busy_since


class SimulatorTransport(httpx.BaseTransport):
    """Serves DocuSign and Microsoft Graph from one ``DocuSignSimulator``."""

    # Seconds during which any transport of the process was answering a request: what a benchmark
    # takes off its wall time to tell the pipeline's cost from the in-process simulator's. Requests
    # answered at once (the Monitor read-ahead thread beside a Graph read) count once: a sum of
    # their durations would take the same seconds off twice.
    serving_seconds = 0.0
    _serving_lock = threading.Lock()
    _in_flight = 0
    _busy_since = 0.0

    def __init__(self, sim: Served, faults: list[Fault] | None = None, base_uri: str | None = None):
        self.sim = sim
        self.faults = list(faults or [])
        self.base_uri = base_uri
        self.docusign = DocuSignAPI(sim)
        self.graph = GraphAPI(sim)
        self.exports = UserExportAPI(self.docusign)
        self._lock = threading.Lock()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        with self._lock:
            fault = next((f for f in self.faults if f.matches(request)), None)
            if fault is not None:
                fault.hits += 1
        if fault is not None:
            self.sim.request_log.append((request.method, request.url.path, fault.status or 0))
            if fault.exception is not None:
                raise fault.exception(f"simulated {fault.exception.__name__}", request=request)  # type: ignore[call-arg]
            headers = {"Retry-After": fault.retry_after} if fault.retry_after else {}
            body = (
                fault.body
                if fault.body is not None
                else {"errorCode": "SIMULATED_FAULT", "message": f"simulated HTTP {fault.status}"}
            )
            return _response(request, Reply(int(fault.status or 500), body, headers))
        _serving(+1)
        try:
            reply = self._dispatch(request)
        except Exception as exc:  # a simulator bug must look like a server error, not a client crash
            reply = error(500, "SIMULATOR_ERROR", f"{type(exc).__name__}: {exc}")
        finally:
            _serving(-1)
        self.sim.request_log.append((request.method, request.url.path, reply.status))
        return _response(request, reply)

    def _dispatch(self, request: httpx.Request) -> Reply:
        path = unquote(request.url.path).rstrip("/") or "/"
        method = request.method.upper()
        for route_method, pattern, name in _ROUTES:
            m = pattern.fullmatch(path)
            if m and route_method == method:
                return self._call(name, m.groupdict(), request)
        if path.startswith("/v1.0/"):
            return graph_error(404, "Request_ResourceNotFound", f"Resource not found for {method} {path}")
        return error(404, "RESOURCE_NOT_FOUND", f"No such resource: {method} {path}")

    def _call(self, name: str, params: dict[str, str], request: httpx.Request) -> Reply:
        ds, gr = self.docusign, self.graph
        auth = request.headers.get("Authorization")
        if name not in _OPEN:
            audience = "graph" if name in _GRAPH else "docusign"
            if not self.sim.tokens.check(auth, audience):
                if audience == "graph":
                    return graph_error(401, "InvalidAuthenticationToken", "Access token is empty or invalid.")
                return error(
                    401, "AUTHORIZATION_INVALID_TOKEN", "The access token provided is expired, revoked or malformed."
                )
        query = _query(request)
        origin = f"{request.url.scheme}://{request.url.netloc.decode('ascii')}"
        handlers: dict[str, Callable[[], Reply]] = {
            "ds_token": lambda: ds.token(_form(request), request.url.netloc.decode("ascii")),
            "userinfo": lambda: ds.userinfo(self._base_uri(request, origin)),
            "stream_legacy": lambda: ds.stream(query, "data"),
            "stream_current": lambda: self._current_stream(params["org"], query),
            "organizations": lambda: ds.organizations(origin),
            "org_users": lambda: ds.organization_users(
                params["org"], query, f"{origin}{params['prefix']}/v2/organizations/{params['org']}/users"
            ),
            "dsprofile": lambda: ds.dsprofile(params["org"], params["user"]),
            "reserved_domains": lambda: ds.reserved_domains(params["org"]),
            "export_create": lambda: self.exports.create(
                params["org"],
                _json(request),
                f"{origin}{params['prefix']}/v2/organizations/{params['org']}/exports/user_list",
            ),
            "export_status": lambda: self.exports.status(params["org"], params["id"]),
            "export_download": lambda: self.exports.download(params["org"], params["id"]),
            "esign_users": lambda: ds.account_users(params["account"], query),
            "esign_settings": lambda: ds.account_settings(params["account"]),
            "esign_password_rules": lambda: ds.password_rules(params["account"]),
            "graph_token": lambda: gr.token(params["tenant"], _form(request)),
            "graph_users": lambda: gr.users(query, f"{origin}/v1.0/users"),
            "graph_deleted": lambda: gr.deleted_users(
                query, f"{origin}/v1.0/directory/deletedItems/microsoft.graph.user"
            ),
            "graph_audits": lambda: gr.directory_audits(query, f"{origin}/v1.0/auditLogs/directoryAudits"),
            "graph_group_members": lambda: gr.group_members(
                params["group"], query, f"{origin}/v1.0/groups/{params['group']}/transitiveMembers/microsoft.graph.user"
            ),
            "graph_manager": lambda: gr.manager(params["user"], query),
            "graph_send_mail": lambda: gr.send_mail(params["user"], _json(request)),
            "graph_revoke": lambda: gr.revoke_sessions(params["user"], _json(request)),
            "graph_patch_user": lambda: gr.patch_user(params["user"], _json(request)),
        }
        return handlers[name]()

    def _current_stream(self, org: str, query: dict[str, str]) -> Reply:
        if org.lower() != self.sim.world.organization_id.lower():
            return Reply(403, {"error": "Organization does not have Monitor entitlement"})
        return self.docusign.stream(query, "resultData")

    def _base_uri(self, request: httpx.Request, origin: str) -> str:
        """eSignature base URI in userinfo: the loopback server's own origin, else DocuSign's demo host."""
        if self.base_uri:
            return self.base_uri
        host = request.url.host
        if host in ("127.0.0.1", "localhost", "::1") or host.startswith("127."):
            return origin
        return DEMO_BASE_URI


def _query(request: httpx.Request) -> dict[str, str]:
    raw = request.url.query.decode("ascii") if isinstance(request.url.query, bytes) else request.url.query
    return {k: v for k, v in parse_qsl(raw, keep_blank_values=True)}


def _form(request: httpx.Request) -> dict[str, str]:
    body = request.read().decode("utf-8", "replace")
    return {k: v for k, v in parse_qsl(body, keep_blank_values=True)}


def _json(request: httpx.Request):
    body = request.read()
    if not body:
        return {}
    try:
        return json.loads(body)
    except ValueError:
        return None


def _response(request: httpx.Request, reply: Reply) -> httpx.Response:
    headers = dict(reply.headers)
    if reply.body is None:
        content = b""
    else:
        headers.setdefault("Content-Type", "application/json; charset=utf-8")
        text = reply.body if isinstance(reply.body, str) else json.dumps(reply.body, separators=(",", ":"))
        content = text.encode("utf-8")
    return httpx.Response(reply.status, headers=headers, content=content, request=request)
