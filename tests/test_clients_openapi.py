"""Every request the DocuSign client sends matches DocuSign's OpenAPI specs, and it reads only declared fields.

A MockTransport serves spec-shaped responses (themselves validated against the
specs) and records each request. Monitor v2.0, Admin and eSignature requests
are checked against the spec path templates and declared query parameters.
The current Monitor path and ``/oauth/*`` are in no spec, so they are checked
against the shape documented in DOCUSIGN_API.md §1.2 and §4.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone
from urllib.parse import parse_qs

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from support.openapi import check_request, field_schema, find_operation, validate_response

from dsassets.lib.clients.docusign import DocuSignClient
from dsassets.lib.clients.docusign_data import ACCOUNT_SETTING_FIELDS, PASSWORD_RULE_FIELDS
from dsassets.lib.config.settings import DocuSignSettings

ORG = "0e9b9f0a-1c2d-4e5f-8a9b-0c1d2e3f4a5b"
ACCOUNT = "a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d"
USER = "b0c1d2e3-f4a5-4b6c-8d7e-9f0a1b2c3d4e"
AUTH_HOST = "account-d.docusign.com"
LENS = "https://lens-d.docusign.net"
API = "https://api-d.docusign.com"
ADMIN_HOST = "api-d.docusign.net"
ESIGN_HOST = "demo.docusign.net"
DAY = datetime(2024, 6, 30, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def private_pem() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def monitor_event(n: int) -> dict:
    return {
        "eventId": f"00000000-0000-0000-0000-{n:012d}",
        "timestamp": (DAY + timedelta(hours=n)).strftime("%Y-%m-%dT%H:%M:%S.1234567Z"),
        "accountId": ACCOUNT,
        "organizationId": ORG,
        "object": "Account",
        "action": "UserAdded",
    }


class SpecShapedDocuSign:
    """Serves every endpoint the client uses with spec-shaped bodies; records (request, status, body)."""

    def __init__(self) -> None:
        self.exchanges: list[tuple[httpx.Request, int, object]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        assert len(self.exchanges) < 100, "runaway client: more than 100 requests"
        status, body = self.route(request)
        self.exchanges.append((request, status, body))
        return httpx.Response(status, json=body)

    def route(self, request: httpx.Request) -> tuple[int, object]:
        host, path, q = request.url.host, request.url.path, request.url.params
        if host == AUTH_HOST and path == "/oauth/token":
            return 200, {"access_token": "tok", "token_type": "Bearer", "expires_in": 3600, "scope": "signature"}
        if host == AUTH_HOST and path == "/oauth/userinfo":
            account = {
                "account_id": ACCOUNT,
                "is_default": True,
                "account_name": "Main",
                "base_uri": f"https://{ESIGN_HOST}",
            }
            return 200, {"sub": USER, "name": "Bot", "email": "bot@example.com", "accounts": [account]}
        if path.endswith("/stream"):
            key = "data" if host == "lens-d.docusign.net" else "resultData"
            pages = {
                "2024-06-30T00:00:00Z": ([monitor_event(1)], "c1"),
                "c1": ([monitor_event(2)], "c2"),
                "c2": ([], "c2"),
            }
            events, end = pages[q["cursor"]]
            return 200, {"endCursor": end, key: events}
        if host == ADMIN_HOST:
            return 200, self.admin(path, q)
        if host == ESIGN_HOST:
            return 200, self.esign(path, q)
        return 404, {"message": "unknown"}

    def admin(self, path: str, q: httpx.QueryParams) -> dict:
        if path == "/Management/v2/organizations":
            account = {"id": ACCOUNT, "name": "Main", "external_account_id": 12345, "site_id": 1}
            return {"organizations": [{"id": ORG, "name": "Org", "accounts": [account]}]}
        if path == f"/Management/v2/organizations/{ORG}/users":
            start = int(q["start"])
            paging = {
                "result_set_size": 1,
                "result_set_start_position": start,
                "result_set_end_position": start,
                "total_set_size": 2,
            }
            if start == 0:
                paging["next"] = (
                    f"https://{ADMIN_HOST}/Management/v2/organizations/{ORG}/users?account_id={ACCOUNT}&start=1&take=250"
                )
            user = {
                "id": USER if start == 0 else ACCOUNT,
                "user_name": "U",
                "email": "u@example.com",
                "user_status": "active",
                "membership_status": "active",
                "created_on": "2019-04-01T22:11:56.457",
            }
            return {"users": [user], "paging": paging}
        if path == f"/Management/v2.1/organizations/{ORG}/users/{USER}/dsprofile":
            membership = {
                "id": USER,
                "account_id": ACCOUNT,
                "status": "active",
                "is_admin": True,
                "permission_profile": {"id": 1, "name": "Admin"},
                "created_on": "2019-04-01T22:11:56.457",
            }
            return {"users": [{"id": USER, "user_name": "U", "user_status": "active", "memberships": [membership]}]}
        raise AssertionError(f"unexpected Admin path {path}")

    def esign(self, path: str, q: httpx.QueryParams) -> dict:
        base = f"/restapi/v2.1/accounts/{ACCOUNT}"
        if path == f"{base}/users":
            start = int(q["start_position"])
            body = {
                "users": [{"userId": f"u{start}", "userStatus": "Active", "isAdmin": "False"}],
                "resultSetSize": "1",
                "startPosition": str(start),
                "endPosition": str(start),
                "totalSetSize": "2",
            }
            body["nextUri"] = f"/v2.1/accounts/{ACCOUNT}/users?start_position={start + 1}" if start == 0 else None
            return body
        if path == f"{base}/settings":
            return {"sessionTimeout": "20", "disableMultipleSessions": "true", "enableSMSAuthentication": "false"}
        if path == f"{base}/settings/password_rules":
            return {
                "expirePassword": "true",
                "expirePasswordDays": "90",
                "minimumPasswordLength": "8",
                "expirePasswordDaysMetadata": {"minimumDays": "1", "maximumDays": "365"},
            }
        raise AssertionError(f"unexpected eSignature path {path}")


def run_everything(private_pem: str, generation: str) -> SpecShapedDocuSign:
    server = SpecShapedDocuSign()
    settings = DocuSignSettings(
        integration_key="ik",
        user_id=USER,
        organization_id=ORG,
        private_key_pem=private_pem,
        auth_server=f"https://{AUTH_HOST}",
        monitor_generation=generation,
        monitor_url=LENS if generation == "legacy" else API,
        admin_url=f"https://{ADMIN_HOST}/Management",
    )
    client = DocuSignClient(settings, transport=httpx.MockTransport(server), sleep=lambda s: None, rng=random.Random(0))
    with client:
        assert sum(len(page.events) for page in client.audit_events(DAY, DAY + timedelta(days=1))) == 2
        client.organization_accounts()
        assert len(list(client.organization_users(ACCOUNT))) == 2
        assert client.user_profile(USER)["memberships"]
        assert len(list(client.account_users(ACCOUNT))) == 2
        client.account_settings(ACCOUNT)
        client.password_rules(ACCOUNT)
    return server


def spec_for(request: httpx.Request) -> str | None:
    host = request.url.host
    if host == "lens-d.docusign.net":
        return "monitor"
    if host == ADMIN_HOST:
        return "admin"
    if host == ESIGN_HOST:
        return "esignature"
    return None


@pytest.mark.parametrize("generation", ["legacy", "current"])
def test_every_spec_covered_request_matches_a_path_and_declared_parameters(private_pem, generation):
    server = run_everything(private_pem, generation)
    templates = set()
    for request, status, body in server.exchanges:
        spec = spec_for(request)
        if spec is None:
            continue
        template, _ = check_request(spec, request)
        templates.add((spec, request.method, template))
        # The fake's bodies must themselves be spec-shaped, or this test would prove nothing.
        validate_response(spec, request.method, request.url.path, status, body)
    expected = {
        ("admin", "GET", "/v2/organizations"),
        ("admin", "GET", "/v2/organizations/{organizationId}/users"),
        ("admin", "GET", "/v2.1/organizations/{organizationId}/users/{userId}/dsprofile"),
        ("esignature", "GET", "/v2.1/accounts/{accountId}/users"),
        ("esignature", "GET", "/v2.1/accounts/{accountId}/settings"),
        ("esignature", "GET", "/v2.1/accounts/{accountId}/settings/password_rules"),
    }
    if generation == "legacy":
        expected.add(("monitor", "GET", "/api/v{version}/datasets/{dataSetName}/stream"))
    assert templates == expected


def test_legacy_stream_path_parameters_have_the_documented_values(private_pem):
    server = run_everything(private_pem, "legacy")
    streams = [r for r, _, _ in server.exchanges if spec_for(r) == "monitor"]
    assert streams and {r.url.path for r in streams} == {"/api/v2.0/datasets/monitor/stream"}
    assert all(1 <= int(r.url.params["limit"]) <= 2000 for r in streams)


def test_current_stream_matches_the_documented_shape(private_pem):
    server = run_everything(private_pem, "current")
    streams = [(r, b) for r, _, b in server.exchanges if r.url.host == "api-d.docusign.com"]
    assert streams
    for request, body in streams:
        assert request.method == "GET"
        assert request.url.path == f"/v1/organizations/{ORG}/stream"
        assert set(request.url.params.keys()) == {"cursor", "limit"}
        assert 1 <= int(request.url.params["limit"]) <= 2000
        assert request.headers["Authorization"].startswith("Bearer ")
        assert set(body) == {"endCursor", "resultData"}  # StreamResponse (DOCUSIGN_API.md §1.2)


def test_oauth_requests_match_the_documented_shape(private_pem):
    server = run_everything(private_pem, "current")
    oauth = [r for r, _, _ in server.exchanges if r.url.host == AUTH_HOST]
    token, userinfo = oauth[0], oauth[1]
    assert (token.method, token.url.path, token.url.query) == ("POST", "/oauth/token", b"")
    assert token.headers["Content-Type"] == "application/x-www-form-urlencoded"
    form = parse_qs(token.content.decode())
    assert set(form) == {"grant_type", "assertion"}
    assert form["grant_type"] == ["urn:ietf:params:oauth:grant-type:jwt-bearer"]
    assert "Authorization" not in token.headers
    assert (userinfo.method, userinfo.url.path, userinfo.url.query) == ("GET", "/oauth/userinfo", b"")
    assert userinfo.headers["Authorization"] == "Bearer tok"
    assert [r.url.path for r in oauth].count("/oauth/userinfo") == 1  # cached


# The fields the client reads, per operation (dotted, [] for array items).
READ_FIELDS = [
    ("monitor", "/api/v{version}/datasets/{dataSetName}/stream", ["endCursor", "data"]),
    ("admin", "/v2/organizations", ["organizations[].id", "organizations[].accounts", "organizations[].accounts[].id"]),
    ("admin", "/v2/organizations/{organizationId}/users", ["users", "paging.next"]),
    (
        "admin",
        "/v2.1/organizations/{organizationId}/users/{userId}/dsprofile",
        ["users", "users[].id", "users[].memberships"],
    ),
    ("esignature", "/v2.1/accounts/{accountId}/users", ["users", "nextUri", "endPosition", "totalSetSize"]),
]


@pytest.mark.parametrize("spec, path, fields", READ_FIELDS, ids=[f"{s}:{p}" for s, p, _ in READ_FIELDS])
def test_fields_the_client_reads_exist_in_the_response_schema(spec, path, fields):
    for field in fields:
        assert field_schema(spec, "GET", path, field) is not None, f"{spec} {path}: {field} not in response schema"


def test_paging_next_is_a_url_string_and_memberships_a_list():
    assert field_schema("admin", "GET", "/v2/organizations/{organizationId}/users", "paging.next")["type"] == "string"
    memberships = field_schema(
        "admin", "GET", "/v2.1/organizations/{organizationId}/users/{userId}/dsprofile", "users[].memberships[]"
    )
    assert {"account_id", "status", "is_admin"} <= set(memberships["properties"])


@pytest.mark.parametrize(
    "path, mapping",
    [
        ("/v2.1/accounts/{accountId}/settings/password_rules", PASSWORD_RULE_FIELDS),
        ("/v2.1/accounts/{accountId}/settings", ACCOUNT_SETTING_FIELDS),
    ],
    ids=["password_rules", "settings"],
)
def test_every_cast_field_is_declared_as_a_string(path, mapping):
    for column, (key, _) in mapping.items():
        declared = field_schema("esignature", "GET", path, key)
        assert declared is not None, f"{key} (for {column}) is not in the {path} response schema"
        assert declared.get("type") == "string"  # which is why the client casts


# -- the checker itself must be able to fail --------------------------------------------------


def test_check_request_rejects_undeclared_query_parameters():
    bad = httpx.Request("GET", f"https://{ESIGN_HOST}/restapi/v2.1/accounts/{ACCOUNT}/users?startPosition=0")
    with pytest.raises(AssertionError, match="'startPosition' is not declared"):
        check_request("esignature", bad)


def test_check_request_rejects_bad_values_and_unknown_paths():
    with pytest.raises(AssertionError, match="not a GUID"):
        check_request(
            "admin",
            httpx.Request("GET", f"https://{ADMIN_HOST}/Management/v2/organizations/acme/users?account_id={ACCOUNT}"),
        )
    with pytest.raises(AssertionError, match="not an integer"):
        check_request(
            "admin", httpx.Request("GET", f"https://{ADMIN_HOST}/Management/v2/organizations/{ORG}/users?take=all")
        )
    with pytest.raises(AssertionError, match="no path template"):
        find_operation("admin", "GET", "/Management/v3/whatever")


def test_validate_response_rejects_wrong_types():
    with pytest.raises(AssertionError, match="paging/next"):
        validate_response(
            "admin", "GET", f"/Management/v2/organizations/{ORG}/users", 200, {"users": [], "paging": {"next": 5}}
        )
    with pytest.raises(AssertionError, match="endCursor"):
        validate_response("monitor", "GET", "/api/v2.0/datasets/monitor/stream", 200, {"endCursor": [], "data": []})
    with pytest.raises(AssertionError, match="does not declare HTTP 201"):
        validate_response("monitor", "GET", "/api/v2.0/datasets/monitor/stream", 201, {})
