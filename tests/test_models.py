"""The warehouse end to end on a hand-built lake: staging normalization, marts, checks, warehouse.duckdb.

One module-scoped run materializes every model over two days (2026-11-02 and 2026-11-03) plus
the checks and ``warehouse``; the tests then read the Parquet marts and the .duckdb file.
"""

import json
import re
import subprocess
import sys
import textwrap
from datetime import date

import dagster as dg
import duckdb
import pytest

from dsassets.defs.resources import LakeResource
from dsassets.defs.models import checks
from dsassets.defs.models.assets import model_assets
from dsassets.lib.lake.partitions import range_tags
from dsassets.lib.transform.files import SQL_DIR
from dsassets.lib.transform.models import BY_NAME, MODELS
from dsassets.defs.warehouse.warehouse import refresh_warehouse, warehouse
from dsassets.lib.transform import sql
from dsassets.lib.config.project import load_config
from dsassets.lib.lake.lake import Lake
from support.warehouse_lake import ACCOUNT_A, ACCOUNT_B, LakeBuilder, ts

D1, D2 = date(2026, 11, 2), date(2026, 11, 3)
RANGE = range_tags(D1, D2)
ALL_CHECKS = [
    *checks.key_checks,
    checks.activities_user_known_or_marked_unknown,
    checks.activities_reconciled_with_raw_and_staging,
]
MARTS = [m.name for m in MODELS if m.layer != "staging"]


