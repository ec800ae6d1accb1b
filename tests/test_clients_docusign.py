"""DocuSignClient against hand-built responses: auth, paging, stopping rules, casting, secrecy."""

from __future__ import annotations

import logging
import random
from datetime import datetime, timedelta, timezone
from typing import Callable
from urllib.parse import parse_qs

import httpx
import jwt
import orjson
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from dsassets.lib.clients.docusign import ConsentRequiredError, DocuSignClient
from dsassets.lib.clients.docusign_data import (
    DocuSignDataError,
    as_int,
    parse_account_settings,
    parse_docusign_timestamp,
    parse_password_rules,
)
from dsassets.lib.clients.http import ApiError
from dsassets.lib.clients.monitor_page import MonitorPage
from dsassets.lib.config.settings import ConfigError, DocuSignSettings

ORG = "00000000-0000-0000-0000-0000000000f1"
ACCOUNT = "00000000-0000-0000-0000-0000000000a1"
OTHER_ACCOUNT = "00000000-0000-0000-0000-0000000000a2"
USER = "00000000-0000-0000-0000-0000000000b1"
IK = "11111111-2222-3333-4444-555555555555"
AUTH = "https://account-d.docusign.com"
ADMIN = "https://api-d.docusign.net/Management"
ESIGN_BASE = "https://demo.docusign.net"
NOW = 1_720_000_000.0


@pytest.fixture(scope="session")
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="session")
def private_pem(rsa_key) -> str:
    return rsa_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def make_settings(private_pem: str, **overrides) -> DocuSignSettings:
    values = dict(
        integration_key=IK,
        user_id=USER,
        organization_id=ORG,
        private_key_pem=private_pem,
        auth_server=AUTH,
        monitor_generation="current",
        monitor_url="https://api-d.docusign.com",
        admin_url=ADMIN,
        monitor_page_limit=500,
        max_attempts=3,
    )
    values.update(overrides)
    return DocuSignSettings(**values)


class FakeTime:
    def __init__(self) -> None:
        self.now = NOW
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


Handler = Callable[[httpx.Request], httpx.Response]


