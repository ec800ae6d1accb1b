"""The embedded DocuSign simulator: determinism, planted incidents, stream semantics, API shapes, faults."""

from __future__ import annotations

import json
import re
import time
from collections import Counter
from datetime import UTC, date, datetime, timedelta

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from dsassets.simulator import POLICIES, DocuSignSimulator, Fault, SimulatorConfig, serve
from dsassets.simulator.incidents import ACTIVITY_POLICIES
from dsassets.simulator.ids import to_ticks
from dsassets.simulator.vocabulary import ACC_UPDATED, KINDS

NOW = datetime(2024, 6, 20, 9, 30, tzinfo=UTC)
AUTH = "https://account-d.docusign.com"
JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"


@pytest.fixture(scope="module")
def sim() -> DocuSignSimulator:
    return DocuSignSimulator(SimulatorConfig(), now=lambda: NOW)


def assertion(sim: DocuSignSimulator, *, key: str | None = None, aud: str = "account-d.docusign.com") -> str:
    now = int(time.time())
    claims = {
        "iss": sim.world.integration_key,
        "sub": sim.service_user_id,
        "aud": aud,
        "iat": now,
        "exp": now + 3600,
        "scope": "signature impersonation",
    }
    return jwt.encode(claims, key or sim.private_key_pem, algorithm="RS256")


def client(sim: DocuSignSimulator, transport: httpx.BaseTransport | None = None) -> httpx.Client:
    """An httpx client holding a DocuSign token obtained from the simulator."""
    c = httpx.Client(transport=transport or sim.transport())
    r = c.post(f"{AUTH}/oauth/token", data={"grant_type": JWT_GRANT, "assertion": assertion(sim)})
    assert r.status_code == 200, r.text
    c.headers["Authorization"] = f"Bearer {r.json()['access_token']}"
    return c


def stream_url(sim: DocuSignSimulator) -> str:
    return f"https://api-d.docusign.com/v1/organizations/{sim.organization_id}/stream"


def read_stream(c: httpx.Client, url: str, cursor: str, limit: int = 2000, key: str = "resultData"):
    """All pages from ``cursor`` to the end; returns (events, cursors sent, last body)."""
    events, sent = [], []
    for _ in range(1000):
        r = c.get(url, params={"cursor": cursor, "limit": limit})
        assert r.status_code == 200, r.text
        body = r.json()
        sent.append(cursor)
        events.extend(body[key])
        if body["endCursor"] == cursor:
            assert body[key] == []
            return events, sent, body
        cursor = body["endCursor"]
    raise AssertionError("stream did not end")


# -- determinism and scale -----------------------------------------------------------------------


def test_same_seed_same_bytes_and_days_differ():
    day = date(2024, 6, 11)
    a = DocuSignSimulator(SimulatorConfig(seed=7), now=lambda: NOW).events(day)
    b = DocuSignSimulator(SimulatorConfig(seed=7), now=lambda: NOW).events(day)
    assert json.dumps(a) == json.dumps(b)
    c = DocuSignSimulator(SimulatorConfig(seed=7), now=lambda: NOW).events(day + timedelta(days=1))
    assert {e["eventId"] for e in a}.isdisjoint({e["eventId"] for e in c})
    other_seed = DocuSignSimulator(SimulatorConfig(seed=8), now=lambda: NOW).events(day)
    assert json.dumps(a) != json.dumps(other_seed)


@pytest.mark.parametrize("per_day", [300, 600, 5000])
def test_scale_is_roughly_honoured(per_day):
    s = DocuSignSimulator(SimulatorConfig(events_per_day=per_day), now=lambda: NOW)
    week = [len(s.store.day(date(2024, 6, 3).toordinal() + k)) for k in range(7)]
    assert 0.75 * per_day <= sum(week) / 7 <= 1.25 * per_day, week
    assert min(week[:5]) > max(week[5:])  # weekdays busier than weekends


def test_world_defined_for_past_and_future_dates(sim):
    for day in (date(2016, 2, 29), date(2031, 12, 31)):
        events = sim.events(day)
        assert events and all(e["timestamp"].startswith(day.isoformat()) for e in events)


