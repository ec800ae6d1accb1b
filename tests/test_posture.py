"""Posture (SSPM): controls, scores and drift on a hand-built lake, through raw -> staging -> posture.

The module-scoped run materializes every model and posture asset over 2026-11-02 and
2026-11-03 (plus the audit log of 100 days earlier, so dormant admins are decidable):

- account A: every control passes on D1 (typed values cast from "true"/"True"/"20" by the
  extraction path); on D2 an admin raises sessionTimeout to 120 (drift, with its audit event);
- account B: every control fails (settings typed as null, judged from the document: "False");
- account C: every control is unknown: settings "", "abc", "maybe" or missing, password rules
  that are not JSON, no membership data.
"""

import json
import shutil
import textwrap
from datetime import date, timedelta

import dagster as dg
import duckdb
import pytest

from dsassets.defs.posture.assets import posture_assets
from dsassets.defs.resources import LakeResource
from dsassets.defs.models.assets import model_assets
from dsassets.defs.warehouse.warehouse import warehouse
from dsassets.lib.lake.partitions import range_tags
from dsassets.lib.posture import controls as posture
from dsassets.lib.transform import sql
from dsassets.lib.transform.files import SQL_DIR
from dsassets.lib.transform.models import BY_NAME, POSTURE_MODELS
from dsassets.lib.config.project import ConfigError, ProjectConfig, load_config, parse_config
from dsassets.lib.clients.docusign_data import parse_account_settings, parse_password_rules
from dsassets.lib.lake.lake import Lake
from support.warehouse_lake import ORG, LakeBuilder, ts

D0, D1, D2 = date(2026, 7, 25), date(2026, 11, 2), date(2026, 11, 3)
A = "00000000-0000-0000-0000-0000000000a1"
B = "00000000-0000-0000-0000-0000000000a2"
C = "00000000-0000-0000-0000-0000000000a3"
RANGE = range_tags(D1, D2)
ALL_CONTROLS = set(posture.CONTROL_IDS)

GOOD_SETTINGS = {"sessionTimeout": "20", "mobileSessionTimeout": "20",
                 "disableMultipleSessions": "true", "signerMustLoginToSign": "True",
                 "enableSMSAuthentication": "true", "allowPhoneAuthentication": "False"}
# padded as exports and web pages pad cells (a tab, a Windows line break, a no-break space, a
# line separator): still read
BAD_SETTINGS = {"sessionTimeout": "120\t", "mobileSessionTimeout": "\u00a0120\u2028",
                "disableMultipleSessions": "False\r\n", "signerMustLoginToSign": "\tfalse"}
GARBAGE_SETTINGS = {"sessionTimeout": "", "mobileSessionTimeout": "abc",
                    "disableMultipleSessions": "maybe"}  # signerMustLoginToSign absent
GOOD_RULES = {"minimumPasswordLength": "12", "passwordStrengthType": "custom",
              "passwordIncludeUpperCase": "true", "passwordIncludeLowerCase": "True",
              "passwordIncludeDigit": "true", "passwordIncludeSpecialCharacter": "true",
              "passwordIncludeDigitOrSpecialCharacter": "false", "expirePassword": "false",
              "expirePasswordDays": "0", "lockoutDurationMinutes": "30",
              "lockoutDurationType": "minutes", "minimumPasswordAgeDays": "1",
              "questionsRequired": "0"}
BAD_RULES = {"minimumPasswordLength": "6", "passwordStrengthType": "Basic",
             "passwordIncludeUpperCase": "false", "passwordIncludeLowerCase": "false",
             "passwordIncludeDigit": "false", "passwordIncludeSpecialCharacter": "false",
             "passwordIncludeDigitOrSpecialCharacter": "False", "expirePassword": "true",
             "expirePasswordDays": "30\r\n", "lockoutDurationMinutes": "\t0",
             "lockoutDurationType": "minutes", "minimumPasswordAgeDays": "0",
             "questionsRequired": "2"}