class FakeDocuSign:
    """Routes by (method, path) to handlers; serves tokens and userinfo by default; records requests."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []
        self.tokens_issued = 0
        self.token_lifetime = 3600
        self.routes: dict[tuple[str, str], Handler | list[httpx.Response]] = {
            ("POST", "/oauth/token"): self.token,
            ("GET", "/oauth/userinfo"): lambda r: httpx.Response(200, json=USERINFO),
        }

    def on(self, method: str, path: str, handler: Handler | list[httpx.Response]) -> None:
        self.routes[(method, path)] = handler

    def token(self, request: httpx.Request) -> httpx.Response:
        self.tokens_issued += 1
        return httpx.Response(
            200,
            json={
                "access_token": f"access-token-{self.tokens_issued}",
                "token_type": "Bearer",
                "expires_in": self.token_lifetime,
            },
        )

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        # A client that never stops paging fails the test instead of hanging it.
        assert len(self.requests) < 100, "runaway client: more than 100 requests"
        route = self.routes.get((request.method, request.url.path))
        if route is None:
            return httpx.Response(404, json={"message": f"no route {request.method} {request.url.path}"})
        if isinstance(route, list):
            return route.pop(0)
        return route(request)

    def api_requests(self) -> list[httpx.Request]:
        return [r for r in self.requests if not r.url.path.startswith("/oauth/")]

    def client(self, settings: DocuSignSettings, time_: FakeTime | None = None) -> DocuSignClient:
        time_ = time_ or FakeTime()
        return DocuSignClient(
            settings, transport=httpx.MockTransport(self), clock=time_.clock, sleep=time_.sleep, rng=random.Random(0)
        )


USERINFO = {
    "sub": USER,
    "name": "Audit Bot",
    "email": "bot@example.com",
    "accounts": [
        {
            "account_id": OTHER_ACCOUNT,
            "is_default": True,
            "account_name": "Other",
            "base_uri": "https://na3.docusign.net",
        },
        {"account_id": ACCOUNT, "is_default": False, "account_name": "Main", "base_uri": ESIGN_BASE},
    ],
}


@pytest.fixture
def server() -> FakeDocuSign:
    return FakeDocuSign()


@pytest.fixture
def settings(private_pem) -> DocuSignSettings:
    return make_settings(private_pem)


# -- settings ---------------------------------------------------------------------------------


def test_plain_http_is_refused_for_a_remote_host(private_pem):
    with pytest.raises(ConfigError, match="DOCUSIGN_MONITOR_URL.*plain http"):
        make_settings(private_pem, monitor_url="http://api-d.docusign.com")


def test_plain_http_is_accepted_for_loopback_and_used(private_pem, server):
    local = make_settings(
        private_pem, auth_server="http://127.0.0.1:8765", admin_url="http://127.0.0.1:8765/Management"
    )
    server.on(
        "GET", "/Management/v2/organizations", lambda r: httpx.Response(200, json={"organizations": [{"id": ORG}]})
    )
    with server.client(local) as client:
        assert client.organization()["id"] == ORG
    assert {str(r.url.host) for r in server.requests} == {"127.0.0.1"}


def test_userinfo_base_uri_must_be_https(private_pem, server):
    info = {"accounts": [{"account_id": ACCOUNT, "base_uri": "http://evil.example.com"}]}
    server.on("GET", "/oauth/userinfo", lambda r: httpx.Response(200, json=info))
    with server.client(make_settings(private_pem)) as client, pytest.raises(ConfigError, match="plain http"):
        client.account_base_uri(ACCOUNT)


# -- JWT grant --------------------------------------------------------------------------------


def test_jwt_assertion_claims_and_rs256_signature(server, settings, rsa_key):
    server.on(
        "GET", "/Management/v2/organizations", lambda r: httpx.Response(200, json={"organizations": [{"id": ORG}]})
    )
    with server.client(settings) as client:
        client.organization()
    token_request = server.requests[0]
    assert str(token_request.url) == f"{AUTH}/oauth/token"
    form = parse_qs(token_request.content.decode())
    assert form["grant_type"] == ["urn:ietf:params:oauth:grant-type:jwt-bearer"]
    assertion = form["assertion"][0]
    assert jwt.get_unverified_header(assertion)["alg"] == "RS256"
    claims = jwt.decode(
        assertion,
        rsa_key.public_key(),
        algorithms=["RS256"],
        audience="account-d.docusign.com",
        options={"verify_iat": False, "verify_exp": False},
    )
    assert claims == {
        "iss": IK,
        "sub": USER,
        "aud": "account-d.docusign.com",
        "iat": int(NOW),
        "exp": int(NOW) + 3600,
        "scope": settings.scopes,
    }
    # The API call carries the issued token.
    assert server.api_requests()[0].headers["Authorization"] == "Bearer access-token-1"


def test_assertion_signed_by_another_key_does_not_verify(server, settings):
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    server.on(
        "GET", "/Management/v2/organizations", lambda r: httpx.Response(200, json={"organizations": [{"id": ORG}]})
    )
    with server.client(settings) as client:
        client.organization()
    assertion = parse_qs(server.requests[0].content.decode())["assertion"][0]
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(
            assertion,
            other.public_key(),
            algorithms=["RS256"],
            audience="account-d.docusign.com",
            options={"verify_iat": False, "verify_exp": False},
        )


def rules_route(server: FakeDocuSign) -> None:
    server.on(
        "GET",
        f"/restapi/v2.1/accounts/{ACCOUNT}/settings/password_rules",
        lambda r: httpx.Response(200, json={"expirePassword": "true", "auth": r.headers["Authorization"]}),
    )


def test_token_is_cached_then_renewed_when_less_than_five_minutes_remain(server, settings):
    rules_route(server)
    t = FakeTime()
    with server.client(settings, t) as client:
        client.password_rules(ACCOUNT)
        t.now = NOW + 3600 - 301  # 5 min + 1 s left: still good
        client.password_rules(ACCOUNT)
        assert server.tokens_issued == 1
        t.now = NOW + 3600 - 299  # under 5 min left: renew
        body = client.password_rules(ACCOUNT)
    assert server.tokens_issued == 2
    assert body["auth"] == "Bearer access-token-2"


def test_401_renews_the_token_and_retries_once(server, settings):
    calls = []

    def rules(request):
        calls.append(request.headers["Authorization"])
        if len(calls) == 1:
            return httpx.Response(401, json={"errorCode": "USER_AUTHENTICATION_FAILED"})
        return httpx.Response(200, json={"expirePassword": "false"})

    server.on("GET", f"/restapi/v2.1/accounts/{ACCOUNT}/settings/password_rules", rules)
    with server.client(settings) as client:
        assert client.password_rules(ACCOUNT) == {"expirePassword": "false"}
    assert calls == ["Bearer access-token-1", "Bearer access-token-2"]


def test_a_second_401_is_an_error_not_a_loop(server, settings):
    server.on("GET", "/Management/v2/organizations", lambda r: httpx.Response(401, json={"error": "invalid_token"}))
    with server.client(settings) as client, pytest.raises(ApiError, match="HTTP 401") as info:
        client.organization()
    assert server.tokens_issued == 2
    assert len(server.api_requests()) == 2
    assert "access-token" not in str(info.value)


def test_consent_required_explains_how_to_grant_consent(server, settings):
    server.on("POST", "/oauth/token", lambda r: httpx.Response(400, json={"error": "consent_required"}))
    with server.client(settings) as client, pytest.raises(ConsentRequiredError) as info:
        client.userinfo()
    message = str(info.value)
    assert isinstance(info.value, ConfigError)
    assert f"{AUTH}/oauth/auth?response_type=code" in message
    assert f"client_id={IK}" in message and "scope=signature%20impersonation" in message
    assert "eyJ" not in message and "PRIVATE KEY" not in message


def test_unusable_private_key_is_a_config_error_without_key_material(server, private_pem):
    broken = private_pem.replace("A", "B", 40)
    with server.client(make_settings(broken)) as client, pytest.raises(ConfigError) as info:
        client.userinfo()
    assert "DOCUSIGN_PRIVATE_KEY_FILE" in str(info.value)
    assert "BEGIN" not in str(info.value) and info.value.__cause__ is None


def test_secrets_never_reach_exceptions_or_logs(server, settings, private_pem, caplog):
    caplog.set_level(logging.DEBUG)
    seen: dict[str, str] = {}

    def token(request):
        seen["assertion"] = parse_qs(request.content.decode())["assertion"][0]
        return httpx.Response(200, json={"access_token": "opaque-access-token-42", "expires_in": 3600})

    def leaky(request):
        # A server that echoes everything it got back into the error.
        return httpx.Response(
            400,
            json={
                "errorCode": "INVALID",
                "message": f"bad request with {request.headers['Authorization']} "
                f"after assertion {seen['assertion']} and token opaque-access-token-42; key {private_pem[60:140]}",
            },
        )

    server.on("POST", "/oauth/token", token)
    server.on("GET", "/Management/v2/organizations", leaky)
    with server.client(settings) as client, pytest.raises(ApiError) as info:
        client.organization()
    text = str(info.value) + caplog.text
    assert "INVALID" in str(info.value)
    assert "opaque-access-token-42" not in text
    assert seen["assertion"] not in text
    for line in private_pem.splitlines()[1:-1]:
        assert line not in text


def test_token_server_failure_is_scrubbed(server, settings, private_pem):
    def token(request):
        assertion = parse_qs(request.content.decode())["assertion"][0]
        return httpx.Response(503, json={"error": "temporarily_unavailable", "error_description": f"echo {assertion}"})

    server.on("POST", "/oauth/token", token)
    with server.client(settings) as client, pytest.raises(ApiError, match="OAuth token.*HTTP 503") as info:
        client.userinfo()
    assert "eyJ" not in str(info.value)
    assert server.tokens_issued == 0 and len(server.requests) == 3  # max_attempts


# -- userinfo -------------------------------------------------------------------------------


def test_userinfo_is_cached_and_picks_the_accounts_base_uri(server, settings):
    with server.client(settings) as client:
        assert client.account_base_uri(ACCOUNT) == ESIGN_BASE
        assert client.account_base_uri(OTHER_ACCOUNT) == "https://na3.docusign.net"
        client.userinfo()
    assert [r.url.path for r in server.requests].count("/oauth/userinfo") == 1


def test_account_without_access_is_named(server, settings):
    with server.client(settings) as client, pytest.raises(ConfigError, match="account 9999.*no access"):
        client.account_base_uri("9999")


# -- Monitor ----------------------------------------------------------------------------------


def records(page: MonitorPage) -> list[dict]:
    """A decoded page's events as sent (from `_raw`)."""
    return [orjson.loads(text) for text in page.events["_raw"].to_pylist()]