def build_case(root) -> dict[str, str]:
    """The hand-built organization. Returns event ids worth asserting on by name."""
    b = LakeBuilder(root)
    people = {
        "alice": [(ACCOUNT_A, "active"), (ACCOUNT_B, "active")],  # active everywhere
        "bob": [(ACCOUNT_A, "active"), (ACCOUNT_B, "closed")],  # partially active
        "carol": [(ACCOUNT_A, "closed"), (ACCOUNT_B, "closed")],  # deleted: closed everywhere
        "dave": [(ACCOUNT_A, "active")],  # deleted at organization level
        "erin": [(ACCOUNT_A, "active")],  # account admin
        "frank": [(ACCOUNT_A, "active")],  # organization admin
        "gina": [(ACCOUNT_A, "active")],  # closed by an event after the D2 snapshot
        "hank": [(ACCOUNT_A, "active")],  # gone from the D2 snapshots
        "ivan": [(ACCOUNT_A, "active")],  # deleted in the identity provider
        "jill": [],  # listed in the organization, no membership anywhere
    }
    for day, hour in ((D1, 23), (D2, 6)):
        for name, memberships in people.items():
            if name == "hank" and day == D2:
                continue
            email = f"{name}@acme.example"
            b.org_user(day, f"u-{name}", email, status="closed" if name == "dave" else "active",
                       org_admin=name == "frank", hour=hour)
            for account, status in memberships:
                admin = name == "erin"
                b.membership(day, f"u-{name}", account, email, status=status, is_admin=admin,
                             profile="DocuSign Administrator" if admin else "Sender", hour=hour,
                             closed_on="2026-10-01T08:00:00.000" if status == "closed" else None)
        b.account_user(day, "u-alice", ACCOUNT_A, "ALICE@acme.example", hour=hour)
    b.idp_user(D1, "ivan@acme.example", "deleted", ts(D1, 8))
    b.idp_user(D2, "ivan@acme.example", "deleted", ts(D1, 8))

    ids = {}
    us = {"latitude": 47.6, "longitude": -122.33, "country": "united states",
          "state": "washington", "city": "seattle"}
    ids["alice_login"] = b.signin(ts(D1, 9).replace(microsecond=123456), "u-alice", location=us)
    # the source padded as trim() leaves it: the sign-in rules still see "API" (non-interactive)
    ids["alice_failed_api"] = b.signin(ts(D1, 9, 5), "u-alice", ok=False, source="\tAPI\r\n",
                                       location={"country": "GB"})
    # padded and spaced with whitespace that trim and RE2's \s do not know (a tab, a no-break space)
    ids["country_gb_lower"] = b.event(ts(D1, 9, 10), user_id="u-alice\t", location={"country": "gb\t"})
    ids["country_russia"] = b.event(ts(D1, 9, 15), user_id="u-alice",
                                    location={"country": "russia", "latitude": 55.75, "longitude": 37.6})
    ids["country_korea"] = b.event(ts(D1, 9, 20), user_id="u-alice", location={"country": "south\u00a0korea"})
    ids["fallback_v4"] = b.signin(ts(D1, 10), "u-alice", ip="8.8.8.8", location=None)
    # a country of whitespace only is missing, as Python's key makes it: the address is looked up
    ids["fallback_v6"] = b.event(ts(D1, 10, 5), user_id="u-alice", ip="2001:4860:4860::8888",
                                 location={"country": "\t\r\n"})
    ids["fallback_empty_location"] = b.event(ts(D1, 10, 10), user_id="u-alice", ip="8.8.4.4",
                                             location={})
    ids["garbage_country"] = b.event(ts(D1, 10, 15), user_id="u-alice", ip="8.8.8.8",
                                     location={"country": "atlantis"})
    ids["private_ip"] = b.event(ts(D1, 10, 20), user_id="u-alice", ip="10.1.2.3", location=None)
    ids["invalid_ip"] = b.event(ts(D1, 10, 25), user_id="u-alice", ip="not-an-ip", location=None)
    ids["bob_in_closed_account"] = b.event(ts(D1, 11), user_id="u-bob", account_id=ACCOUNT_B,
                                           action="Downloaded")
    ids["ghost"] = b.event(ts(D1, 11, 30), user_id="u-ghost", action="Viewed")
    ids["org_event_no_user"] = b.event(ts(D1, 12), user_id=None, account_id="",
                                       object="Organization", action="AccountLinked", location=None,
                                       ip="")
    ids["setting_change"] = b.event(ts(D1, 13), user_id="u-frank", object="Account", action="Updated",
                                    property="sessionTimeout",
                                    data={"OldValue": "20", "NewValue": "120"})
    ids["ivan_after_idp_delete"] = b.signin(ts(D1, 14), "u-ivan")
    # D2
    ids["alice_made_org_admin"] = b.event(ts(D2, 10), user_id="u-frank", account_id="",
                                          object="Organization", action="AdminAdded",
                                          affected_user_id="u-alice")
    ids["gina_closed"] = b.event(ts(D2, 10, 30), user_id="u-erin", object="Account",
                                 action="UserClosed", data={"AffectedUserId": "u-gina"})
    ids["gina_after_close"] = b.signin(ts(D2, 11), "u-gina")
    ids["alice_d2"] = b.signin(ts(D2, 12), "u-alice", source="Mobile")
    b.write()
    return ids


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    root = tmp_path_factory.mktemp("lake")
    ids = build_case(root)
    resources = {"lake": LakeResource(data_dir=str(root))}
    result = dg.materialize([*model_assets, *ALL_CHECKS], resources=resources, tags=RANGE)
    assert result.success
    assert dg.materialize([warehouse], resources=resources).success
    return {"root": root, "ids": ids, "result": result, "resources": resources}


def read(run, model: str, where: str = "true"):
    con = duckdb.connect()
    con.execute("set TimeZone = 'UTC'")
    rel = con.sql(
        f"select * from {sql.parquet_scan(sql.model_glob(Lake.at(run['root']), model))} "
        f"where {where}"
    )
    return [dict(zip(rel.columns, row)) for row in rel.fetchall()]


def test_each_day_of_a_range_run_is_its_own_materialization_with_its_own_row_count(run):
    for model in ("activities", "users", "int_user_activity_daily"):
        mats = run["result"].asset_materializations_for_node(model)
        per_day = per_day_of(run, model)
        assert sorted(m.partition for m in mats) == [D1.isoformat(), D2.isoformat()], model
        for mat in mats:
            assert mat.metadata["dagster/row_count"].value == per_day.get(mat.partition, 0), (model, mat.partition)
    # the two days differ, so a range-wide count on both partitions would fail above
    assert len(set(per_day_of(run, "activities").values())) == 2