# -- events --------------------------------------------------------------------------------------


EVENT_KEYS = [
    "timestamp",
    "eventId",
    "site",
    "accountId",
    "organizationId",
    "userId",
    "integratorKey",
    "userAgent",
    "userAgentClientInfo",
    "ipAddress",
    "ipAddressLocation",
    "object",
    "action",
    "property",
    "field",
    "result",
    "source",
    "isUserMemberOfDomain",
    "referencedUserIsMemberOfDomain",
    "referencedUserId",
    "affectedUserId",
    "affectedUserIsMemberOfDomain",
    "proxyStatus",
    "proxyType",
    "proxyLevel",
    "latitude",
    "longitude",
    "city",
    "state",
    "country",
    "device",
    "browser",
    "os",
    "data",
]


def test_event_shape_and_variety(sim):
    events = [e for d in range(10, 17) for e in sim.events(date(2024, 6, d))]
    for e in events[:200]:
        keys = [k for k in EVENT_KEYS if k != "ipAddressLocation" or "ipAddressLocation" in e]
        assert list(e) == keys
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{7}Z", e["timestamp"])
        assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", e["eventId"])
        assert e["organizationId"] == sim.organization_id
    assert any(":" in e["ipAddress"] for e in events), "some IPv6"
    missing = [e for e in events if "ipAddressLocation" not in e]
    assert missing and all(e["country"] == "" and e["latitude"] is None for e in missing)
    countries = Counter(e["country"] for e in events)
    assert countries["united states"] > 0 and any(re.fullmatch(r"[A-Z]{2}", c) for c in countries)
    pairs = Counter((e["object"], e["action"], e["result"], e["source"]) for e in events)
    for pair in [
        ("User", "Login", "Success", "Web"),
        ("User", "Login", "Success", "Mobile"),
        ("User", "Login", "Success", "API"),
        ("User", "Login", "Failed", "Web"),
        ("Envelope", "Sent", "Success", "Web"),
    ]:
        assert pairs[pair] > 0, pair
    api = [e for e in events if e["source"] == "API" and e["object"] == "User"]
    assert all(e["integratorKey"] for e in api)
    assert any(e["accountId"] == "" for e in events), "organization-level events"


def test_admin_events_over_a_quarter(sim):
    start = date(2024, 3, 1)
    kinds: Counter = Counter()
    days_with: dict = {}
    for k in range(92):
        batch = sim.store.day(start.toordinal() + k)
        for kind in set(batch.cols["kind"].tolist()):
            days_with.setdefault(KINDS[kind].action, start + timedelta(days=k))
        kinds.update(KINDS[x].object + "/" + KINDS[x].action for x in batch.cols["kind"].tolist())
    for pair in ["Account/UserAdded", "Account/UserClosed", "Account/Updated", "Organization/UserAdded",
                 "Organization/UserClosed", "Alert/IpAddressOutsideAllowedRanges", "Account/PermissionProfileChanged"]:
        assert kinds[pair] > 0, pair
    updated = [e for e in sim.events(days_with["Updated"]) if e["action"] == "Updated"]
    assert all(e["property"] and {"OldValue", "NewValue"} <= set(e["data"]) for e in updated)
    alert = next(e for e in sim.events(days_with["IpAddressOutsideAllowedRanges"]) if e["object"] == "Alert")
    assert alert["data"]["Count"] == str(len(alert["data"]["EventIds"]))
    ids = {e["eventId"] for e in sim.events(days_with["IpAddressOutsideAllowedRanges"])}
    assert set(alert["data"]["EventIds"]) <= ids


# -- planted incidents ---------------------------------------------------------------------------