def event(n: int, when: datetime) -> dict:
    return {
        "eventId": f"00000000-0000-0000-0000-{n:012d}",
        "timestamp": when.strftime("%Y-%m-%dT%H:%M:%S.") + "0512813Z",
        "object": "Account",
        "action": "UserAdded",
    }


DAY = datetime(2024, 6, 30, tzinfo=timezone.utc)


def stream(server: FakeDocuSign, generation: str, pages: dict[str, tuple[list[dict], str]]) -> str:
    """Serve ``pages`` keyed by the cursor sent; return the stream path."""
    path = "/api/v2.0/datasets/monitor/stream" if generation == "legacy" else f"/v1/organizations/{ORG}/stream"
    key = "data" if generation == "legacy" else "resultData"

    def handler(request):
        events, end_cursor = pages[request.url.params["cursor"]]
        return httpx.Response(200, json={"endCursor": end_cursor, key: events})

    server.on("GET", path, handler)
    return path


def monitor_settings(private_pem: str, generation: str) -> DocuSignSettings:
    url = "https://lens-d.docusign.net" if generation == "legacy" else "https://api-d.docusign.com"
    return make_settings(private_pem, monitor_generation=generation, monitor_url=url)


@pytest.mark.parametrize("generation", ["legacy", "current"])
def test_audit_events_pages_to_the_end_with_every_event_once(server, private_pem, generation):
    e = [event(i, DAY + timedelta(hours=i)) for i in range(5)]
    path = stream(
        server,
        generation,
        {
            "2024-06-30T00:00:00Z": ([e[0], e[1]], "c1"),
            "c1": ([], "c2"),  # an empty page with a new cursor is not the end
            "c2": ([e[1], e[2], e[3]], "c3"),  # e1 again: the stream may repeat events across pages
            "c3": ([e[4]], "c4"),
            "c4": ([], "c4"),  # same cursor back: end of stream
        },
    )
    with server.client(monitor_settings(private_pem, generation)) as client:
        pages = list(client.audit_events(DAY, DAY + timedelta(days=1)))
    # The stream's last (empty) page is yielded too: its endCursor is where a refresh resumes.
    assert records(pages[-1]) == [] and pages[-1].end_cursor == "c4" and not pages[-1].past_window
    batches = [records(page) for page in pages if len(page)]
    ids = [ev["eventId"] for batch in batches for ev in batch]
    assert ids == [ev["eventId"] for ev in e]
    assert batches == [[e[0], e[1]], [e[2], e[3]], [e[4]]]
    api = server.api_requests()
    assert {r.url.path for r in api} == {path}
    assert [r.url.params["cursor"] for r in api] == ["2024-06-30T00:00:00Z", "c1", "c2", "c3", "c4"]
    assert {r.url.params["limit"] for r in api} == {"500"}
    assert set(api[0].url.params.keys()) == {"cursor", "limit"}