def per_day_of(run, model: str) -> dict[str, int]:
    counts: dict[str, int] = {}
    for row in read(run, model):
        counts[row["dt"].isoformat()] = counts.get(row["dt"].isoformat(), 0) + 1
    return counts


def activity(run, name: str) -> dict:
    rows = read(run, "activities", f"event_id = '{run['ids'][name]}'")
    assert len(rows) == 1
    return rows[0]


# ---------- staging normalization


@pytest.mark.parametrize(
    ("event", "code", "status"),
    [
        ("alice_login", "US", "recognized"),  # lowercase full name
        ("alice_failed_api", "GB", "recognized"),  # code
        ("country_gb_lower", "GB", "recognized"),  # lowercase code, a tab after it
        ("country_russia", "RU", "recognized"),
        ("country_korea", "KR", "recognized"),  # a no-break space inside
        ("fallback_v4", "US", "missing"),  # no ipAddressLocation: looked up
        ("fallback_v6", "CA", "missing"),  # a country of a tab and a line break: looked up (bundled IP data)
        ("garbage_country", "US", "unrecognized"),  # unknown name: flagged, then looked up
        ("private_ip", None, "missing"),  # nothing to look up
    ],
)
def test_countries_normalized_to_alpha2(run, event, code, status):
    row = activity(run, event)
    assert row["country_code"] == code
    assert row["docusign_country_status"] == status


def test_unrecognized_country_keeps_the_raw_value(run):
    row = activity(run, "garbage_country")
    assert row["docusign_country_raw"] == "atlantis"


def test_timestamps_are_utc_from_seven_fraction_digits(run):
    row = activity(run, "alice_login")
    assert row["event_timestamp_raw"] == "2026-11-02T09:00:00.1234561Z"
    assert row["event_at"].isoformat() == "2026-11-02T09:00:00.123456+00:00"


def test_location_source_docusign_or_lookup(run):
    docusign = activity(run, "country_russia")
    assert (docusign["location_source"], docusign["latitude"]) == ("docusign", 55.75)
    for name in ("fallback_v4", "fallback_v6", "fallback_empty_location"):
        row = activity(run, name)
        assert row["location_source"] == "ip_lookup", name
        assert row["country_code"] is not None and row["latitude"] is not None, name
    for name in ("private_ip", "invalid_ip", "org_event_no_user"):
        row = activity(run, name)
        assert row["location_source"] is None and row["country_code"] is None, name


def test_only_addresses_without_location_are_looked_up(run):
    rows = {r["ip_address_raw"]: r for r in read(run, "int_ip_addresses", f"dt = '{D1}'")}
    assert rows["203.0.113.10"]["needs_location"] is False
    assert rows["203.0.113.10"]["lookup_country_code"] is None
    assert rows["8.8.8.8"]["needs_location"] is True
    assert rows["8.8.8.8"]["lookup_country_code"] == "US"
    assert "DBIP-City-Lite" in rows["8.8.8.8"]["lookup_database"]


def test_ipv6_and_invalid_addresses(run):
    v6 = activity(run, "fallback_v6")
    assert (v6["ip_address"], v6["ip_version"], v6["ip_status"]) == ("2001:4860:4860::8888", 6, "valid")
    bad = activity(run, "invalid_ip")
    assert (bad["ip_address"], bad["ip_address_raw"], bad["ip_status"]) == (None, "not-an-ip", "invalid")
    assert activity(run, "org_event_no_user")["ip_status"] == "missing"


def test_signin_classes_from_default_mapping(run):
    assert activity(run, "alice_login")["signin_class"] == "interactive_success"
    assert activity(run, "alice_failed_api")["signin_class"] == "non_interactive_failure"
    assert activity(run, "alice_d2")["signin_class"] == "interactive_success"  # Mobile
    row = activity(run, "bob_in_closed_account")
    assert row["signin_class"] is None and row["is_signin"] is False