@pytest.mark.parametrize("start", [date(2024, 6, 3), date(2024, 6, 6), date(2025, 1, 15), date(2023, 11, 28)])
def test_every_policy_in_any_week_with_events_in_stream(sim, start):
    truth = sim.ground_truth(start, start + timedelta(days=7))
    real = {t["policy"] for t in truth if not t["is_decoy"]}
    assert real == set(POLICIES) | set(ACTIVITY_POLICIES)
    decoys = {t["policy"] for t in truth if t["is_decoy"]}
    assert len(decoys) >= 5
    ids = {e["eventId"] for k in range(7) for e in sim.events(start + timedelta(days=k))}
    for t in truth:
        assert t["event_ids"] and set(t["event_ids"]) <= ids, t["incident_id"]
        assert t["started_at"] <= t["ended_at"]
        assert t["user_email"].endswith("@acme.example.com")
        assert t["account_id"] in sim.account_ids
    assert len({t["incident_id"] for t in truth}) == len(truth)


def test_incident_details(sim):
    truth = sim.ground_truth(date(2024, 5, 1), date(2024, 6, 1))
    by_id = {e["eventId"]: e for k in range(31) for e in sim.events(date(2024, 5, 1) + timedelta(days=k))}
    for t in truth:
        events = [by_id[i] for i in t["event_ids"]]
        assert all(e["userId"] == t["user_id"] for e in events)
        if t["policy"] == "multiple_failed_logins" and not t["is_decoy"]:
            assert sum(e["result"] == "Failed" for e in events) >= 15
        if t["policy"] == "anonymous_ip" and not t["is_decoy"]:
            assert any(e["ipAddress"] in sim.tor_exit_ips and e["result"] == "Success" for e in events)
        if t["policy"] == "suspicious_ip":
            assert any(e["ipAddress"] in sim.threat_intel_ips for e in events)
            if t["is_decoy"]:
                assert all(e["result"] == "Failed" for e in events)
    proxied = [by_id[i] for t in truth if t["policy"] == "anonymous_ip" for i in t["event_ids"]]
    assert any(e["proxyType"] == "TOR" for e in proxied)


def test_terminated_user_is_gone_from_entra_before_the_activity(sim):
    truth = [
        t for t in sim.ground_truth(date(2024, 6, 10), date(2024, 6, 17)) if t["policy"] == "terminated_user_activity"
    ]
    assert {t["is_decoy"] for t in truth} == {True, False}
    for t in truth:
        at = t["started_at"]
        snap = sim.snapshot(at)
        row = snap.row_of(t["user_id"])
        states, _ = snap.entra_states()
        assert snap.states()[row] != "deleted"  # still a DocuSign user
        if t["is_decoy"]:
            assert states[row] == "enabled"
        else:
            assert states[row] in ("deleted", "disabled")


def test_user_states_cover_every_kind(sim):
    for when in (NOW, datetime(2022, 1, 5, tzinfo=UTC), datetime(2029, 8, 1, tzinfo=UTC)):
        states = sim.expected_user_states(when)
        counts = Counter(s["state"] for s in states)
        assert counts["active"] and counts["partially_active"] and counts["deleted"], (when, counts)
        assert any(s["is_admin"] for s in states)
        assert len({s["email"] for s in states}) == len(states)


# -- stream semantics ----------------------------------------------------------------------------


def test_stream_paging_cursor_and_end(sim):
    c = client(sim)
    url = stream_url(sim)
    events, sent, body = read_stream(c, url, "2024-06-18T00:00:00Z", limit=500)
    assert len(sent) > 3 and all(re.fullmatch(r"aa_\d+_\d+_\d+", s) for s in sent[1:])
    assert body["endCursor"] == sent[-1]
    stamps = [e["timestamp"] for e in events]
    assert stamps != sorted(stamps), "ingestion order is not timestamp order"
    assert max(stamps) < NOW.strftime("%Y-%m-%dT%H:%M:%S")
    # At-least-once delivery: the same event can come twice.
    counts = Counter(e["eventId"] for e in events)
    assert max(counts.values()) == 2
    # The end stays the end until the clock moves on.
    r = c.get(url, params={"cursor": sent[-1]})
    assert r.json()["endCursor"] == sent[-1] and r.json()["resultData"] == []