def test_stream_pages_stop_when_the_cursor_comes_back_unchanged(server, settings):
    stream(server, "current", {"start": ([event(1, DAY)], "c1"), "c1": ([], "c1")})
    with server.client(settings) as client:
        pages = list(client.stream_pages("start"))
    assert [(records(p), p.cursor, p.end_cursor) for p in pages] == [([event(1, DAY)], "start", "c1"), ([], "c1", "c1")]
    assert len(server.api_requests()) == 2


def test_stream_returns_events_on_the_final_page(server, settings):
    start = "2024-06-30T00:00:00Z"
    stream(server, "current", {start: ([event(1, DAY)], start)})
    with server.client(settings) as client:
        assert [records(page) for page in client.audit_events(DAY, DAY + timedelta(days=1))] == [[event(1, DAY)]]


def test_reading_resumes_from_a_stored_cursor_without_rereading(server, settings):
    stream(server, "current", {"2024-06-30T00:00:00Z": ([event(1, DAY)], "c1"), "c1": ([event(2, DAY)], "c2"),
                               "c2": ([], "c2")})
    with server.client(settings) as client:
        pages = list(client.audit_events(DAY, DAY + timedelta(days=1), cursor="c1"))
    assert [records(p) for p in pages] == [[event(2, DAY)], []] and pages[-1].end_cursor == "c2"
    assert [r.url.params["cursor"] for r in server.api_requests()] == ["c1", "c2"]