class PostureLake(LakeBuilder):
    """LakeBuilder plus the account, settings and password-rule snapshots."""

    def account(self, day: date, account_id: str, name: str) -> None:
        self.rows["raw_docusign_accounts"][day].append({
            "organization_id": ORG, "organization_name": "Org of the posture tests", "id": account_id, "name": name,
            "external_account_id": 1, "site_id": 1, **self._snapshot_meta(day),
        })

    def _snapshot(self, dataset, parse, day, account_id, raw, typed, hour):
        if typed is None:  # as extraction does: strict casts of the strings DocuSign sent
            typed = parse(raw, account_id)
        document = raw if isinstance(raw, str) or raw is None else json.dumps(raw)
        self.rows[dataset][day].append({
            "account_id": account_id, **typed,
            **self._snapshot_meta(day, hour), "_raw": document,
        })

    def settings(self, day, account_id, raw, *, typed=None, hour=23):
        self._snapshot("raw_docusign_account_settings", parse_account_settings,
                       day, account_id, raw, typed, hour)

    def rules(self, day, account_id, raw, *, typed=None, hour=23):
        self._snapshot("raw_docusign_password_rules", parse_password_rules,
                       day, account_id, raw, typed, hour)

    def person(self, day, name, memberships, *, two_step=True, admin_in=()):
        email = f"{name}@acme.example"
        self.org_user(day, f"u-{name}", email)
        self.rows["raw_docusign_organization_users"][day][-1]["require_two_step_verification"] = two_step
        for account, status in memberships:
            admin = account in admin_in
            self.membership(day, f"u-{name}", account, email, status=status, is_admin=admin,
                            profile="DocuSign Administrator" if admin else "Sender",
                            closed_on="2026-10-01T08:00:00.000" if status == "closed" else None)


def build_case(root) -> dict[str, str]:
    b = PostureLake(root)
    ids = {}
    # 100 days before: the only activity of B's dormant admin; it starts the audit history
    b.signin(ts(D0, 9), "u-b1", account_id=B)
    for day in (D1, D2):
        for account, name in ((A, "Alpha"), (B, "Bravo"), (C, "Charlie")):
            b.account(day, account, name)
        a_settings = dict(GOOD_SETTINGS, sessionTimeout="20" if day == D1 else "120")
        b.settings(day, A, a_settings)
        b.rules(day, A, GOOD_RULES)
        b.settings(day, B, BAD_SETTINGS, typed={})  # typed columns null: judged from `_raw`
        b.rules(day, B, BAD_RULES, typed={})
        b.settings(day, C, GARBAGE_SETTINGS, typed={})
        b.rules(day, C, "{not json", typed={})
        b.person(day, "a1", [(A, "active")], admin_in=(A,))
        for n in range(2, 6):
            b.person(day, f"a{n}", [(A, "active")])
        for n in range(1, 7):
            b.person(day, f"b{n}", [(B, "active")], two_step=n != 6,
                     admin_in=(B,) if n <= 5 else ())
        b.person(day, "x", [(A, "closed"), (B, "active")])  # closed in A, active in B
        b.person(day, "y", [(B, "active")])  # deleted in the identity provider
        b.idp_user(day, "y@acme.example", "deleted", ts(D1, 8))
    b.signin(ts(D1, 9), "u-a1", account_id=A)
    # D2: a1 weakens A's session timeout, from Lyon; plus events that must not be linked
    lyon = {"country": "france", "city": "lyon", "latitude": 45.76, "longitude": 4.84}
    ids["before_previous_snapshot"] = b.event(
        ts(D1, 10), user_id="u-a1", account_id=A, object="Account", action="Updated",
        property="sessionTimeout", data={"OldValue": "30", "NewValue": "20"})
    ids["weakened"] = b.event(
        ts(D2, 13, 5), user_id="u-a1", account_id=A, object="Account", action="Updated",
        property="sessionTimeout", data={"OldValue": "20", "NewValue": "120"},
        ip="198.51.100.7", location=lyon)
    ids["other_setting"] = b.event(
        ts(D2, 13, 10), user_id="u-a1", account_id=A, object="Account", action="Updated",
        property="enableSMSAuthentication", data={"OldValue": "true", "NewValue": "true"})
    ids["other_account"] = b.event(
        ts(D2, 13, 20), user_id="u-b1", account_id=B, object="Account", action="Updated",
        property="sessionTimeout", data={"OldValue": "120", "NewValue": "120"})
    b.write()
    return ids


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    root = tmp_path_factory.mktemp("posture")
    ids = build_case(root)
    resources = {"lake": LakeResource(data_dir=str(root))}
    assert dg.materialize(model_assets, resources=resources, partition_key=D0.isoformat()).success
    result = dg.materialize([*model_assets, *posture_assets], resources=resources, tags=RANGE)
    assert result.success
    assert dg.materialize([warehouse], resources=resources).success
    return {"root": root, "ids": ids, "result": result, "resources": resources}