def test_iso_cursor_starts_at_ingestion_time(sim):
    c = client(sim)
    body = c.get(stream_url(sim), params={"cursor": "2024-06-12T12:00:00Z", "limit": 50}).json()
    first = [datetime.fromisoformat(e["timestamp"][:26]).replace(tzinfo=UTC) for e in body["resultData"]]
    start = datetime(2024, 6, 12, 12, tzinfo=UTC)
    assert all(start - timedelta(seconds=301) <= t for t in first)  # ingested after start, lag <= 300 s
    assert any(t < start for t in first) or True


def test_now_is_respected_and_stream_grows():
    clock = {"now": datetime(2024, 6, 12, 10, 0, tzinfo=UTC)}
    s = DocuSignSimulator(SimulatorConfig(), now=lambda: clock["now"])
    c = client(s)
    events, sent, _ = read_stream(c, stream_url(s), "2024-06-12T00:00:00Z")
    assert events
    cutoff = to_ticks(clock["now"])
    for e in events:
        t = to_ticks(datetime.fromisoformat(e["timestamp"][:26]).replace(tzinfo=UTC))
        assert t < cutoff
    clock["now"] += timedelta(hours=2)
    more, _, _ = read_stream(c, stream_url(s), sent[-1])
    assert more and not {e["eventId"] for e in more} & {e["eventId"] for e in events} - {
        k for k, v in Counter(e["eventId"] for e in events + more).items() if v > 1
    }


def test_events_cross_midnight_in_ingestion_order():
    s = DocuSignSimulator(SimulatorConfig(events_per_day=20_000), now=lambda: NOW)
    c = client(s)
    body = c.get(stream_url(s), params={"cursor": "2024-06-13T00:00:00Z", "limit": 2000}).json()
    late = [e for e in body["resultData"] if e["timestamp"] < "2024-06-13"]
    assert late and all(e["timestamp"] >= "2024-06-12T23:5" for e in late)


def test_legacy_stream_and_limits(sim):
    c = client(sim)
    url = "https://lens-d.docusign.net/api/v2.0/datasets/monitor/stream"
    r = c.get(url, params={"cursor": "2024-06-19T00:00:00Z", "limit": 10})
    assert r.status_code == 200 and len(r.json()["data"]) == 10
    assert c.get(url, params={"limit": 2001}).status_code == 400
    assert c.get(url, params={"cursor": "not a cursor"}).status_code == 400
    # no cursor: the last seven days
    assert c.get(url, params={"limit": 1}).json()["data"][0]["timestamp"] >= "2024-06-13"
    wrong = c.get(f"https://api-d.docusign.com/v1/organizations/{'0' * 8}-0000-0000-0000-{'0' * 12}/stream")
    assert wrong.status_code == 403


# -- auth ----------------------------------------------------------------------------------------


def test_jwt_checks(sim):
    c = httpx.Client(transport=sim.transport())
    other = (
        rsa.generate_private_key(public_exponent=65537, key_size=2048)
        .private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
        .decode()
    )
    r = c.post(f"{AUTH}/oauth/token", data={"grant_type": JWT_GRANT, "assertion": assertion(sim, key=other)})
    assert r.status_code == 400 and r.json()["error"] == "invalid_grant"
    r = c.post(
        f"{AUTH}/oauth/token", data={"grant_type": JWT_GRANT, "assertion": assertion(sim, aud="account.docusign.com")}
    )
    assert r.status_code == 400
    r = c.get(stream_url(sim))
    assert r.status_code == 401 and "errorCode" in r.json()
    r = c.get(stream_url(sim), headers={"Authorization": "Bearer forged"})
    assert r.status_code == 401
    ok = client(sim)
    info = ok.get(f"{AUTH}/oauth/userinfo").json()
    assert info["sub"] == sim.service_user_id
    assert {a["account_id"] for a in info["accounts"]} == set(sim.account_ids)
    assert all(a["organization"]["organization_id"] == sim.organization_id for a in info["accounts"])
    assert ok.get("https://api-d.docusign.com/nope").status_code == 404
    assert ok.post(stream_url(sim)).status_code == 404


# -- Admin API and eSignature --------------------------------------------------------------------