def test_reading_stops_after_the_page_past_end_plus_lag(server, settings):
    end = DAY + timedelta(days=1)
    lag = timedelta(minutes=settings.monitor_lag_minutes)
    inside, late_but_within_lag = event(1, end - timedelta(minutes=1)), event(2, end + lag - timedelta(seconds=1))
    beyond = event(3, end + lag)
    stream(
        server,
        "current",
        {
            "2024-06-30T00:00:00Z": ([inside], "c1"),
            "c1": ([late_but_within_lag], "c2"),  # after `end` but inside the lag: keep reading
            "c2": ([beyond, event(4, DAY)], "c3"),  # at end+lag: this page is the last read
            "c3": ([event(5, end + timedelta(days=3))], "c4"),
        },
    )
    with server.client(settings) as client:
        pages = list(client.audit_events(DAY, end))
    assert [records(page) for page in pages] == [[inside], [late_but_within_lag], [beyond, event(4, DAY)]]
    assert [page.past_window for page in pages] == [False, False, True]
    assert [r.url.params["cursor"] for r in server.api_requests()] == ["2024-06-30T00:00:00Z", "c1", "c2"]


@pytest.mark.parametrize(
    "generation, body, missing",
    [
        ("current", {"endCursor": "c1", "data": []}, "'resultData'"),
        ("legacy", {"endCursor": "c1", "resultData": []}, "'data'"),
        ("current", {"resultData": []}, "'endCursor'"),
    ],
)
def test_a_malformed_stream_page_names_endpoint_and_key(server, private_pem, generation, body, missing):
    path = "/api/v2.0/datasets/monitor/stream" if generation == "legacy" else f"/v1/organizations/{ORG}/stream"
    server.on("GET", path, lambda r: httpx.Response(200, json=body))
    with server.client(monitor_settings(private_pem, generation)) as client:
        with pytest.raises(DocuSignDataError, match=f"Monitor stream.*{missing}"):
            list(client.stream_pages("2024-06-30T00:00:00Z"))


def test_event_without_event_id_names_the_page_cursor(server, settings):
    stream(server, "current", {"2024-06-30T00:00:00Z": ([event(1, DAY)], "c1"), "c1": ([{"timestamp": "x"}], "c2")})
    with server.client(settings) as client, pytest.raises(DocuSignDataError, match=r"Monitor stream \(v1\): event 0 .*cursor 'c1' has no eventId: \{\"timestamp\":\"x\"\}"):
        list(client.audit_events(DAY, DAY + timedelta(days=1)))


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("2023-03-03T09:10:06.0512813Z", datetime(2023, 3, 3, 9, 10, 6, 51281, tzinfo=timezone.utc)),
        ("2023-03-03T09:10:06Z", datetime(2023, 3, 3, 9, 10, 6, tzinfo=timezone.utc)),
        ("2023-03-03T09:10:06.5Z", datetime(2023, 3, 3, 9, 10, 6, 500000, tzinfo=timezone.utc)),
        ("2019-04-01T22:11:56.457", datetime(2019, 4, 1, 22, 11, 56, 457000, tzinfo=timezone.utc)),
        ("2019-04-01T22:11:56", datetime(2019, 4, 1, 22, 11, 56, tzinfo=timezone.utc)),
        ("2023-03-03T09:10:06.123456789+02:00", datetime(2023, 3, 3, 7, 10, 6, 123456, tzinfo=timezone.utc)),
        ("2023-03-03T09:10:06-0530", datetime(2023, 3, 3, 14, 40, 6, tzinfo=timezone.utc)),
    ],
)
def test_parse_docusign_timestamp(raw, expected):
    parsed = parse_docusign_timestamp(raw)
    assert parsed == expected and parsed.tzinfo == timezone.utc


@pytest.mark.parametrize("raw", ["", "yesterday", "2023-13-03T09:10:06Z", "2023-03-03", None, 1700000000])
def test_parse_docusign_timestamp_rejects_garbage_naming_the_value(raw):
    with pytest.raises(ValueError, match="not a DocuSign timestamp"):
        parse_docusign_timestamp(raw)


# -- Admin API --------------------------------------------------------------------------------


ORGS = {
    "organizations": [
        {"id": "00000000-0000-0000-0000-00000000dead", "name": "Secret Other Org", "accounts": []},
        {
            "id": ORG,
            "name": "Ours",
            "accounts": [{"id": ACCOUNT, "name": "Main"}, {"id": OTHER_ACCOUNT, "name": "Other"}],
        },
    ]
}


