"""Real organizations send other types than the specs declare: nothing aborts, nothing is lost, all is counted.

A hand-built DocuSign shaped like the published OpenAPI specs (Admin v2.1,
eSignature v2.1 and the Monitor stream), not like the simulator, is served to
the real client through an httpx MockTransport with drifted values in it.
"""

from __future__ import annotations

import json
import logging
import random
from datetime import date, datetime, timezone

import httpx
import orjson
import pyarrow.parquet as pq
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from dsassets.defs.extract.identity import AUDIT_PERMISSION, read_graph
from dsassets.defs.extract.snapshots import take_esignature_snapshot, take_organization_snapshot
from dsassets.lib.clients.docusign import DocuSignClient, DocuSignDataError
from dsassets.lib.clients.graph import GraphClient, GraphDataError
from dsassets.lib.config.settings import DocuSignSettings, GraphSettings
from dsassets.lib.lake.coerce import INVALID, Drift, coerce
from dsassets.lib.lake.lake import Lake
from dsassets.lib.lake.raw_events import DATASET, write_event_partitions
from dsassets.lib.lake.snapshots import table_drift
import pyarrow as pa

ORG = "6d3c9a4e-0b1f-4c55-9e0a-2f4f1d7b8a01"
ACCOUNT = "9f1e2d3c-4b5a-4697-8887-a6b5c4d3e2f1"
ADMIN_USER = "0a1b2c3d-1111-4222-8333-944455566677"
USER_A = "c0ffee00-aaaa-4bbb-8ccc-0123456789ab"
USER_B = "decade00-dddd-4eee-8fff-0123456789cd"
AUTH = "https://account-d.docusign.com"
ADMIN = "https://api-d.docusign.net/Management"
MONITOR = "https://api-d.docusign.com"
ESIGN = "https://na3.docusign.net"
TAKEN = datetime(2026, 5, 4, 23, 0, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def settings() -> DocuSignSettings:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode()
    return DocuSignSettings(
        integration_key="5a5a5a5a-1234-4321-8765-0f0f0f0f0f0f", user_id=ADMIN_USER, organization_id=ORG,
        private_key_pem=pem, auth_server=AUTH, monitor_generation="current", monitor_url=MONITOR,
        admin_url=ADMIN, monitor_page_limit=2000, max_attempts=1,
    )


def monitor_event(n: int, **drift) -> dict:
    """A Monitor StreamingEventRow as the SDK model and the Sumo sample show it (nested location, flat copies)."""
    event = {
        "timestamp": f"2026-05-04T0{n % 10}:15:42.1234567Z", "eventId": f"7e57e7e0-0000-4000-8000-{n:012d}",
        "site": "NA3", "accountId": ACCOUNT, "organizationId": ORG, "userId": USER_A,
        "integratorKey": "", "userAgent": "Mozilla/5.0", "ipAddress": "198.51.100.23",
        "ipAddressLocation": {"latitude": 52.37, "longitude": 4.89, "country": "netherlands",
                              "state": "noord-holland", "city": "amsterdam"},
        "object": "Envelope", "action": "Viewed", "property": "", "field": "", "result": "Success",
        "source": "Web", "isUserMemberOfDomain": True, "referencedUserIsMemberOfDomain": False,
        "proxyStatus": "", "proxyType": "", "proxyLevel": "",
        "latitude": 52.37, "longitude": 4.89, "city": "amsterdam", "state": "noord-holland",
        "country": "netherlands", "data": {"EnvelopeId": "e-1"},
    }
    event.update(drift)
    return event


EVENTS = [
    monitor_event(0),
    monitor_event(1, latitude="47.6", longitude="-122.33"),  # numeric strings: coerced
    monitor_event(2, isUserMemberOfDomain="yes"),  # not a boolean: null, named, counted
    monitor_event(3, isUserMemberOfDomain="TRUE", referencedUserIsMemberOfDomain="false"),
    monitor_event(4, result=1, latitude={"deg": 47}),  # number for a string, object for a float
]


class OpenApiShapedDocuSign:
    """Admin, eSignature and Monitor answers in the specs' shapes, with the drift a real org showed."""

    def __init__(self, events=EVENTS, users_page=None) -> None:
        self.events = events
        self.users_page = users_page

    def __call__(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path == "/oauth/token":
            return httpx.Response(200, json={"access_token": "t0k3n", "token_type": "Bearer", "expires_in": 3600})
        if path == "/oauth/userinfo":
            return httpx.Response(200, json={"sub": ADMIN_USER, "accounts": [
                {"account_id": ACCOUNT, "is_default": True, "account_name": "Acme", "base_uri": ESIGN}]})
        if path == "/Management/v2/organizations":
            return httpx.Response(200, json={"organizations": [{
                "id": ORG, "name": "Acme", "default_account_id": ACCOUNT,
                # The Admin spec's own example sends the int64 as a string; site_id as "1".
                "accounts": [{"id": ACCOUNT, "name": "Acme", "external_account_id": "34784691", "site_id": "1"}],
            }]})
        if path == f"/Management/v2/organizations/{ORG}/users":
            return httpx.Response(200, json=self.users_page or {
                "users": [{"id": USER_A, "user_name": "Ann", "email": "ann@acme.example", "user_status": "active"},
                          {"id": USER_B, "user_name": "Bob", "email": "bob@acme.example", "user_status": "active"}],
                "paging": {"result_set_size": 2, "total_set_size": 2}})
        if path.endswith("/dsprofile"):
            uid = path.split("/")[-2]
            return httpx.Response(200, json={"users": [{
                "id": uid, "site_id": 1, "user_name": uid[:4], "user_status": "active",
                "default_account_id": ACCOUNT, "created_on": "2019-04-01T22:11:56.457",
                "is_organization_admin": "False" if uid == USER_A else "maybe",
                "require_two_step_verification": 0,
                "memberships": [{"id": f"m-{uid[:4]}", "email": f"{uid[:4]}@acme.example", "account_id": ACCOUNT,
                                 "status": "active", "is_admin": "true",
                                 "permission_profile": {"id": 14414475, "name": "DocuSign Viewer"}}],
            }]})
        if path == f"/restapi/v2.1/accounts/{ACCOUNT}/users":
            return httpx.Response(200, json={"users": [
                {"userId": USER_A, "userName": "Ann", "email": "ann@acme.example", "isAdmin": True,
                 "userStatus": "Active", "permissionProfileId": 14414475}],
                "resultSetSize": "1", "startPosition": "0", "endPosition": "0", "totalSetSize": "1"})
        if path == f"/restapi/v2.1/accounts/{ACCOUNT}/settings":
            return httpx.Response(200, json={"sessionTimeout": "twenty", "disableMultipleSessions": "True",
                                             "mobileSessionTimeout": 30, "enableSMSAuthentication": "yes"})
        if path == f"/restapi/v2.1/accounts/{ACCOUNT}/settings/password_rules":
            return httpx.Response(200, json={"minimumPasswordLength": "9", "expirePassword": "false"})
        if path == f"/v1/organizations/{ORG}/stream":
            cursor = request.url.params["cursor"]
            if cursor == "c-end":
                return httpx.Response(200, json={"endCursor": "c-end", "resultData": []})
            return httpx.Response(200, json={"endCursor": "c-end", "resultData": self.events})
        return httpx.Response(404, json={"errorCode": "NOT_FOUND"})


def client(settings, server=None) -> DocuSignClient:
    return DocuSignClient(settings, transport=httpx.MockTransport(server or OpenApiShapedDocuSign()),
                          sleep=lambda s: None, rng=random.Random(0))


# -- coercion rules ---------------------------------------------------------------------------


@pytest.mark.parametrize(("value", "type_", "expected"), [
    ("34784691", pa.int64(), 34784691), ("47.6", pa.float64(), 47.6), ("TRUE", pa.bool_(), True),
    (" false ", pa.bool_(), False), (34784691, pa.string(), "34784691"), (True, pa.string(), "true"),
    ("", pa.int32(), None), ("", pa.string(), ""),
])
def test_unambiguous_values_are_coerced(value, type_, expected):
    assert coerce(value, type_) == expected


@pytest.mark.parametrize(("value", "type_"), [
    ("yes", pa.bool_()), (1, pa.bool_()), ("1", pa.bool_()), (1.5, pa.int64()), ("2.5", pa.int32()),
    (True, pa.int64()), (True, pa.float64()), ("north", pa.float64()), ("nan", pa.float64()),
    ({"a": 1}, pa.string()), (2**40, pa.int32()),
])
def test_ambiguous_values_are_not_guessed(value, type_):
    assert coerce(value, type_) is INVALID


# -- snapshots through the real client ----------------------------------------------------------


def test_admin_snapshot_with_drifted_types_is_stored_whole_and_counted(settings):
    with client(settings) as c:
        tables, _ = take_organization_snapshot(c, "docusign", TAKEN)
    accounts = tables["raw_docusign_accounts"]
    assert accounts.column("external_account_id").to_pylist() == [34784691]
    assert accounts.column("site_id").to_pylist() == [1]
    assert table_drift(accounts).metadata() == {"coerced": {"external_account_id": 1, "site_id": 1}, "invalid": {}}
    users = tables["raw_docusign_organization_users"]
    assert users.num_rows == 2
    by_id = {r["id"]: r for r in users.to_pylist()}
    assert by_id[USER_A]["is_organization_admin"] is False
    # "maybe" and 0 are not booleans: null in the column, named in the quarantine column, counted
    assert by_id[USER_B]["is_organization_admin"] is None
    assert json.loads(by_id[USER_B]["_invalid_fields"]) == {
        "is_organization_admin": "maybe", "require_two_step_verification": 0}
    assert json.loads(by_id[USER_A]["_raw"])["is_organization_admin"] == "False"
    assert table_drift(users).invalid == {"is_organization_admin": 1, "require_two_step_verification": 2}
    memberships = tables["raw_docusign_memberships"]
    assert memberships.column("is_admin").to_pylist() == [True, True]


def test_esignature_snapshot_with_drifted_settings_is_stored_and_counted(settings):
    with client(settings) as c:
        tables, _ = take_esignature_snapshot(c, "docusign", TAKEN)
    row = tables["raw_docusign_account_settings"].to_pylist()[0]
    assert row["session_timeout"] is None and row["disable_multiple_sessions"] is True
    assert row["mobile_session_timeout"] == 30  # a number where the spec says string: kept
    assert json.loads(row["_invalid_fields"]) == {"session_timeout": "twenty", "enable_sms_authentication": "yes"}
    assert table_drift(tables["raw_docusign_account_settings"]).invalid == {
        "session_timeout": 1, "enable_sms_authentication": 1}
    users = tables["raw_docusign_account_users"].to_pylist()
    assert users[0]["isAdmin"] == "true" and users[0]["permissionProfileId"] == "14414475"
    assert tables["raw_docusign_password_rules"].to_pylist()[0]["minimum_password_length"] == 9


def test_user_without_id_fails_naming_endpoint_page_and_record(settings):
    page = {"users": [{"id": USER_A}, {"user_name": "ghost", "email": "ghost@acme.example"}],
            "paging": {"result_set_size": 2, "total_set_size": 2}}
    with client(settings, OpenApiShapedDocuSign(users_page=page)) as c, \
            pytest.raises(DocuSignDataError) as info:
        take_organization_snapshot(c, "docusign", TAKEN)
    message = str(info.value)
    assert "Admin organization users" in message and "record 1" in message and "start=0" in message
    assert "ghost@acme.example" in message


# -- events through the real client -------------------------------------------------------------


def test_drifted_events_are_stored_once_with_typed_columns_and_counted(settings, tmp_path):
    lake = Lake.at(tmp_path)
    drift = Drift()
    start, end = datetime(2026, 5, 4, tzinfo=timezone.utc), datetime(2026, 5, 5, tzinfo=timezone.utc)
    with client(settings) as c:
        counts = write_event_partitions(lake, c.audit_events(start, end), start=start, end=end,
                                        source="docusign", extracted_at=TAKEN, drift=drift)
    assert counts == {date(2026, 5, 4): 5}
    rows = {r["eventId"][-1]: r for r in pq.read_table(lake.partition_file(DATASET, date(2026, 5, 4))).to_pylist()}
    assert rows["1"]["latitude"] == 47.6 and rows["1"]["longitude"] == -122.33
    assert rows["2"]["isUserMemberOfDomain"] is None
    assert json.loads(rows["2"]["_invalid_fields"]) == {"isUserMemberOfDomain": "yes"}
    assert rows["3"]["isUserMemberOfDomain"] is True and rows["3"]["referencedUserIsMemberOfDomain"] is False
    assert rows["4"]["result"] == "1" and rows["4"]["latitude"] is None
    assert orjson.loads(rows["4"]["_raw"])["latitude"] == {"deg": 47}
    assert rows["0"]["_invalid_fields"] is None
    assert drift.metadata() == {
        "coerced": {"isUserMemberOfDomain": 1, "latitude": 1, "longitude": 1, "referencedUserIsMemberOfDomain": 1,
                    "result": 1},
        "invalid": {"isUserMemberOfDomain": 1, "latitude": 1},
    }


def test_invalid_json_page_names_endpoint_and_cursor(settings):
    def broken(request):
        if request.url.path.endswith("/stream"):
            return httpx.Response(200, text="<html>gateway</html>")
        return OpenApiShapedDocuSign()(request)

    start = datetime(2026, 5, 4, tzinfo=timezone.utc)
    with client(settings, broken) as c, pytest.raises(DocuSignDataError) as info:
        list(c.audit_events(start, start.replace(day=5)))
    assert "Monitor stream (v1)" in str(info.value) and "not JSON" in str(info.value)
    assert "'2026-05-04T00:00:00Z'" in str(info.value)


# -- Graph: records and a degraded audit log ----------------------------------------------------

GRAPH = "https://graph.microsoft.com"


def graph_client(audit_status: int | None, deleted=None, disabled=None) -> GraphClient:
    def handler(request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path.endswith("/oauth2/v2.0/token"):
            return httpx.Response(200, json={"access_token": "g", "expires_in": 3600})
        if path == "/v1.0/auditLogs/directoryAudits":
            if audit_status:
                return httpx.Response(audit_status, json={"error": {"code": "Authorization_RequestDenied",
                                                                    "message": "Insufficient privileges"}})
            return httpx.Response(200, json={"value": [{
                "id": "a1", "activityDateTime": "2026-05-02T09:30:00Z", "activityDisplayName": "Disable account",
                "targetResources": [{"id": "u-dis", "userPrincipalName": "dana@acme.example"}]}]})
        if path == "/v1.0/directory/deletedItems/microsoft.graph.user":
            return httpx.Response(200, json={"value": deleted if deleted is not None else [{
                "id": "5e1f0c2a-8b7d-4e3f-9a10-112233445566",
                "userPrincipalName": "5e1f0c2a8b7d4e3f9a10112233445566erin@acme.example",
                "mail": None, "proxyAddresses": ["SMTP:erin@acme.example", "smtp:e.old@acme.example"],
                "deletedDateTime": "2026-05-01T17:00:00Z"}]})
        if path == "/v1.0/users":
            return httpx.Response(200, json={"value": disabled if disabled is not None else [{
                "id": "u-dis", "userPrincipalName": "dana@acme.example", "mail": "dana.w@acme.example",
                "otherMails": ["dana@home.example"], "accountEnabled": False}]})
        return httpx.Response(404, json={"error": {"code": "Request_ResourceNotFound"}})

    settings = GraphSettings(tenant_id="t", client_id="c", client_secret="s", graph_url=GRAPH,
                             authority_url="https://login.microsoftonline.com", max_attempts=1)
    return GraphClient(settings, transport=httpx.MockTransport(handler), sleep=lambda s: None)


def test_graph_audit_log_dates_disabled_users():
    warnings: list[str] = []
    with graph_client(None) as graph:
        records = {r["idp_user_id"]: r for r, _ in read_graph(graph, since=TAKEN.replace(month=2), until=TAKEN,
                                                                warnings=warnings)}
    assert warnings == []
    assert records["u-dis"]["status_changed_at_source"] == "directory_audit"
    assert records["u-dis"]["other_emails"] == ["dana@home.example"]


@pytest.mark.parametrize("status", [403, 404])
def test_graph_audit_log_refused_or_missing_is_a_warning_not_a_failure(status):
    warnings: list[str] = []
    with graph_client(status) as graph:
        records = {r["idp_user_id"]: r for r, _ in read_graph(graph, since=TAKEN.replace(month=2), until=TAKEN,
                                                                warnings=warnings)}
    assert len(warnings) == 1 and f"HTTP {status}" in warnings[0] and AUDIT_PERMISSION in warnings[0]
    deleted = records["5e1f0c2a-8b7d-4e3f-9a10-112233445566"]
    assert deleted["status"] == "deleted" and deleted["status_changed_at_source"] == "deleted_date_time"
    assert deleted["status_changed_at"] == datetime(2026, 5, 1, 17, tzinfo=timezone.utc)
    assert deleted["other_emails"] == ["SMTP:erin@acme.example", "smtp:e.old@acme.example"]
    disabled = records["u-dis"]
    # still found; undated, so the detection dates it from the first snapshot listing it
    assert disabled["status"] == "disabled" and disabled["status_changed_at"] is None
    assert disabled["status_changed_at_source"] is None


def test_graph_other_errors_still_fail():
    with graph_client(500) as graph, pytest.raises(Exception, match="HTTP 500"):
        read_graph(graph, since=TAKEN.replace(month=2), until=TAKEN, warnings=[])


def test_graph_user_without_id_fails_naming_the_page():
    with graph_client(None, deleted=[{"userPrincipalName": "x@acme.example"}]) as graph, \
            pytest.raises(GraphDataError, match=r"Graph deleted users: record 0 of the page .*x@acme\.example"):
        read_graph(graph, since=TAKEN.replace(month=2), until=TAKEN, warnings=[])


def test_graph_unreadable_deletion_time_is_null_and_named():
    deleted = [{"id": "d-1", "userPrincipalName": "f@acme.example", "deletedDateTime": "last tuesday"}]
    with graph_client(None, deleted=deleted, disabled=[]) as graph:
        (row, raw), = read_graph(graph, since=TAKEN.replace(month=2), until=TAKEN, warnings=[])
    assert row["status_changed_at"] is None and row["_invalid_fields"] == {"status_changed_at": "last tuesday"}


def test_drift_is_counted_only_for_the_events_the_window_stores(settings, tmp_path):
    past_midnight = monitor_event(9, timestamp="2026-05-05T00:05:00Z", isUserMemberOfDomain="yes", latitude="1.5")
    lake, drift = Lake.at(tmp_path), Drift()
    start, end = datetime(2026, 5, 4, tzinfo=timezone.utc), datetime(2026, 5, 5, tzinfo=timezone.utc)
    with client(settings, OpenApiShapedDocuSign(events=[*EVENTS, past_midnight])) as c:
        counts = write_event_partitions(lake, c.audit_events(start, end), start=start, end=end,
                                        source="docusign", extracted_at=TAKEN, drift=drift)
    assert counts == {date(2026, 5, 4): 5}  # the lag overlap is read, and left for its own day
    assert drift.invalid == {"isUserMemberOfDomain": 1, "latitude": 1}
    assert drift.coerced["latitude"] == 1


@pytest.mark.parametrize("status", [403, 404])
def test_identity_snapshot_with_an_unreadable_audit_log_warns_and_still_lists_users(status, tmp_path, monkeypatch):
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    import dagster as dg

    from dsassets.defs.extract.identity import raw_idp_users
    from dsassets.defs.resources import DocuSignResource, IdentityProviderResource, LakeResource

    class Entra(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - the token endpoint
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            self._send(200, {"access_token": "g", "expires_in": 3600})

        def do_GET(self):  # noqa: N802
            if self.path.startswith("/v1.0/auditLogs/directoryAudits"):
                self._send(status, {"error": {"code": "Authorization_RequestDenied"}})
            elif self.path.startswith("/v1.0/directory/deletedItems"):
                self._send(200, {"value": [{"id": "d-1", "userPrincipalName": "d1f0erin@acme.example",
                                            "deletedDateTime": "2026-11-10T17:00:00Z"}]})
            else:
                self._send(200, {"value": [{"id": "u-2", "userPrincipalName": "dana@acme.example",
                                            "accountEnabled": False}]})

        def _send(self, code, body):
            payload = orjson.dumps(body)
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Entra)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    for name, value in {"ENTRA_TENANT_ID": "t", "ENTRA_CLIENT_ID": "c", "ENTRA_CLIENT_SECRET": "s",
                        "ENTRA_AUTHORITY_URL": url, "ENTRA_GRAPH_URL": url}.items():
        monkeypatch.setenv(name, value)
    instance = dg.DagsterInstance.ephemeral()
    try:
        result = dg.materialize([raw_idp_users], partition_key="2026-11-12", instance=instance, resources={
            "lake": LakeResource(data_dir=str(tmp_path)), "docusign": DocuSignResource(simulator_events_per_day=50),
            "identity_provider": IdentityProviderResource()})
    finally:
        server.shutdown()
    assert result.success
    [warning] = result.asset_materializations_for_node("raw_idp_users")[0].metadata["warnings"].value
    assert f"HTTP {status}" in warning and "AuditLog.Read.All" in warning
    run_log = [e.user_message for e in instance.all_logs(result.run_id) if e.level == logging.WARNING]
    assert any("AuditLog.Read.All" in m for m in run_log)
    rows = pq.read_table(Lake.at(tmp_path).partition_file("raw_idp_users", date(2026, 11, 12))).to_pylist()
    assert {(r["idp_user_id"], r["status"], r["status_changed_at_source"]) for r in rows} == {
        ("d-1", "deleted", "deleted_date_time"), ("u-2", "disabled", None)}


def test_an_organization_whose_reserved_domains_cannot_be_read_is_still_snapshotted(settings):
    """A 404 (or 403) on reserved domains leaves the list empty and says why; users still arrive."""
    with client(settings) as c:
        tables, how = take_organization_snapshot(c, "docusign", TAKEN)
    assert tables["raw_docusign_reserved_domains"].num_rows == 0
    assert tables["raw_docusign_organization_users"].num_rows > 0
    assert "HTTP 404" in how["reserved_domains_unreadable"]
