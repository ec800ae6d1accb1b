"""Bulk organization users: the Admin API user-list export (request, poll, download) and its fallback.

A spec-shaped fake (MockTransport) drives the client through polling, failure and timeout with a
fake clock; the simulator shows the export gives the per-user path's rows, and that a failed
export falls back to the per-user path and says so.
"""

from __future__ import annotations

import random
from datetime import datetime, timezone

import httpx
import pyarrow as pa
import pytest
from support.openapi import check_request, validate_response
from test_clients_docusign import FakeTime, make_settings, private_pem, rsa_key  # noqa: F401 (fixtures)

from dsassets.defs.extract.organization_users import take_users_in_bulk
from dsassets.defs.extract.snapshots import per_user_tables, take_organization_snapshot
from dsassets.lib.clients.docusign import DocuSignClient
from dsassets.lib.clients.docusign_export import ExportError, ExportTimeout, export_memberships
from dsassets.lib.config.settings import ConfigError, bulk_export_min_users
from dsassets.lib.lake.snapshots import MalformedRecordError
from dsassets.lib.lake.user_export import export_tables, read_export_csv
from dsassets.simulator import DocuSignSimulator, Fault, SimulatorConfig

ORG = "0e9b9f0a-1c2d-4e5f-8a9b-0c1d2e3f4a5b"
EXPORT = "5d3c2b1a-0f9e-4d8c-8b7a-6f5e4d3c2b1a"
ACCOUNT_A = "a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d"
ACCOUNT_B = "b2c3d4e5-f6a7-4b8c-9d0e-1f2a3b4c5d6e"
ADMIN = "https://api-d.docusign.net/Management"  # the host make_settings uses
NOW = datetime(2026, 11, 10, 23, 0, tzinfo=timezone.utc)
# Not the simulator's layout: another column order, an extra column, upper-case booleans, CRLF.
CSV = (
    "account_name,account_id,email,id,membership_id,membership_status,is_admin,permission_profile_id,"
    "permission_profile_name,membership_created_on,membership_closed_on,user_name,first_name,last_name,"
    "user_status,default_account_id,is_organization_admin,federated_status,require_two_step_verification,"
    "device_verification_enabled,created_on,external_account_id\r\n"
    f'"Sales, EMEA",{ACCOUNT_A},ann@example.org,u-1,m-1,active,TRUE,7,Sender,2021-01-02T03:04:05.5,,'
    "Ann Lee,Ann,Lee,active,{ACCOUNT_A},False,FedAuthRequired,true,false,2021-01-01T00:00:00.0,0012345\r\n"
    f"Legal,{ACCOUNT_B},ann.lee@example.org,u-1,m-2,closed,false,2,Viewer,2021-02-02T00:00:00.0,"
    "2022-02-02T00:00:00.0,Ann Lee,Ann,Lee,active,{ACCOUNT_A},False,FedAuthRequired,true,false,"
    "2021-01-01T00:00:00.0,0012345\r\n"
    f"Legal,{ACCOUNT_B},bo@example.org,u-2,m-3,active,false,,,2023-05-05T00:00:00.0,,Bo,Bo,,closed,{ACCOUNT_B},"
    "true,,false,false,2023-05-05T00:00:00.0,\r\n"
).replace("{ACCOUNT_A}", ACCOUNT_A).replace("{ACCOUNT_B}", ACCOUNT_B)