def test_organization_and_accounts(server, private_pem):
    server.on("GET", "/Management/v2/organizations", lambda r: httpx.Response(200, json=ORGS))
    with server.client(make_settings(private_pem)) as client:
        assert client.organization()["name"] == "Ours"
        assert [a["id"] for a in client.organization_accounts()] == [ACCOUNT, OTHER_ACCOUNT]
    with server.client(make_settings(private_pem, account_ids=(OTHER_ACCOUNT.upper(),))) as client:
        assert [a["id"] for a in client.organization_accounts()] == [OTHER_ACCOUNT]


def test_unknown_organization_names_only_our_id(server, private_pem):
    server.on(
        "GET",
        "/Management/v2/organizations",
        lambda r: httpx.Response(200, json={"organizations": ORGS["organizations"][:1]}),
    )
    with server.client(make_settings(private_pem)) as client, pytest.raises(ConfigError) as info:
        client.organization()
    assert ORG in str(info.value)
    assert "Secret Other Org" not in str(info.value) and "dead" not in str(info.value)


def test_configured_account_outside_the_organization_is_an_error(server, private_pem):
    server.on("GET", "/Management/v2/organizations", lambda r: httpx.Response(200, json=ORGS))
    with server.client(make_settings(private_pem, account_ids=("not-ours",))) as client:
        with pytest.raises(ConfigError, match="DOCUSIGN_ACCOUNT_IDS.*not-ours"):
            client.organization_accounts()


def admin_user(n: int) -> dict:
    return {"id": f"user-{n}", "email": f"u{n}@example.com", "user_status": "active"}


def test_organization_users_follow_paging_next(server, settings):
    users_path = f"/Management/v2/organizations/{ORG}/users"
    next1 = f"{ADMIN}/v2/organizations/{ORG}/users?account_id={ACCOUNT}&start=250&take=250"
    next2 = f"{ADMIN}/v2/organizations/{ORG}/users?account_id={ACCOUNT}&start=500&take=250"

    def users(request):
        start = request.url.params["start"]
        if start == "0":
            return httpx.Response(200, json={"users": [admin_user(1), admin_user(2)], "paging": {"next": next1}})
        if start == "250":
            return httpx.Response(200, json={"users": [admin_user(3)], "paging": {"next": next2, "previous": "x"}})
        return httpx.Response(200, json={"users": [admin_user(4)], "paging": {"next": ""}})

    server.on("GET", users_path, users)
    with server.client(settings) as client:
        got = list(client.organization_users(ACCOUNT))
    assert [u["id"] for u in got] == ["user-1", "user-2", "user-3", "user-4"]
    api = server.api_requests()
    assert dict(api[0].url.params) == {"account_id": ACCOUNT, "start": "0", "take": "250"}
    assert [str(r.url) for r in api[1:]] == [next1, next2]


def test_organization_users_refuse_a_next_link_to_another_host(server, settings):
    server.on(
        "GET",
        f"/Management/v2/organizations/{ORG}/users",
        lambda r: httpx.Response(
            200, json={"users": [admin_user(1)], "paging": {"next": "https://evil.example.com/x"}}
        ),
    )
    with server.client(settings) as client, pytest.raises(DocuSignDataError, match="paging.next"):
        list(client.organization_users(ACCOUNT))
    assert all(r.url.host != "evil.example.com" for r in server.requests)


def test_organization_users_refuse_a_next_link_that_does_not_advance(server, settings):
    same = f"{ADMIN}/v2/organizations/{ORG}/users?account_id={ACCOUNT}&start=0&take=250"
    server.on(
        "GET",
        f"/Management/v2/organizations/{ORG}/users",
        lambda r: httpx.Response(200, json={"users": [admin_user(1)], "paging": {"next": same}}),
    )
    with server.client(settings) as client, pytest.raises(DocuSignDataError, match="repeats"):
        list(client.organization_users(ACCOUNT))


def test_user_profile_returns_the_single_user_with_memberships(server, settings):
    profile = {"id": USER, "memberships": [{"account_id": ACCOUNT, "status": "active", "is_admin": True}]}
    server.on(
        "GET",
        f"/Management/v2.1/organizations/{ORG}/users/{USER}/dsprofile",
        lambda r: httpx.Response(200, json={"users": [profile]}),
    )
    with server.client(settings) as client:
        assert client.user_profile(USER) == profile


