"""GraphClient against hand-built responses: client-credentials token, nextLink paging, user reads, writes."""

from __future__ import annotations

import json
import logging
import random
from datetime import datetime, timezone
from urllib.parse import parse_qs, unquote

import httpx
import pytest

from dsassets.lib.clients.graph import GraphClient, GraphDataError
from dsassets.lib.clients.http import ApiError
from dsassets.lib.config.settings import ConfigError, GraphSettings

TENANT = "contoso.onmicrosoft.com"
SECRET = "graph-client-secret-Zq8~value"
GRAPH = "https://graph.microsoft.com"
NOW = 1_720_000_000.0


class FakeTime:
    def __init__(self) -> None:
        self.now = NOW
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


class FakeGraph:
    """Token endpoint plus per-path handlers; records every request."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []
        self.tokens_issued = 0
        self.routes: dict[tuple[str, str], object] = {}

    def on(self, method: str, path: str, handler) -> None:
        self.routes[(method, path)] = handler

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if request.url.path == f"/{TENANT}/oauth2/v2.0/token":
            self.tokens_issued += 1
            return httpx.Response(
                200,
                json={"token_type": "Bearer", "expires_in": 3599, "access_token": f"graph-token-{self.tokens_issued}"},
            )
        handler = self.routes.get((request.method, request.url.path))
        if handler is None:
            return httpx.Response(404, json={"error": {"code": "Request_ResourceNotFound", "message": "no route"}})
        return handler.pop(0) if isinstance(handler, list) else handler(request)

    def api(self) -> list[httpx.Request]:
        return [r for r in self.requests if "oauth2" not in r.url.path]

    def client(self, time_: FakeTime | None = None, **overrides) -> GraphClient:
        time_ = time_ or FakeTime()
        settings = GraphSettings(
            tenant_id=TENANT, client_id="app-id", client_secret=SECRET, max_attempts=3, **overrides
        )
        return GraphClient(
            settings, transport=httpx.MockTransport(self), clock=time_.clock, sleep=time_.sleep, rng=random.Random(0)
        )


@pytest.fixture
def graph() -> FakeGraph:
    return FakeGraph()


def odata(request: httpx.Request) -> dict[str, str]:
    """The request's OData options, decoded."""
    return {k: v[0] for k, v in parse_qs(request.url.query.decode(), keep_blank_values=True).items()}


def test_token_request_is_a_client_credentials_grant(graph):
    graph.on("GET", "/v1.0/users", lambda r: httpx.Response(200, json={"value": []}))
    with graph.client() as client:
        list(client.disabled_users())
    token = graph.requests[0]
    assert str(token.url) == f"https://login.microsoftonline.com/{TENANT}/oauth2/v2.0/token"
    assert parse_qs(token.content.decode()) == {
        "client_id": ["app-id"],
        "client_secret": [SECRET],
        "scope": [f"{GRAPH}/.default"],
        "grant_type": ["client_credentials"],
    }
    assert graph.api()[0].headers["Authorization"] == "Bearer graph-token-1"


def test_token_is_cached_and_renewed_near_expiry(graph):
    graph.on(
        "GET", "/v1.0/users", lambda r: httpx.Response(200, json={"value": [], "auth": r.headers["Authorization"]})
    )
    t = FakeTime()
    with graph.client(t) as client:
        client.get_json("/v1.0/users")
        t.now = NOW + 3599 - 301
        client.get_json("/v1.0/users")
        assert graph.tokens_issued == 1
        t.now = NOW + 3599 - 299
        assert client.get_json("/v1.0/users")["auth"] == "Bearer graph-token-2"
    assert graph.tokens_issued == 2


def test_401_renews_the_token_once(graph):
    graph.on(
        "GET",
        "/v1.0/users",
        [
            httpx.Response(401, json={"error": {"code": "InvalidAuthenticationToken"}}),
            httpx.Response(200, json={"value": []}),
        ],
    )
    with graph.client() as client:
        assert client.get_json("/v1.0/users") == {"value": []}
    assert graph.tokens_issued == 2
    assert [r.headers["Authorization"] for r in graph.api()] == ["Bearer graph-token-1", "Bearer graph-token-2"]


def test_disabled_users_follow_next_link(graph):
    next_link = f"{GRAPH}/v1.0/users?$filter=accountEnabled%20eq%20false&$skiptoken=X%27abc%27"

    def users(request):
        if "$skiptoken" in odata(request):
            return httpx.Response(200, json={"value": [{"id": "u3", "accountEnabled": False}]})
        return httpx.Response(
            200,
            json={
                "value": [{"id": "u1", "accountEnabled": False}, {"id": "u2", "accountEnabled": False}],
                "@odata.nextLink": next_link,
            },
        )

    graph.on("GET", "/v1.0/users", users)
    with graph.client() as client:
        assert [u["id"] for u in client.disabled_users()] == ["u1", "u2", "u3"]
    first, second = graph.api()
    assert odata(first) == {
        "$filter": "accountEnabled eq false",
        "$select": "id,userPrincipalName,mail,accountEnabled,createdDateTime",
    }
    # Graph's documented encoding: literal $ and %20, not %24 and +.
    assert "$filter=accountEnabled%20eq%20false" in str(first.url)
    assert str(second.url) == next_link