def test_admin_users_paging(sim):
    c = client(sim)
    admin = "https://api-d.docusign.net/Management"
    orgs = c.get(f"{admin}/v2/organizations").json()["organizations"]
    assert orgs[0]["id"] == sim.organization_id and len(orgs[0]["accounts"]) in (3, 4, 5)
    url = f"{admin}/v2/organizations/{sim.organization_id}/users"
    assert c.get(url).status_code == 400
    account = sim.account_ids[0]
    seen, next_url, params = [], url, {"account_id": account, "take": 7}
    while next_url:
        body = c.get(next_url, params=params).json()
        params = None
        seen += body["users"]
        paging = body["paging"]
        assert paging["result_set_size"] == len(body["users"])
        next_url = paging.get("next")
        assert next_url is None or next_url.startswith(admin)
    assert len(seen) == paging["total_set_size"] == len({u["id"] for u in seen})
    statuses = Counter(u["membership_status"] for u in seen)
    assert statuses["active"] and statuses["closed"]
    profile = c.get(f"{admin}/v2.1/organizations/{sim.organization_id}/users/{seen[-1]['id']}/dsprofile").json()
    assert profile["users"][0]["memberships"] and profile["users"][0]["id"] == seen[-1]["id"]
    assert (
        c.get(
            f"{admin}/v2.1/organizations/{sim.organization_id}/users/{'1' * 8}-1111-1111-1111-{'1' * 12}/dsprofile"
        ).status_code
        == 404
    )


def test_esignature_users_settings_password_rules(sim):
    c = client(sim)
    account = sim.account_ids[0]
    base = f"https://demo.docusign.net/restapi/v2.1/accounts/{account}"
    users, start = [], 0
    while True:
        body = c.get(f"{base}/users", params={"start_position": start, "count": 10, "additional_info": "true"}).json()
        assert all(isinstance(body[k], str) for k in ("resultSetSize", "totalSetSize", "startPosition", "endPosition"))
        users += body["users"]
        if not body.get("nextUri"):
            break
        assert body["nextUri"].startswith(f"/v2.1/accounts/{account}/users?start_position=")
        start = int(body["endPosition"]) + 1
    assert len(users) == int(body["totalSetSize"])
    assert {u["isAdmin"] for u in users} == {"True", "False"}
    assert {"Active", "Closed"} <= {u["userStatus"] for u in users}
    assert c.get(f"{base}/users", params={"count": 101}).status_code == 400
    profiles = set()
    for acct in sim.account_ids:
        s = c.get(f"https://demo.docusign.net/restapi/v2.1/accounts/{acct}/settings").json()
        p = c.get(f"https://demo.docusign.net/restapi/v2.1/accounts/{acct}/settings/password_rules").json()
        assert all(
            isinstance(s[k], str) for k in ("sessionTimeout", "disableMultipleSessions", "signerMustLoginToSign")
        )
        assert "sessionTimeoutMetadata" in s and "minimumPasswordLengthMetadata" in p
        profiles.add((s["sessionTimeout"], p["minimumPasswordLength"]))
    assert ("120", "6") in profiles and ("20", "12") in profiles


def test_settings_drift_matches_audit_events(sim):
    start = date(2024, 1, 1).toordinal()
    day = next(d for d in range(start, start + 120) if (sim.store.day(d).cols["kind"] == ACC_UPDATED).any())
    events = [e for e in sim.events(date.fromordinal(day)) if e["object"] == "Account" and e["action"] == "Updated"]
    change = events[0]
    at = datetime.fromisoformat(change["timestamp"][:26]).replace(tzinfo=UTC)
    account = sim.account_ids.index(change["accountId"])
    before = sim.world.settings_at(account, to_ticks(at - timedelta(seconds=1)))
    after = sim.world.settings_at(account, to_ticks(at + timedelta(seconds=1)))
    assert before[change["property"]] == change["data"]["OldValue"]
    assert after[change["property"]] == change["data"]["NewValue"]


# -- OpenAPI -------------------------------------------------------------------------------------