def test_user_profile_with_no_user_is_an_error(server, settings):
    server.on(
        "GET",
        f"/Management/v2.1/organizations/{ORG}/users/{USER}/dsprofile",
        lambda r: httpx.Response(200, json={"users": []}),
    )
    with server.client(settings) as client, pytest.raises(DocuSignDataError, match=f"exactly one user for {USER}"):
        client.user_profile(USER)


# -- eSignature -------------------------------------------------------------------------------


def esign_users_handler(total: int, page: int = 100):
    def handler(request):
        start = int(request.url.params["start_position"])
        count = int(request.url.params["count"])
        ids = list(range(start, min(start + min(count, page), total)))
        more = ids and ids[-1] + 1 < total
        return httpx.Response(
            200,
            json={
                "users": [{"userId": f"esig-{i}", "userStatus": "Active", "isAdmin": "False"} for i in ids],
                "resultSetSize": str(len(ids)),
                "startPosition": str(start),
                "endPosition": str(ids[-1] if ids else start),
                "totalSetSize": str(total),
                "nextUri": f"/v2.1/accounts/{ACCOUNT}/users?start_position={ids[-1] + 1}&count={count}"
                if more
                else None,
            },
        )

    return handler


@pytest.mark.parametrize("total, pages", [(250, 3), (200, 2), (7, 1), (0, 1)])
def test_account_users_page_with_start_position(server, settings, total, pages):
    server.on("GET", f"/restapi/v2.1/accounts/{ACCOUNT}/users", esign_users_handler(total))
    with server.client(settings) as client:
        users = list(client.account_users(ACCOUNT))
    assert [u["userId"] for u in users] == [f"esig-{i}" for i in range(total)]
    api = server.api_requests()
    assert len(api) == pages
    assert all(str(r.url).startswith(f"{ESIGN_BASE}/restapi/v2.1/accounts/{ACCOUNT}/users?") for r in api)
    assert [r.url.params["start_position"] for r in api] == [str(100 * i) for i in range(pages)]
    assert {(r.url.params["count"], r.url.params["additional_info"]) for r in api} == {("100", "true")}


def test_account_users_stop_on_total_even_if_next_uri_lingers(server, settings):
    body = {
        "users": [{"userId": "a"}],
        "endPosition": "0",
        "totalSetSize": "1",
        "nextUri": "/v2.1/accounts/x/users?start_position=1",
    }
    server.on("GET", f"/restapi/v2.1/accounts/{ACCOUNT}/users", lambda r: httpx.Response(200, json=body))
    with server.client(settings) as client:
        assert [u["userId"] for u in client.account_users(ACCOUNT)] == ["a"]
    assert len(server.api_requests()) == 1


def test_account_users_error_when_the_server_never_advances(server, settings):
    body = {
        "users": [],
        "endPosition": "0",
        "totalSetSize": "500",
        "nextUri": "/v2.1/accounts/x/users?start_position=0",
    }
    server.on("GET", f"/restapi/v2.1/accounts/{ACCOUNT}/users", lambda r: httpx.Response(200, json=body))
    with server.client(settings) as client, pytest.raises(DocuSignDataError, match="does not advance"):
        list(client.account_users(ACCOUNT))
    assert len(server.api_requests()) <= 2


def test_settings_and_password_rules_use_the_account_base_uri(server, settings):
    server.on(
        "GET",
        f"/restapi/v2.1/accounts/{ACCOUNT}/settings",
        lambda r: httpx.Response(200, json={"sessionTimeout": "20"}),
    )
    rules_route(server)
    with server.client(settings) as client:
        assert client.account_settings(ACCOUNT) == {"sessionTimeout": "20"}
        assert client.password_rules(ACCOUNT)["expirePassword"] == "true"
    assert {str(r.url.host) for r in server.api_requests()} == {"demo.docusign.net"}


# -- casting ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw, expected",
    [("true", True), ("False", False), ("TRUE", True), (True, True), (False, False), ("", None), (None, None)],
)
def test_string_booleans_cast(raw, expected):
    assert parse_account_settings({"disableMultipleSessions": raw}, ACCOUNT)["disable_multiple_sessions"] is expected