def test_signin_mapping_changed_by_configuration(run, tmp_path, monkeypatch):
    config = tmp_path / "dsassets.yaml"
    config.write_text(textwrap.dedent("""\
        signin:
          rules:
            - {object: envelope, action: downloaded, outcome: failure, interactive: false}
            - {object: User, action: Login, outcome: success, interactive: true}
    """))
    monkeypatch.setenv("DSASSETS_CONFIG", str(config))
    root = tmp_path / "lake"
    b = LakeBuilder(root)
    login_failed = b.signin(ts(D1, 9), "u-x", ok=False, source="API")
    download = b.event(ts(D1, 10), user_id="u-x", action="Downloaded")
    sent = b.event(ts(D1, 11), user_id="u-x", action="Sent")
    b.write()
    names = ["stg_docusign__audit_events", "int_ip_addresses", "int_user_directory_changes", "activities"]
    result = dg.materialize(
        [a for a in model_assets if a.key.path[-1] in names],
        resources={"lake": LakeResource(data_dir=str(root))},
        partition_key=D1.isoformat(),
    )
    assert result.success
    got = {r["event_id"]: r["signin_class"] for r in read({"root": root}, "activities")}
    assert got == {
        login_failed: "interactive_success",  # second rule ignores result and source now
        download: "non_interactive_failure",  # case-insensitive match
        sent: None,
    }


# ---------- scope


def test_account_versus_organization_scope(run):
    org = activity(run, "org_event_no_user")
    assert (org["scope"], org["account_id"], org["user_match"]) == ("organization", None, "none")
    acct = activity(run, "alice_login")
    assert (acct["scope"], acct["account_id"]) == ("account", ACCOUNT_A)
    accounts = read(run, "account_daily_activity", f"dt = '{D1}'")
    assert {r["account_id"] for r in accounts} == {ACCOUNT_A, ACCOUNT_B}
    assert sum(r["event_count"] for r in accounts) == 15  # the organization-scope event is not there
    (org_day,) = read(run, "organization_daily_activity", f"dt = '{D1}'")
    assert org_day["event_count"] == 16
    assert org_day["organization_scope_event_count"] == 1
    assert org_day["interactive_signin_success_count"] == 3
    assert org_day["non_interactive_signin_failure_count"] == 1


def test_users_known_or_marked_unknown(run):
    assert activity(run, "alice_login")["user_email"] == "alice@acme.example"
    padded = activity(run, "country_gb_lower")  # the user id has a tab after it
    assert (padded["user_id"], padded["user_email"]) == ("u-alice", "alice@acme.example")
    ghost = activity(run, "ghost")
    assert (ghost["user_match"], ghost["user_email"]) == ("unknown", None)
    closed = activity(run, "gina_closed")
    assert closed["affected_user_email"] == "gina@acme.example"


# ---------- user state


def user_states(run, day):
    return {r["user_id"].removeprefix("u-"): r for r in read(run, "users", f"dt = '{day}'")}


def test_user_state_across_accounts(run):
    d1, d2 = user_states(run, D1), user_states(run, D2)
    assert {n: r["state"] for n, r in d1.items()} == {
        "alice": "active",
        "bob": "partially_active",
        "carol": "deleted",
        "dave": "deleted",
        "erin": "active",
        "frank": "active",
        "gina": "active",
        "hank": "active",
        "ivan": "active",
        "jill": "deleted",
    }
    assert d1["bob"]["is_closed_in_any_account"] is True  # what MDCA would call deleted
    assert d1["carol"]["state_reason"] == "closed_in_all_accounts"
    assert d1["dave"]["state_reason"] == "closed_in_organization"
    assert d1["jill"]["state_reason"] == "no_accounts"
    assert d1["alice"]["state_reason"] == "open_in_all_accounts"
    # D2: gina closed by an event after the morning snapshot; hank gone from the snapshots
    assert d2["gina"]["state"] == "deleted"
    assert d2["hank"]["state"] == "deleted"
    assert d2["hank"]["organization_user_status"] == "removed"
    assert d2["alice"]["state"] == "active"