def read(root, model: str, where: str = "true") -> list[dict]:
    con = duckdb.connect()
    con.execute("set TimeZone = 'UTC'")
    glob = sql.model_glob(Lake.at(root), model)
    rel = con.sql(f"select * from {sql.parquet_scan(glob)} where {where}")
    return [dict(zip(rel.columns, row)) for row in rel.fetchall()]


def findings(root, account: str, day: date = D1) -> dict[str, dict]:
    rows = read(root, "posture_findings", f"account_id = '{account}' and dt = '{day}'")
    out = {r["control_id"]: r for r in rows}
    assert len(out) == len(rows)
    return out


# ---------- controls


def test_every_control_passes_on_good_settings(run):
    got = findings(run["root"], A)
    assert set(got) == ALL_CONTROLS
    assert {c: r["status"] for c, r in got.items() if r["status"] != "pass"} == {}
    assert got["session_timeout"]["observed"] == "sessionTimeout = 20 minutes"
    assert got["password_complexity"]["observed"] == (
        "passwordStrengthType = custom, 4 character classes required, minimumPasswordLength = 12"
    )
    assert got["admin_share"]["observed"] == (
        "1 administrator of 5 active members (20.0%): a1@acme.example"
    )
    assert got["inactive_admins"]["observed"] == "1 of 1 administrator active within 90 days"
    row = got["session_timeout"]
    assert row["account_name"] == "Alpha" and row["organization_id"] == ORG
    assert row["severity"] == "high" and row["points_possible"] == row["points_achieved"] == 3
    assert "Session Timeout" in row["remediation"] and "NIST SP 800-63B" in row["reference"]
    assert row["expected"] == "sessionTimeout <= 30 minutes"


def test_every_control_fails_on_weak_settings_read_from_the_document(run):
    got = findings(run["root"], B)
    assert set(got) == ALL_CONTROLS
    assert {c: r["status"] for c, r in got.items() if r["status"] != "fail"} == {}
    assert all(r["points_achieved"] == 0 for r in got.values())
    # typed columns are null: "False"/"false"/"120" come from `_raw`, strictly cast
    assert got["multiple_sessions"]["observed"] == "disableMultipleSessions = false"
    assert got["signer_must_login"]["observed"] == "signerMustLoginToSign = false"
    assert got["session_timeout"]["status_reason"] is None
    assert got["password_lockout"]["observed"] == "lockoutDurationMinutes = 0 (no lockout)"
    assert got["password_expiry"]["observed"] == "expirePassword = true, expirePasswordDays = 30"
    assert got["password_complexity"]["observed"].startswith(
        "passwordStrengthType = basic, 0 character classes required"
    )
    assert got["two_step_verification"]["observed"] == (
        "7 of 8 members (87.5%) require two-step verification; not required for b6@acme.example"
    )
    assert got["admin_share"]["observed"].startswith("5 administrators of 8 active members (62.5%)")
    assert got["inactive_admins"]["observed"] == (
        "5 of 5 administrators inactive: b1@acme.example (last activity 2026-07-25), "
        "b2@acme.example (no activity in the audit log), b3@acme.example (no activity in the "
        "audit log), b4@acme.example (no activity in the audit log), b5@acme.example (no "
        "activity in the audit log)"
    )
    assert got["users_closed_elsewhere"]["observed"] == (
        "1 active member closed in another account: x@acme.example"
    )
    assert got["idp_deleted_users"]["observed"] == (
        "1 active member removed in the identity provider: y@acme.example (deleted)"
    )