def test_responses_match_openapi_specs(sim):
    openapi = pytest.importorskip("support.openapi")
    c = client(sim)
    org = sim.organization_id
    account = sim.account_ids[1]
    checks = [
        (
            "monitor",
            "/api/v2.0/datasets/monitor/stream",
            "https://lens-d.docusign.net/api/v2.0/datasets/monitor/stream?cursor=2024-06-19T00:00:00Z&limit=20",
        ),
        ("admin", "/v2/organizations", "https://api-d.docusign.net/Management/v2/organizations"),
        (
            "admin",
            f"/v2/organizations/{org}/users",
            f"https://api-d.docusign.net/Management/v2/organizations/{org}/users?account_id={account}&take=50",
        ),
        (
            "esignature",
            f"/v2.1/accounts/{account}/users",
            f"https://demo.docusign.net/restapi/v2.1/accounts/{account}/users?additional_info=true&count=5",
        ),
        (
            "esignature",
            f"/v2.1/accounts/{account}/settings",
            f"https://demo.docusign.net/restapi/v2.1/accounts/{account}/settings",
        ),
        (
            "esignature",
            f"/v2.1/accounts/{account}/settings/password_rules",
            f"https://demo.docusign.net/restapi/v2.1/accounts/{account}/settings/password_rules",
        ),
    ]
    for spec, path, url in checks:
        r = c.get(url)
        assert r.status_code == 200, (url, r.text)
        openapi.validate_response(spec, "get", path, 200, r.json(), allow_null=False)
    users = c.get(checks[2][2]).json()["users"]
    closed = next(u for u in users if u["membership_status"] == "closed")
    path = f"/v2.1/organizations/{org}/users/{closed['id']}/dsprofile"
    r = c.get("https://api-d.docusign.net/Management" + path)
    openapi.validate_response("admin", "get", path, 200, r.json(), allow_null=False)
    r = c.get(f"https://demo.docusign.net/restapi/v2.1/accounts/{account}/users?count=500")
    openapi.validate_response("esignature", "get", f"/v2.1/accounts/{account}/users", 400, r.json())


# -- Microsoft Graph -----------------------------------------------------------------------------


def test_graph_endpoints(sim):
    g = sim.graph_settings()
    c = httpx.Client(transport=sim.transport())
    token_url = f"{g.authority_url}/{g.tenant_id}/oauth2/v2.0/token"
    bad = c.post(token_url, data={"grant_type": "client_credentials", "client_id": g.client_id, "client_secret": "x"})
    assert bad.status_code == 401
    r = c.post(
        token_url,
        data={
            "grant_type": "client_credentials",
            "client_id": g.client_id,
            "client_secret": g.client_secret,
            "scope": "https://graph.microsoft.com/.default",
        },
    )
    c.headers["Authorization"] = "Bearer " + r.json()["access_token"]
    disabled = c.get(
        f"{g.graph_url}/v1.0/users", params={"$filter": "accountEnabled eq false", "$select": "id,mail,accountEnabled"}
    ).json()
    assert disabled["value"] and all(
        u["accountEnabled"] is False and set(u) == {"id", "mail", "accountEnabled"} for u in disabled["value"]
    )
    everyone, url, params = [], f"{g.graph_url}/v1.0/users", {"$top": "10"}
    while url:
        body = c.get(url, params=params).json()
        params = None
        everyone += body["value"]
        url = body.get("@odata.nextLink")
    assert len(everyone) == len({u["id"] for u in everyone}) > 10
    deleted = c.get(f"{g.graph_url}/v1.0/directory/deletedItems/microsoft.graph.user").json()["value"]
    assert deleted and all("deletedDateTime" in u and u["userPrincipalName"].endswith(u["mail"]) for u in deleted)
    since = (NOW - timedelta(days=14)).strftime("%Y-%m-%dT%H:%M:%SZ")
    audits = c.get(
        f"{g.graph_url}/v1.0/auditLogs/directoryAudits", params={"$filter": f"activityDateTime ge {since}"}
    ).json()["value"]
    names = {a["activityDisplayName"] for a in audits}
    assert {"Add user", "Delete user"} <= names and names <= {
        "Add user",
        "Disable account",
        "Enable account",
        "Delete user",
        "Restore user",
    }
    assert all(a["activityDateTime"] >= since for a in audits)
    assert c.post(f"{g.graph_url}/v1.0/users/someone@acme.example.com/revokeSignInSessions").json()["value"] is True
    assert c.patch(f"{g.graph_url}/v1.0/users/abc", json={"accountEnabled": False}).status_code == 204
    assert c.post(f"{g.graph_url}/v1.0/users/a@b/sendMail", json={"message": {"subject": "x"}}).status_code == 202
    assert [call["method"] for call in sim.graph_calls[-3:]] == ["POST", "PATCH", "POST"]
    assert httpx.Client(transport=sim.transport()).get(f"{g.graph_url}/v1.0/users").status_code == 401