def test_admins_from_accounts_organization_and_events(run):
    d1, d2 = user_states(run, D1), user_states(run, D2)
    assert {n for n, r in d1.items() if r["is_admin"]} == {"erin", "frank"}
    assert d1["erin"]["is_account_admin"] and not d1["erin"]["is_organization_admin"]
    assert d1["erin"]["admin_account_ids"] == [ACCOUNT_A]
    assert d1["frank"]["is_organization_admin"]
    assert {n for n, r in d2.items() if r["is_admin"]} == {"alice", "erin", "frank"}  # AdminAdded


def test_first_last_activity_and_idp_status(run):
    d1, d2 = user_states(run, D1), user_states(run, D2)
    assert d2["alice"]["first_activity_at"].isoformat().startswith("2026-11-02T09:00")
    assert d2["alice"]["last_activity_at"].isoformat().startswith("2026-11-03T12:00")
    assert d1["carol"]["first_activity_at"] is None
    assert d1["ivan"]["idp_status"] == "deleted"
    assert d1["alice"]["idp_status"] == "not_reported"


def test_user_accounts_history_from_snapshots_and_events(run):
    rows = {
        (r["dt"], r["user_id"], r["account_id"]): r
        for r in read(run, "user_accounts", "user_id in ('u-gina', 'u-bob', 'u-hank')")
    }
    gina_d1, gina_d2 = rows[(D1, "u-gina", ACCOUNT_A)], rows[(D2, "u-gina", ACCOUNT_A)]
    assert (gina_d1["status"], gina_d1["status_source"]) == ("active", "snapshot")
    assert (gina_d2["status"], gina_d2["status_source"]) == ("closed", "lifecycle_event")
    assert gina_d2["closed_at"].isoformat().startswith("2026-11-03T10:30")
    assert gina_d2["last_lifecycle_event_type"] == "membership_closed"
    bob_b = rows[(D1, "u-bob", ACCOUNT_B)]
    assert bob_b["is_open"] is False and bob_b["closed_at"].isoformat().startswith("2026-10-01T08:00")
    assert rows[(D1, "u-bob", ACCOUNT_A)]["permission_profile_name"] == "Sender"
    assert rows[(D2, "u-hank", ACCOUNT_A)]["status"] == "removed"


# ---------- checks


def test_all_checks_pass_on_the_case(run):
    evaluations = run["result"].get_asset_check_evaluations()
    # The run covers D1..D2: every check gives each day its own result.
    assert sorted((e.check_name, e.partition) for e in evaluations) == sorted(
        (c.check_key.name, day.isoformat()) for c in ALL_CHECKS for day in (D1, D2))
    assert all(e.passed for e in evaluations), [(e.check_name, e.metadata) for e in evaluations]
    reconciled = {e.partition: e.metadata["raw"].value for e in evaluations
                  if e.check_name == "activities_reconciled_with_raw_and_staging"}
    assert reconciled[D1.isoformat()] == 16 and reconciled[D2.isoformat()] != 16


@pytest.fixture
def window_con(run):
    lake = Lake.at(run["root"])
    with sql.session(lake) as con:
        sql.prepare(con, lake, load_config(), [m.name for m in MODELS])
        sql.set_window(con, D1, D2 + (D2 - D1))
        yield con


def test_checks_catch_duplicates_and_dropped_rows(run, window_con):
    con = window_con
    # a copy of activities with one event duplicated and one dropped
    con.execute(
        "create temp table broken as select * from activities "
        f"where event_id <> '{run['ids']['ghost']}' "
        f"union all select * from activities where event_id = '{run['ids']['alice_login']}'"
    )
    problems = checks.key_problems(con, "broken", ("event_id",))
    assert problems["duplicate_keys"][0][1] == run["ids"]["alice_login"]
    con.execute("create or replace temp view activities as select * from broken")
    days = {d["dt"]: d for d in checks.reconciliation(con)}
    assert days[D1.isoformat()]["raw"] == 16
    assert days[D1.isoformat()]["activities"] == 16  # one dropped + one duplicated
    assert days[D1.isoformat()]["activities_event_ids"] == 15
    con.execute(
        f"create or replace temp view activities as select * from broken where event_id <> "
        f"'{run['ids']['alice_login']}'"
    )
    days = {d["dt"]: d for d in checks.reconciliation(con)}
    assert days[D1.isoformat()]["activities"] != days[D1.isoformat()]["raw"]
    con.execute(
        "create or replace temp view activities as select * replace ('known' as user_match) "
        "from broken"
    )
    assert checks.user_match_problems(con)