def test_every_control_unknown_on_missing_or_garbage_data_with_a_reason(run):
    got = findings(run["root"], C)
    assert set(got) == ALL_CONTROLS
    assert {c: r["status"] for c, r in got.items() if r["status"] != "unknown"} == {}
    assert all(r["points_achieved"] == 0 and r["status_reason"] for r in got.values())
    reasons = {c: r["status_reason"] for c, r in got.items()}
    assert reasons["session_timeout"] == 'sessionTimeout: empty value ""'
    assert reasons["mobile_session_timeout"] == 'mobileSessionTimeout: unreadable value "abc"'
    assert reasons["multiple_sessions"] == 'disableMultipleSessions: unreadable value "maybe"'
    assert reasons["signer_must_login"] == "signerMustLoginToSign: not reported by DocuSign"
    assert reasons["password_min_length"] == (
        "minimumPasswordLength: the raw document is not valid JSON"
    )
    assert "passwordStrengthType: the raw document is not valid JSON" in reasons["password_complexity"]
    for control in ("two_step_verification", "admin_share", "inactive_admins",
                    "users_closed_elsewhere", "idp_deleted_users"):
        assert reasons[control] == "no membership data for this account"


def test_missing_snapshot_day_is_unknown_not_carried_forward(tmp_path):
    b = PostureLake(tmp_path)
    b.account(D1, A, "Alpha")
    b.account(D2, A, "Alpha")
    b.settings(D1, A, GOOD_SETTINGS)  # no settings snapshot on D2, no password rules at all
    b.person(D1, "a1", [(A, "active")])
    b.write()
    resources = {"lake": LakeResource(data_dir=str(tmp_path))}
    assert dg.materialize([*model_assets, *posture_assets], resources=resources, tags=RANGE).success
    d1, d2 = findings(tmp_path, A, D1), findings(tmp_path, A, D2)
    assert d1["session_timeout"]["status"] == "pass"
    assert d2["session_timeout"]["status"] == "unknown"
    assert d2["session_timeout"]["status_reason"] == "no account settings snapshot"
    assert d1["password_lockout"]["status_reason"] == "no password rules snapshot"
    # no IdP snapshot at all: unknown, not "nobody was deleted"
    assert d1["idp_deleted_users"]["status"] == "unknown"
    assert d1["idp_deleted_users"]["status_reason"] == (
        "no identity-provider snapshot on or before this day"
    )
    change = read(tmp_path, "posture_changes", "control_id = 'session_timeout'")
    assert [(r["from_status"], r["to_status"], r["change_kind"]) for r in change] == [
        ("pass", "unknown", "became_unknown")
    ]


@pytest.mark.parametrize(
    ("value", "expected"),
    [("true", True), ("False", False), (" TRUE ", True), ("", None), (None, None)],
)
def test_extraction_casts_string_booleans(value, expected):
    assert parse_account_settings({"disableMultipleSessions": value}, A)[
        "disable_multiple_sessions"] is expected


@pytest.mark.parametrize("value", ["maybe", "yes please", "1.5", {"a": 1}])
def test_extraction_nulls_garbage_and_names_the_field(value):
    parsed = parse_password_rules({"passwordIncludeDigit": value}, A)
    assert parsed["password_include_digit"] is None
    assert parsed["_invalid_fields"] == {"password_include_digit": value}