# -- faults and the loopback server --------------------------------------------------------------


def test_fault_injection(sim):
    faults = [
        Fault(path_contains="/stream", status=429, times=2, retry_after="1"),
        Fault(path_contains="/users", status=503, times=1),
        Fault(path_contains="/settings", exception=httpx.ReadTimeout, times=1),
        Fault(path_contains="/password_rules", status=500, times=None),
    ]
    c = client(sim, sim.transport(faults))
    url = stream_url(sim)
    for _ in range(2):
        r = c.get(url, params={"cursor": "2024-06-19T00:00:00Z"})
        assert r.status_code == 429 and r.headers["Retry-After"] == "1"
    assert c.get(url, params={"cursor": "2024-06-19T00:00:00Z"}).status_code == 200
    base = f"https://demo.docusign.net/restapi/v2.1/accounts/{sim.account_ids[0]}"
    assert c.get(f"{base}/users").status_code == 503
    assert c.get(f"{base}/users").status_code == 200
    with pytest.raises(httpx.ReadTimeout):
        c.get(f"{base}/settings")
    assert c.get(f"{base}/settings").status_code == 200
    for _ in range(3):
        assert c.get(f"{base}/settings/password_rules").status_code == 500
    assert [f.hits for f in faults] == [2, 1, 1, 3]


def test_loopback_server_with_plain_httpx():
    s = DocuSignSimulator(SimulatorConfig(seed=3), now=lambda: NOW)
    server, base_url = serve(s)
    try:
        settings = s.docusign_settings(base_url)
        assert settings.auth_server == base_url
        now = int(time.time())
        claims = {
            "iss": settings.integration_key,
            "sub": settings.user_id,
            "aud": settings.auth_host,
            "iat": now,
            "exp": now + 600,
        }
        with httpx.Client(base_url=base_url) as c:
            r = c.post(
                "/oauth/token",
                data={"grant_type": JWT_GRANT, "assertion": jwt.encode(claims, s.private_key_pem, algorithm="RS256")},
            )
            assert r.status_code == 200, r.text
            c.headers["Authorization"] = "Bearer " + r.json()["access_token"]
            info = c.get("/oauth/userinfo").json()
            assert info["accounts"][0]["base_uri"] == base_url
            page = c.get(
                f"/v1/organizations/{s.organization_id}/stream", params={"cursor": "2024-06-19T00:00:00Z", "limit": 5}
            )
            assert len(page.json()["resultData"]) == 5
            users = c.get(
                f"/v2/organizations/{s.organization_id}/users", params={"account_id": s.account_ids[0]}
            ).json()
            assert users["users"]
            assert c.get(f"/restapi/v2.1/accounts/{s.account_ids[0]}/settings").status_code == 200
    finally:
        server.shutdown()
        server.server_close()


def test_real_clients_run_unchanged(sim):
    client_mod = pytest.importorskip("dsassets.lib.clients.docusign")
    with client_mod.DocuSignClient(sim.docusign_settings(), transport=sim.transport()) as c:
        pages = list(c.audit_events(datetime(2024, 6, 18, tzinfo=UTC), datetime(2024, 6, 19, tzinfo=UTC)))
        assert sum(len(getattr(p, "events", p)) for p in pages) > 100
        account = c.organization_accounts()[0]["id"]
        assert list(c.organization_users(account)) and list(c.account_users(account))