# ---------- warehouse.duckdb


QUERY = textwrap.dedent("""
    import duckdb, json, sys
    con = duckdb.connect(sys.argv[1], read_only=True)
    out = {
        "activities": con.execute("select count(*) from activities").fetchone()[0],
        "sample": len(con.execute("select * from activities limit 5").fetchall()),
        "users": con.execute("select count(*) from users").fetchone()[0],
        "users_history": con.execute("select count(*) from users_history").fetchone()[0],
        "timeline": con.execute(
            # as an analyst pastes them from a spreadsheet or a web page: a tab or a line separator after
            "select involvement, action from user_timeline('ALICE@acme.example' || chr(9), "
            "date '2026-11-01', date '2026-11-08') order by all").fetchall(),
        "ip": con.execute("select count(*) from ip_activity('8.8.0.0/16' || chr(8232), date '2026-11-02', "
                      "date '2026-11-02')").fetchone()[0],
        "unparsed": con.execute("select count(*) from ip_activity('not-an-ip' || chr(9), date '2026-11-02', "
                            "date '2026-11-02')").fetchone()[0],
        "ip6": con.execute("select count(*) from ip_activity('2001:4860::/32', date '2026-11-02', "
                       "date '2026-11-03')").fetchone()[0],
        "settings": con.execute("select user_email, setting, new_value, country_code "
                            "from settings_changes(date '2026-11-01', date '2026-11-30')").fetchall(),
        "closed": con.execute("select distinct user_id, reason from closed_user_activity("
                          "date '2026-11-01', date '2026-11-30') order by all").fetchall(),
        "stg": con.execute("select count(*) from stg_docusign__audit_events").fetchone()[0],
    }
    print(json.dumps(out))
""")


def test_warehouse_file_queryable_from_another_process(run):
    path = run["root"] / "warehouse.duckdb"
    done = subprocess.run([sys.executable, "-c", QUERY, str(path)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert out["activities"] == out["stg"] == 20
    assert out["sample"] == 5
    assert out["users"] == 10 and out["users_history"] == 20
    assert ["target", "AdminAdded"] in out["timeline"]
    assert sum(1 for inv, _ in out["timeline"] if inv == "actor") == 12
    assert out["ip"] == 3  # 8.8.8.8 twice, 8.8.4.4 once
    assert out["ip6"] == 1
    assert out["unparsed"] == 1  # matched by its exact text
    assert out["settings"] == [["frank@acme.example", "sessionTimeout", '"120"', "US"]]
    assert out["closed"] == [
        ["u-bob", "membership_closed"],
        ["u-gina", "membership_closed"],
        ["u-gina", "user_deleted"],
        ["u-ivan", "idp_deleted"],
    ]


def test_locked_warehouse_fails_with_who_to_close(run):
    path = run["root"] / "warehouse.duckdb"
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); print('ready', flush=True); "
         "time.sleep(3600)", str(path)],  # until the test kills it: a loaded machine may take a while
        stdout=subprocess.PIPE, text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "ready"
        # model assets never open the file: they run while a shell holds it
        models = dg.materialize(model_assets, resources=run["resources"], partition_key=D2.isoformat())
        assert models.success
        with pytest.raises(sql.WarehouseLockedError) as info:
            refresh_warehouse(Lake.at(run["root"]), attempts=2, wait_seconds=0.1)
        assert f"PID {holder.pid}" in str(info.value) or f"process {holder.pid}" in str(info.value)
        assert "close that session" in str(info.value)
    finally:
        holder.kill()
        holder.wait()
    refresh_warehouse(Lake.at(run["root"]), attempts=1)  # works again once released


# ---------- idempotency


def snapshot_marts(run) -> dict[str, list]:
    return {m: sorted(map(repr, map(sorted, map(dict.items, read(run, m))))) for m in MARTS}