def test_thresholds_and_policies_come_from_the_config(run, tmp_path, monkeypatch):
    config = tmp_path / "dsassets.yaml"
    config.write_text(textwrap.dedent("""\
        posture:
          password_expiry: max_days
          password_expiry_max_days: 60
          inactive_admin_days: 150
          session_timeout_max_minutes: 10
          disabled_controls: [signer_must_login]
    """))
    monkeypatch.setenv("DSASSETS_CONFIG", str(config))
    root = tmp_path / "lake"
    shutil.copytree(run["root"], root)
    findings_asset = [a for a in posture_assets if a.key.path[-1] == "posture_findings"]
    resources = {"lake": LakeResource(data_dir=str(root))}
    assert dg.materialize(findings_asset, resources=resources, partition_key=D1.isoformat()).success
    a, b = findings(root, A), findings(root, B)
    assert "signer_must_login" not in a and len(a) == len(ALL_CONTROLS) - 1
    assert a["session_timeout"]["status"] == "fail"  # 20 > 10
    assert a["session_timeout"]["expected"] == "sessionTimeout <= 10 minutes"
    # expiry required within 60 days: A (never expires) fails, B (30 days) passes
    assert (a["password_expiry"]["status"], b["password_expiry"]["status"]) == ("fail", "pass")
    # 150 days of inactivity wanted, the lake holds 100 days: never-seen admins are unknown,
    # the admin last seen 100 days ago is active
    assert b["inactive_admins"]["status"] == "unknown"
    assert b["inactive_admins"]["status_reason"].startswith(
        "4 administrators without activity since the audit history began (2026-07-25), "
        "fewer than 150 days ago: b2@acme.example"
    )


# ---------- score


def scores(root, day: date = D1) -> dict[str, dict]:
    return {r["scope_id"]: r for r in read(root, "posture_scores", f"dt = '{day}'")}


def test_scores_per_account_and_organization(run):
    got = scores(run["root"])
    assert set(got) == {A, B, C, ORG}
    # 5 high (3 points), 5 medium (2), 5 low (1): 30 points per account
    a, b, c, org = got[A], got[B], got[C], got[ORG]
    assert (a["points_achieved"], a["points_possible"], a["score_pct"]) == (30, 30, 100.0)
    assert (b["points_achieved"], b["points_possible"], b["score_pct"]) == (0, 30, 0.0)
    assert (b["controls_failed"], b["coverage_pct"]) == (15, 100.0)
    # unknown stays possible, earns nothing: no data is never a better score than bad data
    assert (c["points_achieved"], c["points_possible"], c["points_unknown"]) == (0, 30, 30)
    assert (c["score_pct"], c["score_of_known_pct"], c["coverage_pct"]) == (0.0, None, 0.0)
    assert org["scope"] == "organization" and org["account_id"] is None
    assert org["scope_name"] == "Org of the posture tests"  # the Admin API's name, not the id
    assert (org["points_achieved"], org["points_possible"], org["account_count"]) == (30, 90, 3)
    assert (org["score_pct"], org["score_of_known_pct"], org["coverage_pct"]) == (33.3, 50.0, 66.7)
    assert (org["controls_passed"], org["controls_failed"], org["controls_unknown"]) == (15, 15, 15)