class FakeAdmin:
    """The export endpoints as the Admin spec shapes them; ``statuses`` are served in turn."""

    def __init__(self, statuses: list[dict], retry_after: str | None = None, csv: str = CSV):
        self.statuses = statuses
        self.retry_after = retry_after
        self.csv = csv
        self.exchanges: list[tuple[httpx.Request, int, object]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        assert len(self.exchanges) < 50, "runaway polling"
        path = request.url.path
        base = f"/Management/v2/organizations/{ORG}/exports/user_list"
        headers = {}
        if request.url.host == "account-d.docusign.com":
            body: object = {"access_token": "tok", "token_type": "Bearer", "expires_in": 3600}
        elif request.method == "POST" and path == base:
            body = {"id": EXPORT, "type": "organization_memberships_export", "status": "queued",
                    "metadata_url": f"{ADMIN}/v2/organizations/{ORG}/exports/user_list/{EXPORT}"}
        elif request.method == "GET" and path == f"{base}/{EXPORT}":
            status = self.statuses.pop(0) if len(self.statuses) > 1 else self.statuses[0]  # the last one stays
            body = {"id": EXPORT, **status}
            if self.retry_after and body.get("status") != "completed":
                headers["Retry-After"] = self.retry_after
        elif path == f"{base}/{EXPORT}/results/r1":
            self.exchanges.append((request, 200, None))
            return httpx.Response(200, text=self.csv, headers={"Content-Type": "text/csv"})
        else:
            raise AssertionError(f"unexpected {request.method} {path}")
        self.exchanges.append((request, 200, body))
        return httpx.Response(200, json=body, headers=headers)


def completed(url: str = f"{ADMIN}/v2/organizations/{ORG}/exports/user_list/{EXPORT}/results/r1", rows: int = 3):
    return {"status": "completed", "success": True, "percent_completed": 100, "number_rows": rows,
            "results": [{"id": EXPORT, "url": url, "number_rows": rows, "size_bytes": len(CSV)}]}


IN_PROCESS = {"status": "in_process", "percent_completed": 40, "success": False}  # not a failure yet


def client_for(server: FakeAdmin, pem: str) -> DocuSignClient:
    settings = make_settings(pem, organization_id=ORG, admin_url=ADMIN)
    return DocuSignClient(settings, transport=httpx.MockTransport(server), sleep=lambda s: None, rng=random.Random(0))


def test_request_poll_and_download_follow_the_spec_and_retry_after(private_pem):
    server = FakeAdmin([IN_PROCESS, IN_PROCESS, completed()], retry_after="5")
    fake = FakeTime()
    with client_for(server, private_pem) as client:
        result = export_memberships(client, clock=fake.clock, sleep=fake.sleep)
    assert result.export_id == EXPORT and result.number_rows == 3
    assert result.csv_parts == [CSV.encode()]
    # First poll fast; then the server's Retry-After (5 s) wins over the doubling interval.
    assert fake.sleeps == [0.25, 5.0, 10.0]
    admin = [(r, s, b) for r, s, b in server.exchanges if r.url.host == "api-d.docusign.net"]
    create = admin[0][0]
    assert create.method == "POST"
    assert create.headers["Authorization"] == "Bearer tok"
    templates = []
    for request, status, body in admin[:-1]:  # the last is the CSV download: its URL is DocuSign's to choose
        template, _ = check_request("admin", request)
        templates.append((request.method, template))
        validate_response("admin", request.method, request.url.path, status, body)
    assert templates == [("POST", "/v2/organizations/{organizationId}/exports/user_list")] + [
        ("GET", "/v2/organizations/{organizationId}/exports/user_list/{exportId}")
    ] * 3
    assert admin[-1][0].headers["Accept"] == "text/csv"


def test_the_spec_check_rejects_an_undeclared_body_property():
    bad = httpx.Request("POST", f"{ADMIN}/v2/organizations/{ORG}/exports/user_list", json={"kind": "all"})
    with pytest.raises(AssertionError, match="request body"):
        check_request("admin", bad)


def test_a_failed_export_names_its_id_and_docusigns_reason(private_pem):
    failed = {"status": "failed", "success": False, "results": [
        {"id": EXPORT, "error_details": {"error": "E42", "error_description": "export service unavailable"}}]}
    with client_for(FakeAdmin([IN_PROCESS, failed]), private_pem) as client, pytest.raises(ExportError) as raised:
        export_memberships(client, clock=FakeTime().clock, sleep=lambda s: None)
    assert raised.value.export_id == EXPORT
    assert EXPORT in str(raised.value) and "export service unavailable" in str(raised.value)


def test_an_export_still_pending_at_the_deadline_times_out_naming_it(private_pem):
    fake = FakeTime()
    with client_for(FakeAdmin([IN_PROCESS]), private_pem) as client, pytest.raises(ExportTimeout) as raised:
        export_memberships(client, timeout_seconds=60, clock=fake.clock, sleep=fake.sleep)
    assert EXPORT in str(raised.value) and "40% done" in str(raised.value)
    assert sum(fake.sleeps) <= 60  # bounded: it never sleeps past the deadline
    assert max(fake.sleeps) <= 30


def test_a_result_url_on_another_host_is_not_sent_the_token(private_pem):
    server = FakeAdmin([completed(url="https://files.example.com/export.csv")])
    with client_for(server, private_pem) as client, pytest.raises(ExportError, match="points off"):
        export_memberships(client, clock=FakeTime().clock, sleep=lambda s: None)
    assert all(r.url.host != "files.example.com" for r, _, _ in server.exchanges)


def shaped(csv: str, accounts=(ACCOUNT_A, ACCOUNT_B)) -> dict[str, pa.Table]:
    table = read_export_csv([csv.encode()], EXPORT)
    return export_tables(table, organization_id=ORG, account_ids=list(accounts), export_id=EXPORT,
                         source="docusign", taken_at=NOW)


def test_csv_rows_become_typed_users_and_memberships_whatever_the_column_order():
    tables = shaped(CSV)
    users = tables["raw_docusign_organization_users"].to_pylist()
    assert [u["id"] for u in users] == ["u-1", "u-2"]
    ann, bo = users
    assert ann["email"] == "ann@example.org"  # the first membership's, as the per-user path takes it
    assert (ann["is_organization_admin"], ann["require_two_step_verification"], bo["is_organization_admin"]) == (
        False, True, True)
    assert bo["last_name"] is None and bo["federated_status"] is None
    members = tables["raw_docusign_memberships"].to_pylist()
    assert [(m["user_id"], m["id"], m["account_name"], m["is_admin"]) for m in members] == [
        ("u-1", "m-1", "Sales, EMEA", True), ("u-1", "m-2", "Legal", False), ("u-2", "m-3", "Legal", False)]
    assert members[1]["closed_on"] == "2022-02-02T00:00:00.0" and members[0]["closed_on"] is None
    assert members[2]["permission_profile_id"] is None
    assert '"external_account_id":"0012345"' in members[0]["_raw"]  # _raw keeps the whole record as sent
    # Only users with a membership in an extracted account, with all their memberships.
    only_a = shaped(CSV, accounts=(ACCOUNT_A.upper(),))
    assert only_a["raw_docusign_organization_users"].column("id").to_pylist() == ["u-1"]
    assert only_a["raw_docusign_memberships"].num_rows == 2


def test_a_missing_column_or_a_bad_boolean_is_an_error_naming_it_and_the_export():
    with pytest.raises(MalformedRecordError, match=f"{EXPORT}.*membership_status"):
        shaped(CSV.replace("membership_status", "state"))
    with pytest.raises(MalformedRecordError, match=f"{EXPORT}.*is_admin has yes"):
        shaped(CSV.replace(",TRUE,", ",yes,"))


def test_threshold_setting_defaults_and_names_itself_when_bad():
    assert bulk_export_min_users({}) == 2000
    assert bulk_export_min_users({"DSASSETS_BULK_EXPORT_MIN_USERS": "0"}) == 0
    for bad in ("many", "-1"):
        with pytest.raises(ConfigError, match="DSASSETS_BULK_EXPORT_MIN_USERS"):
            bulk_export_min_users({"DSASSETS_BULK_EXPORT_MIN_USERS": bad})


# -- against the simulator ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def sim() -> DocuSignSimulator:
    return DocuSignSimulator(SimulatorConfig(seed=5, events_per_day=3000), now=lambda: NOW)


def sim_client(sim, faults=()) -> DocuSignClient:
    return DocuSignClient(sim.docusign_settings(), transport=sim.transport(faults=list(faults)), sleep=lambda s: None)


def by_key(table: pa.Table, keys: list[str]) -> pa.Table:
    return table.drop_columns(["_raw"]).sort_by([(k, "ascending") for k in keys])


def test_bulk_export_gives_the_per_user_rows_on_the_simulator(sim, monkeypatch):
    monkeypatch.setenv("DSASSETS_BULK_EXPORT_MIN_USERS", "1")
    with sim_client(sim) as client:
        org, accounts = client.organization()["id"], client.organization_accounts()
        per_user = per_user_tables(client, org, accounts, source="simulator", taken_at=NOW)
        bulk, how = take_users_in_bulk(client, org, accounts, source="simulator", taken_at=NOW)
    assert how["users_via"] == "bulk_export" and how["memberships_listed"] >= 1
    users, members = "raw_docusign_organization_users", "raw_docusign_memberships"
    assert per_user[users].num_rows > 50 and per_user[members].num_rows > per_user[users].num_rows
    assert bulk[users].schema == per_user[users].schema
    assert by_key(bulk[users], ["id"]).equals(by_key(per_user[users], ["id"]))
    assert by_key(bulk[members], ["user_id", "account_id"]).equals(by_key(per_user[members], ["user_id", "account_id"]))


def test_below_the_threshold_no_export_is_requested(sim, monkeypatch):
    monkeypatch.setenv("DSASSETS_BULK_EXPORT_MIN_USERS", "1000000")
    sim.request_log.clear()
    with sim_client(sim) as client:
        _, how = take_organization_snapshot(client, "simulator", NOW)
    assert how["users_via"] == "per_user" and "bulk_export_error" not in how
    assert not [p for _, p, _ in sim.request_log if "/exports/" in p]
    assert any(p.endswith("/dsprofile") for _, p, _ in sim.request_log)


def test_a_failed_export_falls_back_to_the_per_user_rows_and_says_so(sim, monkeypatch):
    monkeypatch.setenv("DSASSETS_BULK_EXPORT_MIN_USERS", "0")
    failed = {"status": "failed", "success": False, "results": []}
    fault = Fault(path_contains="/exports/user_list/", status=200, times=None, body=failed, method="GET")
    with sim_client(sim, [fault]) as client:
        tables, how = take_organization_snapshot(client, "simulator", NOW)
    monkeypatch.setenv("DSASSETS_BULK_EXPORT_MIN_USERS", "1000000")
    with sim_client(sim) as client:
        expected, _ = take_organization_snapshot(client, "simulator", NOW)
    assert how["users_via"] == "per_user"
    assert "failed" in how["bulk_export_error"] and "Admin user list export " in how["bulk_export_error"]
    for name in expected:
        assert tables[name].equals(expected[name]), name


def test_the_simulators_export_responses_fit_the_spec(sim):
    transport = sim.transport()
    with httpx.Client(transport=transport) as http:
        token = http.post(
            f"{sim.docusign_settings().auth_server}/oauth/token",
            data={"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer", "assertion": _assertion(sim)},
        ).json()["access_token"]
        auth = {"Authorization": f"Bearer {token}"}
        base = f"{sim.docusign_settings().admin_url}/v2/organizations/{sim.organization_id}/exports/user_list"
        created = http.post(base, json={"type": "organization_memberships_export"}, headers=auth)
        bad = http.post(base, json={"type": "everything"}, headers=auth)
        polls = [http.get(created.json()["metadata_url"], headers=auth) for _ in range(2)]
        csv = http.get(polls[-1].json()["results"][0]["url"], headers=auth)
    for response in [created, *polls]:
        check_request("admin", response.request)
        validate_response("admin", response.request.method, response.request.url.path, 200, response.json(),
                          allow_null=False)
    assert bad.status_code == 400
    assert [p.json()["status"] for p in polls] == ["in_process", "completed"]
    assert csv.headers["Content-Type"].startswith("text/csv")
    assert polls[-1].json()["number_rows"] == read_export_csv([csv.content], "x").num_rows


def _assertion(sim) -> str:
    import time

    import jwt

    s = sim.docusign_settings()
    now = int(time.time())
    claims = {"iss": s.integration_key, "sub": s.user_id, "aud": s.auth_host, "iat": now, "exp": now + 600,
              "scope": s.scopes}
    return jwt.encode(claims, s.private_key_pem, algorithm="RS256")


def test_the_fallback_is_recorded_in_the_assets_metadata(tmp_path, monkeypatch):
    import contextlib

    import dagster as dg

    from dsassets.defs.extract.snapshots import raw_docusign_organization
    from dsassets.defs.resources import DocuSignResource, LakeResource, _simulator

    class FailingExports(DocuSignResource):
        @contextlib.contextmanager
        def client(self, as_of=None):
            simulator, clock = _simulator(self.simulator_seed, self.simulator_events_per_day)
            clock.pinned = as_of
            fault = Fault(path_contains="/exports/user_list", status=403, times=None, method="POST",
                          body={"error": "unauthorized", "error_description": "user_read scope required"})
            try:
                with DocuSignClient(simulator.docusign_settings(), transport=simulator.transport(faults=[fault])) as c:
                    yield c
            finally:
                clock.pinned = None

    for name in ("DOCUSIGN_INTEGRATION_KEY", "DOCUSIGN_USER_ID", "DOCUSIGN_PRIVATE_KEY_FILE",
                 "DOCUSIGN_ORGANIZATION_ID"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DSASSETS_BULK_EXPORT_MIN_USERS", "1")
    result = dg.materialize(
        [raw_docusign_organization],
        resources={"lake": LakeResource(data_dir=str(tmp_path)),
                   "docusign": FailingExports(simulator_seed=11, simulator_events_per_day=400)},
        partition_key="2026-11-10",
    )
    assert result.success
    for event in result.get_asset_materialization_events():
        how = event.materialization.metadata["how_taken"].value["2026-11-10"]
        assert how["users_via"] == "per_user"
        assert "HTTP 403" in how["bulk_export_error"] and "user_read scope required" in how["bulk_export_error"]