def test_partition_rerun_leaves_every_mart_unchanged(run):
    before = snapshot_marts(run)
    assert all(before[m] for m in MARTS)
    result = dg.materialize(model_assets, resources=run["resources"], partition_key=D1.isoformat())
    assert result.success
    assert snapshot_marts(run) == before
    # and the two-day range again
    assert dg.materialize(model_assets, resources=run["resources"], tags=RANGE).success
    assert snapshot_marts(run) == before


# ---------- wiring


def test_every_model_has_its_sql_file_and_every_file_a_model():
    layers = ("staging", "intermediate", "marts")
    files = {p.stem for layer in layers for p in (SQL_DIR / layer).glob("*.sql")}
    assert files == {m.name for m in MODELS}
    for model in MODELS:
        text = model.path.read_text()
        assert text.startswith(f"-- {model.name}\n"), model.name
        assert text.rstrip().endswith("select * from final"), model.name
        assert max(len(line) for line in text.splitlines()) <= 80, model.name
        # MODELS is in dependency order; raw datasets are the only other deps
        for dep in model.deps:
            assert dep.startswith("raw_") or MODELS.index(BY_NAME[dep]) < MODELS.index(model)


def test_every_relation_a_models_sql_names_is_one_its_asset_reads():
    # A step binds only what its asset declares it reads (its Dagster deps, and the raw dataset
    # behind each staging view): a name the SQL reads but the asset does not declare would be a
    # missing table at run time, and a lineage edge the UI does not show.
    from dsassets.lib.lake.schemas import RAW_SCHEMAS

    known = set(BY_NAME) | set(RAW_SCHEMAS)
    for model in BY_NAME.values():
        files = [model.path, *(model.path.with_suffix("") / f"{part}.sql" for part in model.parts)]
        text = " ".join(re.sub(r"--[^\n]*", "", f.read_text()) for f in files)
        named = {n for n in known - {model.name} if re.search(rf"\b{n}\b", text)}
        models, raw = sql.relations_to_bind(model.deps)
        assert named <= {m.name for m in models} | raw, (model.name, named - {m.name for m in models} - raw)
    # And binding is selective: a staging view brings its raw dataset, a mart only itself.
    assert sql.relations_to_bind(["stg_idp__users", "activities"]) == (
        [BY_NAME["stg_idp__users"], BY_NAME["activities"]], {"raw_idp_users"})


def test_a_day_of_wide_rows_is_written_in_row_groups_of_bounded_size(tmp_path, monkeypatch):
    """A day whose rows are wide (each activity carries its raw JSON) is split into row groups of
    about ``sql.ROW_GROUP_BYTES``: the writer never holds DuckDB's default 122,880 of them at
    once (a million events' models peaked about 560 MiB lower). Narrow rows keep one group, and
    every row is written either way."""
    monkeypatch.setattr(sql, "ROW_GROUP_BYTES", "1MB")
    lake = Lake.at(tmp_path)
    with sql.session(lake) as con:
        con.execute(f"create temp table wide as select date '{D1}' as dt, i as n, repeat('x', 4000) || i as raw_event "
                    "from range(2000) t(i)")
        con.execute(f"create temp table narrow as select date '{D1}' as dt, i as n from range(2000) t(i)")
        for name in ("wide", "narrow"):
            assert sql.write_partitions(con, lake, name, name, D1, D2) == {D1: 2000}
        groups = {name: con.execute(
            "select count(distinct row_group_id), sum(row_group_num_rows) filter (where column_id = 0) "
            f"from parquet_metadata({sql.sql_literal(sql.model_day_file(lake, name, D1))})").fetchone()
            for name in ("wide", "narrow")}
        written = con.execute(f"select count(distinct n), count(distinct raw_event) from "
                              f"read_parquet({sql.sql_literal(sql.model_day_file(lake, 'wide', D1))})").fetchone()
    assert groups["wide"][0] >= 4 and groups["wide"][1] == 2000
    assert groups["narrow"] == (1, 2000)
    assert written == (2000, 2000)