def test_score_arithmetic_weighted_by_severity():
    con = duckdb.connect()
    con.execute(
        "create table posture_findings as select * from (values "
        "(date '2026-11-02', 'o', 'a', 'A', 'high', 'pass', 3, 3), "
        "(date '2026-11-02', 'o', 'a', 'A', 'medium', 'fail', 2, 0), "
        "(date '2026-11-02', 'o', 'a', 'A', 'low', 'unknown', 1, 0), "
        "(date '2026-11-02', 'o', 'b', 'B', 'high', 'fail', 3, 0), "
        "(date '2026-11-02', 'o', 'b', 'B', 'low', 'pass', 1, 1), "
        "(date '2026-11-03', 'o', 'a', 'A', 'high', 'pass', 3, 3)"
        ") t(dt, organization_id, account_id, account_name, severity, status, "
        "points_possible, points_achieved)"
    )
    con.execute("create table stg_docusign__accounts as select date '2026-11-02' as dt, 'o' as organization_id, "
                "'Org O' as organization_name")
    sql.install_support(con, ProjectConfig())  # the shared macros every model may use
    sql.set_window(con, date(2026, 11, 2), date(2026, 11, 3))
    query = sql.model_query(BY_NAME["posture_scores"])
    rel = con.sql(query)
    got = {r[rel.columns.index("scope_id")]: dict(zip(rel.columns, r)) for r in rel.fetchall()}
    assert set(got) == {"a", "b", "o"}  # the window holds one day
    a, b, o = got["a"], got["b"], got["o"]
    assert (a["points_achieved"], a["points_possible"], a["points_unknown"]) == (3, 6, 1)
    assert (a["score_pct"], a["score_of_known_pct"], a["coverage_pct"]) == (50.0, 60.0, 83.3)
    assert (b["score_pct"], b["score_of_known_pct"]) == (25.0, 25.0)
    assert (o["points_achieved"], o["points_possible"], o["score_pct"]) == (4, 10, 40.0)
    assert (o["score_of_known_pct"], o["coverage_pct"]) == (44.4, 90.0)
    assert o["scope_name"] == "Org O"


# ---------- drift


def test_drift_across_two_snapshots_is_traced_to_the_setting_change(run):
    rows = read(run["root"], "posture_changes")
    assert [(r["dt"], r["account_id"], r["control_id"]) for r in rows] == [(D2, A, "session_timeout")]
    change = rows[0]
    assert (change["from_dt"], change["from_status"], change["to_status"]) == (D1, "pass", "fail")
    assert change["change_kind"] == "regressed"
    assert (change["from_observed"], change["to_observed"]) == (
        "sessionTimeout = 20 minutes", "sessionTimeout = 120 minutes"
    )
    assert change["attribution"] == "audit_event" and change["linked_event_count"] == 1
    assert change["changed_event_id"] == run["ids"]["weakened"]
    assert change["changed_by"] == "a1@acme.example" and change["changed_by_user_id"] == "u-a1"
    assert (change["changed_from_ip"], change["changed_from_country"]) == ("198.51.100.7", "FR")
    assert change["changed_setting"] == "sessionTimeout"
    assert (json.loads(change["changed_old_value"]), json.loads(change["changed_new_value"])) == (
        "20", "120"
    )
    assert [e["event_id"] for e in change["events"]] == [run["ids"]["weakened"]]
    assert change["events_after"] == ts(D1, 23) and change["events_until"] == ts(D2, 23)


def test_unchanged_status_is_not_drift(run):
    # D1 and D2 agree everywhere except A's session timeout; B's own sessionTimeout event
    # (120 -> 120) and A's change of another setting produce no rows.
    assert len(read(run["root"], "posture_findings", f"dt = '{D2}'")) == 3 * len(ALL_CONTROLS)
    assert len(read(run["root"], "posture_changes")) == 1


# ---------- UI and wiring


def test_materialization_shows_scores_and_failing_controls(run):
    mat = run["result"].asset_materializations_for_node("posture_findings")[-1]
    md = mat.metadata
    assert md["posture_day"].value == D2.isoformat()
    scores = {r.data["account"]: r.data for r in md["scores"].records}
    assert scores["Alpha"]["score (points)"] == "90.0% (27/30)"  # D2: session timeout now fails
    assert scores["Bravo"]["score (points)"] == "0.0% (0/30)"
    assert scores["organization"]["score (points)"] == "30.0% (27/90)"
    failing = [r.data for r in md["failing_controls"].records]
    assert {"account": "Alpha", "control": "Web app session times out after inactivity", "severity": "high",
            "observed": "sessionTimeout = 120 minutes"}.items() <= next(r for r in failing if r["account"] == "Alpha").items()
    assert any("Security Settings > Session Timeout" in r["remediation"] for r in failing)
    assert sum(r["account"] == "Bravo" for r in failing) == len(ALL_CONTROLS)
    assert md["score_pct: Alpha"].value == 90.0
    assert any("no membership data for this account" in r.data["why unknown"] for r in md["unknown_controls"].records)
    changes = run["result"].asset_materializations_for_node("posture_changes")[-1].metadata
    assert [r.data["changed by"] for r in changes["changes"].records] == ["a1@acme.example"]
    assert changes["traced_to_an_event"].value == 1