@pytest.mark.parametrize("raw, expected", [("30", 30), ("0", 0), (" 7 ", 7), (12, 12), ("", None), (None, None)])
def test_as_int(raw, expected):
    assert as_int(raw, where="x") == expected


@pytest.mark.parametrize("raw", ["abc", "1.5", "yes", True, 3.0])
def test_as_int_rejects(raw):
    with pytest.raises(DocuSignDataError, match="where-field"):
        as_int(raw, where="where-field")


def test_parse_password_rules_casts_every_field():
    raw = {
        "expirePassword": "true",
        "expirePasswordDays": "90",
        "expirePasswordDaysMetadata": {"minimumDays": "1", "maximumDays": "365"},
        "lockoutDurationMinutes": "2",
        "lockoutDurationType": "minutes",
        "minimumPasswordAgeDays": "0",
        "minimumPasswordLength": "9",
        "passwordIncludeDigit": "False",
        "passwordIncludeDigitOrSpecialCharacter": "",
        "passwordIncludeLowerCase": "TRUE",
        "passwordIncludeSpecialCharacter": "false",
        "passwordIncludeUpperCase": "true",
        "passwordStrengthType": "strong",
        "questionsRequired": "1",
    }
    assert parse_password_rules(raw, ACCOUNT) == {
        "expire_password": True,
        "expire_password_days": 90,
        "lockout_duration_minutes": 2,
        "lockout_duration_type": "minutes",
        "minimum_password_age_days": 0,
        "minimum_password_length": 9,
        "password_include_digit": False,
        "password_include_digit_or_special_character": None,
        "password_include_lower_case": True,
        "password_include_special_character": False,
        "password_include_upper_case": True,
        "password_strength_type": "strong",
        "questions_required": 1,
    }


def test_parse_password_rules_missing_keys_are_none():
    parsed = parse_password_rules({"expirePassword": "False"}, ACCOUNT)
    assert parsed["expire_password"] is False
    assert parsed["minimum_password_length"] is None and len(parsed) == 13


@pytest.mark.parametrize(
    "key, column, value",
    [("expirePassword", "expire_password", "abc"), ("minimumPasswordLength", "minimum_password_length", "abc"),
     ("questionsRequired", "questions_required", "2.5"), ("passwordIncludeDigit", "password_include_digit", "yes")],
)
def test_parse_password_rules_garbage_is_null_and_named_never_an_abort(key, column, value):
    parsed = parse_password_rules({key: value, "minimumPasswordAgeDays": "3"}, ACCOUNT)
    assert parsed[column] is None
    assert parsed["_invalid_fields"] == {column: value}
    assert parsed["minimum_password_age_days"] == 3


def test_parse_account_settings():
    raw = {
        "sessionTimeout": "20",
        "mobileSessionTimeout": "",
        "disableMultipleSessions": "true",
        "enableSMSAuthentication": "False",
        "signerMustLoginToSign": "false",
        "unrelated": "whatever",
    }
    assert parse_account_settings(raw, ACCOUNT) == {
        "session_timeout": 20,
        "mobile_session_timeout": None,
        "signing_session_timeout": None,
        "disable_multiple_sessions": True,
        "enable_sms_authentication": False,
        "allow_phone_authentication": None,
        "signer_must_login_to_sign": False,
        "sender_must_authenticate_signing": None,
    }
    assert parse_account_settings({"sessionTimeout": "twenty"}, ACCOUNT)["_invalid_fields"] == {
        "session_timeout": "twenty"}


# -- resilience end to end ------------------------------------------------------------------


def test_api_calls_retry_through_the_shared_layer(server, settings):
    t = FakeTime()
    server.on(
        "GET",
        "/Management/v2/organizations",
        [httpx.Response(429, headers={"Retry-After": "11"}), httpx.Response(200, json=ORGS)],
    )
    with server.client(settings, t) as client:
        assert client.organization()["id"] == ORG
    assert t.sleeps == [11.0]


def test_non_json_success_body_is_a_clear_error(server, settings):
    server.on("GET", "/Management/v2/organizations", lambda r: httpx.Response(200, text="<html>maintenance</html>"))
    with server.client(settings) as client, pytest.raises(DocuSignDataError, match="Admin organizations.*not JSON"):
        client.organization()


def test_settings_repr_hides_the_private_key(settings):
    assert "PRIVATE KEY" not in repr(settings)