def test_deleted_users(graph):
    graph.on(
        "GET",
        "/v1.0/directory/deletedItems/microsoft.graph.user",
        lambda r: httpx.Response(200, json={"value": [{"id": "d1", "deletedDateTime": "2024-06-01T10:00:00Z"}]}),
    )
    with graph.client() as client:
        assert list(client.deleted_users()) == [{"id": "d1", "deletedDateTime": "2024-06-01T10:00:00Z"}]
    assert odata(graph.api()[0]) == {"$select": "id,userPrincipalName,mail,deletedDateTime"}


def test_directory_audits_filter_on_time_and_account_activities(graph):
    record = {
        "activityDateTime": "2024-06-30T08:00:00Z",
        "activityDisplayName": "Disable account",
        "targetResources": [{"id": "u1", "userPrincipalName": "ann@contoso.com"}],
    }
    graph.on("GET", "/v1.0/auditLogs/directoryAudits", lambda r: httpx.Response(200, json={"value": [record]}))
    with graph.client() as client:
        assert list(client.directory_audits(datetime(2024, 6, 30, tzinfo=timezone.utc))) == [record]
    assert odata(graph.api()[0])["$filter"] == (
        "activityDateTime ge 2024-06-30T00:00:00Z and (activityDisplayName eq 'Disable account' or "
        "activityDisplayName eq 'Enable account' or activityDisplayName eq 'Delete user' or "
        "activityDisplayName eq 'Restore user' or activityDisplayName eq 'Add user')"
    )


def test_next_link_to_another_host_is_refused(graph):
    graph.on(
        "GET",
        "/v1.0/users",
        lambda r: httpx.Response(200, json={"value": [], "@odata.nextLink": "https://evil.example/x"}),
    )
    with graph.client() as client, pytest.raises(GraphDataError, match="refusing"):
        list(client.disabled_users())
    assert all(r.url.host != "evil.example" for r in graph.requests)


def test_page_without_value_is_an_error(graph):
    graph.on("GET", "/v1.0/users", lambda r: httpx.Response(200, json={"items": []}))
    with graph.client() as client, pytest.raises(GraphDataError, match="Graph disabled users.*'value'"):
        list(client.disabled_users())


def test_throttling_is_retried_with_retry_after(graph):
    t = FakeTime()
    graph.on(
        "GET",
        "/v1.0/users",
        [httpx.Response(429, headers={"Retry-After": "4"}), httpx.Response(200, json={"value": []})],
    )
    with graph.client(t) as client:
        assert list(client.disabled_users()) == []
    assert t.sleeps == [4.0]


def test_client_secret_and_token_never_in_errors_or_logs(graph, caplog):
    caplog.set_level(logging.DEBUG)

    def leaky(request):
        body = {
            "error": {"code": "BadRequest", "message": f"got {request.headers['Authorization']} and secret {SECRET}"}
        }
        return httpx.Response(400, json=body)

    graph.on("GET", "/v1.0/users", leaky)
    with graph.client() as client, pytest.raises(ApiError) as info:
        list(client.disabled_users())
    text = str(info.value) + caplog.text
    assert "BadRequest" in str(info.value)
    assert SECRET not in text and "graph-token-1" not in text


def test_write_operations_send_the_documented_shapes(graph):
    graph.on("POST", "/v1.0/users/alerts@contoso.com/sendMail", lambda r: httpx.Response(202))
    graph.on("POST", "/v1.0/users/u1/revokeSignInSessions", lambda r: httpx.Response(200, json={"value": True}))
    graph.on("PATCH", "/v1.0/users/u1", lambda r: httpx.Response(204))
    with graph.client() as client:
        client.send_mail("alerts@contoso.com", ["sec@contoso.com", "it@contoso.com"], "Alert", "Body text")
        client.revoke_sign_in_sessions("u1")
        client.set_account_enabled("u1", False)
    mail, revoke, patch = graph.api()
    assert json.loads(mail.content) == {
        "message": {
            "subject": "Alert",
            "body": {"contentType": "Text", "content": "Body text"},
            "toRecipients": [
                {"emailAddress": {"address": "sec@contoso.com"}},
                {"emailAddress": {"address": "it@contoso.com"}},
            ],
        },
        "saveToSentItems": False,
    }
    assert unquote(mail.url.path) == "/v1.0/users/alerts@contoso.com/sendMail"
    assert revoke.method == "POST" and revoke.url.path == "/v1.0/users/u1/revokeSignInSessions"
    assert patch.method == "PATCH" and json.loads(patch.content) == {"accountEnabled": False}


def test_graph_urls_must_be_https_unless_loopback(graph):
    with pytest.raises(ConfigError, match="ENTRA_GRAPH_URL.*plain http"):
        GraphSettings(tenant_id=TENANT, client_id="a", client_secret="s", graph_url="http://graph.example.com")
    with graph.client(authority_url="http://127.0.0.1:9000", graph_url="http://127.0.0.1:9000") as client:
        graph.on("GET", "/v1.0/users", lambda r: httpx.Response(200, json={"value": [{"id": "x"}]}))
        assert [u["id"] for u in client.disabled_users()] == ["x"]
    assert {r.url.host for r in graph.requests} == {"127.0.0.1"}
    assert SECRET not in repr(GraphSettings(tenant_id=TENANT, client_id="a", client_secret=SECRET))