def test_each_day_of_a_range_run_carries_that_days_score(run):
    """One materialization per day, each with its own day's scores (not the window's last day)."""
    scores = {(r["dt"].isoformat(), r["scope_name"]): r for r in read(run["root"], "posture_scores")}
    mats = run["result"].asset_materializations_for_node("posture_findings")
    assert len(mats) == len({m.partition for m in mats}) >= 2
    for mat in mats:
        assert mat.metadata["posture_day"].value == mat.partition
        alpha = scores[(mat.partition, "Alpha")]
        assert mat.metadata["score_pct: Alpha"].value == alpha["score_pct"]
    assert len({m.metadata["score_pct: Alpha"].value for m in mats}) > 1  # Alpha's score changed on D2


def test_warehouse_has_posture_views(run):
    con = duckdb.connect(str(run["root"] / "warehouse.duckdb"), read_only=True)
    try:
        assert con.execute("select count(*) from posture_findings").fetchone()[0] == 6 * len(ALL_CONTROLS)
        assert con.execute("select count(*) from posture_scores").fetchone()[0] == 8
        assert con.execute("select changed_by from posture_changes").fetchall() == [("a1@acme.example",)]
        assert con.execute("select count(*) from posture_controls").fetchone()[0] == len(ALL_CONTROLS)
    finally:
        con.close()


def test_every_posture_sql_file_is_a_model():
    files = {p.stem for p in (SQL_DIR / "posture").glob("*.sql")} - {"macros"}
    assert files == {m.name for m in POSTURE_MODELS}
    for model in POSTURE_MODELS:
        text = model.path.read_text()
        assert text.startswith(f"-- {model.name}\n")
        assert text.rstrip().endswith("select * from final")
        # every file of the model's folder is one of its parts, and every part has its file
        assert {p.stem for p in model.path.with_suffix("").glob("*.sql")} == set(model.parts)


def test_catalog_is_complete_and_config_validated():
    for control in posture.CONTROLS:
        assert control.title and control.why and control.remediation and control.reference
        assert control.expected(ProjectConfig().posture)
    assert load_config().posture == ProjectConfig().posture
    with pytest.raises(ConfigError, match=r"x.yaml: posture.disabled_controls: .*unknown control"):
        parse_config({"posture": {"disabled_controls": ["nope"]}}, source="x.yaml")
    with pytest.raises(ConfigError, match=r"x.yaml: posture.password_expiry"):
        parse_config({"posture": {"password_expiry": "sometimes"}}, source="x.yaml")


def test_metadata_tables_have_a_schema_and_flat_cells():
    from datetime import datetime, timezone

    from dsassets.lib.catalog.tables import metadata_table

    table = metadata_table([{"a": "x|y", "b": 3, "c": ["1.2.3.4", "5.6.7.8"],
                             "d": datetime(2026, 11, 2, 9, 5, tzinfo=timezone.utc)}],
                           {"a": "A", "b": "B", "c": "C", "d": "D"})
    assert [(c.name, c.type) for c in table.schema.columns] == [("A", "string"), ("B", "int"), ("C", "string"), ("D", "string")]
    assert table.records[0].data == {"A": "x|y", "B": 3, "C": "1.2.3.4, 5.6.7.8", "D": "2026-11-02 09:05"}
    assert metadata_table([], {"a": "A"}).records == []

def test_days_before_the_window_need_their_findings(run):
    # posture_changes compares with the previous snapshot day, however far back it is
    days = sorted({r["dt"] for r in read(run["root"], "posture_findings")})
    assert days == [D1, D2] and D2 - D1 == timedelta(days=1)
